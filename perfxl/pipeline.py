"""The one orchestrator: read → score → validate → edits → report → write, and its error policy.

Every shell calls :func:`process` (a workbook as bytes or as an open book → a :class:`Result`
holding every output as bytes or edits) and then :func:`save` (those outputs → files, each
atomically); :func:`run_file` is the two for a file on disk.  The CLI commands, the batch
workers, the Excel buttons (:mod:`perfxl.app`), the library API (:mod:`perfxl`) and the server
all go through here, so the same fault gives the same outcome everywhere:

=================  ==========================================================  =========
``Status``         when                                                        exit code
=================  ==========================================================  =========
``OK``             every stage ran; no finding of severity 错误                0
``HAS_ERRORS``     every stage ran; the workbook has 错误 findings             1
``UNREADABLE``     the input is not a workbook perfxl can read                 2
``FAILED``         a stage could not finish: a bug (内部错误), a template       2
                   error, an output that cannot be written
=================  ==========================================================  =========

:func:`process` and :func:`save` never raise for any of these: the reason is ``Result.error``
(Chinese, naming the file), the stage is ``Result.stage`` and, for a bug, the traceback is
``Result.detail``.  When scoring fails, validation still runs without scores, so the findings
that do not need scores are not lost (plus a ``scoring-failed`` finding).
"""
from __future__ import annotations

import logging
import os
import time
import traceback
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, ParamSpec, TypeVar

from .errors import PerfxlError
from .findings import Finding, Severity
from .model import WorkbookModel
from .rulepack import RulePack
from .rulepack import load as load_rules

if TYPE_CHECKING:
    from .edits import Edit
    from .reader import GridSource
    from .scoring import Scores

log = logging.getLogger(__name__)


class Status(StrEnum):
    """The outcome class of one workbook (the batch summary's 状态 column)."""

    OK = "成功"
    HAS_ERRORS = "有错误"
    UNREADABLE = "无法读取"
    FAILED = "处理失败"

    @property
    def exit_code(self) -> int:
        return {Status.OK: 0, Status.HAS_ERRORS: 1}.get(self, 2)


# Stage names, as they appear in Result.stage and in messages.
STAGES = {"read": "读取", "score": "评分", "check": "校验", "edits": "写回", "report": "生成报告",
          "write": "写出文件"}


def count(findings: tuple[Finding, ...], severity: Severity) -> int:
    """How many of ``findings`` have ``severity``."""
    return sum(1 for f in findings if f.severity == severity)


@dataclass(frozen=True)
class Analysis:
    """A workbook's model with its scores and findings."""

    model: WorkbookModel
    scores: Scores
    findings: tuple[Finding, ...] = ()
    pack: RulePack | None = None  # the pack that scored it (the report numbers section 三 by it)

    @property
    def errors(self) -> int:
        return count(self.findings, Severity.ERROR)

    @property
    def warnings(self) -> int:
        return count(self.findings, Severity.WARNING)


def load(path: str | os.PathLike, data: bytes | None = None) -> WorkbookModel:
    from .reader import read

    return read(path, data)


def effective_pack(model: WorkbookModel, pack: RulePack | None = None, explicit: bool = False) -> RulePack:
    """The pack to score ``model`` with.

    Every threshold is a cell on the workbook's 评分参数 sheet, so a bureau corrects a rule by
    editing a cell: unless the pack was chosen explicitly (``--rules``, or a bureau's batch run),
    parameter values found in the workbook win over the pack's defaults.  Validation still
    compares them with the pack and reports each change (``param-modified``).
    """
    from .rulepack import with_params, workbook_params

    pack = pack or load_rules()
    return pack if explicit else with_params(pack, workbook_params(pack, model.outputs))


def analyse(model: WorkbookModel, pack: RulePack | None = None, explicit: bool = False) -> Analysis:
    """Choose the pack (:func:`perfxl.packchoice.choose`: ``pack`` if given, else the one the
    workbook records, else the default), score, then validate (validation sees the scores:
    plausibility checks use the total).  Raises whatever scoring raises: :func:`process` is
    the caller that applies the policy."""
    from .packchoice import choose

    chosen, notes = choose(model, pack)
    return _analyse(model, chosen, explicit, notes)


