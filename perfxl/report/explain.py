"""An automatic indicator explained in words, from data perfxl already holds — no per-pack code.

Two sentences per automatic indicator, both derived, so a rate or a rule pack added later is
explained without a line of code here:

- :func:`rate_sentence` — the rate's definition (:class:`perfxl.formulas.RateDef`, an expression
  tree over the contract's names and tables) in words, each input under its Chinese label
  (:mod:`perfxl.schema`) with its value formatted as the report formats figures, then the result:
  "“三公”经费变动率 =（本年“三公”经费实际支出数13.85万元 − 上年“三公”经费实际支出数13.50万元）÷
  上年“三公”经费实际支出数13.50万元 = 2.59%。"  A rate that could not be computed says why
  ("上年“三公”经费实际支出数未填写，“三公”经费变动率无法计算。") — a blank never reads as zero.
- :func:`rule_sentence` — the indicator's method (:data:`perfxl.formulas.METHODS`) applied to the
  rate with the pack's *effective* parameters (a bureau's edits on 评分参数 included):
  "按评分标准，“三公”经费变动率超过0%共2.59个百分点，每个百分点扣0.5分，扣1.3分。"

Only figures and the pack's own labels are placed in the text: nothing a clerk typed is
interpreted (no templating of workbook text).
"""
from __future__ import annotations

import re
from typing import Any, Callable, Mapping

from .. import formulas, schema
from ..formulas import (BinOp, Call, Cell, Compare, Expr, Name, Num, TableAgg, Text, XlError, approx_equal,
                        evaluate, excel_round, param_name)
from ..model import Value
from . import numfmt as nf
from .sentences import Facts, as_number, indicator_rates, rate_label

_PREC = {"+": 1, "-": 1, "*": 2, "/": 2}
_OP_WORDS = {"+": " + ", "-": " − ", "*": " × ", "/": " ÷ "}
_COUNT_UNIT = "项"  # a count of table rows (重点工作 3 项)
# Grouping parentheses are written as these markers, then as （ ）: no space outside them
# ("=（a − b）÷ c"), while a label's own parentheses keep their spacing.
_OPEN, _CLOSE = "\x01", "\x02"
_GROUPS = re.compile(f" ?{_OPEN}|{_CLOSE} ?")


def _minus(s: str) -> str:
    """A negative figure with the minus sign (−8.89%), not a hyphen."""
    return "−" + s[1:] if s.startswith("-") else s


# ---------------------------------------------------------------- figures of the inputs

def _seen(v: Value | None) -> Any:
    """What a formula sees in a cell (as the scoring engine reads it): a number typed as text
    stays text, so SUMIFS skips it here as Excel does and the figure matches the rate."""
    if v is None:
        return None
    if v.raw is None or v.raw == "":
        return float(v.value) if as_number(v.value) is not None else None
    return float(v.raw) if as_number(v.raw) is not None else v.raw


class _ModelEnv:
    """What :func:`perfxl.formulas.evaluate` needs to compute a table aggregate from the model."""

    def __init__(self, f: Facts):
        self.f = f

    def name(self, name: str) -> Any:
        return _seen(self.f.model.fields.get(name))

    def cell(self, sheet: str, cell: str) -> Any:  # rates never address single cells
        return None

    def column(self, table: str, header: str) -> list[Any]:
        t = self.f.model.table(table)
        if t is None or header not in t.columns:
            raise KeyError(header)
        return [_seen(r.cells.get(header)) for r in t.rows]


def _figure(value: float | None, kind: str, unit: str) -> str:
    if kind == schema.RATE:
        return _minus(nf.pct(value))
    if kind == schema.MONEY:
        return _minus(nf.money(value)) + (unit or "万元")
    if kind == schema.INT:
        return _minus(nf.integer(value)) + unit
    return _minus(nf.points(value)) + unit


