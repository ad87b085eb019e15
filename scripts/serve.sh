#!/usr/bin/env bash
# Set up (scripts/setup.sh) and start `perfxl serve` on its embedded default: SQLite and files in
# ./perfxl-data, http://127.0.0.1:8000/.  On the first start (no account yet) a reviewer account
# `admin` is created and its initial password printed once.  Extra arguments go to `perfxl serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
DATA=${PERFXL_DATA:-perfxl-data}
if [ -z "$(.venv/bin/perfxl user list --data "$DATA")" ]; then
  pw=$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(12))')
  echo "$pw" | .venv/bin/perfxl user add admin --role reviewer --data "$DATA" --password-stdin >/dev/null
  echo "首次启动：已创建审核账号 admin，初始密码 $pw （只显示这一次；用 perfxl user add … --reset 修改）"
fi
exec .venv/bin/perfxl serve --data "$DATA" "$@"
