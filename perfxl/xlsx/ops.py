"""The operations the XML layer applies to a package, as frozen data."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SetCell:
    """Write a value, or a formula together with its cached result.

    ``value``: str | int | float | bool | datetime.date | datetime.datetime | None. With a
    ``formula`` it is the cached result (``""`` = empty-string result, ``None`` = no cached
    value; a string that is an Excel error literal such as ``"#DIV/0!"`` is written as an error
    result). ``formula`` is written without a leading ``=`` (one leading ``=`` is tolerated).
    ``style_from`` copies the ``s`` style index of another cell of the same sheet; by default
    the cell keeps its own (a new cell takes the row's or column's default style, as Excel does).
    """

    sheet: str
    cell: str
    value: object = None
    formula: str | None = None
    style_from: str | None = None


@dataclass(frozen=True)
class DefineName:
    """Add or replace a workbook-scope defined name, e.g. ``ref="'评分表'!$H$12"``."""

    name: str
    ref: str


@dataclass(frozen=True)
class EnsureSheet:
    """Create a worksheet if missing (appended last, or inserted at 0-based ``position``).

    An existing sheet of that name is kept as it is (``hidden`` is then ignored).
    """

    sheet: str
    hidden: bool = False
    position: int | None = None


@dataclass(frozen=True)
class ClearSheet:
    """Remove all cell content (the rows) of an existing sheet; the sheet itself stays."""

    sheet: str


@dataclass(frozen=True)
class DeleteSheet:
    """Remove a sheet and everything pointing at it.

    Removes its relationship, content type, app.xml title, the names local to it, and the parts
    only it used (comments, drawings, tables…). Workbook-scope names that referred to it become
    ``#REF!`` references, as in Excel.
    """

    sheet: str


@dataclass(frozen=True)
class ResizeTable:
    """Change an Excel table's ``ref`` (same number of columns); autoFilter follows."""

    table: str
    ref: str


@dataclass(frozen=True)
class Hyperlink:
    """Internal hyperlink in a cell to a location like ``"'预算执行'!C7"``."""

    sheet: str
    cell: str
    location: str


@dataclass(frozen=True)
class FlagCell:
    """Highlight a cell with the fill of the scheme's kind ``kind`` and add ``note`` (under the
    kind's header) to its note, by the scheme's author. Several flags of one cell are combined
    into one note; the fill shows the highest-ranked kind."""

    sheet: str
    cell: str
    kind: str
    note: str


@dataclass(frozen=True)
class ClearFlags:
    """Remove every highlight and note the scheme's flags added, restoring the file's previous state."""



@dataclass(frozen=True)
class CellFormat:
    """A cell format: bold text, wrapped text, vertical alignment (``"top"``, ``"center"``), a
    solid fill (ARGB)."""

    bold: bool = False
    wrap: bool = False
    vertical: str | None = None
    fill: str | None = None

    def key(self) -> str:
        return f"b{int(self.bold)};w{int(self.wrap)};v{self.vertical or ''};f{self.fill or ''}"


@dataclass(frozen=True)
class FormatCells:
    """Give every existing cell of ``ref`` (``"A1:E9"``) the format ``fmt``."""

    sheet: str
    ref: str
    fmt: CellFormat


@dataclass(frozen=True)
class LayoutSheet:
    """How a sheet shows and prints: column widths (characters) and row heights (points), the
    top-left cell of the scrolling pane (``"A2"`` freezes row 1), an autofilter range, paper
    (``9`` = A4) and orientation, all columns on one page wide, and rows repeated on every
    printed page (``"$1:$1"``). ``active``: the workbook opens on this sheet (its tab active and
    the only one selected); deleting the sheet later gives the view back to the tab it replaced."""

    sheet: str
    widths: tuple[tuple[str, float], ...] = ()
    heights: tuple[tuple[int, float], ...] = ()
    freeze: str | None = None
    autofilter: str | None = None
    paper: int | None = None
    landscape: bool = False
    fit_width: bool = False
    print_titles: str | None = None
    active: bool = False


Op = (SetCell | DefineName | EnsureSheet | ClearSheet | DeleteSheet | ResizeTable | Hyperlink | FlagCell | ClearFlags
      | FormatCells | LayoutSheet)
