"""The one place that knows the order: read → score → validate → write back → report.

Every shell (CLI, Excel button, batch worker) calls these functions; none of them holds state.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .model import WorkbookModel
from .rulepack import RulePack
from .rulepack import load as load_rules


@dataclass(frozen=True)
class Analysis:
    """A workbook's model with its scores and findings."""

    model: WorkbookModel
    scores: object  # scoring.Scores
    findings: tuple = ()
    pack: RulePack | None = None  # the pack that scored it (the report numbers section 三 by it)

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == "错误")

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.severity == "警告")


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
    """Score, then validate (validation sees the scores: plausibility checks use the total)."""
    from . import scoring, validate

    pack = pack or load_rules()
    used = effective_pack(model, pack, explicit)
    scores = scoring.score(model, used)
    findings = tuple(validate.check(model, pack, scores))
    return Analysis(model, scores, findings, used)


def workbook_edits(analysis: Analysis, pack: RulePack | None = None, *, score: bool = True,
                   mark: bool = False) -> list:
    """The cell edits that bring a workbook up to date: scoring formulas and/or finding marks."""
    from . import marks, writeback

    pack = pack or load_rules()
    edits: list = []
    if score:
        edits += writeback.score_edits(analysis.model, pack, analysis.scores)
    if mark:
        edits += marks.mark_edits(analysis.model, list(analysis.findings))
    return edits


@dataclass(frozen=True)
class Processed:
    """Everything one workbook produces, as bytes (no shared disk needed: dask workers)."""

    analysis: Analysis | None
    workbook: bytes | None = None
    report: bytes | None = None
    pdf: bytes | None = None
    error: str | None = None  # the Chinese sentence when the file could not be read
    timings: dict = field(default_factory=dict)


def process_bytes(data: bytes, name: str, pack: RulePack | None = None, *, report: bool = True,
                  pdf: bool = False, mark: bool = True, charts: bool = True,
                  explicit: bool = False) -> Processed:
    """Check + score + write back + report one workbook given as bytes; never raises for a
    bad workbook (the reason is in ``error``)."""
    import time

    from .errors import PerfxlError
    from .xlsxpatch import apply_edits_bytes

    pack = pack or load_rules()
    t = {}
    t0 = time.perf_counter()
    try:
        model = load(name, data)
    except PerfxlError as e:
        return Processed(None, error=str(e))
    t["read"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    analysis = analyse(model, pack, explicit)
    t["check_score"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    try:
        wb = apply_edits_bytes(data, workbook_edits(analysis, analysis.pack, score=True, mark=mark))
    except PerfxlError as e:
        return Processed(analysis, error=str(e), timings=t)
    t["writeback"] = time.perf_counter() - t0
    doc = pdf_bytes = None
    if report:
        from .report import render_report, report_bytes

        t0 = time.perf_counter()
        try:
            if pdf:  # LibreOffice needs files
                with tempfile.TemporaryDirectory(prefix="perfxl-") as tmp:
                    out = Path(tmp) / "report.docx"
                    render_report(analysis.model, analysis.scores, out, pdf=True, findings=list(analysis.findings),
                                  pack=analysis.pack, charts=charts)
                    doc = out.read_bytes()
                    if out.with_suffix(".pdf").exists():
                        pdf_bytes = out.with_suffix(".pdf").read_bytes()
            else:
                doc = report_bytes(analysis.model, analysis.scores, findings=list(analysis.findings),
                                   pack=analysis.pack, charts=charts)
        except PerfxlError as e:
            return Processed(analysis, wb, error=str(e), timings=t)
        t["report"] = time.perf_counter() - t0
    return Processed(analysis, wb, doc, pdf_bytes, None, t)
