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
from .problems import Problem
from .rulepack import Indicator, RulePack
from .xlsx.dates import to_serial

_LABELS = {f.name: f.label for f in schema.FIELDS} | {o.name: o.label for o in schema.RATE_OUTPUTS}


@dataclass(frozen=True)
class Scores:
    """The result of :func:`score`.

    ``rates``: rate_* → fraction or None.  ``indicators``: indicator id → score or None (None
    counts 0 in score_base).  ``computed``: automatic indicator id → what its 计算值 cell shows
    (the input rate, or for sum_checks the number of checks met).  ``awards``: (sheet row, score)
    of each 加分 row of tbl_awards.  ``problems``: a :class:`~perfxl.problems.Problem` (kind, key,
    facts, cell or table row) for everything that could not be scored or looks wrong.
    """

    rates: Mapping[str, float | None]
    indicators: Mapping[str, float | None]
    computed: Mapping[str, float | None]
    awards: tuple[tuple[int, float | None], ...]
    score_base: float
    score_bonus: float
    score_total: float
    grade: str
    problems: tuple[Problem, ...] = ()
    pack_id: str = ""
    deductions: tuple[tuple[int, float], ...] = field(default=())  # (row, points) of 减分 rows
    # The error value (``#N/A``…) a formula shows where its result above is None because an
    # input shows an error: write-back caches it, so the file agrees with a recalculation.
    # Keys: rate_* / score_base / score_bonus / score_total / grade, ``ind:<id>``,
    # ``calc:<id>``, ``award:<row>``.
    errors: Mapping[str, str] = field(default_factory=dict)


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


def excel_serial(v: dt.date | dt.time | dt.timedelta) -> float:
    """The number a spreadsheet holds for a date, time or duration (1900 date system)."""
    try:
        return to_serial(v)
    except ValueError:  # before 1899-12-31: no date cell holds it; count days as for later dates
        if not isinstance(v, dt.date):  # only dates are refused
            raise
        return float((dt.date(v.year, v.month, v.day) - dt.date(1899, 12, 30)).days)


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


Reason = tuple[str, tuple[tuple[str, Any], ...], Value | None]  # (problems.RATE_REASONS key, facts, input cell)


def _rate_reason(rate: formulas.RateDef, env: _Env) -> Reason:
    model = env.model
    for n in rate.required:
        v = model.fields.get(n)
        if v is None:
            return "name-missing", (("name", n), ("name_label", _label(n))), None
        if v.empty:
            return "input-empty", (("name_label", _label(n)), ("ref", v.ref)), v
    for agg in _tables_used(rate.expr):
        if agg not in model.tables:
            return "table-missing", (("table", agg),), None
    if rate.unfilled is not None:
        unfilled = evaluate(rate.unfilled, env)
        if isinstance(unfilled, float) and unfilled > 0:
            return "rows-unfilled", (("what", rate.unfilled_label), ("n", int(unfilled))), None
    den = evaluate(rate.denominator, env)
    if isinstance(den, XlError):
        return "denominator-text", (("den_label", rate.den_label),), None
    if den == 0:
        return "denominator-zero", (("den_label", rate.den_label),), None
    if evaluate(rate.numerator / rate.denominator, env) == formulas.NUM:
        return "overflow", (), None
    return "input-text", (), None


def _tables_used(node: formulas.Expr) -> set[str]:
    if isinstance(node, formulas.TableAgg):
        return {node.table}
    if isinstance(node, (formulas.BinOp, formulas.Compare)):
        return _tables_used(node.a) | _tables_used(node.b)
    if isinstance(node, formulas.Call):
        return set().union(*(_tables_used(a) for a in node.args)) if node.args else set()
    return set()


def _text_inputs(rate: formulas.RateDef, model: WorkbookModel) -> list[Problem]:
    """Inputs holding text (e.g. '1,013.93'): Excel may compute them differently — flag them."""
    out = []
    for n in rate.inputs:
        v = model.fields.get(n)
        if v is not None and isinstance(v.raw, str) and v.raw.strip():
            out.append(Problem.of("input-is-text", n, sheet=v.sheet, cell=v.cell, label=_label(n), ref=v.ref, raw=v.raw))
    return out


