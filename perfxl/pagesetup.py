"""Column widths, row heights and print settings of the standard workbook's sheets.

What a clerk sees on screen and on paper: a number column wide enough for the largest realistic
amount (9,999,999.99 万元) so that nothing shows ``###``; wrapped text rows tall enough for their
text; every sheet on A4, portrait when it fits, landscape otherwise, always one page wide
(``fitToWidth``) so no column is cut off in print.

Widths are in Excel's unit (the width of one digit of the default font); a CJK character takes
about two.  Estimates err on the generous side: a row a little too tall reads fine, a cut line
does not.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

# Widest realistic values a number format must show, by format.
_WIDEST = {
    "#,##0.00": "9,999,999.99",
    "0.00%": "-100.00%",
    "0.00": "99999.99",
    "0": "99999",
    'yyyy"年"m"月"d"日"': "2024年12月31日",
}
PADDING = 2            # room for the cell's margins and a sign
LINE_HEIGHT = 16       # points per wrapped line of 11 pt text (CJK fonts are taller than Latin)
PORTRAIT_WIDTH = 100   # total visible column width that still reads well on portrait A4
DEFAULT_WIDTH = 8.43


CJK_UNITS = 2.2    # a CJK character at 11 pt is about 15 px; a column unit is 7 px
LATIN_UNITS = 1.15  # digits and letters, with room for wider fallback fonts


def text_width(text: str, size: float = 11) -> float:
    """Width of ``text`` in column units at font ``size`` (CJK and full-width forms ~2.2)."""
    units = sum(CJK_UNITS if ord(ch) > 0x2E7F else LATIN_UNITS for ch in text)
    return units * size / 11


def wrapped_lines(text: str, width: float, size: float = 11) -> int:
    """Lines ``text`` needs when wrapped in ``width`` column units (explicit line breaks kept)."""
    room = max(1.0, width - 1)
    return sum(max(1, math.ceil(text_width(part, size) / room)) for part in str(text).split("\n"))


def column_width(ws: Worksheet, letter: str) -> float:
    dim = ws.column_dimensions.get(letter)
    return dim.width if dim is not None and dim.width else DEFAULT_WIDTH


def widen(ws: Worksheet, letter: str, width: float) -> None:
    """Make a column at least ``width`` wide."""
    if column_width(ws, letter) < width:
        ws.column_dimensions[letter].width = width


def _merged_widths(ws: Worksheet) -> dict[str, float]:
    """Top-left coordinate → total width of every merged range (horizontal extent)."""
    out = {}
    for rng in ws.merged_cells.ranges:
        out[f"{get_column_letter(rng.min_col)}{rng.min_row}"] = sum(
            column_width(ws, get_column_letter(c)) for c in range(rng.min_col, rng.max_col + 1))
    return out


def fit(ws: Worksheet) -> None:
    """Widen number columns for their widest realistic value and heighten wrapped rows."""
    merged = _merged_widths(ws)
    inside = {c for rng in ws.merged_cells.ranges for c in _cells_of(rng)} - set(merged)
    heights: dict[int, float] = {}
    for row in ws.iter_rows():
        for c in row:
            if c.coordinate in inside:
                continue
            letter = c.column_letter
            widest = _WIDEST.get(c.number_format)
            if widest is not None and c.coordinate not in merged:
                shown = widest if not isinstance(c.value, (int, float)) else max(widest, str(c.value), key=len)
                widen(ws, letter, text_width(shown) + PADDING)
            if isinstance(c.value, str) and c.value and c.data_type == "s" and c.alignment is not None and c.alignment.wrap_text:
                size = (c.font.sz or 11) if c.font is not None else 11
                width = merged.get(c.coordinate) or column_width(ws, letter)
                lines = wrapped_lines(c.value, width, size)
                if lines > 1 or size > 11:
                    need = lines * LINE_HEIGHT * size / 11 + 4
                    heights[c.row] = max(heights.get(c.row, 0), need)
    for r, h in heights.items():
        dim = ws.row_dimensions[r]
        if (dim.height or 0) < h:
            dim.height = min(409, round(h))


def _cells_of(rng: Any) -> Any:
    for r in range(rng.min_row, rng.max_row + 1):
        for c in range(rng.min_col, rng.max_col + 1):
            yield f"{get_column_letter(c)}{r}"


def visible_width(ws: Worksheet) -> float:
    """Total width of the used, visible columns."""
    total = 0.0
    for col in range(1, ws.max_column + 1):
        letter = get_column_letter(col)
        dim = ws.column_dimensions.get(letter)
        if dim is not None and dim.hidden:
            continue
        total += column_width(ws, letter)
    return total


def print_setup(ws: Worksheet, title_rows: str | None = None) -> None:
    """A4, one page wide, portrait when the sheet is narrow enough, landscape otherwise.

    ``title_rows`` ("5:5") repeats a table's header on every printed page.
    """
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "portrait" if visible_width(ws) <= PORTRAIT_WIDTH else "landscape"
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.page_margins = PageMargins(left=0.5, right=0.5, top=0.6, bottom=0.6, header=0.3, footer=0.3)
    ws.print_options.horizontalCentered = True
    ws.oddFooter.center.text = "&A　第 &P 页，共 &N 页"
    if title_rows:
        ws.print_title_rows = title_rows
