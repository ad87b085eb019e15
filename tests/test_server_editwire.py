"""The edit wire formats round-trip every edit type and awkward values exactly."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from perfxl import edits as E
from perfxl.server import editwire as W

EDITS = [
    E.SetCell("评分表", "H12", 1.81, "ROUND(x,2)", "H11"),
    E.SetCell("封面与基本信息", "C11", dt.date(2024, 5, 20)),
    E.SetCell("封面", "C12", dt.datetime(2024, 5, 20, 8, 30)),
    E.SetCell("表", "A1", "0012"),                      # text that looks like a number stays text
    E.SetCell("表", "A2", "=SUM(A1)"),                  # text that looks like a formula stays text
    E.SetCell("表", "A3", "第一行\t制表\n第二行\\反斜杠\r"),
    E.SetCell("表", "A4", True),
    E.SetCell("表", "A5", None, "A1*2"),
    E.SetCell("表", "A6", 42),
    E.SetCell("表", "A7", "", "IF(A1=\"\",\"\",1)"),
    E.DefineName("score_total", "'评分表'!$H$40"),
    E.EnsureSheet("校验结果", hidden=True, position=0),
    E.EnsureSheet("其他"),
    E.ClearSheet("校验结果"),
    E.DeleteSheet("旧表"),
    E.ResizeTable("tbl_units", "B8:H20"),
    E.Hyperlink("校验结果", "A2", "'预算执行'!C7"),
    E.MarkCell("预算执行", "C6", "说明：\n执行数\t与预算不符", "警告"),
    E.ClearMarks(),
]


@pytest.mark.parametrize("edit", EDITS, ids=lambda e: type(e).__name__)
def test_json_round_trip(edit):
    wire = json.loads(json.dumps(W.to_json(edit), ensure_ascii=False))
    assert wire["op"] == type(edit).__name__
    assert W.from_json(wire) == edit


def test_lines_round_trip_and_shape():
    text = W.edits_lines(EDITS)
    lines = text.split("\n")
    assert lines[0] == f"#perfxl-edits\t1\t{len(EDITS)}" and text.endswith("\n")
    assert len(lines) == len(EDITS) + 2  # header, one per edit, the trailing empty string
    assert W.parse_lines(text) == EDITS
    assert lines[4].split("\t")[3] == "s:0012"


def test_cut_off_line_document_is_refused():
    text = W.edits_lines(EDITS)
    with pytest.raises(ValueError):
        W.parse_lines("\n".join(text.split("\n")[:5]))
