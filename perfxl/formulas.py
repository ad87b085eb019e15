"""Scoring rules as expressions: one definition, two executors.

Every rate, indicator method, award rule and total is written once, below, as a small expression
tree (:class:`perfxl.xlexpr.Expr`).  :func:`evaluate` computes it in Python with spreadsheet semantics (empty
cells, ``""`` results, Excel/LibreOffice tolerant comparison and addition, ROUND half away from
zero); :func:`render` turns the same tree into the Excel formula text that
:mod:`perfxl.writeback` writes.  So the cached value and the live formula cannot drift, and
tests/test_formulas_libreoffice.py proves a real engine agrees.

Only functions every engine computes alike are available: IF, AND, OR, MIN, MAX, ROUND, SUM,
SUMIFS, COUNTIFS, COUNTA, IFERROR, INDEX, MATCH.

Parameter cells: every number a rule uses is a workbook defined name ``p_<indicator>_<key>``
(``p_spending_rate_zero_at``), ``p_award_*``, ``p_total_*`` or ``p_grade_*``, whose value comes
from the rule pack; see :func:`param_name` and the ``params`` of each :class:`Method`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, TypeVar

from .xlexpr import (  # noqa: F401 — re-exported: formulas.X is the scoring rules' vocabulary
    XlError, DIV0, VALUE, NA, NAME, REF, NUM, approx_equal, approx_add, approx_sub, excel_round,
    Expr, Num, Text, Name, Cell, BinOp, Compare, Call, TableAgg, any_blank, lit, IF, AND, OR, MIN,
    MAX, ROUND, SUM, IFERROR, INDEX, MATCH, SUMIFS, COUNTIFS, COUNTA, Env, _text_number, evaluate,
    result, Refs, render, rendered, names_used,
)

if TYPE_CHECKING:  # pragma: no cover
    from .rulepack import Indicator, RulePack

_T = TypeVar("_T")
Param = Callable[[str], Expr]  # an indicator's parameter cell by key: P("zero_at") → Name("p_<id>_zero_at")

# ---------------------------------------------------------------------------------------------
# Rates (the contract's rate_* outputs)


@dataclass(frozen=True)
class RateDef:
    """rate = numerator ÷ denominator; empty ("") when a required input is empty, the
    denominator is zero, or an input is not a number (IFERROR)."""

    name: str
    numerator: Expr
    denominator: Expr
    required: tuple[str, ...]  # single-cell inputs that must be filled
    den_label: str  # the denominator, in Chinese, for messages
    # table rows whose inputs are not all filled (a count): the rate is undefined while any is
    # (a blank is "not filled", never "not done"); ``unfilled_label`` names them in messages
    unfilled: Expr | None = None
    unfilled_label: str = ""

    @cached_property  # an immutable tree of frozen nodes: built once per rate
    def expr(self) -> Expr:
        body = IF(self.denominator.eq(0), "", self.numerator / self.denominator)
        if self.unfilled is not None:
            body = IF(Compare(">", self.unfilled, Num(0)), "", body)
        if self.required:
            body = IF(any_blank(self.required), "", body)
        return IFERROR(body, "")

    @cached_property
    def inputs(self) -> tuple[str, ...]:
        """The defined names :attr:`expr` refers to, sorted."""
        return tuple(sorted(names_used(self.expr)))


_N = Name
RATES: tuple[RateDef, ...] = (
    RateDef("rate_issued_basic", _N("issued_basic"), _N("quota_basic"),
            ("issued_basic", "quota_basic"), "指标数·基本支出"),
    RateDef("rate_issued_project", _N("issued_project"), _N("quota_project"),
            ("issued_project", "quota_project"), "指标数·项目支出"),
    RateDef("rate_spending", _N("issued_basic") + _N("issued_project"),
            _N("quota_basic") + _N("quota_project"),
            ("issued_basic", "issued_project", "quota_basic", "quota_project"), "指标数合计（基本支出 + 项目支出）"),
    RateDef("rate_spending_incl_payable", _N("issued_basic") + _N("issued_project") + _N("payable_unpaid"),
            _N("quota_basic") + _N("quota_project"),
            ("issued_basic", "issued_project", "quota_basic", "quota_project"), "指标数合计（基本支出 + 项目支出）"),
    RateDef("rate_carryover", _N("carryover_balance"), _N("upper_funds_total"),
            ("carryover_balance", "upper_funds_total"), "上级资金总量"),
    RateDef("rate_stock_change", _N("stock_curr") - _N("stock_prev"), _N("stock_prev"),
            ("stock_curr", "stock_prev"), "上年末存量资金"),
    RateDef("rate_staff_control", SUMIFS("tbl_units", "年末实有人数", ("层级", "本级")),
            SUMIFS("tbl_units", "核定编制数", ("层级", "本级")), (), "本级核定编制数合计"),
    RateDef("rate_sangong", _N("sangong_actual"), _N("sangong_budget"),
            ("sangong_actual", "sangong_budget"), "“三公”经费预算数"),
    RateDef("rate_public", _N("public_actual"), _N("public_budget"),
            ("public_actual", "public_budget"), "日常公用经费预算数"),
    RateDef("rate_sme_share", _N("proc_sme"), _N("proc_goods") + _N("proc_works") + _N("proc_services"),
            ("proc_sme",), "政府采购合计（货物 + 工程 + 服务）"),
    RateDef("rate_key_tasks", COUNTIFS("tbl_key_tasks", ("完成状态", "已完成"), ("重点工作", "<>")),
            COUNTA("tbl_key_tasks", "重点工作"), (), "已填写的重点工作数",
            COUNTIFS("tbl_key_tasks", ("重点工作", "<>")) - COUNTIFS("tbl_key_tasks", ("重点工作", "<>"), ("完成状态", "<>")),
            "未填写完成状态的重点工作"),
    RateDef("rate_target_coverage", _N("projects_with_targets"), _N("projects_total"),
            ("projects_with_targets", "projects_total"), "项目总数"),
    RateDef("rate_budget_completion", _N("budget_executed"), _N("budget_annual"),
            ("budget_executed", "budget_annual"), "全年预算数"),
    RateDef("rate_sangong_change", _N("sangong_actual") - _N("sangong_prev"), _N("sangong_prev"),
            ("sangong_actual", "sangong_prev"), "上年“三公”经费实际支出数"),
    # The national framework's ratios (财预〔2013〕53号).  预算数 is budget_annual, as in
    # rate_budget_completion; 项目总支出 is exp_project; 实际采购金额 is the three procurement
    # parts, each required (a blank is not a zero: a department without works enters 0).
    RateDef("rate_key_spending", _N("key_project_exp"), _N("exp_project"),
            ("key_project_exp", "exp_project"), "项目支出"),
    RateDef("rate_budget_adjust", _N("budget_adjustment"), _N("budget_annual"),
            ("budget_adjustment", "budget_annual"), "全年预算数"),
    RateDef("rate_procurement", _N("proc_goods") + _N("proc_works") + _N("proc_services"), _N("proc_budget"),
            ("proc_goods", "proc_works", "proc_services", "proc_budget"), "政府采购预算数"),
    RateDef("rate_fixed_asset_use", _N("fixed_assets_in_use"), _N("fixed_assets_total"),
            ("fixed_assets_in_use", "fixed_assets_total"), "固定资产原值合计"),
    RateDef("rate_carryover_change", _N("carryover_balance") - _N("carryover_prev"), _N("carryover_prev"),
            ("carryover_balance", "carryover_prev"), "上年结转结余资金"),
)
RATE_BY_NAME = {r.name: r for r in RATES}
# Rates added for other shipped packs (national-framework): empty is a finding only when the pack
# in use scores with them, so a workbook for the default pack need not fill their inputs.
OPTIONAL_RATES = frozenset({"rate_budget_completion", "rate_sangong_change", "rate_key_spending",
                            "rate_budget_adjust", "rate_procurement", "rate_fixed_asset_use",
                            "rate_carryover_change"})


def pack_rates(pack: RulePack) -> frozenset[str]:
    """The contract rates ``pack``'s automatic indicators read."""
    out: set[str] = set()
    for ind in pack.automatic:
        out.update(c["input"] for c in ind.params.get("checks", ()))
        if ind.input:
            out.add(ind.input)
    return frozenset(out)