def _name_words(f: Facts, name: str, labels: Mapping[str, str]) -> str:
    """'上年“三公”经费实际支出数13.50万元'; an input not filled says so (never 0)."""
    if name in formulas.RATE_BY_NAME:
        rate = f.rate(name)
        return f"{rate_label(name)}{_minus(nf.pct(rate))}" if rate is not None else f"{rate_label(name)}（无法计算）"
    fd = schema.FIELD_BY_NAME.get(name)
    label, kind, unit = (labels.get(name, fd.label), fd.kind, fd.unit) if fd else (name, schema.NUMBER, "")
    value = f.model.fields.get(name)
    if value is None or value.empty:
        return f"{label}（未填写）"
    number = as_number(value.value)
    if number is None:
        return f"{label}（填写的不是数字）"
    return label + _figure(number, kind, unit)


def _agg_label(node: TableAgg) -> tuple[str, str, str]:
    """(label, kind, unit) of a table aggregate: 'SUMIFS(年末实有人数, 层级=本级)' → 本级年末实有人数."""
    tdef = schema.TABLE_BY_NAME.get(node.table)
    values = [c for _, c in node.criteria if c != "<>"]
    if node.fn == "SUMIFS" and node.target:
        col = _column(tdef, node.target)
        label = "".join(values) + node.target if values else f"{node.target}合计"
        return label, col.kind if col else schema.NUMBER, getattr(col, "unit", "") if col else ""
    filled = [h for h, c in node.criteria if c == "<>"]
    noun = node.target or (filled[0] if filled else (tdef.key if tdef and tdef.key else node.table))
    return (f"{'、'.join(values)}的" if values else "") + f"{noun}数", schema.INT, _COUNT_UNIT


def _column(tdef: schema.TableDef | None, header: str) -> schema.Column | None:
    if tdef is None:
        return None
    return next((c for c in tdef.columns if c.header == header), None)


def _agg_words(f: Facts, node: TableAgg) -> str:
    label, kind, unit = _agg_label(node)
    value = evaluate(node, _ModelEnv(f))
    number = None if isinstance(value, XlError) else as_number(value)
    if number is None:
        tdef = schema.TABLE_BY_NAME.get(node.table)
        return f"{label}（{tdef.caption if tdef else node.table}未填写或无法读取）"
    return label + _figure(number, kind, unit)


def _words(f: Facts, node: Expr, labels: Mapping[str, str]) -> str:
    """An expression in words: labels with figures, + − × ÷ and full-width parentheses."""
    if isinstance(node, Name):
        return _name_words(f, node.name, labels)
    if isinstance(node, Num):
        return _minus(nf.points(node.value))
    if isinstance(node, Text):
        return f"“{node.value}”"
    if isinstance(node, TableAgg):
        return _agg_words(f, node)
    if isinstance(node, BinOp) and node.op in _PREC:
        p = _PREC[node.op]
        left, right = _words(f, node.a, labels), _words(f, node.b, labels)
        if isinstance(node.a, BinOp) and _PREC.get(node.a.op, 3) < p:
            left = f"{_OPEN}{left}{_CLOSE}"
        if isinstance(node.b, BinOp) and (_PREC.get(node.b.op, 3) < p or
                                          (_PREC.get(node.b.op, 3) == p and node.op in "-/")):
            right = f"{_OPEN}{right}{_CLOSE}"
        return left + _OP_WORDS[node.op] + right
    if isinstance(node, Call):
        args = [_words(f, a, labels) for a in node.args]
        if node.fn == "SUM":
            return _OPEN + " + ".join(args) + _CLOSE
        if node.fn in ("ROUND", "IFERROR") and args:
            return args[0]
        if node.fn in ("MIN", "MAX") and args:
            return f"{'、'.join(args)}中的{'较小' if node.fn == 'MIN' else '较大'}值"
        return f"{node.fn}（{'，'.join(args)}）"
    if isinstance(node, Compare):  # not used by rates today; shown rather than hidden
        return f"{_words(f, node.a, labels)} {node.op} {_words(f, node.b, labels)}"
    if isinstance(node, Cell):
        return f"{node.sheet}!{node.cell}"
    return type(node).__name__


