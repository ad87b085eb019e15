"""Sentences built from figures: one builder per rate an automatic indicator is scored on.

:data:`RATE_SENTENCES` maps a rate name (``rate_spending`` …) to a function of :class:`Facts`
returning the sentence the reference report writes about that rate, with every figure taken
from the workbook or the scores; any rule pack that scores an indicator on ``rate_spending``
therefore gets the spending sentence.  :data:`RATE_TABLES` says which table goes with a rate
(表3 after the spending sentence, 表4 before the key-task sentence).  A rate without a builder
is explained from its definition (:mod:`.explain`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from .. import schema
from ..model import Row, WorkbookModel
from . import numfmt as nf
from .text import clean


def as_number(v: Any) -> float | None:
    """A real number as float; None for empty, text, booleans (a value the report cannot use)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v)


def sum_present(*xs: float | None) -> float | None:
    """Sum of present values; None when none is present."""
    vals = [x for x in xs if x is not None]
    return round(sum(vals), 6) if vals else None


def ratio(a: float | None, b: float | None) -> float | None:
    """a ÷ b, or None when either is missing or b is zero (never divides by zero)."""
    if a is None or b is None or b == 0:
        return None
    return a / b


@dataclass(frozen=True)
class Facts:
    """What the sentence builders read: the model, the scores, the year and names."""

    model: WorkbookModel
    scores: Any
    year: str
    dept: str
    _filled: dict = field(default_factory=dict, init=False, repr=False, compare=False)  # rows() per table

    def num(self, name: str) -> float | None:
        """A numeric field of the workbook (万元, counts), None when absent."""
        return as_number(self.model.get(name))

    def money(self, name: str) -> str:
        return nf.money(self.num(name))

    def rate(self, name: str) -> float | None:
        """A rate from the scores (a fraction), None when it could not be computed."""
        rates = getattr(self.scores, "rates", None) or {}
        return as_number(rates.get(name))

    def pct(self, name: str) -> str:
        return nf.pct(self.rate(name))

    def rows(self, table: str) -> tuple[Row, ...]:
        """The filled rows of ``table`` (looked up once: the model is immutable)."""
        rows = self._filled.get(table)
        if rows is None:
            t = self.model.table(table)
            rows = self._filled[table] = t.filled if t is not None else ()
        return rows

    @property
    def prev_year(self) -> str:
        return str(int(self.year) - 1) if self.year.isdigit() else "上"


def field_text(model: WorkbookModel, name: str) -> str:
    """A text field of the workbook, cleaned ('' when empty)."""
    return clean(model.get(name))


def _compare(actual: float | None, budget: float | None) -> str:
    if actual is None or budget is None:
        return "，预算安排数"
    if round(actual - budget, 6) < 0:
        return "，小于预算安排数"
    if round(actual - budget, 6) == 0:
        return "，等于预算安排数"
    return "，超过预算安排数"


def _s_spending(f: Facts) -> str:
    quota = sum_present(f.num("quota_basic"), f.num("quota_project"))
    issued = f.num("issued_incl_special")
    if issued is None:
        issued = sum_present(f.num("issued_basic"), f.num("issued_project"))
    head = (f"{f.dept}在{f.year}年共{nf.integer(f.num('payment_count'))}笔资金支出，"
            if f.num("payment_count") is not None else f"{f.dept}{f.year}")
    inner = []
    if f.num("special_account"):
        inner.append(f"含{f.money('special_account')}万元专户资金")
    if f.num("payable_unpaid"):
        inner.append(f"有{f.money('payable_unpaid')}万元应付未付")
    s = (head + f"年度的指标数共计{nf.money(quota)}万元，本年度已下达资金用款计划为{nf.money(issued)}万元"
         + (f"（{'，'.join(inner)}）" if inner else "") + f"，资金支出进度为{f.pct('rate_spending')}")
    if f.num("payable_unpaid"):
        s += f"（含应付未付资金则为{f.pct('rate_spending_incl_payable')}）"
    return s + "。"


def _s_issued(kind: str, label: str) -> Callable[[Facts], str]:
    def build(f: Facts) -> str:
        return (f"{label}指标数{f.money('quota_' + kind)}万元，已下达用款计划{f.money('issued_' + kind)}万元，"
                f"支出进度为{f.pct('rate_issued_' + kind)}。")
    return build


def _s_spending_incl_payable(f: Facts) -> str:
    return (f"计入应付未付资金{f.money('payable_unpaid')}万元后，资金支出进度为"
            f"{f.pct('rate_spending_incl_payable')}。")


def _s_carryover(f: Facts) -> str:
    s = (f"{f.year}年{f.dept}上级资金总量为{f.money('upper_funds_total')}万元，"
         f"结转结余{f.money('carryover_balance')}万元")
    if f.num("carryover_payable_excluded"):
        s += f"（已剔除应付未付资金{f.money('carryover_payable_excluded')}万元）"
    return s + f"，结转结余率为{f.pct('rate_carryover')}。"


