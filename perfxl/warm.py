"""Warm this process's caches before it processes workbooks.

The batch's worker processes are forked from a forkserver that imports this module
(``set_forkserver_preload``): each worker then starts with perfxl's modules imported, the
default report template prepared (its Jinja compiled) and the chart font found, instead of
spending about half a second on its first workbook.  Warming is best effort: whatever fails
here is simply done again, with its proper error, when a workbook needs it.
"""
from __future__ import annotations


def warm() -> None:
    """Import the pipeline and fill the per-process caches that do not depend on a workbook."""
    try:
        from . import batch, edits, marks, pipeline, reader, scoring, validate, writeback  # noqa: F401
        from .report import charts, context, render  # noqa: F401 - imported to warm

        render.prepared(None)
        charts.cjk_font()
    except Exception:  # noqa: BLE001 - best effort, see the module docstring
        pass


warm()
