"""One lenient reading of every number cell (issue 13): the same text reads the same in every
cell and every stage; text the formulas cannot compute with is an error at its cell, and the
rates and scores over it are undefined — never a silent 0."""
from __future__ import annotations

import openpyxl
import pytest

from conftest import ROOT
from perfxl import api, coerce
from perfxl.report import build_context

SAMPLE = ROOT / "samples" / "乐昌市民政局-2023.xlsx"


def _copy(tmp_path, name, **cells):
    wb = openpyxl.load_workbook(SAMPLE)
    for ref, value in cells.items():
        sheet, cell = ref.split("!")
        wb[sheet][cell] = value
    path = tmp_path / f"{name}.xlsx"
    wb.save(path)
    return path


@pytest.mark.parametrize("text, value, engines", [
    ("12539.32万元", 12539.32, False), ("12539.32元", 12539.32, False), ("１２５３９．３２", 12539.32, False),
    ("12,539.32", 12539.32, True), (" 12539.32 ", 12539.32, True), ("77.12%", 0.7712, True),
    ("12,539.32万元", 12539.32, False),
])
def test_one_reading(text, value, engines):
    got, problem = coerce.parse("money", text)
    assert problem is None and got == pytest.approx(value)
    assert coerce.formula_reads(text) is engines


def test_unit_text_reads_the_same_in_income_and_in_quota(tmp_path):
    """The issue's case: '…万元' in 收入 and in 指标数 — one finding code, one reading, and the
    rate over 指标数 is undefined and its indicator unscored (not 0 of 3)."""
    path = _copy(tmp_path, "unit", **{"收支情况!C5": "12539.32万元", "预算执行!C8": "1013.93万元"})
    r = api.check(path)
    assert r.exit_code == 1
    found = {f.ref: f for f in r.findings if f.code == "number-text-unusable"}
    assert set(found) == {"收支情况!C5", "预算执行!C8"}
    assert all(f.severity == "错误" for f in found.values())
    assert "读作 12,539.32 万元" in found["收支情况!C5"].message
    assert "读作 1,013.93 万元" in found["预算执行!C8"].message
    assert r.model.fields["income_general"].value == 12539.32 and r.model.fields["quota_basic"].value == 1013.93
    s = r.analysis.scores
    assert s.rates["rate_spending"] is None and s.indicators["spending_rate"] is None
    ctx = build_context(r.model, s, r.analysis.pack, r.findings)
    spending = next(i for g in ctx["groups"] for sub in g["subgroups"] for i in sub["indicators"]
                    if i["id"] == "spending_rate")
    assert "该项尚未评分" in "".join(spending["before"] + spending["after"])


def test_thousands_text_is_a_warning_and_computes(tmp_path):
    path = _copy(tmp_path, "thousands", **{"预算执行!C9": "15,720.94"})
    r = api.check(path)
    codes = {(f.code, f.ref) for f in r.findings}
    assert ("number-as-text", "预算执行!C9") in codes
    assert not any(f.code == "number-text-unusable" for f in r.findings)
    assert r.analysis.scores.rates["rate_spending"] == pytest.approx(0.7711640, abs=1e-6)
    assert r.analysis.scores.score_total == pytest.approx(98.31)


def test_full_width_digits_in_a_table_cell_are_an_error_at_the_cell(tmp_path):
    path = _copy(tmp_path, "fw", **{"人员编制!G9": "１８"})
    r = api.check(path)
    hits = [f for f in r.findings if f.code == "number-text-unusable"]
    assert [f.ref for f in hits] == ["人员编制!G9"] and "读作 18" in hits[0].message
