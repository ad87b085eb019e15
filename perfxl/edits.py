"""The cell edits perfxl applies to a workbook (a file or an open book), as frozen data.

This is the stable import path for the edit types. All but :class:`MarkCell` and
:class:`ClearMarks` are the OOXML layer's own operations (:mod:`perfxl.xlsx`); those two carry
perfxl's severities and become that layer's flags here, in the look :mod:`perfxl.markstyle`
gives them. ``perfxl.excel`` applies the same edits to an open book.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from . import markstyle
from .errors import WorkbookError
from .fileio import read_workbook_bytes, write_output
from .xlsx import (CellFormat, ClearFlags, ClearSheet, DefineName, DeleteSheet, EnsureSheet, FlagCell, FormatCells,
                   Hyperlink, InvalidEditError, LayoutSheet, Op, ResizeTable, SetCell, SheetNotFoundError, apply_ops)

__all__ = ["ClearMarks", "ClearSheet", "DefineName", "DeleteSheet", "Edit", "EnsureSheet", "Hyperlink", "MarkCell",
           "ResizeTable", "SetCell", "CellFormat", "FormatCells", "LayoutSheet", "PRESENTATION", "apply_edits", "apply_edits_bytes", "InvalidEditError", "SheetNotFoundError"]


@dataclass(frozen=True)
class MarkCell:
    """Highlight a cell (fill colour per severity) and attach a note by the author ``perfxl``.

    ``severity`` is one of 错误 | 警告 | 提示. Several marks of one cell are combined into one
    note; the fill shows the most severe one.
    """

    sheet: str
    cell: str
    note: str
    severity: str = "错误"


@dataclass(frozen=True)
class ClearMarks:
    """Remove every highlight and note perfxl added, restoring the file's previous state."""


Edit = (SetCell | DefineName | EnsureSheet | ClearSheet | DeleteSheet | ResizeTable | Hyperlink | MarkCell | ClearMarks
        | FormatCells | LayoutSheet)

# Edits that only change how a sheet looks and prints (formats, widths, panes, page setup). A
# shell that applies edits to an open book may leave them out; the marks stay the same.
PRESENTATION = (FormatCells, LayoutSheet)


def to_ops(edits: Sequence[Edit]) -> list[Op]:
    """The OOXML layer's operations for ``edits`` (marks become flags of perfxl's scheme)."""
    out: list[Op] = []
    for e in edits:
        if isinstance(e, MarkCell):
            kind = markstyle.kind_of(e.severity)
            if kind is None:
                raise InvalidEditError(f"{e.sheet}!{e.cell}：标记级别无效：{e.severity!r}（应为 错误、警告 或 提示）")
            out.append(FlagCell(e.sheet, e.cell, kind.code, e.note))
        elif isinstance(e, ClearMarks):
            out.append(ClearFlags())
        else:
            out.append(e)
    return out


def apply_edits_bytes(data: bytes, edits: Sequence[Edit]) -> bytes:
    """Apply ``edits`` in order to the workbook ``data`` (bytes of an .xlsx/.xlsm); return the new bytes."""
    return apply_ops(data, to_ops(edits), markstyle.SCHEME)


def apply_edits(src: str | os.PathLike, dst: str | os.PathLike, edits: Sequence[Edit]) -> None:
    """Apply ``edits`` to workbook ``src`` and write the result atomically to ``dst`` (may equal ``src``)."""
    src, dst = Path(src), Path(dst)
    data = read_workbook_bytes(src)
    try:
        out = apply_edits_bytes(data, edits)
    except WorkbookError as exc:
        if str(src) not in str(exc):
            raise type(exc)(f"{src.name}：{exc}") from exc
        raise
    write_output(dst, out)
