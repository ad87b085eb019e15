"""Workbooks built from docs/workbook-contract.md alone (tests/contract_workbook.py), in a layout
unlike perfxl's template: perfxl must read, check, score, write back and report them the same.
"""
from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
import python_calamine

from contract_workbook import (HEADERS, RATE_NAMES, TOTAL_NAMES, build_contract_workbook, field_cell,
                               rate_cell, total_cell)
from perfxl import api, reader, rulepack, scoring, validate, writeback
from perfxl.cellref import col_to_index, parse_sheet_ref, split_cell
from perfxl.cli import main
from perfxl.testing.libreoffice import recalculate, soffice_available

PACK = rulepack.load()


def _scores(path: Path) -> scoring.Scores:
    return scoring.score(reader.read(path), PACK)


def _cell(path: Path, sheet: str, cell: str):
    grid = python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python(
        skip_empty_area=False)
    col, row = split_cell(cell)
    line = grid[row - 1] if row - 1 < len(grid) else []
    c = col_to_index(col) - 1
    return line[c] if c < len(line) else None


def _name(path: Path, name: str) -> tuple[str, str]:
    wb = openpyxl.load_workbook(path)
    return parse_sheet_ref(wb.defined_names[name].attr_text)


def test_contract_layout_scores_like_the_reference_with_findings_at_its_own_cells(tmp_path, capsys):
    src = tmp_path / "契约.xlsx"
    build_contract_workbook(path=src)
    s = _scores(src)
    assert (s.score_base, s.score_bonus, s.score_total, s.grade) == (94.81, 3.5, 98.31, "优")
    assert main(["check", str(src), "--json"]) == 0
    found = {f["code"]: f for f in json.loads(capsys.readouterr().out)}
    assert set(found) == {"staff-total-mismatch", "execution-progress-mismatch", "high-score-low-spending"}
    assert (found["staff-total-mismatch"]["sheet"], found["staff-total-mismatch"]["cell"]) == field_cell(
        "staff_actual_stated")
    assert "“表格汇总”表" in found["staff-total-mismatch"]["message"]  # where tbl_units is, not “人员编制”
    assert (found["high-score-low-spending"]["sheet"], found["high-score-low-spending"]["cell"]) == total_cell(
        "score_total")


def test_missing_write_back_names_are_created_so_no_formula_refers_to_an_undefined_name(tmp_path):
    src, out = tmp_path / "无输出名称.xlsx", tmp_path / "out.xlsx"
    build_contract_workbook(path=src, omit_names=RATE_NAMES + ("score_base", "grade"))
    s = api.score_file(src, out)
    assert (s.score_base, s.score_total, s.grade) == (94.81, 98.31, "优")
    assert not any(p.code == "name-missing" for p in s.problems)
    model = reader.read(out)
    for n in RATE_NAMES + TOTAL_NAMES:
        assert n in model.names, n
    assert model.outputs["score_base"].value == 94.81 and model.outputs["grade"].value == "优"
    assert model.outputs["rate_spending"].value == pytest.approx(0.77116404250526)
    # names the workbook had stay where they were
    assert model.names["score_total"] == total_cell("score_total")
    # a second run reuses the created cells
    again = writeback.score_edits(model, PACK, scoring.score(model, PACK))
    assert not any(getattr(e, "name", None) in RATE_NAMES for e in again)


def test_a_missing_optional_name_or_table_is_reported_on_the_workbook_not_on_template_sheets(tmp_path):
    src = tmp_path / "缺项.xlsx"
    build_contract_workbook(path=src, omit_names=["phone"], omit_tables=["tbl_narrative"])
    model = reader.read(src)
    found = validate.check(model, PACK, scoring.score(model, PACK))
    missing = [f for f in found if f.code in ("name-missing", "table-missing")]
    assert {f.code for f in missing} == {"name-missing", "table-missing"}
    for f in missing:
        assert f.sheet == "" and "封面" not in f.hint and "报告正文”工作表" not in f.hint, f


def test_table_variants_extra_rows_extra_columns_and_other_column_order(tmp_path):
    src = tmp_path / "变体.xlsx"
    build_contract_workbook(
        path=src, extra_rows={t: 2 for t in HEADERS},
        extra_columns={"tbl_units": [(1, "备注")], "tbl_scores": [(0, "序"), (8, "附件")]},
        column_order={"tbl_awards": list(reversed(HEADERS["tbl_awards"])),
                      "tbl_scores": list(reversed(HEADERS["tbl_scores"]))})
    model = reader.read(src)
    s = scoring.score(model, PACK)
    assert (s.score_base, s.score_bonus, s.score_total) == (94.81, 3.5, 98.31)
    assert {f.code for f in validate.check(model, PACK, s)} == {
        "staff-total-mismatch", "execution-progress-mismatch", "high-score-low-spending"}


def test_a_table_totals_row_is_not_read_as_data(tmp_path):
    src = tmp_path / "合计行.xlsx"
    wb = build_contract_workbook()
    ws = wb["表格汇总"]
    t = ws.tables["tbl_units"]
    first, last = t.ref.split(":")
    col, row = split_cell(last)
    t.ref, t.totalsRowCount, t.autoFilter = f"{first}:{col}{row + 1}", 1, None
    ws[f"B{row + 1}"] = "合计"
    ws[f"{col}{row + 1}"] = "=SUBTOTAL(109,tbl_units[年末实有人数])"
    wb.save(src)
    model = reader.read(src)
    assert len(model.tables["tbl_units"].rows) == 6
    found = validate.check(model, PACK, scoring.score(model, PACK))
    assert not [f for f in found if f.code == "required-empty"]
    edits = writeback.score_edits(model, PACK, scoring.score(model, PACK))
    rate = next(e for e in edits if (getattr(e, "sheet", None), getattr(e, "cell", None)) == rate_cell(
        "rate_staff_control"))
    assert f"${row}," in rate.formula and f"${row + 1}" not in rate.formula


@pytest.mark.skipif(not soffice_available(), reason="LibreOffice (soffice) not installed")
def test_libreoffice_recomputes_what_perfxl_cached_in_the_contract_layout(tmp_path):
    src, out = tmp_path / "lo_in.xlsx", tmp_path / "lo_scored.xlsx"
    build_contract_workbook(path=src, omit_names=["score_base", "rate_carryover"])
    api.score_file(src, out)
    [lo] = recalculate([out], tmp_path / "lo")
    wb = openpyxl.load_workbook(out)
    checked = 0
    for name in ("rate_spending", "rate_carryover", "score_spending_rate", "score_carryover_rate",
                 "score_base", "score_bonus", "score_total", "grade"):
        sheet, cell = parse_sheet_ref(wb.defined_names[name].attr_text)
        cell = cell.replace("$", "")
        assert str(wb[sheet][cell].value).startswith("="), name
        cached, computed = _cell(out, sheet, cell), _cell(lo, sheet, cell)
        if isinstance(cached, float):
            assert computed == pytest.approx(cached, abs=1e-9), name
        else:
            assert computed == cached, name
        checked += 1
    assert checked == 8 and _cell(lo, *total_cell("score_total")) == 98.31
