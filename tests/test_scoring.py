"""Scoring in Python: the reference report's numbers, empty/zero denominators, manual scores,
missing rows, 加减分, the second pack, and the spreadsheet semantics of the evaluator."""
from __future__ import annotations

import dataclasses
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from perfxl import formulas, reader, rulepack, schema, scoring
from perfxl.formulas import (IF, MAX, MIN, ROUND, SUM, Name, Num, Text, approx_equal, evaluate, excel_round,
                             result)
from perfxl.writeback import scores_json

ALT_PACK = Path(__file__).resolve().parent / "rules" / "county-alt-2024.toml"

# The reference report (docs/reference-lechang-2023.txt) — the only expected numbers here.
REFERENCE_RATES = {
    "rate_spending": 0.7712, "rate_issued_basic": 0.9581, "rate_issued_project": 0.7591,
    "rate_spending_incl_payable": 0.8008, "rate_carryover": 0.1467, "rate_stock_change": 1.1253,
    "rate_staff_control": 0.7826, "rate_sangong": 0.9358, "rate_public": 0.9941, "rate_sme_share": 0.8956,
    "rate_key_tasks": 1.0, "rate_target_coverage": 1.0,
}
REFERENCE_SCORES = {"spending_rate": 1.81, "carryover_rate": 2, "stock_efficiency": 0}


@pytest.fixture(scope="module")
def default_pack():
    return rulepack.load()


def _score(build, data, pack=None, name="wb.xlsx"):
    pack = pack or rulepack.load()
    model = reader.read(build(data, name, pack=pack))
    return model, scoring.score(model, pack)


def test_sample_scores_exactly_as_the_reference_report(build, data, default_pack):
    _, s = _score(build, data)
    assert {k: round(v, 4) for k, v in s.rates.items() if k not in formulas.OPTIONAL_RATES} == REFERENCE_RATES
    assert s.rates["rate_sangong_change"] is None  # no 上年“三公”经费 in the reference: no finding either
    for ind in default_pack.indicators:
        assert s.indicators[ind.id] == REFERENCE_SCORES.get(ind.id, ind.points), ind.id
    assert (s.score_base, s.score_bonus, s.score_total, s.grade) == (94.81, 3.5, 98.31, "优")
    assert [score for _, score in s.awards] == [0.5, 1, 1, 1]
    assert s.problems == ()


def test_scores_json_shape(build, data):
    _, s = _score(build, data)
    j = scores_json(s)
    assert list(j) == ["indicators", "score_base", "score_bonus", "score_total", "grade", "rates"]
    assert j["indicators"]["spending_rate"] == 1.81 and j["rates"]["rate_key_tasks"] == 1.0


@pytest.mark.parametrize("fields,rate,indicator", [
    ({"quota_basic": 0, "quota_project": 0, "issued_basic": 0, "issued_project": 0}, "rate_spending", "spending_rate"),
    ({"quota_basic": None}, "rate_spending", "spending_rate"),
    ({"upper_funds_total": 0}, "rate_carryover", "carryover_rate"),
    ({"stock_prev": None}, "rate_stock_change", "stock_efficiency"),
    ({"stock_prev": 0}, "rate_stock_change", "stock_efficiency"),
    ({"sangong_budget": 0}, "rate_sangong", "economy"),
    ({"projects_total": 0}, "rate_target_coverage", "target_coverage"),
], ids=["spending-zero", "spending-empty", "carryover-zero", "stock-empty", "stock-zero", "sangong-zero",
        "coverage-zero"])
def test_empty_or_zero_denominator_gives_none_with_reason(build, data, fields, rate, indicator):
    for k, v in fields.items():
        if v is None:
            data["fields"].pop(k)
        else:
            data["fields"][k] = v
    _, s = _score(build, data)
    assert s.rates[rate] is None
    assert s.indicators[indicator] is None
    keys = {p.key for p in s.problems}
    assert {rate, indicator} <= keys
    # None counts 0: the base is the sum of the others.
    assert s.score_base == pytest.approx(sum(v for v in s.indicators.values() if v is not None))


def test_staff_control_counts_only_own_level_rows(build, data):
    data["tables"]["tbl_units"] = [
        {"单位名称": "本级", "层级": "本级", "编制类型": "行政", "核定编制数": 20, "年末实有人数": 23},
        {"单位名称": "下属", "层级": "下属", "编制类型": "事业", "核定编制数": 10, "年末实有人数": 1},
    ]
    _, s = _score(build, data)
    assert s.rates["rate_staff_control"] == pytest.approx(23 / 20)
    # 15 percentage points above the line at 0.1 each: 2 − 1.5
    assert s.indicators["staff_control"] == pytest.approx(0.5)
    data["tables"]["tbl_units"] = [{"单位名称": "下属", "层级": "下属", "编制类型": "事业", "核定编制数": 10,
                                    "年末实有人数": 1}]
    _, s = _score(build, data, name="b.xlsx")
    assert s.rates["rate_staff_control"] is None and s.indicators["staff_control"] is None


