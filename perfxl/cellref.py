"""A1 cell-reference arithmetic (tiny, dependency-free, used on hot paths)."""
from __future__ import annotations

import re

_CELL = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d+)$")


def col_to_index(col: str) -> int:
    """'A' → 1, 'AA' → 27."""
    n = 0
    for ch in col.upper():
        n = n * 26 + ord(ch) - 64
    return n


def index_to_col(n: int) -> str:
    """1 → 'A', 27 → 'AA'."""
    s = ""
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def split_cell(ref: str) -> tuple[str, int]:
    """'$C$7' → ('C', 7)."""
    m = _CELL.match(ref.strip())
    if not m:
        raise ValueError(f"not a cell reference: {ref!r}")
    return m.group(1).upper(), int(m.group(2))


def split_range(ref: str) -> tuple[tuple[str, int], tuple[str, int]]:
    """'A4:I31' → (('A', 4), ('I', 31)); a single cell gives the same cell twice."""
    a, _, b = ref.partition(":")
    first = split_cell(a)
    return first, (split_cell(b) if b else first)


def absolute(cell: str) -> str:
    """'C7' → '$C$7'."""
    c, r = split_cell(cell)
    return f"${c}${r}"


def quote_sheet(sheet: str) -> str:
    """Sheet name as it appears in a formula: always quoted ('预算执行'), quotes doubled."""
    return "'" + sheet.replace("'", "''") + "'"


def sheet_ref(sheet: str, cell: str) -> str:
    """('预算执行', 'C7') → "'预算执行'!$C$7"."""
    if ":" in cell:
        a, b = cell.split(":")
        return f"{quote_sheet(sheet)}!{absolute(a)}:{absolute(b)}"
    return f"{quote_sheet(sheet)}!{absolute(cell)}"


def parse_sheet_ref(ref: str) -> tuple[str, str]:
    """"'预算执行'!$C$7" → ('预算执行', 'C7');  also 'Sheet1!C7:D9' → ('Sheet1', 'C7:D9')."""
    ref = ref.strip().lstrip("=")
    if "!" not in ref:
        raise ValueError(f"no sheet in reference: {ref!r}")
    sheet, _, cells = ref.rpartition("!")
    if sheet.startswith("'") and sheet.endswith("'"):
        sheet = sheet[1:-1].replace("''", "'")
    return sheet, cells.replace("$", "")
