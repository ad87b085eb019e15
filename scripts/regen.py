"""Regenerate the committed generated files: the blank template and the bundled sample.

    python scripts/regen.py

tests/test_template.py fails when a committed file differs from what this produces.
"""
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from perfxl import template  # noqa: E402

SAMPLE_JSON = ROOT / "samples" / "lechang-2023.json"
SAMPLE_XLSX = ROOT / "samples" / "乐昌市民政局-2023.xlsx"


def main() -> None:
    template.TEMPLATE_PATH.parent.mkdir(exist_ok=True)
    template.TEMPLATE_PATH.write_bytes(template.build_workbook())
    SAMPLE_XLSX.write_bytes(template.build_workbook(json.loads(SAMPLE_JSON.read_text("utf-8"))))
    print(template.TEMPLATE_PATH, SAMPLE_XLSX, sep="\n")


if __name__ == "__main__":
    main()