# ---------------------------------------------------------------- why a rate is empty

_REASONS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "input-empty": lambda p: f"{p.get('name_label', '')}未填写",
    "name-missing": lambda p: f"工作簿缺少{p.get('name_label', '')}一项",
    "table-missing": lambda p: f"工作簿缺少“{_caption(p.get('table', ''))}”表",
    "rows-unfilled": lambda p: f"有{p.get('n', '')}项{p.get('what', '')}",
    "denominator-text": lambda p: f"{p.get('den_label', '')}含非数字内容",
    "denominator-zero": lambda p: f"{p.get('den_label', '')}为0",
    "overflow": lambda p: "输入的数值过大或过小",
    "input-text": lambda p: "输入含非数字内容",
}


def _caption(table: str) -> str:
    t = schema.TABLE_BY_NAME.get(table)
    return re.sub(r"^表\d+\s*", "", t.caption) if t else table


def _why_empty(f: Facts, rate: formulas.RateDef) -> str:
    """Why ``rate`` has no value: from the scoring problem recorded for it, else from the model."""
    for p in getattr(f.scores, "problems", None) or ():
        if getattr(p, "key", None) == rate.name and getattr(p, "kind", "") in ("rate-undefined", "rate-name-missing"):
            params = dict(p.params)
            build = _REASONS.get(params.get("reason", ""))
            if build is not None:
                return build(dict(params.get("reason_params", ())))
    for n in rate.required:
        v = f.model.fields.get(n)
        label = schema.FIELD_BY_NAME[n].label if n in schema.FIELD_BY_NAME else n
        if v is None:
            return f"工作簿缺少{label}一项"
        if v.empty:
            return f"{label}未填写"
        if as_number(v.value) is None:
            return f"{label}含非数字内容"
    env = _ModelEnv(f)
    den = evaluate(rate.denominator, env)
    if isinstance(den, XlError):
        return f"{rate.den_label}含非数字内容"
    if den == 0:
        return f"{rate.den_label}为0"
    return ""


def _year_labels(expr: Expr) -> dict[str, str]:
    """Labels that name the year when the formula compares two years: beside
    “上年“三公”经费实际支出数”, “三公”经费实际支出数 reads 本年“三公”经费实际支出数."""
    labels = {n: schema.FIELD_BY_NAME[n].label for n in formulas.names_used(expr) if n in schema.FIELD_BY_NAME}
    prior = {v[2:] for v in labels.values() if v.startswith("上年")}
    return {n: "本年" + v for n, v in labels.items() if v in prior}


def rate_sentence(f: Facts, rate: str) -> str:
    """The rate's formula with its inputs' labels and figures and the result, or why it has none."""
    label = rate_label(rate)
    rd = formulas.RATE_BY_NAME.get(rate)
    value = f.rate(rate)
    if rd is None:
        return f"{label}为{_minus(nf.pct(value))}。"
    if value is None:
        why = _why_empty(f, rd)
        return f"{why}，{label}无法计算。" if why else f"{label}无法计算。"
    expr = rd.numerator / rd.denominator
    text = f"{label} = {_words(f, expr, _year_labels(expr))} = {_minus(nf.pct(value))}。"
    return _GROUPS.sub(lambda m: "（" if _OPEN in m.group() else "）", text)


# ---------------------------------------------------------------- the rule applied

def _le(a: float, b: float) -> bool:
    """a ≤ b as the spreadsheet compares (tolerant equality)."""
    return a < b or approx_equal(a, b)


