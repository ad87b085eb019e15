"""perfxl — 部门整体支出绩效自评: standard workbook → validation → scoring → Word report.

The library API (the CLI is a thin shell over it)::

    import perfxl

    result = perfxl.check("乐昌市民政局-2023.xlsx")          # findings, nothing written
    result = perfxl.score("乐昌市民政局-2023.xlsx")          # <stem>-已评分.xlsx beside it
    result = perfxl.make_report("乐昌市民政局-2023.xlsx")    # <stem>-自评报告.docx beside it
    result = perfxl.run("乐昌市民政局-2023.xlsx", "输出")     # all of them, and the findings JSON

(``perfxl.report`` and ``perfxl.batch`` are the report package and the batch module:
``perfxl.batch.run("各部门", "汇总")`` processes a folder.)

Each single-workbook function returns a :class:`perfxl.pipeline.Result` (``status``,
``exit_code``, ``findings``, ``analysis.scores``, ``files``, ``error``) and never raises for a
bad workbook or an output it cannot write; see :mod:`perfxl.api`.
"""
from typing import Any

__version__ = "0.1.0"

__all__ = ["check", "score", "make_report", "run", "Result", "Status", "__version__"]


def __getattr__(name: str) -> Any:  # imported on first use: `import perfxl` stays cheap (CLI start-up)
    if name in ("check", "score", "make_report", "run"):
        from . import api

        return getattr(api, name)
    if name in ("Result", "Status"):
        from . import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'perfxl' has no attribute {name!r}")
