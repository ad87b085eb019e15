"""What every validation check shares: the context (:class:`Ctx`: model, pack, scores, and the
workbook's own sheet names) and helpers to walk the contract's tables and place a finding at a
cell.  The checks themselves are in :mod:`perfxl.validate`."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeGuard

from . import schema
from .cellref import split_range
from .findings import Finding
from .model import Row, Table, Value, WorkbookModel
from .rulepack import RulePack

if TYPE_CHECKING:  # pragma: no cover
    from .scoring import Scores


SERIAL = "序号"


def is_num(v: object) -> TypeGuard[float]:
    """A real number (bool is not)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool)


@dataclass
class Ctx:
    """What every check reads: the model, the rule pack, optional scores, findings so far."""

    model: WorkbookModel
    pack: RulePack
    scores: Scores | None = None
    found: list[Finding] = field(default_factory=list)
    empty_rows: dict[str, list[bool]] = field(default_factory=dict, repr=False, compare=False)  # by table

    def value(self, name: str) -> Value | None:
        return self.model.fields.get(name)

    def field(self, name: str) -> Value:
        """The value of a field the workbook has (one :meth:`num` read); KeyError otherwise."""
        return self.model.fields[name]

    def num(self, name: str) -> float | None:
        """A numeric field's value; None when empty, unreadable or absent."""
        v = self.model.fields.get(name)
        return v.value if v is not None and is_num(v.value) else None

    def label(self, name: str) -> str:
        f = schema.FIELD_BY_NAME.get(name)
        return f.label if f else name

    @property
    def year(self) -> int | None:
        y = self.num("fiscal_year")
        return int(y) if y is not None and plausible_year(y) else None

    def location(self, name: str) -> tuple[str, str]:
        """(sheet, cell) of a field or output name; when unknown, the standard sheet (if the
        workbook has it) and ''."""
        v = self.model.fields.get(name) or self.model.outputs.get(name)
        if v is not None:
            return v.sheet, v.cell
        if name in self.model.names:
            return self.model.names[name]
        f = schema.FIELD_BY_NAME.get(name) or _OUTPUT_BY_NAME.get(name)
        return own_sheet(self.model, f.sheet if f else ""), ""

    def has(self, code: str) -> bool:
        return any(f.code == code for f in self.found)

    def rate(self, name: str) -> float | None:
        """A rate: from the scores when given, else computed from inputs, else the cell's cache."""
        v = self.scores.rates.get(name) if self.scores is not None else None
        if is_num(v):
            return float(v)
        if name == "rate_spending":
            qb, qp = self.num("quota_basic"), self.num("quota_project")
            ib, ip = self.num("issued_basic"), self.num("issued_project")
            if qb is not None and qp is not None and ib is not None and ip is not None and sum((qb, qp)) > 0:
                return sum((ib, ip)) / sum((qb, qp))
        out = self.model.outputs.get(name)
        return float(out.value) if out is not None and is_num(out.value) else None


_OUTPUT_BY_NAME = {o.name: o for o in schema.RATE_OUTPUTS + schema.TOTAL_OUTPUTS}


def own_sheet(model: WorkbookModel, sheet: str) -> str:
    """The standard template's ``sheet`` when this workbook has it, else '' (the workbook as a
    whole): a workbook laid out otherwise must not be pointed at sheets it does not have."""
    return sheet if sheet in model.sheets else ""


def plausible_year(y: float) -> bool:
    return 2000 <= y <= dt.date.today().year + 1 and float(y).is_integer()


def at(code: str, v: Value, message: str, hint: str, table: Table | None = None,
        row: Row | None = None) -> Finding:
    return Finding.at(code, v.sheet, v.cell, message, hint, table=table.name if table else None,
                      row=row.row if row else None)


# --------------------------------------------------------------------------- table helpers

def tdef(table: Table) -> schema.TableDef:
    return schema.TABLE_BY_NAME[table.name]


def skipped_headers(tdef: schema.TableDef) -> frozenset[str]:
    """The 序号 and computed columns of a table."""
    return frozenset({SERIAL} | {c.header for c in tdef.columns if c.computed})


def row_empty(tdef: schema.TableDef, row: Row) -> bool:
    """A row counts as empty when only its 序号 or computed cells hold something
    (clerks often number a block of rows before filling them)."""
    skip = skipped_headers(tdef)
    return all(v.empty for h, v in row.cells.items() if h not in skip)


def empty_rows(ctx: Ctx, table: Table) -> list[bool]:
    """:func:`row_empty` of every row of ``table``, worked out once per check run."""
    got = ctx.empty_rows.get(table.name)
    if got is None:
        td = tdef(table)
        got = ctx.empty_rows[table.name] = [row_empty(td, r) for r in table.rows]
    return got


def table_rows(ctx: Ctx, name: str) -> tuple[Table | None, list[tuple[int, Row]]]:
    """A table and its non-empty rows with their 1-based position in the table."""
    t = ctx.model.tables.get(name)
    if t is None:
        return None, []
    return t, [(i, r) for (i, r), e in zip(enumerate(t.rows, start=1), empty_rows(ctx, t)) if not e]


def header_cell(table: Table, header: str | None = None) -> str:
    """The header-row cell of a column (the table's first column when ``header`` is absent)."""
    (c1, r1), _ = split_range(table.ref)
    col = table.columns.get(header) if header else None
    return f"{col or c1}{r1}"


def where(table: Table, i: int, header: str) -> str:
    return f"“{table.sheet}”表第 {i} 行的“{header}”"
