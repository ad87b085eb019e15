"""`perfxl check 2024.xlsx --prev 2023.xlsx --mark`: the year-over-year findings are marked at
their cells and listed on 校验结果 like every other finding (read back from the written workbook)."""
from __future__ import annotations

import subprocess
import sys

import openpyxl
import pytest

import perfxl
from perfxl import reader, schema
from conftest import ROOT, SAMPLE_XLSX

YEAR_CODES = {"staff-quota-jump", "unit-disappeared", "stock-prev-mismatch"}


@pytest.fixture
def jumpy(build, data):
    """2024's workbook against the 2023 sample: a quota jump, a unit gone, 上年末存量资金 unlike
    last year's 本年末存量资金."""
    units = data["tables"]["tbl_units"]
    units[0]["核定编制数"] = 23  # 民政局 行政: 18 → 23 (+28 %)
    del units[5]                # 殡仪馆 gone
    data["fields"]["fiscal_year"] = 2024
    data["fields"]["stock_prev"] = 1600.00  # last year ended with 1609.96
    return build(data, "2024.xlsx")


def _perfxl(*args):
    return subprocess.run([sys.executable, "-m", "perfxl", *map(str, args)], capture_output=True, text=True, cwd=ROOT)


def _worklist(path):
    ws = openpyxl.load_workbook(path)[schema.S_FINDINGS]
    head = [c.value for c in ws[1]]
    return [dict(zip(head, (c.value for c in row))) for row in ws.iter_rows(min_row=2)]


def test_year_findings_are_marked_at_their_cells(jumpy, tmp_path):
    out = tmp_path / "marked.xlsx"
    p = _perfxl("check", jumpy, "--prev", SAMPLE_XLSX, "--mark", "-o", out)
    assert p.returncode in (0, 1), p.stderr
    rows = _worklist(out)
    assert YEAR_CODES <= {r["代码"] for r in rows}
    assert f"已将 {len(rows)} 条校验结果" in p.stdout  # the count printed is what was written
    cur = reader.read(jumpy)
    units = cur.tables["tbl_units"]
    where = {
        "staff-quota-jump": (schema.S_STAFF, units.filled[0].cells["核定编制数"].cell),
        "stock-prev-mismatch": (schema.S_BUDGET, cur.fields["stock_prev"].cell),
        "unit-disappeared": (schema.S_STAFF, f"{units.columns['单位名称']}{units.header_row}"),
    }
    wb = openpyxl.load_workbook(out)
    for code, (sheet, cell) in where.items():
        row = next(r for r in rows if r["代码"] == code)
        assert row["位置"] == f"{sheet}!{cell}", code
        note = wb[sheet][cell].comment
        assert note is not None and row["问题"] in note.text, code
    assert "殡仪馆" in wb[schema.S_STAFF][where["unit-disappeared"][1]].comment.text
    assert openpyxl.load_workbook(jumpy).sheetnames[0] != schema.S_FINDINGS  # -o: the input is untouched


def test_library_check_takes_the_previous_year(jumpy, tmp_path):
    out = tmp_path / "lib.xlsx"
    r = perfxl.check(jumpy, prev=SAMPLE_XLSX, mark=True, output=out)
    assert r.ok and YEAR_CODES <= {f.code for f in r.findings}
    assert YEAR_CODES <= {row["代码"] for row in _worklist(out)}
    assert not YEAR_CODES & {f.code for f in perfxl.check(jumpy).findings}  # only when asked


def test_an_unreadable_previous_year_stops_before_writing(jumpy, tmp_path):
    bad, out = tmp_path / "2023.xlsx", tmp_path / "marked.xlsx"
    bad.write_bytes(b"not a workbook")
    p = _perfxl("check", jumpy, "--prev", bad, "--mark", "-o", out)
    assert p.returncode == 2 and "2023.xlsx" in p.stderr and "上年" in p.stderr
    assert not out.exists()


def test_the_output_may_not_be_the_previous_year(jumpy, tmp_path):
    last = tmp_path / "2023.xlsx"
    last.write_bytes(SAMPLE_XLSX.read_bytes())
    p = _perfxl("check", jumpy, "--prev", last, "--mark", "-o", last)
    assert p.returncode == 2
    assert last.read_bytes() == SAMPLE_XLSX.read_bytes()