class _Rule:
    """An indicator's effective parameters: the pack's parameter cells (a bureau's edits on
    评分参数 included), else the pack file's values."""

    def __init__(self, pack: Any, ind: Any):
        self.ind = ind
        self.cells = {p.name: p.value for p in getattr(pack, "params", ())}

    def __call__(self, key: str) -> float:
        """The parameter's number (ValueError when the pack holds none: the caller says nothing)."""
        v = as_number(self.cells.get(param_name(self.ind.id, key)))
        if v is None:
            v = as_number(self.ind.points if key == "points" else _pack_value(self.ind.params, key))
        if v is None:
            raise ValueError(key)
        return v


def _pack_value(params: Mapping[str, Any], key: str) -> Any:
    """A parameter as the pack file gives it: ``upper_2`` → params["upper"][1], ``1_score`` →
    params["checks"][0]["score"]."""
    if key in params:
        return params[key]
    head, _, tail = key.rpartition("_")
    if tail.isdigit() and head in params:  # upper_2, score_2
        seq = params[head]
        return seq[int(tail) - 1] if isinstance(seq, list) and 0 < int(tail) <= len(seq) else None
    first, _, rest = key.partition("_")
    checks = params.get("checks")
    if first.isdigit() and isinstance(checks, list) and 0 < int(first) <= len(checks):
        c = checks[int(first) - 1]
        return c.get(rest) if isinstance(c, Mapping) else None
    return None


def _pts(x: float) -> str:
    return _minus(nf.points(x))


def _pct(x: float) -> str:
    return _minus(nf.pct(x))


def _rule_ratio(P: _Rule, x: float, score: float) -> str:
    if _le(1.0, x):
        return "达到100%，得满分"
    if _le(x, 0.0):
        return f"为{_pct(x)}，不得分"
    return f"按比例计分：{_pts(P('points'))}分 × {_pct(x)} = {_pts(score)}分"


def _rule_linear(P: _Rule, x: float, score: float) -> str:
    z, full, pts = P("zero_at"), P("full_at"), P("points")
    if z < full:  # higher is better
        if _le(full, x):
            return f"达到{_pct(full)}，得满分"
        if _le(x, z):
            return f"不高于{_pct(z)}，不得分"
        return (f"介于{_pct(z)}与{_pct(full)}之间，按线性计分：{_pts(pts)}分 ×（{_pct(x)} − {_pct(z)}）"
                f"÷（{_pct(full)} − {_pct(z)}）= {_pts(score)}分")
    if _le(x, full):
        return f"不高于{_pct(full)}，得满分"
    if _le(z, x):
        return f"达到{_pct(z)}，不得分"
    return (f"介于{_pct(full)}与{_pct(z)}之间，按线性计分：{_pts(pts)}分 ×（{_pct(z)} − {_pct(x)}）"
            f"÷（{_pct(z)} − {_pct(full)}）= {_pts(score)}分")


def _rule_bands(P: _Rule, x: float, score: float) -> str:
    if "lower" in P.ind.params:  # descending lower edges: first band with rate ≥ edge
        n = len(P.ind.params["lower"])
        lowers = [P(f"lower_{k}") for k in range(1, n + 1)]
        for k, low in enumerate(lowers, start=1):
            if _le(low, x):
                where = f"达到{_pct(low)}" if k == 1 else f"达到{_pct(low)}、低于{_pct(lowers[k - 2])}"
                return f"{where}，得{_pts(P(f'score_{k}'))}分"
        return f"低于{_pct(lowers[-1])}，得{_pts(P('else'))}分"
    n = len(P.ind.params.get("upper", ()))
    uppers = [P(f"upper_{k}") for k in range(1, n + 1)]
    for k, up in enumerate(uppers, start=1):
        if _le(x, up):
            where = f"不超过{_pct(up)}" if k == 1 else f"高于{_pct(uppers[k - 2])}、不超过{_pct(up)}"
            return f"{where}，得{_pts(P(f'score_{k}'))}分"
    return f"高于{_pct(uppers[-1])}，得{_pts(P('else'))}分"


