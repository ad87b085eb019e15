"""The library API: one function per job, each a thin layer over :mod:`perfxl.pipeline`.

``rules``: a :class:`~perfxl.rulepack.RulePack`, a rule pack file or a shipped pack's name, or
None for the pack the workbook records (``rule_pack`` on 评分参数; the default pack when it
records none) — in which case the workbook's own 评分参数 cells win over the pack's defaults
(as ``perfxl score`` without ``--rules``); ``explicit`` overrides that choice.  An output
that would overwrite an input, or of the wrong kind, is refused with a
:class:`~perfxl.errors.WorkbookError` before any work (:func:`perfxl.outnames.check_output`).  Every function returns a
:class:`~perfxl.pipeline.Result` and never raises for a workbook that cannot be read or
processed, or an output that cannot be written: ``result.status`` / ``result.exit_code`` /
``result.error`` say so.  The clerk's file is only written with ``in_place=True`` or when an
``output`` names it.
"""
from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from .errors import PerfxlError, WorkbookError
from .outnames import check_output, check_workbook_input
from .pipeline import Result, Status, run_file
from .rulepack import RulePack
from .scoring import Scores

Pathish = str | os.PathLike


def _pack(rules: RulePack | Pathish | None, explicit: bool | None) -> tuple[RulePack | None, bool]:
    """The pack the caller chose (None: the workbook's own, see :mod:`perfxl.packchoice`) and
    whether its parameter values override the workbook's 评分参数 cells."""
    from .rulepack import load

    pack = rules if isinstance(rules, RulePack) or rules is None else load(Path(rules))
    return pack, (rules is not None) if explicit is None else explicit


def _inputs(path: Pathish, rules: RulePack | Pathish | None, *more: Pathish | None) -> tuple:
    """The files a command reads: an output must not be one of them."""
    return (path, None if isinstance(rules, RulePack) else rules, *more)


def check(path: Pathish, *, rules: RulePack | Pathish | None = None, mark: bool = False,
          output: Pathish | None = None, explicit: bool | None = None, prev: Pathish | None = None) -> Result:
    """Validate ``path``: ``result.findings``.  ``mark``: also write the workbook with the
    findings marked (校验结果 sheet + cell notes) to ``output`` (default: over ``path``).
    ``prev``: last year's workbook; the findings comparing the two years (编制 jumps, units gone,
    上年末存量资金) are among ``result.findings`` and marked like the others.  A ``prev`` that
    cannot be read gives a 无法读取 result naming it, and nothing is written."""
    check_workbook_input(path)
    if mark and output:
        check_output(output, (Path(path).suffix.lower(),), _inputs(path, rules, prev))
    pack, explicit = _pack(rules, explicit)
    last = None
    if prev is not None:
        from .reader import read

        try:
            last = read(prev)
        except PerfxlError as e:
            return Result(Path(path).name, Status.UNREADABLE, error=f"无法读取上年工作簿（--prev）：{e}", stage="read")
    dst = Path(output or path) if mark else None
    return run_file(path, {"workbook": dst}, pack, explicit=explicit, score=False, mark=mark, prev=last)


def score(path: Pathish, output: Pathish | None = None, *, rules: RulePack | Pathish | None = None,
          in_place: bool = False, explicit: bool | None = None) -> Result:
    """Score ``path`` and write the scored workbook (live formulas with their values) to
    ``output`` (default ``<stem>-已评分.xlsx`` beside it), or over ``path`` after copying it to
    ``<name>.bak`` with ``in_place``.  Raises :class:`PerfxlError` for contradictory arguments."""
    from .outnames import backup_path
    from .runone import default_output

    if in_place and output:
        raise PerfxlError("--in-place 与 -o 不能同时使用。")
    src = check_workbook_input(path)
    if in_place:  # a symlink stays a link: its target is rewritten; an earlier .bak is kept
        dst = Path(os.path.realpath(src))
        backup = backup_path(dst)
    else:
        dst = check_output(output if output is not None else default_output(src), (src.suffix.lower(),),
                           _inputs(src, rules), hint="要改写原文件请用 --in-place（会先保留 .bak 备份）。")
        backup = None
    pack, explicit = _pack(rules, explicit)
    return run_file(src, {"workbook": dst}, pack, backup=backup, explicit=explicit, score=True)


def make_report(path: Pathish, output: Pathish | None = None, *, rules: RulePack | Pathish | None = None,
                pdf: bool = False, template: Pathish | None = None, charts: bool = True,
                explicit: bool | None = None) -> Result:
    """Write the Word report of ``path`` to ``output`` (default ``<stem>-自评报告.docx`` beside
    it); ``pdf``: also as PDF beside it (LibreOffice); an ``output`` ending in .pdf writes only
    the PDF.  ``template``: a bureau's own .docx template."""
    src = check_workbook_input(path)
    out = Path(output) if output else src.with_name(f"{src.stem}-自评报告.docx")
    inputs = _inputs(src, rules, template)
    check_output(out, (".docx", ".pdf"), inputs)
    if pdf:
        check_output(out.with_suffix(".pdf"), (".pdf",), inputs)
    only_pdf = out.suffix.lower() == ".pdf"
    targets = {"pdf": out} if only_pdf else {"report": out, "pdf": out.with_suffix(".pdf")}
    pack, explicit = _pack(rules, explicit)
    result = run_file(src, targets, pack, explicit=explicit, score=False, report=True, pdf=pdf or only_pdf,
                      template=template, charts=charts)
    if only_pdf and result.ok and result.pdf_error:  # the PDF was the only output asked for
        return replace(result, status=Status.FAILED, error=f"{src.name}：{result.pdf_error}", stage="report")
    return result


def run(path: Pathish, outdir: Pathish | None = None, *, rules: RulePack | Pathish | None = None,
        pdf: bool = False, explicit: bool | None = None) -> Result:
    """The main job: check, score, mark and report ``path``; the outputs (scored workbook,
    report, findings JSON) go to ``outdir`` (default: beside it)."""
    from .runone import run_one

    pack, explicit = _pack(rules, explicit)
    return run_one(path, outdir, pack=pack, pdf=pdf, explicit=explicit).result


def score_file(src: str | os.PathLike, dst: str | os.PathLike | None = None, in_place: bool = False,
               pack: RulePack | None = None, explicit: bool = False) -> Scores:
    """``perfxl score``: score ``src`` and write the scored workbook (see :func:`perfxl.score`).

    Writes to ``dst`` (default :func:`default_output`), or with ``in_place`` over ``src`` after
    copying it to ``<name>.bak`` (a numbered ``<name>.N.bak`` when an earlier backup exists: it
    is kept).  Every write is atomic.  Raises :class:`PerfxlError` when the workbook cannot be
    read, scored or written.
    """
    result = score(src, dst, rules=pack, in_place=in_place, explicit=explicit)
    if not result.ok or result.analysis is None:
        raise WorkbookError(result.error or f"{src}：无法评分。")
    return result.analysis.scores
