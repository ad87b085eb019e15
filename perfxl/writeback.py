"""Scores → cell edits → file: live formulas with their cached values.

:func:`score_edits` turns a workbook's :class:`~perfxl.scoring.Scores` into
:mod:`perfxl.edits` edits: the 评分参数 rows (one defined name each), every rate_*, the
计算值 and 自评得分 of automatic tbl_scores rows, the 自评得分 of tbl_awards rows that are not
减分, and score_base / score_bonus / score_total / grade (on a 计算结果 sheet for those names the
workbook lacks: see :func:`output_cells`).  Each formula is rendered from the same
expression :mod:`perfxl.scoring` evaluated, and carries that value as its cached result, so
value-only readers (python-calamine, pandas, WPS preview, a bureau's script) see the scores at
once and Excel/LibreOffice recompute the same numbers.

Left alone: the clerk's manual scores and 减分 entries, and everything else in the file.  An
indicator of the pack that has no tbl_scores row is not appended (it is reported in
``Scores.problems``): rows below the table belong to the layout, and perfxl does not move them.
"""
from __future__ import annotations

from typing import TypedDict

from . import formulas, schema
from .cellref import index_to_col, parse_sheet_ref, quote_sheet, sheet_ref, split_cell
from .model import WorkbookModel
from .rulepack import RulePack
from .rulepack import load as load_rules
from .scoring import Scores, score_rows
from .edits import DefineName, Edit, EnsureSheet, SetCell

PARAM_HEADERS = ("参数", "取值", "名称", "所属指标", "说明")
PARAM_HEADER_ROW = 4
PARAM_FIRST_COL = 2  # column B


class _Refs:
    """A1 ranges of table columns, from the model's table refs."""

    def __init__(self, model: WorkbookModel):
        self.model = model

    def column_range(self, table: str, header: str) -> str:
        t = self.model.tables[table]
        if header not in t.columns:
            raise KeyError(header)
        return f"{quote_sheet(t.sheet)}!{t.column_range(header)}"