def _analyse(model: WorkbookModel, pack: RulePack, explicit: bool, notes: tuple[Finding, ...]) -> Analysis:
    from . import scoring, validate

    used = effective_pack(model, pack, explicit)
    scores = scoring.score(model, used)
    findings = validate.check(model, pack, scores)
    if notes:
        findings = validate.sort_findings([*notes, *findings], model.sheets)
    return Analysis(model, scores, tuple(findings), used)


def workbook_edits(analysis: Analysis, pack: RulePack | None = None, *, score: bool = True,
                   mark: bool = False) -> list[Edit]:
    """The cell edits that bring a workbook up to date: scoring formulas and/or finding marks."""
    from . import marks, writeback

    pack = pack or load_rules()
    edits: list[Edit] = []
    if score:
        edits += writeback.score_edits(analysis.model, pack, analysis.scores)
    if mark:
        edits += marks.mark_edits(analysis.model, list(analysis.findings))
    return edits


@dataclass(frozen=True)
class Result:
    """Everything one workbook produced, as bytes (no shared disk needed: dask workers), and
    how it ended.  ``files``: what :func:`save` wrote."""

    name: str
    status: Status
    analysis: Analysis | None = None
    model: WorkbookModel | None = None
    findings: tuple[Finding, ...] = ()
    edits: tuple[Edit, ...] = ()
    workbook: bytes | None = None
    report: bytes | None = None
    pdf: bytes | None = None
    error: str | None = None    # Chinese, names the file: why the status is UNREADABLE/FAILED
    stage: str | None = None    # the stage that failed (a key of STAGES)
    detail: str | None = None   # the traceback of an internal error, for the maintainer
    timings: dict[str, float] = field(default_factory=dict)
    files: tuple[Path, ...] = ()
    # Chinese: why no PDF was made although asked for (LibreOffice missing, hung, died); the
    # workbook's status stands and its report is kept (``未能生成 PDF：…``)
    pdf_error: str | None = None

    @property
    def exit_code(self) -> int:
        return self.status.exit_code

    @property
    def ok(self) -> bool:
        return self.status in (Status.OK, Status.HAS_ERRORS)

    @property
    def errors(self) -> int:
        return count(self.findings, Severity.ERROR)

    @property
    def warnings(self) -> int:
        return count(self.findings, Severity.WARNING)


Processed = Result  # the former name (batch rows, benchmarks)


class _Failed(Exception):
    """A stage could not finish: carries the Result fields that say why."""

    def __init__(self, stage: str, error: str, detail: str | None = None):
        super().__init__(error)
        self.stage, self.error, self.detail = stage, error, detail


def _internal(name: str, stage: str, exc: BaseException) -> _Failed:
    log.debug("perfxl failed at %s on %s", stage, name, exc_info=True)
    return _Failed(stage, f"{name}：perfxl 内部错误（{STAGES[stage]}时 {type(exc).__name__}: {exc}）。"
                          "输入的工作簿没有被修改，也没有写出不完整的文件。请把该工作簿和错误信息发给维护者。",
                   traceback.format_exc())


P = ParamSpec("P")
T = TypeVar("T")


