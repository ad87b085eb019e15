"""`perfxl run`: the main job for one workbook — check, score, mark, report.

The clerk's file is never modified: the scored and marked copy, the report and the findings
are written next to it (or into ``outdir``), each atomically.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .errors import PerfxlError
from .fileio import atomic_write_bytes, read_workbook_bytes
from .pipeline import process_bytes
from .rulepack import RulePack


@dataclass(frozen=True)
class RunResult:
    files: tuple[Path, ...]
    errors: int
    warnings: int
    summary: str


def output_names(src: Path) -> dict[str, str]:
    """Output file names derived from a workbook's name (shared with batch)."""
    suffix = src.suffix.lower() if src.suffix.lower() in (".xlsx", ".xlsm") else ".xlsx"
    return {"workbook": f"{src.stem}-已评分{suffix}", "report": f"{src.stem}-自评报告.docx",
            "pdf": f"{src.stem}-自评报告.pdf", "findings": f"{src.stem}-校验结果.json"}


def run_one(path: str | os.PathLike, outdir: str | os.PathLike | None = None,
            pack: RulePack | None = None, pdf: bool = False, explicit: bool = False) -> RunResult:
    from .batch import findings_document

    src = Path(path)
    data = read_workbook_bytes(src)
    result = process_bytes(data, src.name, pack, report=True, pdf=pdf, mark=True, explicit=explicit)
    if result.analysis is None or (result.error and result.workbook is None):
        raise PerfxlError(result.error or f"{src.name}：无法处理。")
    out = Path(outdir) if outdir else src.parent
    names = output_names(src)
    files = []
    a = result.analysis
    if result.workbook:
        files.append(atomic_write_bytes(out / names["workbook"], result.workbook))
    if result.report:
        files.append(atomic_write_bytes(out / names["report"], result.report))
    if result.pdf:
        files.append(atomic_write_bytes(out / names["pdf"], result.pdf))
    row = {"部门名称": a.model.get("dept_name"), "年度": a.model.get("fiscal_year"),
           "状态": "有错误" if a.errors else "成功", "原因": result.error or "", "错误数": a.errors,
           "警告数": a.warnings}
    body = findings_document(src.name, row, list(a.findings))
    files.append(atomic_write_bytes(out / names["findings"], body))
    s = a.scores
    total = "—" if s.score_total is None else f"{s.score_total:.2f}".rstrip("0").rstrip(".")
    lines = [f"{a.model.get('dept_name') or src.name} {a.model.get('fiscal_year') or ''}年度：总分 {total} 分，等级 {s.grade or '—'}；"
             f"校验发现 错误 {a.errors} 条、警告 {a.warnings} 条、提示 {len(a.findings) - a.errors - a.warnings} 条。"]
    if result.error:
        lines.append(f"注意：{result.error}")
    lines.append("已生成（原工作簿未改动）：")
    lines += [f"  {p}" for p in files]
    return RunResult(tuple(files), a.errors, a.warnings, "\n".join(lines))
