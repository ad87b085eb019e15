"""Carrying last year forward (`perfxl new 2024.xlsx --from 2023.xlsx`) and comparing two years
(`perfxl check 2024.xlsx --prev 2023.xlsx`)."""
from __future__ import annotations

import subprocess
import sys

import pytest

from perfxl import carryover, reader, schema, yearcheck
from perfxl.errors import PerfxlError
from conftest import ROOT, SAMPLE_XLSX


def _rows(model, table, headers):
    return [tuple(r.get(h) for h in headers) for r in model.tables[table].filled]


@pytest.fixture(scope="module")
def prev():
    return reader.read(SAMPLE_XLSX)


@pytest.fixture(scope="module")
def new_year(tmp_path_factory, prev):
    out = tmp_path_factory.mktemp("carry") / "2024.xlsx"
    p = subprocess.run([sys.executable, "-m", "perfxl", "new", str(out), "--from", str(SAMPLE_XLSX)],
                       capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    assert "2024" in p.stdout and "1,609.96" in p.stdout
    return out


def test_what_persists_is_carried(new_year, prev):
    cur = reader.read(new_year)
    assert cur.get("fiscal_year") == prev.get("fiscal_year") + 1 == 2024
    for name in carryover.KEPT_FIELDS:
        assert cur.get(name) == prev.get(name) is not None, name
    for table, headers in carryover.KEPT_COLUMNS.items():
        assert _rows(cur, table, headers) == _rows(prev, table, headers), table
        assert len(cur.tables[table].filled) == len(prev.tables[table].filled) > 0
    # the new year's own figures start empty
    assert all(r.get("年末实有人数") is None for r in cur.tables["tbl_units"].filled)
    assert all(r.get("实际完成值") is None and r.get("是否完成") is None for r in cur.tables["tbl_targets"].filled)
    assert all(r.get("正文") is None for r in cur.tables["tbl_narrative"].filled)
    for table in ("tbl_key_tasks", "tbl_awards"):
        assert cur.tables[table].filled == ()


def test_stock_prev_is_last_years_carry_over_and_every_other_figure_is_empty(new_year, prev):
    cur = reader.read(new_year)
    assert cur.get("stock_prev") == prev.get("stock_curr") == prev.get("carryover_balance") == 1609.96
    # the other 上年 inputs (read by the national-framework pack) take last year's figures too
    assert [n for n, _ in schema.PREV_YEAR] == ["stock_prev", "sangong_prev", "carryover_prev"]
    assert (cur.get("sangong_prev"), cur.get("carryover_prev")) == (prev.get("sangong_actual"), 1609.96) == (13.85, 1609.96)
    for f in schema.FIELDS:
        if f.kind in (schema.MONEY, schema.INT) and f.name not in ("stock_prev", "sangong_prev", "carryover_prev",
                                                                   "fiscal_year"):
            assert cur.get(f.name) in (None, 0), f.name  # totals are formulas over empty parts
    assert cur.get("report_date") is None
    manual = [r for r in cur.tables["tbl_scores"].filled if r.get("评分方式") == "人工"]
    assert manual and all(r.get("自评得分") is None and r.get("评价说明") is None for r in manual)


def test_the_new_workbook_keeps_the_standard_layout(new_year):
    import openpyxl

    wb = openpyxl.load_workbook(new_year)
    assert wb.sheetnames[: len(schema.SHEET_ORDER)] == list(schema.SHEET_ORDER)
    assert wb[schema.S_SCORES].protection.sheet  # the template's entry rules and protection too
    assert wb[schema.S_FINANCE].data_validations.dataValidation


def test_library_call_from_bytes_with_another_year_and_dept():
    carried = carryover.carry_forward(SAMPLE_XLSX.read_bytes(), 2026, dept="乐昌市民政局（新）", name="上传.xlsx")
    import io

    cur = reader.read("x.xlsx", carried.body)
    assert (cur.get("fiscal_year"), cur.get("dept_name")) == (2026, "乐昌市民政局（新）")
    assert carried.rows["tbl_duties"] == 11 and carried.stock_prev == 1609.96
    assert carried.prev_figures == (("sangong_prev", 13.85), ("carryover_prev", 1609.96))
    assert "上年“三公”经费实际支出数已填为 13.85 万元（上年工作簿的““三公”经费实际支出数”）" in carried.summary
    assert isinstance(io.BytesIO(carried.body).read(2), bytes)


def test_missing_year_and_stock_are_said_in_chinese(build, data):
    del data["fields"]["fiscal_year"]
    del data["fields"]["stock_curr"]
    path = build(data)
    with pytest.raises(PerfxlError, match="年度"):
        carryover.carry_forward(path)
    carried = carryover.carry_forward(path, 2024)
    assert carried.stock_prev is None and any("手工填写" in n for n in carried.notes)


def test_never_overwrites_and_never_writes_over_last_year(tmp_path):
    out = tmp_path / "2024.xlsx"
    out.write_bytes(b"keep")
    p = subprocess.run([sys.executable, "-m", "perfxl", "new", str(out), "--from", str(SAMPLE_XLSX)],
                       capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 2 and "已存在" in p.stderr and out.read_bytes() == b"keep"
    copy = tmp_path / "2023.xlsx"
    copy.write_bytes(SAMPLE_XLSX.read_bytes())
    p = subprocess.run([sys.executable, "-m", "perfxl", "new", str(copy), "--from", str(copy), "--force"],
                       capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 2 and copy.read_bytes() == SAMPLE_XLSX.read_bytes()


# -- two years compared ---------------------------------------------------------------------

def _codes(found):
    return sorted((f.code, f.sheet, f.cell) for f in found)


def test_consecutive_consistent_years_give_no_findings(new_year, prev):
    assert yearcheck.compare(prev, reader.read(new_year)) == []


def test_suspicious_jumps_are_findings(build, data, prev):
    units = data["tables"]["tbl_units"]
    units[0]["核定编制数"] = 23          # 民政局 行政: 18 → 23 (+28 %)
    units[1]["核定编制数"] = 5           # unchanged
    del units[5]                         # 殡仪馆 gone
    data["fields"]["fiscal_year"] = 2024
    data["fields"]["stock_prev"] = 1600.00  # last year ended with 1609.96
    cur = reader.read(build(data))
    found = yearcheck.compare(prev, cur)
    t = cur.tables["tbl_units"]
    first = t.filled[0]
    assert _codes(found) == sorted([
        ("staff-quota-jump", schema.S_STAFF, first.cells["核定编制数"].cell),
        ("unit-disappeared", schema.S_STAFF, f"{t.columns['单位名称']}{t.header_row}"),
        ("stock-prev-mismatch", schema.S_BUDGET, cur.fields["stock_prev"].cell),
    ])
    assert any("殡仪馆" in f.message for f in found)


def test_a_small_change_is_not_a_jump(build, data, prev):
    data["tables"]["tbl_units"][0]["核定编制数"] = 20  # 18 → 20 (+11 %)
    data["fields"]["fiscal_year"] = 2024
    data["fields"]["stock_prev"] = 1609.96
    assert yearcheck.compare(prev, reader.read(build(data))) == []


def test_a_year_that_does_not_follow(build, data, prev):
    data["fields"]["fiscal_year"] = 2025
    data["fields"]["stock_prev"] = 1609.96
    cur = reader.read(build(data))
    assert _codes(yearcheck.compare(prev, cur)) == [("year-not-consecutive", schema.S_COVER, cur.fields["fiscal_year"].cell)]


def test_check_prev_on_the_command_line(build, data):
    data["fields"]["fiscal_year"] = 2024
    data["fields"]["stock_prev"] = 1.0
    path = build(data)
    p = subprocess.run([sys.executable, "-m", "perfxl", "check", str(path), "--prev", str(SAMPLE_XLSX), "--json"],
                       capture_output=True, text=True, cwd=ROOT)
    assert "stock-prev-mismatch" in p.stdout, p.stderr


def test_a_prev_year_figure_unlike_last_years_is_a_finding(build, data, prev):
    """上年“三公”经费 / 上年结转结余 typed into this year's workbook must equal last year's figures."""
    data["fields"].update(fiscal_year=2024, stock_prev=1609.96, sangong_prev=12.0, carryover_prev=1609.96)
    cur = reader.read(build(data))
    found = yearcheck.compare(prev, cur)
    assert _codes(found) == [("prev-figure-mismatch", schema.S_BUDGET, cur.fields["sangong_prev"].cell)]
    assert "13.85" in found[0].message and "12.00" in found[0].message
    data["fields"].update(sangong_prev=13.85)
    del data["fields"]["carryover_prev"]  # left blank: nothing to compare
    assert yearcheck.compare(prev, reader.read(build(data, name="ok.xlsx"))) == []