def test_key_tasks_rate_counts_filled_rows(build, data):
    data["tables"]["tbl_key_tasks"] = [
        {"序号": 1, "重点工作": "甲", "完成状态": "已完成"}, {"序号": 2, "重点工作": "乙", "完成状态": "部分完成"},
        {"序号": 3, "完成状态": "已完成"},  # no 重点工作: not a task
    ]
    _, s = _score(build, data)
    assert s.rates["rate_key_tasks"] == pytest.approx(0.5)


@pytest.mark.parametrize("value,counted,flagged", [(6, 6, True), (-1, -1, True), (4.5, 4.5, False),
                                                   (None, None, True), ("五", None, True)],
                         ids=["above-points", "negative", "fine", "empty", "text"])
def test_manual_scores_are_used_as_entered_and_flagged(build, data, value, counted, flagged):
    for row in data["tables"]["tbl_scores"]:
        if row["指标编号"] == "budget_rationality":
            row["自评得分"] = value
    _, s = _score(build, data)
    assert s.indicators["budget_rationality"] == counted
    assert ("budget_rationality" in {p.key for p in s.problems}) is flagged
    others = sum(v for k, v in s.indicators.items() if k != "budget_rationality" and v is not None)
    assert s.score_base == pytest.approx(others + (counted or 0))


def test_indicator_without_row_is_not_scored_and_reported(build, data, default_pack):
    model = reader.read(build(data))
    t = model.tables["tbl_scores"]
    rows = tuple(r for r in t.rows if r.get("指标编号") != "spending_rate")
    model = dataclasses.replace(model, tables={**model.tables, "tbl_scores": dataclasses.replace(t, rows=rows)})
    s = scoring.score(model, default_pack)
    assert s.indicators["spending_rate"] is None
    assert ("indicator-missing", "spending_rate") in {(p.kind, p.key) for p in s.problems}
    assert s.score_base == pytest.approx(sum(v for v in s.indicators.values() if v is not None))


def _awards(*rows):
    return [{"序号": i, "项目名称": f"奖项{i}", "授奖机关": "机关", "授奖时间": "2023-06-01", "授奖依据": "通报",
             "授奖级别": lvl, "类型": typ, **({"自评得分": pts} if pts is not None else {})}
            for i, (lvl, typ, pts) in enumerate(rows, start=1)]


def test_awards_cap_limits_additions_and_deductions_count_fully(build, data, default_pack):
    levels, cap = default_pack.awards["levels"], default_pack.awards["cap"]
    data["tables"]["tbl_awards"] = _awards(("国家级", "加分", None), ("国家级", "加分", None), ("省级", "加分", None),
                                           ("县级", "减分", 1.5), ("区级", "加分", None))
    _, s = _score(build, data)
    plus = 2 * levels["国家级"] + levels["省级"]
    assert [v for _, v in s.awards] == [levels["国家级"], levels["国家级"], levels["省级"], 0]
    assert s.score_bonus == pytest.approx(min(cap, plus) - 1.5)
    assert s.deductions and s.deductions[0][1] == 1.5
    assert any(p.kind == "award-level-unknown" and p.facts["level"] == "区级" for p in s.problems)  # 0, reported


def test_total_is_capped_and_graded_by_the_pack(build, data, default_pack):
    data["tables"]["tbl_awards"] = _awards(*[("国家级", "加分", None)] * 3)
    _, s = _score(build, data)
    assert s.score_total == min(default_pack.total["cap"], s.score_base + s.score_bonus)
    grade = next(name for name, low in default_pack.grades if s.score_total >= low)
    assert s.grade == grade


