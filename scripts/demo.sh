#!/usr/bin/env bash
# Set up (scripts/setup.sh) and run the main job on the bundled sample workbook:
# check + score + mark + Word report (+ PDF) into out/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/perfxl run "samples/乐昌市民政局-2023.xlsx" -o out --pdf || [ $? -eq 1 ]
ls -l out