# ---------------------------------------------------------------------------------------------
# Indicator methods


def param_name(indicator: str, key: str) -> str:
    """The defined name of an indicator's parameter cell, e.g. ``p_spending_rate_zero_at``."""
    return f"p_{indicator}_{key}"


@dataclass(frozen=True)
class ParamSpec:
    """One parameter cell an indicator needs: key (name suffix), Chinese label, value, note."""

    key: str
    label: str
    value: float | str
    note: str = ""


def _pct(v: float) -> str:
    return f"{v * 100:g}%"


@dataclass(frozen=True)
class Method:
    """An indicator scoring method.

    ``required``/``optional``: the TOML ``params`` keys (``one_of``: exactly one of these);
    ``check``: further checks of the params → Chinese problem or None; ``specs``: the
    parameter cells; ``body``: the unrounded score given the parameters and non-empty inputs;
    ``computed``: what the 计算值 column shows (default: the input rate).
    """

    name: str
    label: str
    required: frozenset[str] = frozenset()
    optional: frozenset[str] = frozenset()
    one_of: frozenset[str] = frozenset()
    uses_input: bool = True
    check: Callable[["Indicator"], str | None] = lambda ind: None
    specs: Callable[["Indicator"], list[ParamSpec]] = lambda ind: []
    body: Callable[["Indicator", Param, Expr], Expr] | None = None
    computed: Callable[["Indicator", Param], Expr] | None = None
    own_inputs: Callable[["Indicator"], tuple[str, ...]] | None = None  # when not ``input``

    def inputs(self, ind: "Indicator") -> tuple[str, ...]:
        """The rate names the indicator reads."""
        if self.own_inputs is not None:
            return self.own_inputs(ind)
        return (ind.input,) if self.uses_input and ind.input else ()