def _round2(x: float) -> float:
    return float(Decimal(repr(x)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _alt_oracle(pack, rates):
    """The second pack's rules written out by hand, independently of perfxl.formulas."""
    p = {i.id: i for i in pack.indicators}
    r = rates
    out = {}
    out["target_cover"] = p["target_cover"].points if r["rate_target_coverage"] >= 1.0 else 0
    sp = r["rate_spending"]
    out["spend_bands"] = 0 if sp <= 0.6 else 4 if sp <= 0.8 else 7 if sp <= 0.9 else 10
    co = r["rate_carryover"]
    out["carry_linear"] = _round2(8 * min(1, max(0, (co - 0.3) / (0.05 - 0.3))))
    out["stock_deduct"] = _round2(max(0, 4 - 0.2 * max(0, r["rate_stock_change"] * 100)))
    out["sme_ratio"] = _round2(6 * min(1, max(0, r["rate_sme_share"])))
    sc = r["rate_staff_control"]
    out["staff_bands"] = 6 if sc <= 1.0 else 3 if sc <= 1.1 else 0
    out["basic_issue_below"] = _round2(max(0, 6 - 0.5 * max(0, (0.9 - r["rate_issued_basic"]) * 100)))
    out["tasks_linear"] = _round2(12 * min(1, max(0, (r["rate_key_tasks"] - 0.5) / 0.5)))
    out["thrift"] = ((4 if r["rate_sangong"] <= 0.95 else 0) + (2 if r["rate_public"] <= 1.0 else 0)
                     + (2 if r["rate_spending_incl_payable"] >= 0.8 else 0))
    return out


@pytest.mark.parametrize("change", [
    {}, {"issued_basic": 800}, {"carryover_balance": 500}, {"stock_curr": 770}, {"sangong_actual": 14.0},
    {"issued_project": 15000, "issued_basic": 1013.93}, {"projects_with_targets": 9},
], ids=["sample", "basic-below-line", "carryover-5%", "stock-up", "sangong-thrifty", "spending-full", "coverage"])
def test_second_pack_scores_a_workbook_built_for_it(build, data, change):
    pack = rulepack.load(ALT_PACK)
    data["fields"].update(change)
    data["tables"]["tbl_scores"] = [{"指标编号": "budget_quality", "自评得分": 11},
                                    {"指标编号": "target_quality", "自评得分": 9},
                                    {"指标编号": "satisfaction", "自评得分": 10}]
    data["tables"]["tbl_awards"] = _awards(("国家级", "加分", None), ("省级", "加分", None), ("县级", "加分", None),
                                           ("市级", "减分", 0.5))
    model, s = _score(build, data, pack)
    assert [r.get("指标编号") for r in model.tables["tbl_scores"].filled] == [i.id for i in pack.indicators]
    assert [(p.kind, p.facts["level"]) for p in s.problems] == [("award-level-unknown", "县级")]  # not a level of this pack
    expected = _alt_oracle(pack, s.rates)
    for k, v in expected.items():
        assert s.indicators[k] == pytest.approx(v), k
    manual = 11 + 9 + 10
    assert s.score_base == pytest.approx(_round2(sum(expected.values()) + manual))
    levels = pack.awards["levels"]
    assert s.score_bonus == pytest.approx(min(pack.awards["cap"], levels["国家级"] + levels["省级"]) - 0.5)
    assert s.score_total == pytest.approx(_round2(s.score_base + s.score_bonus))  # cap disabled
    assert s.grade == next(name for name, low in pack.grades if s.score_total >= low)


# --- the evaluator's spreadsheet semantics --------------------------------------------------


class _Env:
    def __init__(self, **names):
        self.names = names

    def name(self, n):
        return self.names.get(n)

    def cell(self, sheet, cell):
        return None

    def column(self, table, header):
        raise KeyError(table)


@pytest.mark.parametrize("x,expected", [(2.675, 2.68), (1.005, 1.01), (-1.005, -1.01), (0.125, 0.13),
                                        (1.8077875, 1.81), (94.805, 94.81), (0.0, 0.0), (-0.004, 0.0)])
def test_round_is_excel_round(x, expected):
    assert excel_round(x, 2) == expected
    assert evaluate(ROUND(Num(x), 2), _Env()) == expected


def test_comparisons_and_sums_tolerate_binary_noise():
    assert approx_equal(0.1 + 0.2, 0.3) and not approx_equal(0.3, 0.3000001)
    assert evaluate(Num(0.1 + 0.2).le(0.3), _Env()) is True
    assert evaluate((Num(0.1) + Num(0.2)) - Num(0.3), _Env()) == 0.0


def test_blank_and_text_follow_spreadsheet_rules():
    env = _Env(a=None, b="", c="text", d=3.0)
    assert evaluate(Name("a").blank(), env) and evaluate(Name("b").blank(), env)
    assert evaluate(Name("a") + 1, env) == 1.0  # empty cell counts 0 in arithmetic
    assert isinstance(evaluate(Name("c") + 1, env), formulas.XlError)
    assert evaluate(SUM(Name("a"), Name("c"), Name("d")), env) == 3.0  # SUM skips text and blanks
    assert evaluate(MIN(1, MAX(0, Name("d"))), env) == 1.0
    assert result(evaluate(IF(Name("a").blank(), "", Num(1)), env)) is None
    assert evaluate(Text("优").eq(Text("优")), env) is True


def test_rate_definitions_cover_the_contract():
    assert [r.name for r in formulas.RATES] == [o.name for o in schema.RATE_OUTPUTS]


def test_shared_expressions_render_like_fresh_ones(default_pack):
    """Rate, indicator and total expressions are built once and shared; their formula text
    is remembered only when it does not depend on the workbook's table ranges."""
    class Refs:
        def __init__(self, rng):
            self.rng = rng

        def column_range(self, table, header):
            return f"'{table}'!{self.rng}"

    for ind in default_pack.indicators:
        assert formulas.indicator_expr(ind) is formulas.indicator_expr(ind)
        assert formulas.computed_expr(ind) is formulas.computed_expr(ind)
        assert repr(formulas.indicator_expr(ind)) == repr(formulas._indicator_expr(ind))  # Expr overloads ==
        assert repr(formulas.computed_expr(ind)) == repr(formulas._computed_expr(ind))
    exprs = [r.expr for r in formulas.RATES] + [formulas.indicator_expr(i) for i in default_pack.indicators]
    exprs += [formulas.bonus_expr(), formulas.total_expr(), formulas.grade_expr(4), formulas.base_expr(["a", "b"])]
    for e in filter(None, exprs):
        for rng in ("$A$1:$A$3", "$B$2:$B$9"):
            assert formulas.rendered(e, Refs(rng)) == formulas.render(e, Refs(rng))
    assert formulas.base_expr(["a", "b"]) is formulas.base_expr(("a", "b"))
    assert [r.inputs for r in formulas.RATES] == [tuple(sorted(formulas.names_used(r.expr))) for r in formulas.RATES]


def test_a_date_in_a_number_cell_scores_as_its_serial_like_excel(build, data, tmp_path):
    """A clerk's date typed into a money cell (Excel then gives the cell a date format) is the
    serial number Excel computes with: the scores equal those of the same serial typed as a
    number, never a crash."""
    import datetime as dt

    import openpyxl

    path = build(data)
    loc = reader.read(path).fields["quota_basic"]
    wb = openpyxl.load_workbook(path)
    wb[loc.sheet][loc.cell].value = dt.date(2023, 1, 1)  # openpyxl sets a date format, as Excel does
    wb.save(tmp_path / "date.xlsx")
    as_date = reader.read(tmp_path / "date.xlsx")
    assert isinstance(as_date.fields["quota_basic"].raw, dt.date)
    data["fields"]["quota_basic"] = 44927.0  # 2023-01-01 in the 1900 date system
    _, as_serial = _score(build, data, name="serial.xlsx")
    got = scoring.score(as_date, rulepack.load())
    assert got.rates == as_serial.rates and got.indicators == as_serial.indicators
    assert got.rates["rate_spending"] is not None


@pytest.mark.parametrize("value,serial", [
    ("2023-01-01", 44927.0), ("1900-03-01", 61.0), ("2024-05-20 12:00", 45432.5)])
def test_excel_serial(value, serial):
    import datetime as dt

    v = dt.datetime.fromisoformat(value)
    assert scoring.excel_serial(v) == serial
    assert scoring.excel_serial(v.date()) == int(serial)


def test_overflow_is_a_num_error_like_excel_not_a_crash(build, data):
    """1E+300 ÷ 1E-300 and a SUM past the largest float are #NUM! in a spreadsheet: the rate or
    total shows nothing and the reason is given, instead of inf reaching the writer or
    math.fsum raising OverflowError."""
    assert evaluate(Num(1e300) / Num(1e-300), _Env()) == formulas.NUM
    assert evaluate(SUM(Num(1e308), Num(1e308)), _Env()) == formulas.NUM
    assert evaluate(Text("1e999") + 1, _Env()) == formulas.VALUE
    data["fields"].update(sangong_budget=1e-300, sangong_actual=1e300)
    for row in data["tables"]["tbl_scores"][:2]:  # two manual scores of 1E+308
        row["自评得分"] = 1e308
    _, s = _score(build, data)
    assert s.rates["rate_sangong"] is None and s.score_base == 0.0
    assert any(p.key == "rate_sangong" and p.facts["reason"] == "overflow" and "超出数值范围" in p.message
               for p in s.problems)
