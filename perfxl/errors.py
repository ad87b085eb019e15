"""The one exception family of perfxl.

Problems *in* a workbook are findings (data, see :mod:`perfxl.findings`); exceptions are only
for "cannot proceed": a file that cannot be read at all, a broken rule pack, a template error.
Every message is Chinese and names the file, and where possible the sheet and cell.
"""


class PerfxlError(Exception):
    """Base class of every error perfxl raises on purpose."""


class WorkbookError(PerfxlError):
    """The workbook file cannot be read or written (not a zip, encrypted, no standard names…)."""


class RulesError(PerfxlError):
    """A rule pack is malformed (points that don't add up, unknown method, …)."""


class TemplateError(PerfxlError):
    """A report template uses names the data does not have, or cannot be rendered."""