def _num_ok(*vals: object) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in vals)


def _check_linear(ind: Indicator) -> str | None:
    z, f = ind.params.get("zero_at"), ind.params.get("full_at")
    if not _num_ok(z, f):
        return "zero_at / full_at 应为数字"
    if z == f:
        return "zero_at 与 full_at 不能相等"
    return None


def _band_edges(ind: Indicator) -> tuple[str, Any]:
    """("upper", ascending edges: first band with rate ≤ edge) or ("lower", descending edges:
    first band with rate ≥ edge)."""
    key = "lower" if "lower" in ind.params else "upper"
    return key, ind.params.get(key)


def _check_bands(ind: Indicator) -> str | None:
    key, edges = _band_edges(ind)
    sc, other = ind.params.get("score"), ind.params.get("else")
    if not isinstance(edges, list) or not isinstance(sc, list) or not edges:
        return f"{key} 与 score 应为非空列表"
    if len(edges) != len(sc):
        return f"{key} 有 {len(edges)} 个{'上限' if key == 'upper' else '下限'}而 score 有 {len(sc)} 个得分，个数应相同"
    if not _num_ok(*edges, *sc, other):
        return f"{key}、score、else 应为数字"
    if key == "upper" and any(b <= a for a, b in zip(edges, edges[1:])):
        return "upper 上限应从小到大排列"
    if key == "lower" and any(b >= a for a, b in zip(edges, edges[1:])):
        return "lower 下限应从大到小排列"
    if any(s < 0 or s > ind.points for s in (*sc, other)):
        return f"各档得分应在 0 与分值 {ind.points:g} 之间"
    return None


def _check_threshold(ind: Indicator) -> str | None:
    v = ind.params.get("at_most", ind.params.get("at_least"))
    return None if _num_ok(v) else "阈值应为数字"


def _check_deduct(ind: Indicator) -> str | None:
    p = ind.params
    if p.get("direction") not in ("above", "below"):
        return f"direction 应为 \"above\"（高于基准线扣分）或 \"below\"（低于基准线扣分），不是 {p.get('direction')!r}"
    if not _num_ok(p.get("line"), p.get("per_point")) or p["per_point"] <= 0:
        return "line 应为数字，per_point 应为正数"
    return None


