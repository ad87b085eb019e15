"""Edits to an .xlsx/.xlsm package at the XML level — perfxl's OOXML layer.

Why not openpyxl: it rebuilds the whole package on save, drops images, charts and other parts it
does not model, and cannot store a formula together with its cached result. This layer parses
only the parts an operation touches (with lxml) and copies every other zip entry unchanged (same
bytes, same compression method), so everything it does not own survives: other cells, styles,
comments, data validations, defined names, images, charts, pivot parts, the ``vbaProject.bin``
of an .xlsm, extension lists.

It knows SpreadsheetML and nothing of perfxl's domain (findings, severities, scoring): what a
flag looks like is given by the caller as a :class:`FlagScheme`. ``perfxl.edits`` translates
perfxl's edits into these operations.

* Sheets are found by name through ``workbook.xml`` and its relationships, never by file name.
* Text values are written as inline strings (``t="inlineStr"``), so ``sharedStrings.xml`` is
  never touched; text starting with ``=`` therefore stays text.
* Formula cells carry their cached value; the workbook gets ``<calcPr fullCalcOnLoad="1"/>``
  and a stale ``calcChain.xml`` is removed, so Excel, WPS and LibreOffice recompute on open.
* :class:`FlagCell` (see :mod:`.flags`) never changes a cell's XML; :class:`ClearFlags` undoes
  it exactly.
* A run of SetCells that only adds rows at the end of a sheet (a report sheet just created) is
  built as one XML text, and note shapes and runs are copied from templates; both give byte for
  byte what the general element-by-element code builds (``tests/test_xlsxpatch.py`` compares
  them).

Modules: :mod:`.zipio` (zip writing), :mod:`.package` (parts, relationships, content types),
:mod:`.workbook`, :mod:`.sheet` (cells), :mod:`.styles`, :mod:`.notes` (comments and VML),
:mod:`.flags` and :mod:`.state` (highlights with notes, and their undo record), :mod:`.patcher`
(one apply run), :mod:`.dates` (Excel serial numbers).
"""
from __future__ import annotations

from typing import Sequence

from .errors import InvalidEditError, SheetNotFoundError
from .ops import (CellFormat, ClearFlags, ClearSheet, DefineName, DeleteSheet, EnsureSheet, FlagCell, FormatCells,
                  Hyperlink, LayoutSheet, Op, ResizeTable, SetCell)
from .patcher import Patcher
from .scheme import FlagKind, FlagScheme, NoteFont

__all__ = [
    "SetCell", "DefineName", "EnsureSheet", "ClearSheet", "DeleteSheet", "ResizeTable", "Hyperlink", "FlagCell",
    "ClearFlags", "CellFormat", "FormatCells", "LayoutSheet", "Op", "FlagScheme", "FlagKind", "NoteFont", "apply_ops", "SheetNotFoundError", "InvalidEditError",
]


def apply_ops(data: bytes, ops: Sequence[Op], scheme: FlagScheme | None = None) -> bytes:
    """Apply ``ops`` in order to the package ``data`` (bytes of an .xlsx/.xlsm); return the new
    bytes. ``scheme`` is needed when ``ops`` hold a :class:`FlagCell` or :class:`ClearFlags`."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError("data must be bytes")
    return Patcher(bytes(data), scheme).apply(list(ops))
