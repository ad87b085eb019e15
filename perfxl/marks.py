"""Findings → workbook edits: the 校验结果 sheet, highlighted cells with notes, and their removal.

The edits are plain data for :mod:`perfxl.edits` (file) or ``perfxl.excel`` (open book).
Marking starts by removing the previous 校验结果 sheet and marks and writes the sheet anew, so
marking twice gives the same workbook as marking once; :func:`unmark_edits` removes the sheet and every mark,
giving back the clerk's workbook as it was.
"""
from __future__ import annotations

import os
from typing import Sequence

from . import schema
from .cellref import quote_sheet, split_cell
from .findings import Finding
from .model import WorkbookModel
from .edits import (CellFormat, ClearMarks, ClearSheet, DeleteSheet, Edit, EnsureSheet, FormatCells, Hyperlink,
                    LayoutSheet, MarkCell, SetCell, apply_edits)

SHEET = schema.S_FINDINGS
# A clerk's worklist: where (a link), how bad, what is wrong, how to fix it; the code last.
HEADERS = ("位置", "严重程度", "问题", "怎么改", "代码")
_COLS = "ABCDE"
_WIDTHS = (18, 9, 52, 46, 26)  # characters; ~150 in all: A4 landscape at ~90 % (fit to width)
_LINK_COL = _COLS[HEADERS.index("位置")]
_HEADER_FORMAT = CellFormat(bold=True, wrap=True, vertical="center", fill="FFD9E1F2")
_ROW_FORMAT = CellFormat(wrap=True, vertical="top")
_LINE_PT = 15.0  # one line of 11 pt text


def _is_cell(ref: str) -> bool:
    try:
        split_cell(ref)
    except ValueError:
        return False
    return True


def note_text(f: Finding) -> str:
    """The note a marked cell carries: what is wrong, then how to fix it."""
    return f"{f.message}\n建议：{f.hint}" if f.hint else f.message


def _location(f: Finding) -> str:
    if f.sheet and f.cell:
        return f"{f.sheet}!{f.cell}"
    return f.sheet or "整个工作簿"


def _lines(text: str, width: float) -> int:
    """Lines ``text`` wraps to in a column ``width`` characters wide (a CJK character is two)."""
    n = 0
    for para in str(text).split("\n"):
        units = sum(2 if ord(ch) > 0x2E7F else 1 for ch in para)
        n += max(1, -(-units // max(1, int(width) - 1)))
    return n


def mark_edits(model: WorkbookModel, findings: Sequence[Finding]) -> list[Edit]:
    """The 校验结果 sheet as the first tab, the one the workbook opens on (one row per finding:
    位置 linked to its cell, 严重程度, 问题, 怎么改, 代码; header frozen, filters, wrapped text, A4
    landscape), then a MarkCell on every offending cell that exists in the workbook. Previous
    marks go first; deleting the sheet (unmarking) gives the view back to the clerk's tab.

    An existing 校验结果 sheet is deleted before the marks are cleared (the formats the sheet used
    are then unused and go with the marks) and created again rather than only cleared: clearing
    keeps the hyperlinks of rows a previous run wrote, which would dangle below fewer findings.
    """
    edits: list[Edit] = [DeleteSheet(SHEET)] if SHEET in model.sheets else []
    edits += [ClearMarks(), EnsureSheet(SHEET, position=0), ClearSheet(SHEET)]
    for col, head in zip(_COLS, HEADERS):
        edits.append(SetCell(SHEET, f"{col}1", head))
    sheets = set(model.sheets) - {SHEET}
    links: list[Edit] = []
    marks: list[Edit] = []
    heights: list[tuple[int, float]] = []
    for n, f in enumerate(findings, start=1):
        r = n + 1
        row = (_location(f), f.severity, f.message, f.hint, f.code)
        for col, value in zip(_COLS, row):
            edits.append(SetCell(SHEET, f"{col}{r}", value if value != "" else None))
        lines = max(_lines(v, w) for v, w in zip(row, _WIDTHS) if v)
        heights.append((r, lines * _LINE_PT + 3))
        if f.cell and f.sheet in sheets and _is_cell(f.cell):
            links.append(Hyperlink(SHEET, f"{_LINK_COL}{r}", f"{quote_sheet(f.sheet)}!{f.cell}"))
            marks.append(MarkCell(f.sheet, f.cell, note_text(f), f.severity))
    if not findings:
        edits.append(SetCell(SHEET, "C2", "未发现问题。"))
    last = max(2, len(findings) + 1)
    edits += [
        FormatCells(SHEET, f"A1:{_COLS[-1]}1", _HEADER_FORMAT),
        FormatCells(SHEET, f"A2:{_COLS[-1]}{last}", _ROW_FORMAT),
        LayoutSheet(SHEET, widths=tuple(zip(_COLS, _WIDTHS)), heights=((1, 2 * _LINE_PT), *heights),
                    freeze="A2", autofilter=f"A1:{_COLS[-1]}{last}", paper=9, landscape=True, fit_width=True,
                    print_titles="$1:$1", active=True),
    ]
    return edits + links + marks


def unmark_edits(model: WorkbookModel) -> list[Edit]:
    """Remove the 校验结果 sheet and every mark (the sheet first: its formats then go with the marks)."""
    edits: list[Edit] = [DeleteSheet(SHEET)] if SHEET in model.sheets else []
    return edits + [ClearMarks()]


def _model(path: str | os.PathLike, model: WorkbookModel | None) -> WorkbookModel:
    if model is not None:
        return model
    from .reader import read

    return read(path)


def mark_file(src: str | os.PathLike, dst: str | os.PathLike, findings: Sequence[Finding],
              model: WorkbookModel | None = None) -> None:
    """Write ``src`` with the findings marked to ``dst`` (atomically; ``dst`` may be ``src``)."""
    apply_edits(src, dst, mark_edits(_model(src, model), findings))


def unmark_file(src: str | os.PathLike, dst: str | os.PathLike, model: WorkbookModel | None = None) -> None:
    """Write ``src`` without perfxl's marks and 校验结果 sheet to ``dst`` (atomically)."""
    apply_edits(src, dst, unmark_edits(_model(src, model)))
