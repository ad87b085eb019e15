"""Rule packs are data: the default and the second pack load; every malformed pack is refused
with a RulesError that names the file, the line and the indicator (not asserting wording)."""
from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pytest

from perfxl import formulas, rulepack, schema
from perfxl.errors import RulesError

ALT_PACK = Path(__file__).resolve().parent / "rules" / "county-alt-2024.toml"
DEFAULT_TEXT = resources.files("perfxl.rules").joinpath("guangdong-2023.toml").read_text("utf-8")


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """1-based line of the nth non-comment line containing ``needle``."""
    return [n for n, line in enumerate(text.splitlines(), start=1)
            if needle in line and not line.lstrip().startswith("#")][nth - 1]


def replace_in_body(text: str, old: str, new: str) -> str:
    """Replace the first occurrence after the header comments (which quote the format)."""
    at = text.index("\n[pack]")
    assert old in text[at:], f"test case out of date: {old!r}"
    return text[:at] + text[at:].replace(old, new, 1)


def test_default_pack_loads_with_tree_and_parameters():
    pack = rulepack.load()
    assert pack.id == "guangdong-dept-2023"
    assert len(pack.indicators) == 27
    assert sum(i.points for i in pack.indicators) == pack.total_points == 100
    for key, pts in pack.tree.items():
        under = [i.points for i in pack.indicators if key in (i.level1, i.path)]
        assert sum(under) == pytest.approx(pts), key
    names = [p.name for p in pack.params]
    assert len(names) == len(set(names))
    for ind in pack.automatic:
        assert formulas.param_name(ind.id, "points") in names
        assert ind.line == line_of(DEFAULT_TEXT, f'id = "{ind.id}"')
    for p in pack.params:
        assert re.fullmatch(r"p_[a-z0-9_]+", p.name) and p.label and p.indicator
    fitted = [p for p in pack.params if rulepack.FITTED_NOTE in p.note]
    assert {p.indicator for p in fitted} >= {"部门预算资金支出率", "结转结余率", "财政供养人员控制率", "经济性"}
    assert not any(rulepack.FITTED_NOTE in p.note for p in pack.params if p.name.endswith("_points")
                   and p.name.startswith("p_target_coverage"))


def test_second_pack_has_another_shape():
    pack = rulepack.load(ALT_PACK)
    default = rulepack.load()
    assert len({i.level1 for i in pack.indicators}) == 3
    assert {i.method for i in pack.indicators} >= {"bands", "linear", "deduct_per_point", "threshold",
                                                     "sum_checks", "ratio", "manual"}
    assert any(i.params.get("direction") == "below" for i in pack.indicators)
    assert set(pack.awards["levels"]) != set(default.awards["levels"])
    assert pack.awards["cap"] != default.awards["cap"]
    assert pack.total["cap_enabled"] is False
    assert [g for g, _ in pack.grades] != [g for g, _ in default.grades]