def score_rows(model: WorkbookModel) -> tuple[dict[str, Row], list[Problem]]:
    """tbl_scores rows by 指标编号 (first occurrence), and problems (duplicates)."""
    t = model.tables.get("tbl_scores")
    rows: dict[str, Row] = {}
    problems: list[Problem] = []
    if t is None:
        return rows, problems
    for r in t.rows:
        key = r.get("指标编号")
        if not isinstance(key, str) or not key:
            continue
        if key in rows:
            problems.append(Problem.of("indicator-duplicate", key, table="tbl_scores", row=r.row, first=rows[key].row))
            continue
        rows[key] = r
    return rows, problems


def score(model: WorkbookModel, pack: RulePack) -> Scores:
    """Score a workbook with a rule pack (see the module docstring for the decisions)."""
    env = _Env(model, pack)
    problems: list[Problem] = []
    errors: dict[str, str] = {}
    rates, reasons = _rates(env, problems, errors, formulas.OPTIONAL_RATES - formulas.pack_rates(pack))
    indicators, computed, rows = _indicators(env, pack, rates, reasons, problems, errors)
    awards, deductions = _awards(model, env, pack, problems, errors)
    # Totals, in the order the workbook computes them; the env keeps error values (a formula
    # over a cell showing #N/A shows #N/A too)
    totals = {}
    for name, expr in (("score_bonus", formulas.bonus_expr() if "tbl_awards" in model.tables else None),
                       ("score_base", formulas.base_expr([i.id for i in pack.indicators if i.id in rows])),
                       ("score_total", formulas.total_expr()), ("grade", formulas.grade_expr(len(pack.grades)))):
        v = evaluate(expr, env) if expr is not None else 0.0
        env.values[name] = v if isinstance(v, XlError) else result(v)
        totals[name] = _kept(name, v, errors)
    base, bonus, total, grade = (totals[k] for k in ("score_base", "score_bonus", "score_total", "grade"))
    return Scores(rates, indicators, computed, tuple(awards), base or 0.0, bonus or 0.0, total or 0.0,
                  str(grade or ""), tuple(dict.fromkeys(problems)), pack.id, tuple(deductions), errors)


def _kept(key: str, v: Any, errors: dict[str, str]) -> Any:
    """``result(v)``, noting an error value under ``key``."""
    if isinstance(v, XlError):
        errors[key] = v.code
    return result(v)


def _rates(env: _Env, problems: list[Problem], errors: dict[str, str],
           quiet: frozenset[str] = frozenset()) -> tuple[dict[str, float | None], dict[str, Reason]]:
    """Every contract rate, and why the empty ones are empty (``quiet``: rates the pack does not
    use whose emptiness is no finding)."""
    model = env.model
    rates: dict[str, float | None] = {}
    reasons: dict[str, Reason] = {}
    for rate in formulas.RATES:
        v = evaluate(rate.expr, env)
        rates[rate.name] = _kept(rate.name, v, errors)
        # what the indicators' formulas will see (write-back creates the name when it is missing)
        env.values[rate.name] = v
        if rates[rate.name] is None:
            reasons[rate.name] = reason, facts, cell = _rate_reason(rate, env)
            if rate.name in quiet:
                continue
            kind = "rate-name-missing" if reason == "name-missing" else "rate-undefined"
            problems.append(Problem.of(kind, rate.name, sheet=cell.sheet if cell else "", cell=cell.cell if cell else "",
                                       label=_label(rate.name), reason=reason, reason_params=facts))
        problems += _text_inputs(rate, model)
    return rates, reasons