def _check_sum_checks(ind: Indicator) -> str | None:
    from . import schema

    checks = ind.params.get("checks")
    if not isinstance(checks, list) or not checks:
        return "checks 应为非空列表"
    rates = {o.name for o in schema.RATE_OUTPUTS}
    total = 0.0
    for k, c in enumerate(checks, start=1):
        if not isinstance(c, dict):
            return f"第 {k} 个检查项格式不对"
        keys = set(c)
        bounds = keys & {"at_most", "at_least"}
        extra = keys - {"input", "at_most", "at_least", "score", "label"}
        if extra:
            return f"第 {k} 个检查项有多余参数：{'、'.join(sorted(extra))}"
        if len(bounds) != 1:
            return f"第 {k} 个检查项应有且只有 at_most 或 at_least 之一"
        if "input" not in c or "score" not in c:
            return f"第 {k} 个检查项缺少 {'input' if 'input' not in c else 'score'}"
        if c["input"] not in rates:
            return f"第 {k} 个检查项的 input “{c['input']}”不是标准比率名称（可用：{'、'.join(sorted(rates))}）"
        if not _num_ok(c["score"], c[bounds.pop()]):
            return f"第 {k} 个检查项的阈值和得分应为数字"
        total += c["score"]
    if not approx_equal(total, float(ind.points)):
        return f"各检查项得分合计 {total:g} 不等于分值 {ind.points:g}"
    return None


def _points(ind: Indicator) -> ParamSpec:
    return ParamSpec("points", "分值", ind.points, "该指标满分")


def _specs_ratio(ind: Indicator) -> list[ParamSpec]:
    return [_points(ind)]


def _specs_linear(ind: Indicator) -> list[ParamSpec]:
    z, f = ind.params["zero_at"], ind.params["full_at"]
    return [_points(ind),
            ParamSpec("zero_at", "0 分点", z, f"比率{'≤' if z < f else '≥'}该值得 0 分"),
            ParamSpec("full_at", "满分点", f, f"比率{'≥' if z < f else '≤'}该值得满分，其间线性计分")]


def _specs_bands(ind: Indicator) -> list[ParamSpec]:
    key, edges = _band_edges(ind)
    word, cmp, rest = ("上限", "≤", "高于最后一档上限") if key == "upper" else ("下限", "≥", "低于最后一档下限")
    out = [_points(ind)]
    for k, (u, s) in enumerate(zip(edges, ind.params["score"]), start=1):
        out.append(ParamSpec(f"{key}_{k}", f"第 {k} 档{word}", u, f"比率 {cmp} 该值（{_pct(u)}）"))
        out.append(ParamSpec(f"score_{k}", f"第 {k} 档得分", s, f"落入第 {k} 档的得分"))
    out.append(ParamSpec("else", "其余情况得分", ind.params["else"], f"{rest}时的得分"))
    return out


def _specs_threshold(ind: Indicator) -> list[ParamSpec]:
    if "at_most" in ind.params:
        return [_points(ind), ParamSpec("at_most", "满分上限", ind.params["at_most"], "比率 ≤ 该值得满分，否则 0 分")]
    return [_points(ind), ParamSpec("at_least", "满分下限", ind.params["at_least"], "比率 ≥ 该值得满分，否则 0 分")]


def _specs_deduct(ind: Indicator) -> list[ParamSpec]:
    word = "超过" if ind.params["direction"] == "above" else "低于"
    return [_points(ind),
            ParamSpec("line", "基准线", ind.params["line"], f"比率不{word}该值得满分"),
            ParamSpec("per_point", "每个百分点扣分", ind.params["per_point"],
                      f"每{word}基准线 1 个百分点扣的分数，扣完为止")]


def _specs_sum_checks(ind: Indicator) -> list[ParamSpec]:
    out = [_points(ind)]
    for k, c in enumerate(ind.params["checks"], start=1):
        label = c.get("label") or c["input"]
        if "at_most" in c:
            out.append(ParamSpec(f"{k}_at_most", f"检查 {k} 上限", c["at_most"], f"{label}：{c['input']} ≤ 该值"))
        else:
            out.append(ParamSpec(f"{k}_at_least", f"检查 {k} 下限", c["at_least"], f"{label}：{c['input']} ≥ 该值"))
        out.append(ParamSpec(f"{k}_score", f"检查 {k} 得分", c["score"], f"{label}：达到时得分"))
    return out


def _body_ratio(ind: Indicator, P: Param, x: Expr) -> Expr:
    return P("points") * MIN(1, MAX(0, x))


