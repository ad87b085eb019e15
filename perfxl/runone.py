"""`perfxl run`: the main job for one workbook — check, score, mark, report.

The clerk's file is never modified: the scored and marked copy, the report and the findings
are written next to it (or into ``outdir``), each atomically.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from .pipeline import Result, run_file
from .rulepack import RulePack


@dataclass(frozen=True)
class RunResult:
    result: Result
    files: tuple[Path, ...]
    errors: int
    warnings: int
    summary: str

    @property
    def ok(self) -> bool:
        return self.result.ok


def output_names(rel: Path, clash: bool = False) -> dict[str, str]:
    """Names of one workbook's outputs (``perfxl run``, ``perfxl score``, batch, the Excel
    button): ``<stem>-已评分.xlsx|.xlsm``, ``<stem>-自评报告.docx|.pdf``, ``<stem>-校验结果.json``,
    in ``rel``'s folder.  ``clash``: another workbook in that folder has the same stem
    (a.xlsx and a.xlsm), so the suffix is kept in the names.  A stem too long for the file
    system's name limit (255 bytes) is shortened the same way for every output, keeping a hash
    of the full name (:func:`perfxl.outnames.fit_stem`)."""
    from .outnames import fit_stem

    stem = fit_stem(rel.name if clash else rel.stem, "-自评报告.docx")
    suffix = ".xlsm" if rel.suffix.lower() == ".xlsm" else ".xlsx"
    parent = rel.parent
    return {"workbook": (parent / f"{stem}-已评分{suffix}").as_posix(),
            "report": (parent / f"{stem}-自评报告.docx").as_posix(),
            "pdf": (parent / f"{stem}-自评报告.pdf").as_posix(),
            "findings": (parent / f"{stem}-校验结果.json").as_posix()}


def findings_document(file: str, row: dict, findings: list) -> bytes:
    """The ``<stem>-校验结果.json`` of one workbook (shared by ``perfxl run`` and batch)."""
    from .findings_text import findings_json

    items = findings_json(findings)
    doc = {"文件": file, "部门名称": row.get("部门名称"), "年度": row.get("年度"), "状态": row["状态"],
           "原因": row.get("原因") or "", "错误数": row.get("错误数") or 0, "警告数": row.get("警告数") or 0,
           "校验结果": items}
    return json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")


def run_one(path: str | os.PathLike, outdir: str | os.PathLike | None = None,
            pack: RulePack | None = None, pdf: bool = False, explicit: bool = False) -> RunResult:
    """``perfxl run``: :func:`perfxl.pipeline.run_file` with every output, then the summary."""
    src = Path(path)
    out = Path(outdir) if outdir else src.parent
    names = {k: out / Path(v).name for k, v in output_names(src).items()}

    def targets(r: Result) -> dict:
        row = {"状态": "有错误" if r.errors else "成功", "原因": "", "错误数": r.errors, "警告数": r.warnings}
        if r.model is not None:
            row |= {"部门名称": r.model.get("dept_name"), "年度": r.model.get("fiscal_year")}
        findings = (names["findings"], findings_document(src.name, row, list(r.findings)))
        return {"workbook": names["workbook"], "report": names["report"], "pdf": names["pdf"],
                "findings": findings}

    result = run_file(src, targets, pack, explicit=explicit, score=True, mark=True, report=True, pdf=pdf)
    if not result.ok:
        return RunResult(result, result.files, result.errors, result.warnings, result.error or "")
    a = result.analysis
    assert a is not None  # ok: every stage ran
    s = a.scores
    total = "—" if s.score_total is None else f"{s.score_total:.2f}".rstrip("0").rstrip(".")
    lines = [f"{a.model.get('dept_name') or src.name} {a.model.get('fiscal_year') or ''}年度：总分 {total} 分，等级 {s.grade or '—'}；"
             f"校验发现 错误 {a.errors} 条、警告 {a.warnings} 条、提示 {len(a.findings) - a.errors - a.warnings} 条。"]
    if a.pack is not None:
        from .rulepack import pack_key

        lines.append(f"评分规则包：{pack_key(a.pack)}（{a.pack.name}）")
    if a.errors:
        lines.append(f"注意：有 {a.errors} 个错误，自评报告是草稿（每页标有“草稿 — 校验未通过”，文末列出各错误），"
                     "不得盖章报送；请改正后重新运行。")
    if result.pdf_error:
        lines.append(f"注意：{result.pdf_error}")
    lines.append("已生成（原工作簿未改动）：")
    lines += [f"  {p}" for p in result.files]
    return RunResult(result, result.files, a.errors, a.warnings, "\n".join(lines))


def default_output(src: str | os.PathLike) -> Path:
    """``<stem>-已评分<suffix>`` beside the source (:func:`perfxl.runone.output_names`)."""
    return Path(output_names(Path(src))["workbook"])