def _cached(v: float | str | None) -> float | str:
    """A Python result as a formula's cached value: None → "" (the cell shows nothing)."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return float(v)
    return v


def _set(sheet: str, cell: str, expr: formulas.Expr, value: float | str | None, refs: _Refs, error: str | None = None) -> SetCell | None:
    """The formula of ``expr`` with ``value`` cached, or ``error`` (``#N/A``…: an input shows
    an error value, and so will this formula when the workbook is recalculated)."""
    try:
        text = formulas.rendered(expr, refs)
    except KeyError:  # a table the formula needs is missing: reported by scoring, nothing written
        return None
    return SetCell(sheet, cell, error if error else _cached(value), formula=text)


# The parameter rows depend on the pack alone, and edits are frozen: built once per RulePack
# object (kept alive beside its id, so the id cannot be reused while the entry exists).
_PARAM_ROWS: dict[int, tuple[RulePack, tuple[Edit, ...], int]] = {}  # saves 0.35 ms CPU a workbook (1.1%) (benchmarks/bench_memos.py: CPU its function spends with the memo off)


def _param_rows(pack: RulePack) -> tuple[tuple[Edit, ...], int]:
    """The SetCells and DefineNames of every parameter row and group, and the first row after them."""
    got = _PARAM_ROWS.get(id(pack))
    if got is not None and got[0] is pack:
        return got[1], got[2]
    sheet = schema.S_PARAMS
    edits: list[Edit] = []
    row = PARAM_HEADER_ROW + 1
    groups: dict[str, list[int]] = {}
    cols = [index_to_col(PARAM_FIRST_COL + i) for i in range(len(PARAM_HEADERS))]
    value_col = cols[1]
    quoted = quote_sheet(sheet)
    for p in pack.params:
        values = (p.label, p.value, p.name, p.indicator, p.note)
        r = str(row)
        for col, v in zip(cols, values):
            edits.append(SetCell(sheet, col + r, v))
        edits.append(DefineName(p.name, f"{quoted}!${value_col}${r}"))  # = sheet_ref(sheet, value_col + r)
        if p.group:
            groups.setdefault(p.group, []).append(row)
        row += 1
    for group, rows in groups.items():
        edits.append(DefineName(group, sheet_ref(sheet, f"{value_col}{min(rows)}:{value_col}{max(rows)}")))
    if len(_PARAM_ROWS) >= 64:
        _PARAM_ROWS.clear()
    _PARAM_ROWS[id(pack)] = (pack, tuple(edits), row)
    return tuple(edits), row


def _params_current(model: WorkbookModel, rows_edits: tuple[Edit, ...]) -> bool:
    """True when every parameter name already points at its row and that cell holds the pack's
    value (a workbook scored before): the ~200 parameter cells need not be rewritten."""
    values = {(e.sheet, e.cell): e.value for e in rows_edits if isinstance(e, SetCell)}
    for e in rows_edits:
        if not isinstance(e, DefineName):
            continue
        sheet, cell = parse_sheet_ref(e.ref)
        first = cell.split(":")[0]
        if model.names.get(e.name) != (sheet, first):
            return False
        if ":" in cell:
            continue
        want, got = values.get((sheet, first)), model.outputs.get(e.name)
        have = None if got is None else got.value
        if isinstance(want, (int, float)) and not isinstance(want, bool):
            if not isinstance(have, (int, float)) or isinstance(have, bool) or abs(have - want) > 1e-12:
                return False
        elif have != want:
            return False
    return True


def param_edits(model: WorkbookModel, pack: RulePack) -> list[Edit]:
    """The 评分参数 rows (from row 5, columns B..F) and a defined name per parameter."""
    sheet = schema.S_PARAMS
    edits: list[Edit] = []
    if sheet not in model.sheets:
        edits.append(EnsureSheet(sheet))
        for i, h in enumerate(PARAM_HEADERS):
            edits.append(SetCell(sheet, f"{index_to_col(PARAM_FIRST_COL + i)}{PARAM_HEADER_ROW}", h))
    rows_edits, row = _param_rows(pack)
    # Rows a previous, longer pack wrote below ours: empty them (their names then point at blanks).
    stale = set()
    for name, (s, cell) in model.names.items():
        if s == sheet and name.startswith("p_") and ":" not in cell:
            r = split_cell(cell)[1]
            if r >= row:
                stale.add(r)
    if stale or not _params_current(model, rows_edits):
        edits += rows_edits
    for r in sorted(stale):
        for i in range(len(PARAM_HEADERS)):
            edits.append(SetCell(sheet, f"{index_to_col(PARAM_FIRST_COL + i)}{r}", None))
    return edits


RESULT_HEADERS = ("项目", "取值", "名称")
RESULT_HEADER_ROW = 4


def output_cells(model: WorkbookModel) -> tuple[dict[str, tuple[str, str]], list[Edit]]:
    """(sheet, cell) of every rate_* / score_base / score_bonus / score_total / grade, and the
    edits that create the ones the workbook lacks.

    The contract makes these names perfxl's to write; a workbook built from the contract may
    leave them out (or they may dangle after a sheet was deleted).  Each missing one gets a row
    of its own on the 计算结果 sheet (a fixed row per name, so a second run finds it there), so
    every formula perfxl writes refers to names that exist."""
    outputs = schema.RATE_OUTPUTS + schema.TOTAL_OUTPUTS
    cells = {o.name: model.names[o.name] for o in outputs if o.name in model.names}
    edits: list[Edit] = []
    sheet = schema.S_RESULTS
    cols = [index_to_col(PARAM_FIRST_COL + i) for i in range(len(RESULT_HEADERS))]
    for i, o in enumerate(outputs):
        if o.name in cells:
            continue
        if not edits and sheet not in model.sheets:
            edits.append(EnsureSheet(sheet))
            edits += [SetCell(sheet, f"{c}{RESULT_HEADER_ROW}", h) for c, h in zip(cols, RESULT_HEADERS)]
        r = RESULT_HEADER_ROW + 1 + i
        cells[o.name] = (sheet, f"{cols[1]}{r}")
        edits += [SetCell(sheet, f"{cols[0]}{r}", o.label), SetCell(sheet, f"{cols[2]}{r}", o.name),
                  DefineName(o.name, sheet_ref(sheet, f"{cols[1]}{r}"))]
    return cells, edits


def score_edits(model: WorkbookModel, pack: RulePack, scores: Scores) -> list[Edit]:
    """Every edit that writes the scoring formulas (with cached values) into the workbook."""
    refs = _Refs(model)
    edits: list[Edit | None] = list(param_edits(model, pack))
    out_cells, created = output_cells(model)
    edits += created
    # A name the file defines for one sheet only is visible to formulas on that sheet alone:
    # defined workbook-wide (same cell), every written formula sees what scoring read.
    edits += [DefineName(n, sheet_ref(*model.names[n])) for n in sorted(model.scoped) if n in model.names]

    for rate in formulas.RATES:
        sheet, cell = out_cells[rate.name]
        edits.append(_set(sheet, cell, rate.expr, scores.rates.get(rate.name), refs, scores.errors.get(rate.name)))

    rows, _ = score_rows(model)
    table = model.tables.get("tbl_scores")
    for ind in pack.indicators:
        row = rows.get(ind.id)
        if row is None or table is None:
            continue
        score_cell = row.cells.get("自评得分")
        if score_cell is None:
            continue
        edits.append(DefineName(f"score_{ind.id}", sheet_ref(table.sheet, score_cell.cell)))
        if ind.manual:
            continue
        expr, calc_expr = formulas.indicator_expr(ind), formulas.computed_expr(ind)
        if expr is None or calc_expr is None:  # a method without a formula: 人工评分 alone, skipped above
            continue
        edits.append(_set(table.sheet, score_cell.cell, expr, scores.indicators.get(ind.id), refs,
                          scores.errors.get(f"ind:{ind.id}")))
        calc = row.cells.get("计算值")
        if calc is not None:
            edits.append(_set(table.sheet, calc.cell, calc_expr, scores.computed.get(ind.id), refs,
                              scores.errors.get(f"calc:{ind.id}")))

    awards = model.tables.get("tbl_awards")
    if awards is not None and {"授奖级别", "类型", "自评得分"} <= set(awards.columns):
        by_row = dict(scores.awards)
        for r in awards.rows:
            if r.get("类型") == "减分":
                continue
            expr = formulas.award_row_expr(awards.sheet, r["授奖级别"].cell, r["类型"].cell)
            edits.append(_set(awards.sheet, r["自评得分"].cell, expr, by_row.get(r.row), refs,
                              scores.errors.get(f"award:{r.row}")))

    ids = [i.id for i in pack.indicators if i.id in rows and table is not None]
    totals: dict[str, tuple[formulas.Expr, float | str]] = {
        "score_base": (formulas.base_expr(ids), scores.score_base),
        "score_bonus": (formulas.bonus_expr() if awards is not None else formulas.Num(0), scores.score_bonus),
        "score_total": (formulas.total_expr(), scores.score_total),
        "grade": (formulas.grade_expr(len(pack.grades)), scores.grade),
    }
    for name, (expr, value) in totals.items():
        sheet, cell = out_cells[name]
        edits.append(_set(sheet, cell, expr, value, refs, scores.errors.get(name)))
    return [e for e in edits if e is not None]


class ScoresJson(TypedDict):
    """The ``perfxl score --json`` document (also what the server's job results carry)."""

    indicators: dict[str, float | None]
    score_base: float
    score_bonus: float
    score_total: float
    grade: str
    rates: dict[str, float | None]


def scores_json(scores: Scores) -> ScoresJson:
    """The ``perfxl score --json`` document."""
    return {
        "indicators": dict(scores.indicators),
        "score_base": scores.score_base,
        "score_bonus": scores.score_bonus,
        "score_total": scores.score_total,
        "grade": scores.grade,
        "rates": dict(scores.rates),
    }


def format_scores_text(scores: Scores, pack: RulePack | None = None, dst: str | None = None) -> str:
    """A short Chinese summary for the terminal: totals, then every indicator by 一级指标."""
    def num(v: float | None) -> str:
        return "—" if v is None else f"{v:g}"

    pack = pack or load_rules()
    lines = [f"总分 {num(scores.score_total)} 分（{scores.grade or '—'}）：基础得分 {num(scores.score_base)}，"
             f"加减分 {num(scores.score_bonus)}"]
    for level1 in dict.fromkeys(i.level1 for i in pack.indicators):
        inds = [i for i in pack.indicators if i.level1 == level1]
        got = sum(scores.indicators.get(i.id) or 0 for i in inds)
        lines.append(f"  {level1}（{num(sum(i.points for i in inds))} 分）：{num(round(got, 2))}")
        for i in inds:
            mark = "" if i.manual else "  [自动]"
            lines.append(f"    {i.name}（{num(i.points)}）：{num(scores.indicators.get(i.id))}{mark}")
    if scores.problems:
        lines.append(f"评分问题 {len(scores.problems)} 条：")
        lines += [f"  - {p.key}：{p.message}" for p in scores.problems]
    if dst:
        lines.append(f"已写回公式：{dst}")
    return "\n".join(lines)