def _s_stock(f: Facts) -> str:
    return (f"{f.prev_year}年度年末存量资金{f.money('stock_prev')}万元，{f.year}年度年末存量资金"
            f"{f.money('stock_curr')}万元，存量资金效率性（增长率）为{f.pct('rate_stock_change')}。")


def _s_staff(f: Facts) -> str:
    own = [r for r in f.rows("tbl_units") if clean(r.get("层级")) == "本级"]
    if not own:
        return f"本级人员编制情况未填报，财政供养人员控制率为{f.pct('rate_staff_control')}。"
    name = clean(own[0].get("单位名称")) or f.dept
    quotas, actual = [], []
    for i, r in enumerate(own):
        t = clean(r.get("编制类型")) or "（编制类型未填写）"  # blank is not filled, never 其他
        n = nf.integer(as_number(r.get("核定编制数")))
        unit = "人" if t == "工勤" else "名"  # the reference counts 工勤 in 人
        quotas.append(f"{t}编制人数为{n}{unit}" if i == 0 else f"{t}编制{n}{unit}")
        a = nf.integer(as_number(r.get("年末实有人数")))
        actual.append(f"工勤人员{a}人" if t == "工勤" else f"{t}在编{a}名")
    return (f"{name}{'，'.join(quotas)}，年末{'、'.join(actual)}。"
            f"财政供养人员控制率为{f.pct('rate_staff_control')}。")


def _s_sangong(f: Facts) -> str:
    a, b = f.num("sangong_actual"), f.num("sangong_budget")
    return (f"{f.year}年度{f.dept}“三公”经费实际支出数为{nf.money(a)}万元{_compare(a, b)}"
            f"{nf.money(b)}万元，实际支出率为{f.pct('rate_sangong')}。")


def _s_public(f: Facts) -> str:
    a, b = f.num("public_actual"), f.num("public_budget")
    return (f"日常公用经费实际支出数为{nf.money(a)}万元{_compare(a, b).replace('预算安排数', '日常公用经费预算数')}"
            f"{nf.money(b)}万元，实际支出率为{f.pct('rate_public')}。")


def _s_sme(f: Facts) -> str:
    parts = (("proc_goods", "货物"), ("proc_works", "工程"), ("proc_services", "服务"))
    total = sum_present(*(f.num(n) for n, _ in parts))
    detail = "、".join(f"政府采购{label}支出{f.money(n)}万元" for n, label in parts if f.num(n) is not None)
    return (f"{f.year}年政府采购支出总额{nf.money(total)}万元" + (f"，其中：{detail}" if detail else "")
            + f"。授予中小企业合同金额{f.money('proc_sme')}万元，占政府采购支出总额的{f.pct('rate_sme_share')}。")


def _s_target_coverage(f: Facts) -> str:
    return f"{f.dept}设置了绩效目标的项目占全部项目的{f.pct('rate_target_coverage')}。"


def task_summary(f: Facts) -> str:
    rows = f.rows("tbl_key_tasks")
    counts: dict[str, int] = {}
    for r in rows:
        s = clean(r.get("完成状态")) or "未填写状态"
        counts[s] = counts.get(s, 0) + 1
    n = len(rows)
    if n == 1 and counts.get("已完成") == 1:
        return "该项重点工作已完成"
    if counts.get("已完成") == n:
        return f"{n}项重点工作均已完成"
    return f"{n}项重点工作中" + "、".join(f"{k}{v}项" for k, v in counts.items())


#: Sentence builders keyed by the rate an automatic indicator uses.
RATE_SENTENCES: dict[str, Callable[[Facts], str]] = {
    "rate_spending": _s_spending,
    "rate_spending_incl_payable": _s_spending_incl_payable,
    "rate_issued_basic": _s_issued("basic", "基本支出"),
    "rate_issued_project": _s_issued("project", "项目支出"),
    "rate_carryover": _s_carryover,
    "rate_stock_change": _s_stock,
    "rate_staff_control": _s_staff,
    "rate_sangong": _s_sangong,
    "rate_public": _s_public,
    "rate_sme_share": _s_sme,
    "rate_target_coverage": _s_target_coverage,
}
#: Tables that belong to an indicator using this rate: (table kind, placed after the text?).
RATE_TABLES: dict[str, tuple[str, bool]] = {
    "rate_spending": ("spending", True),
    "rate_key_tasks": ("key_tasks", False),
}
_RATE_LABELS = {o.name: o.label for o in schema.RATE_OUTPUTS}


def indicator_rates(ind: Any) -> list[str]:
    """The rates an indicator is scored on: its ``input`` and the inputs of its checks."""
    out = []
    if getattr(ind, "input", None):
        out.append(ind.input)
    params = getattr(ind, "params", None) or {}
    for check in params.get("checks", ()) if isinstance(params, Mapping) else ():
        if isinstance(check, Mapping) and check.get("input") and check["input"] not in out:
            out.append(check["input"])
    return out


def rate_label(rate: str) -> str:
    """The Chinese name of a contract rate (its name itself when the contract has none)."""
    return _RATE_LABELS.get(rate, rate)