def _body_linear(ind: Indicator, P: Param, x: Expr) -> Expr:
    return P("points") * MIN(1, MAX(0, (x - P("zero_at")) / (P("full_at") - P("zero_at"))))


def _body_bands(ind: Indicator, P: Param, x: Expr) -> Expr:
    key, edges = _band_edges(ind)
    expr: Expr = P("else")
    for k in range(len(edges), 0, -1):
        edge = P(f"{key}_{k}")
        expr = IF(x.le(edge) if key == "upper" else x.ge(edge), P(f"score_{k}"), expr)
    return expr


def _body_threshold(ind: Indicator, P: Param, x: Expr) -> Expr:
    cond = x.le(P("at_most")) if "at_most" in ind.params else x.ge(P("at_least"))
    return IF(cond, P("points"), 0)


def _body_deduct(ind: Indicator, P: Param, x: Expr) -> Expr:
    over = (x - P("line")) if ind.params["direction"] == "above" else (P("line") - x)
    return MAX(0, P("points") - P("per_point") * MAX(0, over * 100))


def _check_conditions(ind: Indicator, P: Param) -> Iterator[tuple[int, Expr]]:
    for k, c in enumerate(ind.params["checks"], start=1):
        x = Name(c["input"])
        yield (k, x.le(P(f"{k}_at_most")) if "at_most" in c else x.ge(P(f"{k}_at_least")))


def _body_sum_checks(ind: Indicator, P: Param, x: Expr) -> Expr:
    return MIN(P("points"), _added(IF(cond, P(f"{k}_score"), 0) for k, cond in _check_conditions(ind, P)))


def _inputs_sum_checks(ind: Indicator) -> tuple[str, ...]:
    return tuple(dict.fromkeys(c["input"] for c in ind.params.get("checks", ())))


def _computed_sum_checks(ind: Indicator, P: Param) -> Expr:
    """计算值 of sum_checks: how many checks are met."""
    return _added(IF(cond, 1, 0) for _, cond in _check_conditions(ind, P))


def _added(terms: Iterable[Expr]) -> Expr:
    """``a+b+c`` of one term or more (a rule pack's sum_checks has at least one check)."""
    items = iter(terms)
    total = next(items, None)
    if total is None:
        raise ValueError("sum_checks without checks")
    for term in items:
        total = total + term
    return total


METHODS: dict[str, Method] = {m.name: m for m in (
    Method("manual", "人工评分", uses_input=False),
    Method("ratio", "按比率计分", specs=_specs_ratio, body=_body_ratio),
    Method("linear", "线性计分", frozenset({"zero_at", "full_at"}), check=_check_linear,
           specs=_specs_linear, body=_body_linear),
    Method("bands", "分档计分", frozenset({"score", "else"}), one_of=frozenset({"upper", "lower"}), check=_check_bands,
           specs=_specs_bands, body=_body_bands),
    Method("threshold", "达标计分", one_of=frozenset({"at_most", "at_least"}), check=_check_threshold,
           specs=_specs_threshold, body=_body_threshold),
    Method("deduct_per_point", "按百分点扣分", frozenset({"line", "direction", "per_point"}),
           check=_check_deduct, specs=_specs_deduct, body=_body_deduct),
    Method("sum_checks", "多项检查累加", frozenset({"checks"}), uses_input=False, check=_check_sum_checks,
           specs=_specs_sum_checks, body=_body_sum_checks, computed=_computed_sum_checks,
           own_inputs=_inputs_sum_checks),
)}


def _P(ind_id: str) -> Param:
    return lambda key: Name(param_name(ind_id, key))


# Expression trees are immutable, and an indicator's depends only on the indicator (its method,
# input and the *shape* of its params; values live in parameter cells): each is built once per
# Indicator object and shared by scoring and write-back.  Keyed by id() with the object kept
# alive beside it, so an id is never reused while its entry exists.
_BY_INDICATOR: dict[tuple[str, int], tuple[object, Any]] = {}  # saves 0.43 ms CPU a workbook (1.3%) (benchmarks/bench_memos.py: CPU its function spends with the memo off)


def _per_indicator(kind: str, ind: "Indicator", build: Callable[["Indicator"], _T]) -> _T:
    key = (kind, id(ind))
    got = _BY_INDICATOR.get(key)
    if got is not None and got[0] is ind:
        return got[1]
    value = build(ind)
    if len(_BY_INDICATOR) >= 4096:
        _BY_INDICATOR.clear()
    _BY_INDICATOR[key] = (ind, value)
    return value


