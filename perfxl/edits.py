"""The cell edits perfxl applies to a workbook (a file or an open book), as frozen data.

This is the stable import path for the edit types; the OOXML layer that applies them to a
file lives below it.
"""
from .xlsxpatch import (  # noqa: F401
    ClearMarks,
    ClearSheet,
    DefineName,
    DeleteSheet,
    Edit,
    EnsureSheet,
    Hyperlink,
    MarkCell,
    ResizeTable,
    SetCell,
)

__all__ = ["ClearMarks", "ClearSheet", "DefineName", "DeleteSheet", "Edit", "EnsureSheet",
           "Hyperlink", "MarkCell", "ResizeTable", "SetCell"]
