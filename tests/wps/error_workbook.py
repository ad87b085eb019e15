"""The sample workbook with an error value in input cells, for the node tests of error cells.

    python tests/wps/error_workbook.py OUT.xlsx

Writes OUT.xlsx and prints [[sheet, cell, code], …]: #N/A, #REF!, #DIV/0!, #VALUE!, #NAME?, #NUM!
and #NULL! in a money field, a SUMIFS column, a manual score, an award level and more.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from conftest import SAMPLE_JSON  # noqa: E402
from perfxl import reader  # noqa: E402
from perfxl.template import build_workbook  # noqa: E402
from test_error_values import _where, with_error  # noqa: E402

TARGETS = (("issued_basic", "#N/A"), ("tbl_units:年末实有人数:0", "#REF!"), ("tbl_scores:自评得分:0", "#DIV/0!"),
           ("tbl_awards:授奖级别:0", "#VALUE!"), ("quota_basic", "#NAME?"), ("tbl_units:年末实有人数:1", "#NUM!"),
           ("dept_name", "#NULL!"))

if __name__ == "__main__":
    body = build_workbook(json.loads(SAMPLE_JSON.read_text("utf-8")))
    model = reader.read("x.xlsx", body)
    placed = []
    for target, code in TARGETS:
        sheet, cell = _where(model, target)
        body = with_error(body, sheet, cell, code)
        placed.append([sheet, cell, code])
    Path(sys.argv[1]).write_bytes(body)
    json.dump(placed, sys.stdout, ensure_ascii=False)