def indicator_expr(ind: "Indicator") -> Expr | None:
    """The score of an automatic indicator: "" when an input rate is empty, else the method's
    score ROUNDed to 2 decimals.  None for a manual indicator."""
    return _per_indicator("score", ind, _indicator_expr)


def _indicator_expr(ind: "Indicator") -> Expr | None:
    m = METHODS[ind.method]
    if m.body is None:
        return None
    inputs = m.inputs(ind)
    x = Name(ind.input) if ind.input else Num(0)
    score = ROUND(m.body(ind, _P(ind.id), x), 2)
    return IF(any_blank(inputs), "", score) if inputs else score


def computed_expr(ind: "Indicator") -> Expr | None:
    """What the 计算值 cell of an automatic indicator shows (its input rate by default)."""
    return _per_indicator("computed", ind, _computed_expr)


def _computed_expr(ind: "Indicator") -> Expr | None:
    m = METHODS[ind.method]
    if m.body is None:
        return None
    if m.computed is None:  # the input rate, as the score reads it (a method with a body has one)
        return Name(ind.input) if ind.input else Num(0)
    inputs = m.inputs(ind)
    return IF(any_blank(inputs), "", m.computed(ind, _P(ind.id)))


# ---------------------------------------------------------------------------------------------
# Awards (加减分), totals and grade

AWARD_LEVELS_RANGE = "p_award_levels"
AWARD_POINTS_RANGE = "p_award_points"
AWARD_CAP = "p_award_cap"
TOTAL_CAP = "p_total_cap"
TOTAL_CAP_ON = "p_total_cap_on"


def award_row_expr(sheet: str, level_cell: str, type_cell: str) -> Expr:
    """自评得分 of one tbl_awards row: a 加分 row scores by its 授奖级别 (0 for an unknown
    level); any other row shows nothing (减分 rows hold the clerk's deduction instead)."""
    lookup = INDEX(Name(AWARD_POINTS_RANGE), MATCH(Cell(sheet, level_cell), Name(AWARD_LEVELS_RANGE), 0))
    return IF(Cell(sheet, type_cell).eq("加分"), ROUND(IFERROR(lookup, 0), 2), "")


@lru_cache(maxsize=None)  # saves 0.10 ms CPU a workbook (0.3%) (benchmarks/bench_memos.py: CPU its function spends with the memo off)
def bonus_expr() -> Expr:
    """score_bonus = min(cap, Σ 加分) − Σ 减分 (the cap limits additions; deductions count fully)."""
    plus = SUMIFS("tbl_awards", "自评得分", ("类型", "加分"))
    minus = SUMIFS("tbl_awards", "自评得分", ("类型", "减分"))
    return ROUND(MIN(Name(AWARD_CAP), plus) - minus, 2)


def base_expr(indicator_ids: Iterable[str]) -> Expr:
    """score_base = Σ score_<id> (an empty or text score counts 0, as SUM does)."""
    return _base_expr(tuple(indicator_ids))


@lru_cache(maxsize=64)  # saves 0.13 ms CPU a workbook (0.4%) (benchmarks/bench_memos.py: CPU its function spends with the memo off)
def _base_expr(indicator_ids: tuple[str, ...]) -> Expr:
    return ROUND(SUM(*(Name(f"score_{i}") for i in indicator_ids)), 2)


def total_expr() -> Expr:
    raw = Name("score_base") + Name("score_bonus")
    return ROUND(IF(Name(TOTAL_CAP_ON).eq(1), MIN(Name(TOTAL_CAP), raw), raw), 2)


def grade_expr(n_grades: int) -> Expr:
    """Bands by lower edge, best first; the last band takes everything below."""
    expr: Expr = Name(f"p_grade_{n_grades}_name")
    for k in range(n_grades - 1, 0, -1):
        expr = IF(Name("score_total").ge(Name(f"p_grade_{k}_min")), Name(f"p_grade_{k}_name"), expr)
    return expr


def formula(node: Expr, refs: Refs) -> str:
    """``=`` + :func:`render`."""
    return "=" + render(node, refs)