def _guard(name: str, stage: str, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run one stage: a PerfxlError keeps its Chinese message (prefixed with the workbook's
    name unless it names a file already), anything else is 内部错误."""
    try:
        return fn(*args, **kwargs)
    except PerfxlError as e:
        msg = str(e)
        raise _Failed(stage, msg if name in msg or stage == "write" else f"{name}：{msg}") from e
    except Exception as e:  # a bug in perfxl: one workbook fails, never the caller
        raise _internal(name, stage, e) from e


def _scoring_failed(model: WorkbookModel, pack: RulePack, notes: tuple[Finding, ...],
                    exc: BaseException) -> tuple[Finding, ...]:
    """Findings when scoring raised: every check that does not need scores, and the failure."""
    from . import schema, validate

    table = model.tables.get("tbl_scores")
    sheet = table.sheet if table else next((s for s in model.sheets if s == schema.S_SCORES), schema.S_SCORES)
    failed = Finding.at("scoring-failed", sheet, "", f"评分计算失败（{type(exc).__name__}），与得分有关的校验未完成。",
                        "请先改正其他错误后重试；如仍失败，请把工作簿发给技术支持。")
    try:
        found = validate.check(model, pack, None)
    except Exception:  # validation itself broken: the failure finding alone
        log.exception("validation failed too")
        found = []
    return tuple(validate.sort_findings([*notes, *found, failed], model.sheets))


def process(data: bytes | None, name: str, pack: RulePack | None = None, *,
            source: GridSource | None = None, explicit: bool = False, score: bool = True,
            mark: bool = False, report: bool = False, pdf: bool = False, charts: bool = True,
            template: str | os.PathLike | None = None, apply: bool = True,
            prev: WorkbookModel | None = None) -> Result:
    """Run one workbook through every stage it needs; never raises.

    ``data``: the workbook's bytes (``source``: an open book instead, e.g. Excel's; then the
    edits are returned in ``Result.edits`` and not applied).  ``name``: the file name used in
    messages.  ``pack``: the pack chosen on purpose (``--rules``); None: the pack the workbook
    records, else the default (:mod:`perfxl.packchoice`).  ``explicit``: the pack's parameter
    values are authoritative (the workbook's 评分参数 cells do not override them).  ``score``/``mark``: write the scoring formulas / mark the findings into
    ``Result.workbook`` (``apply=False``: only list them in ``Result.edits``, for a client that
    applies them itself); ``report``: the Word report (``pdf``: also as PDF, LibreOffice;
    ``charts``: with its charts; ``template``: a bureau's .docx template).  ``prev``: last
    year's workbook; the findings comparing the two years (:mod:`perfxl.yearcheck`) join the
    others, so they are marked, counted and reported like them.
    """
    t: dict[str, float] = {}
    model: WorkbookModel | None = None
    analysis: Analysis | None = None
    findings: tuple[Finding, ...] = ()
    edits: tuple[Edit, ...] = ()
    wb = doc = pdf_bytes = pdf_error = None
    if report and pdf:  # LibreOffice starts while the workbook is read, scored and reported
        from .report.converter import shared

        shared().prestart()
    try:
        t0 = time.perf_counter()
        try:
            if source is not None:
                from .reader import parse

                model = parse(source)
            else:
                model = load(name, data)
        except PerfxlError as e:
            return Result(name, Status.UNREADABLE, error=str(e), stage="read")
        except Exception as e:
            raise _internal(name, "read", e) from e
        t["read"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        from .packchoice import choose

        chosen, notes = _guard(name, "read", choose, model, pack)
        try:
            analysis = _analyse(model, chosen, explicit, notes)
        except Exception as e:
            findings = _scoring_failed(model, chosen, notes, e)
            if isinstance(e, PerfxlError):
                raise _Failed("score", f"{name}：{e}") from e
            raise _internal(name, "score", e) from e
        if prev is not None:
            from .yearcheck import compare

            analysis = replace(analysis, findings=analysis.findings + tuple(
                _guard(name, "check", compare, prev, model)))
        findings = analysis.findings
        t["check_score"] = time.perf_counter() - t0

        if score or mark:
            t0 = time.perf_counter()
            edits = tuple(_guard(name, "edits", workbook_edits, analysis, analysis.pack, score=score, mark=mark))
            if apply and data is not None and source is None:
                from .edits import apply_edits_bytes

                wb = _guard(name, "edits", apply_edits_bytes, data, edits)
            t["writeback"] = time.perf_counter() - t0

        if report:
            t0 = time.perf_counter()
            doc = _guard(name, "report", _report_bytes, analysis, charts, template)
            t["report"] = time.perf_counter() - t0
            if pdf:  # this process's LibreOffice (perfxl.report.converter, kept alive)
                from .report.pdf import docx_to_pdf_bytes

                t0 = time.perf_counter()
                try:
                    pdf_bytes = docx_to_pdf_bytes(doc)
                except PerfxlError as e:  # the report stands; the reason goes with it
                    pdf_error = f"未能生成 PDF：{e}"
                except Exception as e:
                    raise _internal(name, "report", e) from e
                t["pdf"] = time.perf_counter() - t0
    except _Failed as f:
        return Result(name, Status.FAILED, analysis, model, findings, edits, wb, doc, pdf_bytes,
                      f.error, f.stage, f.detail, t)
    status = Status.HAS_ERRORS if analysis.errors else Status.OK
    return Result(name, status, analysis, model, findings, edits, wb, doc, pdf_bytes, timings=t,
                  pdf_error=pdf_error)


def _report_bytes(analysis: Analysis, charts: bool, template: str | os.PathLike | None) -> bytes:
    from .report import report_bytes

    return report_bytes(analysis.model, analysis.scores, template, list(analysis.findings),
                        pack=analysis.pack, charts=charts)


def save(result: Result, targets: Mapping[str, str | os.PathLike | None],
         backup: str | os.PathLike | None = None, original: bytes | None = None) -> Result:
    """Write ``result``'s outputs: ``targets`` maps an output kind (``workbook``, ``report``,
    ``pdf``, or any other key whose bytes are given as ``targets[kind] = (path, bytes)``) to a
    path; a kind with no bytes or no path is skipped.  Each write is atomic.  ``backup``: where
    ``original`` (the input's bytes) is copied first (``perfxl score --in-place``).

    A result that already failed is returned unchanged (nothing is written); a write that
    fails gives a FAILED result naming the file.
    """
    from .fileio import write_output

    if not result.ok:
        return result
    written = list(result.files)
    try:
        if backup is not None and original is not None:
            written.append(_guard(result.name, "write", write_output, backup, original))
        for kind, target in targets.items():
            if target is None:
                continue
            if isinstance(target, tuple):
                path, body = target
            else:
                path, body = target, getattr(result, kind, None)
            if body is None:
                continue
            written.append(_guard(result.name, "write", write_output, path, body))
    except _Failed as f:
        return replace(result, status=Status.FAILED, error=f.error, stage=f.stage, detail=f.detail,
                       files=tuple(written))
    return replace(result, files=tuple(written))


def run_file(path: str | os.PathLike,
             targets: Mapping[str, str | os.PathLike | None] | Callable[[Result], Mapping[str, str | os.PathLike | None]],
             pack: RulePack | None = None, *, backup: str | os.PathLike | None = None, **options: Any) -> Result:
    """:func:`process` the workbook file ``path``, then :func:`save` it.

    ``targets``: as for :func:`save`, or a function of the processed :class:`Result` returning
    them (for outputs that depend on it, such as the findings document).  ``backup``: where to
    copy the input first (``perfxl score --in-place``).  ``options``: as for :func:`process`.
    """
    from .fileio import read_workbook_bytes

    src = Path(path)
    try:
        data = read_workbook_bytes(src)
    except PerfxlError as e:
        return Result(src.name, Status.UNREADABLE, error=str(e), stage="read")
    result = process(data, src.name, pack, **options)
    if callable(targets):
        targets = targets(result)
    return save(result, targets, backup, data)


def process_bytes(data: bytes, name: str, pack: RulePack | None = None, *, report: bool = True,
                  pdf: bool = False, mark: bool = True, charts: bool = True,
                  explicit: bool = False) -> Result:
    """Check + score + write back + report one workbook given as bytes (the batch's work unit):
    :func:`process` with the batch's defaults."""
    return process(data, name, pack, explicit=explicit, score=True, mark=mark, report=report, pdf=pdf,
                   charts=charts)


def score_workbook_bytes(data: bytes, pack: RulePack | None = None, name: str = "workbook.xlsx") -> bytes:
    """Score a workbook given as bytes and return the scored workbook's bytes (the pack as
    given: the workbook's 评分参数 cells do not override it).  Raises :class:`PerfxlError`."""
    result = process(data, name, pack, explicit=True, score=True)
    if not result.ok or result.workbook is None:
        raise PerfxlError(result.error or f"{name}：无法评分。")
    return result.workbook


def check_file(path: str | os.PathLike, pack: RulePack | None = None,
               explicit: bool = False) -> tuple[WorkbookModel, list[Finding]]:
    """Read, score and check one workbook file (:func:`perfxl.pipeline.run_file`).

    Raises :class:`~perfxl.errors.WorkbookError` only when the file cannot be read at all; a
    failure inside scoring becomes a ``scoring-failed`` finding beside all the others.
    """
    from .errors import WorkbookError

    result = run_file(path, {}, pack, explicit=explicit, score=False)
    if result.model is None:
        raise WorkbookError(result.error or f"{os.fspath(path)}：无法读取。")
    return result.model, list(result.findings)