def _indicators(env: _Env, pack: RulePack, rates: Mapping[str, float | None], reasons: dict[str, Reason],
                problems: list[Problem], errors: dict[str, str]
                ) -> tuple[dict[str, float | None], dict[str, float | None], dict[str, Row]]:
    """Indicator scores (manual: the clerk's; automatic: the method's formula) and 计算值."""
    rows, dup = score_rows(env.model)
    problems += dup
    indicators: dict[str, float | None] = {}
    computed: dict[str, float | None] = {}
    for ind in pack.indicators:
        row = rows.get(ind.id)
        if row is None:
            indicators[ind.id] = None
            problems.append(Problem.of("indicator-missing", ind.id, id=ind.id, name=ind.name))
            continue
        mode, expected = row.get("评分方式"), ("人工" if ind.manual else "自动")
        if mode is not None and mode != expected:
            problems.append(Problem.of("mode-mismatch", ind.id, table="tbl_scores", row=row.row, mode=mode,
                                       expected=expected))
        if ind.manual:
            cell = row.cells.get("自评得分")
            raw = _raw(cell)
            env.values[f"score_{ind.id}"] = raw
            indicators[ind.id] = _manual_score(ind, raw, cell, problems)
            continue
        score_expr, computed_expr = formulas.indicator_expr(ind), formulas.computed_expr(ind)
        if score_expr is None or computed_expr is None:  # only the manual method has none
            raise RuntimeError(f"indicator {ind.id}: method {ind.method} has no formula")
        v = evaluate(score_expr, env)
        env.values[f"score_{ind.id}"] = v
        indicators[ind.id] = _kept(f"ind:{ind.id}", v, errors)
        computed[ind.id] = _kept(f"calc:{ind.id}", evaluate(computed_expr, env), errors)
        if indicators[ind.id] is None:
            missing = [r for r in formulas.METHODS[ind.method].inputs(ind) if rates.get(r) is None]
            facts = tuple((_label(r), *(reasons[r][:2] if r in reasons else ("", ()))) for r in missing)
            problems.append(Problem.of("indicator-unscored", ind.id, name=ind.name, missing=facts))
    for k, row in rows.items():
        if pack.indicator(k) is None:
            problems.append(Problem.of("indicator-unknown", k, table="tbl_scores", row=row.row, id=k, pack=pack.id))
    return indicators, computed, rows


def _manual_score(ind: Indicator, raw: Any, cell: Value | None, problems: list[Problem]) -> float | None:
    at: dict[str, Any] = {"sheet": cell.sheet, "cell": cell.cell, "ref": cell.ref} if cell is not None else {}
    if raw is None:
        problems.append(Problem.of("manual-empty", ind.id, name=ind.name, **at))
        return None
    if not isinstance(raw, float):
        problems.append(Problem.of("manual-not-number", ind.id, name=ind.name, raw=raw, **at))
        return None
    if raw < 0 or raw > ind.points:
        problems.append(Problem.of("manual-out-of-range", ind.id, name=ind.name, raw=raw, points=ind.points, **at))
    return raw


def _awards(model: WorkbookModel, env: _Env, pack: RulePack, problems: list[Problem], errors: dict[str, str]
            ) -> tuple[list[tuple[int, float | None]], list[tuple[int, float]]]:
    """Score the 加分 rows (formula values, also fed back into the env for score_bonus)."""
    t = model.tables.get("tbl_awards")
    awards: list[tuple[int, float | None]] = []
    deductions: list[tuple[int, float]] = []
    if t is None:
        problems.append(Problem.of("awards-missing", "加减分"))
        return awards, deductions
    levels = list(pack.awards.get("levels", {}))
    for row in t.rows:
        kind = _raw(row.cells.get("类型"))
        if kind == "减分":
            cell = row.cells.get("自评得分")
            raw = _raw(cell)
            if isinstance(raw, float) and cell is not None:  # a number comes from a cell
                deductions.append((row.row, raw))
                if raw < 0:
                    problems.append(Problem.of("deduction-negative", "加减分", sheet=cell.sheet, cell=cell.cell,
                                               row=row.row, ref=cell.ref, raw=raw))
            else:
                problems.append(Problem.of("deduction-empty" if raw is None else "deduction-not-number", "加减分",
                                           table="tbl_awards", row=row.row))
            continue
        level = row.cells.get("授奖级别")
        typ = row.cells.get("类型")
        if level is None or typ is None:
            continue
        v = evaluate(formulas.award_row_expr(t.sheet, level.cell, typ.cell), env)
        env.overrides[("tbl_awards", "自评得分", row.row)] = v
        if isinstance(v, XlError):
            errors[f"award:{row.row}"] = v.code
        if kind == "加分":
            points = result(v)  # a number, or None: ROUND gives no text
            awards.append((row.row, points if isinstance(points, float) else None))
            lv = _raw(level)
            if not any(isinstance(lv, str) and lv.casefold() == x.casefold() for x in levels):
                problems.append(Problem.of("award-level-unknown", "加减分", table="tbl_awards", row=row.row,
                                           level=lv or "", levels="、".join(levels)))
        elif not row.is_blank:
            problems.append(Problem.of("award-type-missing", "加减分", table="tbl_awards", row=row.row))
    return awards, deductions
