#!/usr/bin/env bash
# The WPS add-in's tests: node's test runner over tests/wps/ (a fake WPS object model, and a real
# `perfxl serve` that the tests start themselves). Installs Debian's nodejs when node is missing.
# PERFXL_PYTHON: the Python that runs perfxl (default: .venv/bin/python, else python3).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v node >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs >/dev/null
fi
if [ -z "${PERFXL_PYTHON:-}" ] && [ -x .venv/bin/python ]; then
  export PERFXL_PYTHON="$PWD/.venv/bin/python"
fi
exec node --test tests/wps/
