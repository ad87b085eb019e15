"""The inputs the national-framework pack adds to the contract (重点项目支出, 预算调整数, 上年结转结余,
政府采购预算数, 固定资产原值合计, 在用固定资产原值, 上年“三公”经费): laid out with guards by the
template, optional for the default pack, and — when the pack in use reads them — a missing name
or a blank cell is a finding at the workbook's own sheet!cell."""
from __future__ import annotations

import copy
import importlib.util

import openpyxl
import pytest

from conftest import ROOT
from perfxl import formulas, reader, rulepack, schema, scoring, template, validate

NATIONAL = rulepack.load("national-framework")
DEFAULT = rulepack.load()
# The rate each new input feeds, and the national indicator scored on it.
NEW_INPUTS = {
    "sangong_prev": ("rate_sangong_change", "sangong_change"),
    "key_project_exp": ("rate_key_spending", "key_spending"),
    "budget_adjustment": ("rate_budget_adjust", "budget_adjust"),
    "carryover_prev": ("rate_carryover_change", "carryover_control"),
    "proc_budget": ("rate_procurement", "procurement"),
    "fixed_assets_total": ("rate_fixed_asset_use", "asset_use"),
    "fixed_assets_in_use": ("rate_fixed_asset_use", "asset_use"),
}


def _regen():
    spec = importlib.util.spec_from_file_location("regen", ROOT / "scripts" / "regen.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def national_data(sample_data):
    return _regen().national_data(sample_data)


def test_every_new_input_is_optional_and_read_by_the_national_pack():
    assert set(NEW_INPUTS) == set(schema.OPTIONAL_FIELDS)
    read = {n for r in formulas.pack_rates(NATIONAL) for n in formulas.RATE_BY_NAME[r].inputs}
    assert set(NEW_INPUTS) <= read
    for name, (rate, ind) in NEW_INPUTS.items():
        assert name in formulas.RATE_BY_NAME[rate].inputs and rate in formulas.OPTIONAL_RATES
        assert NATIONAL.indicator(ind).input == rate and not NATIONAL.indicator(ind).manual
    assert not (formulas.pack_rates(DEFAULT) & formulas.OPTIONAL_RATES)


def test_national_template_lays_out_the_new_inputs_with_guards(tmp_path):
    """`perfxl new --rules national-framework`: each new input has its label, unit, help and an
    entry rule (non-negative 万元) on its sheet, unlocked for the clerk."""
    from test_entry_rules import _field_cell, _one

    path = template.write_new(tmp_path / "全国.xlsx", pack=NATIONAL)
    wb = openpyxl.load_workbook(path)
    default_wb = openpyxl.load_workbook(template.TEMPLATE_PATH)
    for name in NEW_INPUTS:
        f = schema.FIELD_BY_NAME[name]
        ws, coord = _field_cell(wb, name)
        default_ws, default_coord = _field_cell(default_wb, name)
        assert default_coord == coord  # one layout; only the words differ
        assert ws.title == f.sheet and ws.title in (schema.S_BUDGET, schema.S_FINANCE), name
        row = ws[coord].row
        # required by this pack: marked 必填 (the default pack's template says it may stay blank)
        assert ws.cell(row, 2).value == f.label + "（必填）" and ws.cell(row, 4).value == "万元", name
        assert ws.cell(row, 5).value == f.help and f.help, name
        assert default_ws[coord].value is None
        assert default_ws.cell(row, 2).value == f.label and "不用此项" in default_ws.cell(row, 5).value, name
        assert ws[coord].protection.locked is False and ws[coord].value is None, name
        dv = _one(ws, coord)
        assert (dv.type, dv.operator, dv.formula1) == ("decimal", "greaterThanOrEqual", "0"), name
        assert f.help[:20] in dv.prompt, name
    model = reader.read(path)
    assert not (set(NEW_INPUTS) & set(model.missing))


@pytest.mark.parametrize("name", sorted(NEW_INPUTS))
def test_blank_input_is_a_finding_only_for_the_pack_that_reads_it(name, national_data, build):
    """A blank never reads as zero: the rate and its indicator stay empty, and the finding points
    at the blank cell, in Chinese, naming the input."""
    data = copy.deepcopy(national_data)
    data["fields"].pop(name)
    rate, ind = NEW_INPUTS[name]
    model = reader.read(build(data, pack=NATIONAL))
    f = schema.FIELD_BY_NAME[name]
    where = (model.fields[name].sheet, model.fields[name].cell)
    assert where[0] == f.sheet
    s = scoring.score(model, NATIONAL)
    assert s.rates[rate] is None and s.indicators[ind] is None
    found = [x for x in validate.check(model, NATIONAL, s) if (x.sheet, x.cell) == where]
    assert [x.code for x in found] == ["rate-undefined"], found
    assert f.label in found[0].message and "未填写" in found[0].message
    s0 = scoring.score(model, DEFAULT)
    assert not [x for x in validate.check(model, DEFAULT, s0) if (x.sheet, x.cell) == where]


@pytest.mark.parametrize("part", ["proc_goods", "proc_works", "proc_services"])
def test_blank_procurement_part_is_not_a_zero(part, national_data, build):
    """政府采购执行率 needs all three parts (a department without works enters 0)."""
    data = copy.deepcopy(national_data)
    data["fields"].pop(part)
    model = reader.read(build(data, pack=NATIONAL))
    s = scoring.score(model, NATIONAL)
    assert s.rates["rate_procurement"] is None and s.indicators["procurement"] is None
    where = (model.fields[part].sheet, model.fields[part].cell)
    assert "rate-undefined" in {x.code for x in validate.check(model, NATIONAL, s) if (x.sheet, x.cell) == where}
    data["fields"][part] = 0
    s = scoring.score(reader.read(build(data, name="zero.xlsx", pack=NATIONAL)), NATIONAL)
    assert s.rates["rate_procurement"] is not None


@pytest.mark.parametrize("den, rate", [("fixed_assets_total", "rate_fixed_asset_use"),
                                       ("carryover_prev", "rate_carryover_change"),
                                       ("proc_budget", "rate_procurement"),
                                       ("exp_project", "rate_key_spending")])
def test_zero_denominator_is_a_finding_at_the_denominator(den, rate, national_data, build):
    data = copy.deepcopy(national_data)
    data["fields"][den] = 0
    model = reader.read(build(data, pack=NATIONAL))
    s = scoring.score(model, NATIONAL)
    assert s.rates[rate] is None
    where = (model.fields[den].sheet, model.fields[den].cell)
    [f] = [x for x in validate.check(model, NATIONAL, s) if x.code == "rate-undefined"]
    assert (f.sheet, f.cell) == where and "为零" in f.message


def test_missing_names_are_findings_only_for_the_pack_that_reads_them(tmp_path):
    """A workbook made before these inputs existed (the contract layout of an older version)
    passes the default pack's check; under national-framework each missing name is an error
    naming it and its label."""
    from contract_workbook import build_contract_workbook

    src = tmp_path / "旧工作簿.xlsx"
    build_contract_workbook(path=src)
    model = reader.read(src)
    assert set(NEW_INPUTS) <= set(model.missing)

    def missing(pack):  # the structure findings (the scoring side adds one per rate it cannot compute)
        return [f for f in validate.check(model, pack, scoring.score(model, pack))
                if f.code == "name-missing" and f.message.startswith("找不到名称")]

    assert missing(DEFAULT) == []
    found = missing(NATIONAL)
    for name in NEW_INPUTS:
        [f] = [f for f in found if f"“{name}”" in f.message]
        assert schema.FIELD_BY_NAME[name].label in f.message
    assert len(found) == len(NEW_INPUTS)
    s = scoring.score(model, NATIONAL)
    assert all(s.indicators[ind] is None for _, ind in NEW_INPUTS.values())


def test_bands_with_lower_edges_score_each_band(national_data, build):
    """重点支出安排率 (≥ 90 % 5, 80–90 % 4, 70–80 % 3, 60–70 % 2, below 0): each edge belongs to
    the band above it; the edges are the pack's parameters."""
    data = copy.deepcopy(national_data)
    data["fields"]["exp_project"] = 10000.0
    got = {}
    for key in (9500, 9000, 8999, 8000, 7000, 6999, 6000, 5999, 0):
        data["fields"]["key_project_exp"] = float(key)
        model = reader.read(build(data, name=f"k{key}.xlsx", pack=NATIONAL))
        got[key] = scoring.score(model, NATIONAL).indicators["key_spending"]
    assert got == {9500: 5, 9000: 5, 8999: 4, 8000: 4, 7000: 3, 6999: 2, 6000: 2, 5999: 0, 0: 0}
