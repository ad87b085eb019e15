"""The two ways an edit can fail at the XML level (both are :class:`~perfxl.errors.WorkbookError`)."""
from __future__ import annotations

from perfxl.errors import WorkbookError


class SheetNotFoundError(WorkbookError):
    """An edit names a sheet (or table) that the workbook does not have."""


class InvalidEditError(WorkbookError):
    """An edit cannot be applied as given (bad cell reference, value type, sheet name…)."""
