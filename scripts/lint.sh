#!/usr/bin/env bash
# Static checks, as CI runs them: ruff (pyflakes and syntax errors) and mypy (configured in
# pyproject.toml, with a ratchet list of modules still to be fixed).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
"$PY" -m ruff check perfxl tests benchmarks scripts
"$PY" -m mypy
