"""The typed model of one standard workbook: plain frozen data, every value with its address.

The reader builds it (from a file or from an open Excel book); validation, scoring and the
report only ever read it.  Nothing here knows about openpyxl, xlwings or pandas.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping


@dataclass(frozen=True)
class Value:
    """One input value.

    ``value`` is the parsed Python value (str, int, float, datetime.date) or ``None`` when the
    cell is empty *or* could not be parsed; ``raw`` is what the cell held (cached result or typed
    text), so ``raw not in (None, "") and value is None`` means "typed something unreadable".
    ``sheet``/``cell`` locate it ("预算执行", "C7"); ``problem`` is a short Chinese note from the
    lenient parser when it had to give up (e.g. "不是数字").
    """

    value: Any
    sheet: str
    cell: str
    raw: Any = None
    problem: str | None = None

    @property
    def ref(self) -> str:
        """``sheet!cell`` as shown to a clerk, e.g. ``预算执行!C7``."""
        return f"{self.sheet}!{self.cell}"

    @property
    def empty(self) -> bool:
        return self.raw is None or (isinstance(self.raw, str) and not self.raw.strip())


@dataclass(frozen=True)
class Row:
    """One data row of an Excel table: header → Value, plus the sheet row number (1-based)."""

    cells: Mapping[str, Value]
    row: int

    def __getitem__(self, header: str) -> Value:
        return self.cells[header]

    def get(self, header: str) -> Any:
        """The parsed value under ``header`` (``None`` when empty/unparseable/absent)."""
        v = self.cells.get(header)
        return None if v is None else v.value

    @property
    def is_blank(self) -> bool:
        return all(v.empty for v in self.cells.values())


@dataclass(frozen=True)
class Table:
    """An Excel table (ListObject) read by its name.

    ``ref`` is the table's whole range including the header row ("A4:I31"); ``columns`` maps
    each header to its column letter.  ``rows`` keeps blank rows (the template ships empty rows
    for clerks to fill); use :attr:`filled` for the rows that hold something.
    """

    name: str
    sheet: str
    ref: str
    columns: Mapping[str, str]
    rows: tuple[Row, ...]

    @property
    def filled(self) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if not r.is_blank)

    @property
    def header_row(self) -> int:
        from .cellref import split_range
        (_, r1), _ = split_range(self.ref)
        return r1

    def column_range(self, header: str, absolute: bool = True) -> str:
        """A1 range of a column's data cells, e.g. ``$G$5:$G$10`` (header row excluded)."""
        from .cellref import split_range
        (_, r1), (_, r2) = split_range(self.ref)
        col = self.columns[header]
        first, last = r1 + 1, max(r1 + 1, r2)
        d = "$" if absolute else ""
        return f"{d}{col}{d}{first}:{d}{col}{d}{last}"


@dataclass(frozen=True)
class WorkbookModel:
    """Everything perfxl reads from one workbook.

    ``fields``: contract single-cell names → Value (derived totals such as ``income_total`` are
    computed from their parts when the file holds no cached value).  ``tables``: contract table
    names → Table.  ``names``: every defined name found → (sheet, A1 ref), including output and
    parameter names, for writers.  ``missing``: contract names/tables the file lacks.
    ``scoped``: names of ``names`` that the file defines with sheet scope only.
    ``rule_pack``: the cell under ``rule_pack`` (the pack the workbook was made for; text as
    typed, never a path perfxl opens), ``None`` when the workbook has no such name.
    """

    path: str
    fields: Mapping[str, Value]
    tables: Mapping[str, Table]
    names: Mapping[str, tuple[str, str]]
    sheets: tuple[str, ...]
    missing: tuple[str, ...] = ()
    outputs: Mapping[str, Value] = field(default_factory=dict)
    scoped: frozenset[str] = frozenset()  # names the file defines for one sheet only (write-back defines them workbook-wide)
    rule_pack: Value | None = None

    def get(self, name: str) -> Any:
        """Parsed value of a single-cell field, ``None`` when empty or absent."""
        v = self.fields.get(name)
        return None if v is None else v.value

    def table(self, name: str) -> Table | None:
        return self.tables.get(name)