def _rule_threshold(P: _Rule, x: float, score: float) -> str:
    if "at_most" in P.ind.params:
        a = P("at_most")
        return f"未超过{_pct(a)}，得满分" if _le(x, a) else f"超过{_pct(a)}，不得分"
    a = P("at_least")
    return f"达到{_pct(a)}，得满分" if _le(a, x) else f"低于{_pct(a)}，不得分"


def _rule_deduct(P: _Rule, x: float, score: float) -> str:
    line, per, pts = P("line"), P("per_point"), P("points")
    above = P.ind.params.get("direction") == "above"
    word = "超过" if above else "低于"
    if (above and _le(x, line)) or (not above and _le(line, x)):
        return f"{'未超过' if above else '不低于'}{_pct(line)}，不扣分"
    gap = excel_round(abs(x - line) * 100, 2)
    text = f"{word}{_pct(line)}共{_pts(gap)}个百分点，每个百分点扣{_pts(per)}分，"
    if score <= 0:
        return text + f"应扣{_pts(excel_round(per * abs(x - line) * 100, 2))}分，以该项分值{_pts(pts)}分为限，扣完为止"
    return text + f"扣{_pts(excel_round(pts - score, 2))}分"


def _rule_sum_checks(f: Facts, P: _Rule, score: float) -> str:
    parts = []
    for k, c in enumerate(P.ind.params.get("checks", ()), start=1):
        x = f.rate(c["input"])
        if x is None:
            return ""
        got = _pts(P(f"{k}_score"))
        head = f"{c.get('label') or rate_label(c['input'])}：{rate_label(c['input'])}{_pct(x)}，"
        if "at_most" in c:
            a = P(f"{k}_at_most")
            parts.append(f"{head}未超过{_pct(a)}，得{got}分" if _le(x, a) else f"{head}超过{_pct(a)}，不得分")
        else:
            a = P(f"{k}_at_least")
            parts.append(f"{head}达到{_pct(a)}，得{got}分" if _le(a, x) else f"{head}低于{_pct(a)}，不得分")
    return "；".join(parts)


#: Wording of each single-input method: (effective parameters, rate, score) → the phrase after
#: "按评分标准，<rate>".  A method added later without wording is named by its label.
RULE_WORDS: dict[str, Callable[[_Rule, float, float], str]] = {
    "ratio": _rule_ratio,
    "linear": _rule_linear,
    "bands": _rule_bands,
    "threshold": _rule_threshold,
    "deduct_per_point": _rule_deduct,
}


def rule_sentence(f: Facts, pack: Any, ind: Any) -> str:
    """"按评分标准，<the rule applied to the rate>。"; '' for a manual indicator, or when a rate
    or the score is missing (the rate sentence and the score sentence already say so)."""
    if getattr(ind, "manual", False):
        return ""
    inds = getattr(f.scores, "indicators", None) or {}
    score = as_number(inds.get(ind.id))
    rates = indicator_rates(ind)
    if score is None or not rates or any(f.rate(r) is None for r in rates):
        return ""
    P = _Rule(pack, ind)
    try:
        if ind.method == "sum_checks":
            body = _rule_sum_checks(f, P, score)
            return f"按评分标准，{body}。" if body else ""
        words = RULE_WORDS.get(ind.method)
        x = f.rate(rates[0])
        assert x is not None
        if words is None:
            method = formulas.METHODS.get(ind.method)
            return f"按评分标准（{method.label if method else ind.method}），{rate_label(rates[0])}为{_pct(x)}。"
        return f"按评分标准，{rate_label(rates[0])}{words(P, x, score)}。"
    except (KeyError, TypeError, ValueError):  # parameters not as the method expects: say nothing wrong
        return ""


def indicator_text(f: Facts, pack: Any, ind: Any, rates: list[str] | None = None) -> str:
    """Every rate sentence of an automatic indicator, then its rule sentence."""
    rates = indicator_rates(ind) if rates is None else rates
    return "".join(rate_sentence(f, r) for r in rates) + rule_sentence(f, pack, ind)
