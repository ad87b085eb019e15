"""Findings → workbook edits: the 校验结果 sheet, highlighted cells with notes, and their removal.

The edits are plain data for :mod:`perfxl.edits` (file) or ``perfxl.excel`` (open book).
Marking starts with ``ClearMarks`` and rewrites the 校验结果 sheet from row 1, so marking twice
gives the same workbook as marking once; :func:`unmark_edits` removes the sheet and every mark,
giving back the clerk's workbook as it was.
"""
from __future__ import annotations

import os
from typing import Sequence

from . import schema
from .cellref import quote_sheet, split_cell
from .findings import Finding
from .model import WorkbookModel
from .edits import (ClearMarks, ClearSheet, DeleteSheet, Edit, EnsureSheet, Hyperlink, MarkCell, SetCell,
                    apply_edits)

SHEET = schema.S_FINDINGS
HEADERS = ("序号", "严重程度", "工作表", "单元格", "代码", "问题", "修改建议")
_COLS = "ABCDEFG"
_CELL_COL = _COLS[HEADERS.index("单元格")]


def _is_cell(ref: str) -> bool:
    try:
        split_cell(ref)
    except ValueError:
        return False
    return True


def note_text(f: Finding) -> str:
    """The note a marked cell carries: what is wrong, then how to fix it."""
    return f"{f.message}\n建议：{f.hint}" if f.hint else f.message


def mark_edits(model: WorkbookModel, findings: Sequence[Finding]) -> list[Edit]:
    """ClearMarks, then the 校验结果 sheet (header row + one row per finding, each 单元格 linked
    to its cell), then a MarkCell on every offending cell that exists in the workbook.

    An existing 校验结果 sheet is deleted and created again rather than only cleared: clearing
    keeps the hyperlinks of rows a previous run wrote, which would dangle below fewer findings.
    """
    edits: list[Edit] = [ClearMarks()]
    if SHEET in model.sheets:
        edits.append(DeleteSheet(SHEET))
    edits += [EnsureSheet(SHEET), ClearSheet(SHEET)]
    for col, head in zip(_COLS, HEADERS):
        edits.append(SetCell(SHEET, f"{col}1", head))
    sheets = set(model.sheets) - {SHEET}
    links: list[Edit] = []
    marks: list[Edit] = []
    for n, f in enumerate(findings, start=1):
        r = n + 1
        for col, value in zip(_COLS, (n, f.severity, f.sheet, f.cell, f.code, f.message, f.hint)):
            edits.append(SetCell(SHEET, f"{col}{r}", value if value != "" else None))
        if f.cell and f.sheet in sheets and _is_cell(f.cell):
            links.append(Hyperlink(SHEET, f"{_CELL_COL}{r}", f"{quote_sheet(f.sheet)}!{f.cell}"))
            marks.append(MarkCell(f.sheet, f.cell, note_text(f), f.severity))
    if not findings:
        edits.append(SetCell(SHEET, "F2", "未发现问题。"))
    return edits + links + marks


def unmark_edits(model: WorkbookModel) -> list[Edit]:
    """Remove every mark and the 校验结果 sheet."""
    edits: list[Edit] = [ClearMarks()]
    if SHEET in model.sheets:
        edits.append(DeleteSheet(SHEET))
    return edits


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
