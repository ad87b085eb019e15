"""`perfxl run`: the main job for one workbook — check, score, mark, report.

The clerk's file is never modified: the scored and marked copy, the report and the findings
are written next to it (or into ``outdir``), each atomically.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import PerfxlError
from .fileio import read_workbook_bytes, write_output
from .pipeline import process_bytes
from .rulepack import RulePack


@dataclass(frozen=True)
class RunResult:
    files: tuple[Path, ...]
    errors: int
    warnings: int
    summary: str


def output_names(rel: Path, clash: bool = False) -> dict[str, str]:
    """Names of one workbook's outputs (``perfxl run``, ``perfxl score``, batch, the Excel
    button): ``<stem>-已评分.xlsx|.xlsm``, ``<stem>-自评报告.docx|.pdf``, ``<stem>-校验结果.json``,
    in ``rel``'s folder.  ``clash``: another workbook in that folder has the same stem
    (a.xlsx and a.xlsm), so the suffix is kept in the names."""
    stem = rel.name if clash else rel.stem
    suffix = ".xlsm" if rel.suffix.lower() == ".xlsm" else ".xlsx"
    parent = rel.parent
    return {"workbook": (parent / f"{stem}-已评分{suffix}").as_posix(),
            "report": (parent / f"{stem}-自评报告.docx").as_posix(),
            "pdf": (parent / f"{stem}-自评报告.pdf").as_posix(),
            "findings": (parent / f"{stem}-校验结果.json").as_posix()}


def findings_document(file: str, row: dict, findings: list) -> bytes:
    """The ``<stem>-校验结果.json`` of one workbook (shared by ``perfxl run`` and batch)."""
    from .validate import findings_json

    items = findings_json(findings)
    doc = {"文件": file, "部门名称": row.get("部门名称"), "年度": row.get("年度"), "状态": row["状态"],
           "原因": row.get("原因") or "", "错误数": row.get("错误数") or 0, "警告数": row.get("警告数") or 0,
           "校验结果": items}
    return json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")


def run_one(path: str | os.PathLike, outdir: str | os.PathLike | None = None,
            pack: RulePack | None = None, pdf: bool = False, explicit: bool = False) -> RunResult:
    src = Path(path)
    data = read_workbook_bytes(src)
    result = process_bytes(data, src.name, pack, report=True, pdf=pdf, mark=True, explicit=explicit)
    if result.analysis is None or (result.error and result.workbook is None):
        raise PerfxlError(result.error or f"{src.name}：无法处理。")
    out = Path(outdir) if outdir else src.parent
    names = {k: Path(v).name for k, v in output_names(src).items()}
    files = []
    a = result.analysis
    if result.workbook:
        files.append(write_output(out / names["workbook"], result.workbook))
    if result.report:
        files.append(write_output(out / names["report"], result.report))
    if result.pdf:
        files.append(write_output(out / names["pdf"], result.pdf))
    row = {"部门名称": a.model.get("dept_name"), "年度": a.model.get("fiscal_year"),
           "状态": "有错误" if a.errors else "成功", "原因": result.error or "", "错误数": a.errors,
           "警告数": a.warnings}
    body = findings_document(src.name, row, list(a.findings))
    files.append(write_output(out / names["findings"], body))
    s = a.scores
    total = "—" if s.score_total is None else f"{s.score_total:.2f}".rstrip("0").rstrip(".")
    lines = [f"{a.model.get('dept_name') or src.name} {a.model.get('fiscal_year') or ''}年度：总分 {total} 分，等级 {s.grade or '—'}；"
             f"校验发现 错误 {a.errors} 条、警告 {a.warnings} 条、提示 {len(a.findings) - a.errors - a.warnings} 条。"]
    if result.error:
        lines.append(f"注意：{result.error}")
    lines.append("已生成（原工作簿未改动）：")
    lines += [f"  {p}" for p in files]
    return RunResult(tuple(files), a.errors, a.warnings, "\n".join(lines))
