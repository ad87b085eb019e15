"""Rates, indicator scores, 加减分, totals and grade of one workbook (the Python executor).

:func:`score` evaluates the expressions of :mod:`perfxl.formulas` against the workbook model,
with spreadsheet semantics, so every number here is what Excel/WPS/LibreOffice will compute from
the formulas :mod:`perfxl.writeback` writes.  Nothing raises on bad data: what cannot be scored
is ``None`` and explained in :attr:`Scores.problems`.

Decisions (docs/rules-guangdong-2023.md has the rules themselves):

- A rate whose denominator is zero, whose required input is empty, or whose input is not a
  number is ``None`` (the cell shows nothing); the indicators reading it are ``None`` too.
- A manual (人工) score is used as the clerk entered it — never clamped, so the 评分表 column,
  score_base and the report agree — and a score outside 0 … 分值, an empty score, or text is
  reported in ``problems`` (text and empty count 0, as Excel's SUM does).
- An indicator of the pack without a row in tbl_scores is not scored (``None``, counts 0,
  reported): perfxl never moves the clerk's layout to append rows.
- 加减分: a 加分 row scores by its 授奖级别 (unknown level → 0, reported); a 减分 row deducts what
  the clerk entered; score_bonus = min(加分上限, Σ加分) − Σ减分.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Mapping

from . import formulas, schema
from .formulas import NAME, XlError, evaluate, result
from .model import Row, Value, WorkbookModel
from .rulepack import RulePack

_LABELS = {f.name: f.label for f in schema.FIELDS} | {o.name: o.label for o in schema.RATE_OUTPUTS}


@dataclass(frozen=True)
class Scores:
    """The result of :func:`score`.

    ``rates``: rate_* → fraction or None.  ``indicators``: indicator id → score or None (None
    counts 0 in score_base).  ``computed``: automatic indicator id → what its 计算值 cell shows
    (the input rate, or for sum_checks the number of checks met).  ``awards``: (sheet row, score)
    of each 加分 row of tbl_awards.  ``problems``: (indicator id / rate name / "加减分" …, Chinese
    reason) for everything that could not be scored or looks wrong.
    """

    rates: Mapping[str, float | None]
    indicators: Mapping[str, float | None]
    computed: Mapping[str, float | None]
    awards: tuple[tuple[int, float | None], ...]
    score_base: float
    score_bonus: float
    score_total: float
    grade: str
    problems: tuple[tuple[str, str], ...] = ()
    pack_id: str = ""
    deductions: tuple[tuple[int, float], ...] = field(default=())  # (row, points) of 减分 rows


def _raw(v: Value | None) -> Any:
    """What a formula sees in a cell: numbers as float, text as text, empty as None."""
    if v is None:
        return None
    raw = v.raw
    if raw is None or (isinstance(raw, str) and raw == ""):
        return float(v.value) if isinstance(v.value, (int, float)) and not isinstance(v.value, bool) else None
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, (int, float)):
        return float(raw)
    if isinstance(raw, (dt.date, dt.time, dt.timedelta)):
        return excel_serial(raw)  # a date typed into a number cell: the serial Excel computes with
    return raw


_EPOCH = dt.datetime(1899, 12, 30)


def excel_serial(v: dt.date | dt.time | dt.timedelta) -> float:
    """The number a spreadsheet holds for a date, time or duration (1900 date system)."""
    if isinstance(v, dt.timedelta):
        return v.total_seconds() / 86400
    if isinstance(v, dt.time):
        return (v.hour * 3600 + v.minute * 60 + v.second + v.microsecond / 1e6) / 86400
    if not isinstance(v, dt.datetime):
        v = dt.datetime(v.year, v.month, v.day)
    return (v.replace(tzinfo=None) - _EPOCH).total_seconds() / 86400


class _Env:
    """Names and table columns as the workbook will hold them after write-back."""

    def __init__(self, model: WorkbookModel, pack: RulePack):
        self.model = model
        self.values: dict[str, Any] = {}
        self.groups: dict[str, list[Any]] = {}
        for p in pack.params:
            v = float(p.value) if isinstance(p.value, (int, float)) and not isinstance(p.value, bool) else p.value
            self.values[p.name] = v
            if p.group:
                self.groups.setdefault(p.group, []).append(v)
        self.overrides: dict[tuple[str, str, int], Any] = {}
        self._cells: dict[tuple[str, str], Any] = {}
        self._indexed: set[str] = set()  # sheets whose table cells are in _cells

    def name(self, name: str) -> Any:
        if name in self.values:
            return self.values[name]
        if name in self.groups:
            return self.groups[name]
        if name in self.model.fields:
            return _raw(self.model.fields[name])
        return NAME

    def cell(self, sheet: str, cell: str) -> Any:
        """A table cell's value (only tables' cells are known), indexed one sheet at a time."""
        if sheet not in self._indexed:
            self._indexed.add(sheet)
            for t in self.model.tables.values():
                for row in t.rows:
                    for v in row.cells.values():
                        if v.sheet == sheet:
                            self._cells[(v.sheet, v.cell)] = _raw(v)
        return self._cells.get((sheet, cell))

    def column(self, table: str, header: str) -> list[Any]:
        t = self.model.tables[table]
        if header not in t.columns:
            raise KeyError(header)
        return [self.overrides.get((table, header, r.row), _raw(r.cells.get(header))) for r in t.rows]


def _label(name: str) -> str:
    return _LABELS.get(name, name)


def _where(model: WorkbookModel, name: str) -> str:
    v = model.fields.get(name)
    return f"（{v.ref}）" if v is not None else ""


def _rate_reason(rate: formulas.RateDef, env: _Env) -> str:
    model = env.model
    for n in rate.required:
        v = model.fields.get(n)
        if v is None:
            return f"工作簿缺少名称 {n}（{_label(n)}）"
        if v.empty:
            return f"{_label(n)}{_where(model, n)}未填写"
    for agg in _tables_used(rate.expr):
        if agg not in model.tables:
            return f"工作簿缺少表格 {agg}"
    den = evaluate(rate.denominator, env)
    if isinstance(den, XlError):
        return f"{rate.den_label}含非数字内容"
    if den == 0:
        return f"{rate.den_label}为零"
    if evaluate(rate.numerator / rate.denominator, env) == formulas.NUM:
        return "计算结果超出数值范围（输入的数值过大或过小）"
    return "输入含非数字内容"


def _tables_used(node: formulas.Expr) -> set[str]:
    if isinstance(node, formulas.TableAgg):
        return {node.table}
    if isinstance(node, (formulas.BinOp, formulas.Compare)):
        return _tables_used(node.a) | _tables_used(node.b)
    if isinstance(node, formulas.Call):
        return set().union(*(_tables_used(a) for a in node.args)) if node.args else set()
    return set()


def _text_inputs(rate: formulas.RateDef, model: WorkbookModel) -> list[tuple[str, str]]:
    """Inputs holding text (e.g. '1,013.93'): Excel may compute them differently — flag them."""
    out = []
    for n in rate.inputs:
        v = model.fields.get(n)
        if v is not None and isinstance(v.raw, str) and v.raw.strip():
            out.append((n, f"{_label(n)}（{v.ref}）是文本“{v.raw}”而不是数字，公式可能无法计算，请改为数值"))
    return out


def score_rows(model: WorkbookModel) -> tuple[dict[str, Row], list[tuple[str, str]]]:
    """tbl_scores rows by 指标编号 (first occurrence), and problems (duplicates)."""
    t = model.tables.get("tbl_scores")
    rows: dict[str, Row] = {}
    problems: list[tuple[str, str]] = []
    if t is None:
        return rows, problems
    for r in t.rows:
        key = r.get("指标编号")
        if not isinstance(key, str) or not key:
            continue
        if key in rows:
            problems.append((key, f"评分表第 {r.row} 行的指标编号与第 {rows[key].row} 行重复，只评第 {rows[key].row} 行"))
            continue
        rows[key] = r
    return rows, problems


def score(model: WorkbookModel, pack: RulePack) -> Scores:
    """Score a workbook with a rule pack (see the module docstring for the decisions)."""
    env = _Env(model, pack)
    problems: list[tuple[str, str]] = []
    rates, reasons = _rates(env, problems)
    indicators, computed, rows = _indicators(env, pack, rates, reasons, problems)
    awards, deductions = _awards(model, env, pack, problems)
    # Totals, in the order the workbook computes them.
    bonus = result(evaluate(formulas.bonus_expr(), env)) if "tbl_awards" in model.tables else 0.0
    env.values["score_bonus"] = bonus
    base = result(evaluate(formulas.base_expr([i.id for i in pack.indicators if i.id in rows]), env))
    env.values["score_base"] = base
    total = result(evaluate(formulas.total_expr(), env))
    env.values["score_total"] = total
    grade = result(evaluate(formulas.grade_expr(len(pack.grades)), env))
    return Scores(rates, indicators, computed, tuple(awards), base or 0.0, bonus or 0.0, total or 0.0,
                  str(grade or ""), tuple(dict.fromkeys(problems)), pack.id, tuple(deductions))


def _rates(env: _Env, problems: list) -> tuple[dict[str, float | None], dict[str, str]]:
    """Every contract rate, and why the empty ones are empty."""
    model = env.model
    rates: dict[str, float | None] = {}
    reasons: dict[str, str] = {}
    for rate in formulas.RATES:
        v = evaluate(rate.expr, env)
        rates[rate.name] = result(v)
        # what the indicators' formulas will see (write-back creates the name when it is missing)
        env.values[rate.name] = v
        if rates[rate.name] is None:
            reasons[rate.name] = _rate_reason(rate, env)
            problems.append((rate.name, f"{_label(rate.name)}无法计算：{reasons[rate.name]}"))
        problems += _text_inputs(rate, model)
    return rates, reasons


def _indicators(env: _Env, pack: RulePack, rates, reasons, problems: list):
    """Indicator scores (manual: the clerk's; automatic: the method's formula) and 计算值."""
    rows, dup = score_rows(env.model)
    problems += dup
    indicators: dict[str, float | None] = {}
    computed: dict[str, float | None] = {}
    for ind in pack.indicators:
        row = rows.get(ind.id)
        if row is None:
            indicators[ind.id] = None
            problems.append((ind.id, f"评分表（tbl_scores）没有指标 {ind.id}（{ind.name}）的行，该指标未评分"))
            continue
        mode, expected = row.get("评分方式"), ("人工" if ind.manual else "自动")
        if mode is not None and mode != expected:
            problems.append((ind.id, f"评分表第 {row.row} 行的评分方式为“{mode}”，规则包规定为“{expected}”，按规则包评分"))
        if ind.manual:
            cell = row.cells.get("自评得分")
            raw = _raw(cell)
            env.values[f"score_{ind.id}"] = raw
            indicators[ind.id] = _manual_score(ind, raw, cell, problems)
            continue
        v = evaluate(formulas.indicator_expr(ind), env)
        env.values[f"score_{ind.id}"] = v
        indicators[ind.id] = result(v)
        computed[ind.id] = result(evaluate(formulas.computed_expr(ind), env))
        if indicators[ind.id] is None:
            missing = [r for r in formulas.METHODS[ind.method].inputs(ind) if rates.get(r) is None]
            why = "；".join(f"{_label(r)}无法计算（{reasons.get(r, '')}）" for r in missing) or "公式出错"
            problems.append((ind.id, f"{ind.name}未能自动评分：{why}"))
    for k, row in rows.items():
        if pack.indicator(k) is None:
            problems.append((k, f"评分表第 {row.row} 行的指标 {k} 不在规则包 {pack.id} 中，不计入总分"))
    return indicators, computed, rows


def _manual_score(ind, raw: Any, cell: Value | None, problems: list) -> float | None:
    where = f"（{cell.ref}）" if cell is not None else ""
    if raw is None:
        problems.append((ind.id, f"{ind.name}为人工评分，自评得分{where}未填写，按 0 分计"))
        return None
    if not isinstance(raw, float):
        problems.append((ind.id, f"{ind.name}的自评得分{where}“{raw}”不是数字，按 0 分计"))
        return None
    if raw < 0 or raw > ind.points:
        problems.append((ind.id, f"{ind.name}的自评得分{where} {raw:g} 超出 0～{ind.points:g} 分的范围"
                                 "（按填写值计入，请核改）"))
    return raw


def _awards(model: WorkbookModel, env: _Env, pack: RulePack, problems: list):
    """Score the 加分 rows (formula values, also fed back into the env for score_bonus)."""
    t = model.tables.get("tbl_awards")
    awards: list[tuple[int, float | None]] = []
    deductions: list[tuple[int, float]] = []
    if t is None:
        problems.append(("加减分", "工作簿缺少加减分表（tbl_awards），加减分按 0 计"))
        return awards, deductions
    levels = list(pack.awards.get("levels", {}))
    for row in t.rows:
        kind = _raw(row.cells.get("类型"))
        if kind == "减分":
            cell = row.cells.get("自评得分")
            raw = _raw(cell)
            if isinstance(raw, float):
                deductions.append((row.row, raw))
                if raw < 0:
                    problems.append(("加减分", f"加减分第 {row.row} 行为减分项，扣分应填正数（{cell.ref} 为 {raw:g}）"))
            else:
                problems.append(("加减分", f"加减分第 {row.row} 行为减分项，但自评得分"
                                          f"{'未填写' if raw is None else '不是数字'}，未扣分"))
            continue
        level = row.cells.get("授奖级别")
        typ = row.cells.get("类型")
        if level is None or typ is None:
            continue
        v = evaluate(formulas.award_row_expr(t.sheet, level.cell, typ.cell), env)
        env.overrides[("tbl_awards", "自评得分", row.row)] = v
        if kind == "加分":
            awards.append((row.row, result(v)))
            lv = _raw(level)
            if not any(isinstance(lv, str) and lv.casefold() == x.casefold() for x in levels):
                problems.append(("加减分", f"加减分第 {row.row} 行的授奖级别“{lv or ''}”不在规则包的级别"
                                          f"（{'、'.join(levels)}）中，按 0 分计"))
        elif not row.is_blank:
            problems.append(("加减分", f"加减分第 {row.row} 行未选择类型（加分 / 减分），不计分"))
    return awards, deductions
