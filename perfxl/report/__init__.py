"""The Word self-assessment report (部门整体支出绩效自评报告).

``render_report(model, scores, out_path)`` writes the report of one workbook: the context
(:mod:`.context`: every figure and sentence, formatted) rendered into the default template
(:mod:`.docx_template`, GB/T 9704-2012 layout) or a bureau's own ``template`` (:mod:`.render`,
sandboxed), with two charts (:mod:`.charts`, Pillow; ``charts=False`` leaves them out) and
optionally a PDF beside it (:mod:`.pdf`, LibreOffice).  Files are written atomically: a reader
never sees half a report.  :func:`report_bytes` is the same report as bytes, for batch workers
(no temporary file).
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from ..fileio import write_output

if TYPE_CHECKING:
    from ..findings import Finding
    from ..model import WorkbookModel
    from ..rulepack import RulePack
    from ..scoring import Scores

__all__ = ["render_report", "build_context", "report_bytes"]


def _pack_for(scores: Scores, pack: RulePack | None) -> RulePack:
    """The rule pack the scores came from: ``pack``, else the default pack — refused when the
    scores say they came from another pack (its tree would be numbered wrongly)."""
    if pack is not None:
        return pack
    from ..errors import PerfxlError
    from ..rulepack import load

    default = load()
    used = getattr(scores, "pack_id", "") or ""
    if used and used != default.id:
        raise PerfxlError(f"得分来自规则包“{used}”，生成报告时请同时指定该规则包（render_report(..., pack=…)）。")
    return default


def build_context(model: WorkbookModel, scores: Scores, pack: RulePack | None = None,
                  findings: Iterable[Finding] | None = None) -> dict[str, Any]:
    """The report's context (a plain dict of formatted Chinese strings); see :mod:`.context`."""
    from . import context

    return context.build(model, scores, _pack_for(scores, pack), findings)


def report_bytes(model: WorkbookModel, scores: Scores, template: str | os.PathLike[str] | None = None,
                 findings: Iterable[Finding] | None = None, *, pack: RulePack | None = None,
                 charts: bool = True) -> bytes:
    """The .docx report as bytes (nothing written to disk); arguments as :func:`render_report`.
    About 15 ms warm with charts on the sample (the template's fixed work is cached per process)."""
    from . import context, render

    pack = _pack_for(scores, pack)
    if findings is None:  # never a final report from a workbook nobody validated
        from ..validate import check

        findings = check(model, pack, scores)
    findings = list(findings)  # read twice: by the context and by the draft gate
    ctx = context.build(model, scores, pack, findings)
    images: dict[str, bytes] = {}
    if charts:
        from . import charts as ch

        images = ch.render_all(context.chart_data(model, scores, pack))
    ctx["captions"] = {**ctx["captions"], **context.figure_captions(images)}  # 图1, 图2 … without gaps
    body = render.render_bytes(_unbreakable(ctx), None if template is None else os.fspath(template), images)
    from .draft import mark_draft

    return mark_draft(body, findings)  # 错误 findings: a draft, never a final report


_RUN_OF_X = re.compile("×(?=×)")


def _unbreakable(value: Any) -> Any:
    """The context with a WORD JOINER (U+2060) between the × of every "××" placeholder, so a
    line never breaks inside one (CJK text may otherwise break between any two characters)."""
    if isinstance(value, str):
        return _RUN_OF_X.sub("×\u2060", value) if "××" in value else value
    if isinstance(value, dict):
        return {k: _unbreakable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unbreakable(v) for v in value]
    return value


def render_report(model: WorkbookModel, scores: Scores, out_path: str | os.PathLike[str],
                  template: str | os.PathLike[str] | None = None, pdf: bool = False,
                  findings: Iterable[Finding] | None = None, *, pack: RulePack | None = None,
                  charts: bool = True) -> Path:
    """Write the report of ``model`` scored as ``scores`` to ``out_path``; return that path.

    ``template``: a .docx to render into instead of the default (restyled in Word/WPS);
    ``pdf``: also write ``out_path`` with suffix .pdf (LibreOffice).  An ``out_path`` ending in
    .pdf writes only the PDF.  ``findings``: validation findings, offered to templates as
    ``findings``.  ``pack``: the rule pack the scores came from (default: ``scores.pack`` or the
    default pack) — it decides the numbering of 三、绩效分析.  ``charts``: the expenditure and
    score charts (Pillow, a few ms each; skipped when no CJK font is installed).

    A workbook with 错误 findings gives a draft (:mod:`.draft`): "草稿 — 校验未通过" on every
    page's header and the errors listed at the end.

    Raises :class:`~perfxl.errors.TemplateError` for template problems and
    :class:`~perfxl.errors.PerfxlError` when the PDF cannot be made.
    """
    out = Path(out_path)
    data = report_bytes(model, scores, template, findings, pack=pack, charts=charts)
    if out.suffix.lower() == ".pdf":
        from .pdf import docx_to_pdf_bytes

        return write_output(out, docx_to_pdf_bytes(data))
    write_output(out, data)
    if pdf:
        from .pdf import docx_to_pdf_bytes

        write_output(out.with_suffix(".pdf"), docx_to_pdf_bytes(data))
    return out
