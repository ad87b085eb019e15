#!/usr/bin/env bash
# Set up everything (scripts/setup.sh), start the services the tests use (scripts/services.sh:
# a throwaway PostgreSQL; chromium for the browser tests), then run the whole test suite:
# pytest, and node's test runner for the WPS add-in (scripts/node-tests.sh).
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -m "not libreoffice"`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# shellcheck source=services.sh
source scripts/services.sh
trap 'bash scripts/services.sh stop' EXIT
status=0
.venv/bin/python -m pytest -q "$@" || status=$?
PERFXL_PYTHON="$PWD/.venv/bin/python" bash scripts/node-tests.sh || status=$?
if [ -f scripts/lint.sh ]; then bash scripts/lint.sh || status=$?; fi
exit $status
