"""The edit wire formats (perfxl.server.editwire): JSON for the WPS add-in, lines for the VBA."""
from __future__ import annotations

import datetime as dt

import pytest

from perfxl import pipeline
from perfxl.edits import (ClearMarks, ClearSheet, DefineName, DeleteSheet, EnsureSheet, Hyperlink, MarkCell,
                          ResizeTable, SetCell)
from perfxl.reader import read
from perfxl.server import editwire


def _sample_edits(path):
    analysis = pipeline.analyse(read(path))
    return pipeline.workbook_edits(analysis, analysis.pack, score=True, mark=True)


def test_every_edit_kind_has_both_encodings():
    edits = [SetCell("评分表", "H12", 98.31, formula="=ROUND(1,2)", style_from="H11"), DefineName("n", "='A'!$B$2"),
             EnsureSheet("校验结果", hidden=True, position=3), ClearSheet("s"), DeleteSheet("s"),
             ResizeTable("tbl", "B2:D9"), Hyperlink("校验结果", "D2", "'预算执行'!C7"),
             MarkCell("预算执行", "C7", "第一行\n建议：\t改", "警告"), ClearMarks()]
    js = editwire.edits_json(edits)
    assert [e["op"] for e in js] == ["set_cell", "define_name", "ensure_sheet", "clear_sheet", "delete_sheet",
                                     "resize_table", "hyperlink", "mark_cell", "clear_marks"]
    assert js[0]["formula"] == "ROUND(1,2)" and js[1]["ref"] == "'A'!$B$2" and js[7]["fill"] == "FFD8A8"
    records, message, ok = editwire.parse_lines(editwire.edits_lines(edits, "总分 98.31\n第二行", ok=False))
    assert message == "总分 98.31\n第二行" and ok is False
    assert [r[0] for r in records] == ["SET", "NAME", "SHEET", "CLEAR", "DELSHEET", "TABLE", "LINK", "MARK",
                                       "CLEARMARKS"]
    assert records[0] == ["SET", "评分表", "H12", "n98.31", "ROUND(1,2)", "H11"]
    assert records[2] == ["SHEET", "校验结果", "1", "3"]
    assert records[7] == ["MARK", "预算执行", "C7", "警告", "FFD8A8", "第一行\n建议：\t改"]


@pytest.mark.parametrize("value, line, js", [
    (None, "", None), ("", "s", ""), ("=1+1", "s=1+1", "=1+1"), (True, "b1", True), (3, "n3", 3),
    (0.1 + 0.2, "n0.30000000000000004", 0.30000000000000004), (float("nan"), "", None),
    (dt.date(2024, 5, 20), "d2024-05-20", {"date": "2024-05-20"}),
    (dt.datetime(2024, 5, 20, 8, 30), "d2024-05-20T08:30:00", {"datetime": "2024-05-20T08:30:00"}),
], ids=["none", "empty", "formula-like-text", "bool", "int", "float-exact", "nan", "date", "datetime"])
def test_values(value, line, js):
    records, _, _ = editwire.parse_lines(editwire.edits_lines([SetCell("s", "A1", value)]))
    assert records[0][3] == line
    assert editwire.edit_json(SetCell("s", "A1", value))["value"] == js


def test_escapes_survive_a_round_trip():
    nasty = "a\\b\tc\r\nd\\n"
    records, _, _ = editwire.parse_lines(editwire.edits_lines([SetCell(nasty, "A1", nasty)]))
    assert records[0][1] == nasty and records[0][3] == "s" + nasty


def test_cut_off_answer_is_refused():
    text = editwire.edits_lines([SetCell("s", "A1", 1), SetCell("s", "A2", 2)])
    cut = text.rsplit("\r\n", 3)[0]  # lose the last SET and END
    with pytest.raises(ValueError):
        editwire.parse_lines(cut)
    with pytest.raises(ValueError):
        editwire.parse_lines("HTTP/1.1 502 Bad Gateway")


def test_sample_edits_round_trip_in_both_formats():
    from conftest import SAMPLE_XLSX

    edits = _sample_edits(SAMPLE_XLSX)
    assert any(isinstance(e, MarkCell) for e in edits) and any(isinstance(e, SetCell) and e.formula for e in edits)
    js = editwire.edits_json(edits)
    records, _, _ = editwire.parse_lines(editwire.edits_lines(edits))
    assert len(records) == len(js) == len(edits)
    for rec, obj in zip(records, js):
        if obj["op"] == "set_cell":
            assert rec[1:3] == [obj["sheet"], obj["cell"]]
            assert rec[4] == obj.get("formula", "")
        elif obj["op"] == "mark_cell":
            assert rec[1:] == [obj["sheet"], obj["cell"], obj["severity"], obj["fill"], obj["note"]]