# Each case: (id, replace this, with this, the text whose line the error must name, the indicator
# or section the error must name).
BROKEN = [
    ("tree-children", '"预算编制情况/预算编制" = 18', '"预算编制情况/预算编制" = 17', '"预算编制情况/预算编制" = 17',
     "预算编制情况/预算编制"),
    ("points-dont-add-up", 'name = "预算编制合理性"\npoints = 5', 'name = "预算编制合理性"\npoints = 6',
     '"预算编制情况/预算编制" = 18', "预算编制情况/预算编制"),
    ("total", "total_points = 100", "total_points = 90", "total_points = 90", "total_points"),
    ("unknown-method", 'method = "linear"', 'method = "lineal"', 'id = "spending_rate"', "spending_rate"),
    ("missing-param", "params = { zero_at = 0.50, full_at = 0.95 }", "params = { zero_at = 0.50 }",
     'id = "spending_rate"', "full_at"),
    ("extra-param", "params = { zero_at = 0.50, full_at = 0.95 }",
     "params = { zero_at = 0.50, full_at = 0.95, slope = 2 }", 'id = "spending_rate"', "slope"),
    ("input-not-a-rate", 'input = "rate_spending"', 'input = "rate_spend"', 'id = "spending_rate"', "rate_spend"),
    ("input-missing", 'input = "rate_carryover"\n', "", 'id = "carryover_rate"', "carryover_rate"),
    ("manual-with-input", 'name = "预算编制规范性"\npoints = 5\nmethod = "manual"',
     'name = "预算编制规范性"\npoints = 5\nmethod = "manual"\ninput = "rate_spending"', 'id = "budget_compliance"',
     "budget_compliance"),
    ("threshold-both", "params = { at_most = 0.0 }", "params = { at_most = 0.0, at_least = 0.5 }",
     'id = "stock_efficiency"', "stock_efficiency"),
    ("bands-lengths", "score = [3, 2, 1]", "score = [3, 2]", 'id = "carryover_rate"', "carryover_rate"),
    ("bands-order", "upper = [0.10, 0.20, 0.30]", "upper = [0.20, 0.10, 0.30]", 'id = "carryover_rate"',
     "carryover_rate"),
    ("bands-lower-order", "upper = [0.10, 0.20, 0.30]", "lower = [0.10, 0.20, 0.30]", 'id = "carryover_rate"',
     "lower"),
    ("bands-both-edges", "upper = [0.10, 0.20, 0.30]", "upper = [0.10, 0.20, 0.30], lower = [0.3, 0.2, 0.1]",
     'id = "carryover_rate"', "lower"),
    ("linear-flat", "zero_at = 0.50, full_at = 0.95", "zero_at = 0.50, full_at = 0.50", 'id = "spending_rate"',
     "spending_rate"),
    ("deduct-direction", 'direction = "above"', 'direction = "up"', 'id = "staff_control"', "staff_control"),
    ("sum-checks-total", 'at_most = 1.0, score = 3, label = "日常', 'at_most = 1.0, score = 2, label = "日常',
     'id = "economy"', "economy"),
    ("sum-checks-input", '{ input = "rate_public"', '{ input = "rate_pub"', 'id = "economy"', "rate_pub"),
    ("duplicate-id", 'id = "budget_science"', 'id = "budget_planning"', ('id = "budget_planning"', 2),
     "budget_planning"),
    ("bad-id", 'id = "fairness"', 'id = "Fairness-1"', 'id = "Fairness-1"', "Fairness-1"),
    ("path-not-in-tree", 'path = "资金使用效益/公平性"', 'path = "资金使用效益/公正性"', 'id = "fairness"', "公正性"),
    ("award-level", '"县级" = 0.5', '"乡级" = 0.5', "levels = {", "乡级"),
    ("award-cap", "cap = 5", "cap = -1", "cap = -1", "awards"),
    ("grade-order", 'name = "良"\nmin = 80', 'name = "良"\nmin = 95', 'name = "良"', "良"),
    ("unknown-section", "[total]", "[totals]", "[totals]", "totals"),
]


@pytest.mark.parametrize("case", BROKEN, ids=[c[0] for c in BROKEN])
def test_broken_pack_is_refused_with_file_line_and_indicator(tmp_path, case):
    _, old, new, line_text, what = case
    text = replace_in_body(DEFAULT_TEXT, old, new)
    path = tmp_path / "坏的规则包.toml"
    path.write_text(text, "utf-8")
    with pytest.raises(RulesError) as exc:
        rulepack.load(path)
    msg = str(exc.value)
    assert str(path) in msg
    expected_line = line_of(text, *line_text) if isinstance(line_text, tuple) else line_of(text, line_text)
    assert f"第 {expected_line} 行" in msg, msg
    assert what in msg, msg


def test_toml_syntax_error_names_the_line(tmp_path):
    text = replace_in_body(DEFAULT_TEXT, 'name = "项目监管"', 'name = "项目监管')
    path = tmp_path / "syntax.toml"
    path.write_text(text, "utf-8")
    with pytest.raises(RulesError) as exc:
        rulepack.load(path)
    line = line_of(text, 'name = "项目监管')
    assert str(path) in str(exc.value) and f"第 {line} 行" in str(exc.value)


def test_missing_pack_file(tmp_path):
    with pytest.raises(RulesError) as exc:
        rulepack.load(tmp_path / "nope.toml")
    assert "nope.toml" in str(exc.value)


def test_pack_without_tree_checks_only_the_total():
    text = re.sub(r"\n\[tree\].*?(?=\n\[\[indicator\]\])", "", DEFAULT_TEXT, count=1, flags=re.S)
    pack = rulepack.loads(text, "no-tree.toml")
    assert pack.tree == {} and len(pack.indicators) == 27
    with pytest.raises(RulesError):
        rulepack.loads(replace_in_body(text, "total_points = 100", "total_points = 99"), "no-tree.toml")


def test_every_method_declares_what_the_loader_checks():
    rate_names = {o.name for o in schema.RATE_OUTPUTS}
    assert set(formulas.RATE_BY_NAME) == rate_names
    for m in formulas.METHODS.values():
        assert m.name == "manual" or m.body is not None
        assert not (m.required & m.one_of)
