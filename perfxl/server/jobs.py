"""The work a request hands to the process pool: plain functions of bytes → JSON-ready data.

Each calls the one pipeline (:mod:`perfxl.pipeline`) exactly as the CLI does and returns only
picklable plain data.  A workbook that cannot be read gives ``{"error": "<Chinese>"}``.
"""
from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:
    from ..findings import Finding
    from ..model import WorkbookModel
    from ..pipeline import Analysis, Result


def _plain(v: Any) -> Any:
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


def _findings(findings: Sequence[Finding]) -> list[dict[str, Any]]:
    from ..validate import findings_json

    out = findings_json(list(findings))
    for d, f in zip(out, findings):
        d["ref"] = f.ref
    return out


def _result(analysis: Analysis) -> dict[str, Any]:
    from ..rulepack import pack_key
    from ..writeback import scores_json

    s = scores_json(analysis.scores)
    model = analysis.model
    year = model.get("fiscal_year")
    infos = len(analysis.findings) - analysis.errors - analysis.warnings
    return _plain({
        "dept": model.get("dept_name"),
        "year": int(year) if isinstance(year, (int, float)) and not isinstance(year, bool) else None,
        "total": s["score_total"], "grade": s["grade"], "score_base": s["score_base"],
        "score_bonus": s["score_bonus"], "indicators": s["indicators"], "rates": s["rates"],
        "errors": analysis.errors, "warnings": analysis.warnings, "infos": infos,
        "findings": _findings(analysis.findings),
        "pack": pack_key(analysis.pack) if analysis.pack is not None else None,
    })


def cells(model: WorkbookModel) -> dict[str, dict[str, Any]]:
    """Every input cell the model read: ``{"sheet!cell": {"label", "value"}}`` (for diffs)."""
    from ..schema import FIELD_BY_NAME, TABLE_BY_NAME

    out: dict[str, dict[str, Any]] = {}
    for name, v in model.fields.items():
        if v.sheet and v.cell:
            label = FIELD_BY_NAME[name].label if name in FIELD_BY_NAME else name
            out[v.ref] = {"label": label, "value": _plain(v.raw if v.value is None else v.value)}
    for tname, t in model.tables.items():
        caption = TABLE_BY_NAME[tname].caption if tname in TABLE_BY_NAME else tname
        for row in t.rows:
            for header, v in row.cells.items():
                if v.sheet and v.cell and not v.empty:
                    out[v.ref] = {"label": f"{caption}：{header}", "value": _plain(v.raw if v.value is None else v.value)}
    return out


def check(data: bytes, name: str) -> dict:
    """``POST /api/check``: the full result and the edits a client applies (score + marks)."""
    from .. import pipeline

    return check_result(pipeline.process(data, name, score=True, mark=True, apply=False))


def check_result(p: Result) -> dict[str, Any]:
    """The answer of a check from ``pipeline.process(..., apply=False)`` on any source (the
    uploaded file, or the WPS add-in's object-model snapshot: :mod:`.addins`): the result, the
    edits and the clerk's messages."""
    from . import addins, editwire

    if not p.ok or p.analysis is None:
        return {"error": p.error}
    edits = list(p.edits)
    result = _result(p.analysis)
    return {**result, "messages": addins.clerk_messages(result), "edits": editwire.edits_json(edits),
            "_edits": edits}


def check_snapshot(doc: dict) -> dict:
    """``POST /api/check-snapshot``: as :func:`check`, from the add-in's object-model snapshot
    (:mod:`perfxl.snapshot`) when it cannot send the workbook's bytes."""
    from .. import pipeline
    from ..errors import PerfxlError
    from ..snapshot import SnapshotSource

    try:
        source = SnapshotSource(doc)
    except PerfxlError as e:
        return {"error": str(e)}
    return check_result(pipeline.process(None, source.path, source=source, score=True, mark=True))


def report(data: bytes, name: str) -> dict:
    """``POST /api/report``: the Word report's bytes, as ``perfxl report`` renders it."""
    from .. import pipeline

    p = pipeline.process(data, name, score=False, report=True)
    if not p.ok or p.analysis is None or p.report is None:
        return {"error": p.error}
    return {"docx": p.report, "dept": p.analysis.model.get("dept_name")}


def process(data: bytes, name: str) -> dict:
    """A submission (or a page upload): result, summary row, input cells, marked workbook, report."""
    from .. import pipeline
    from ..rulepack import load as load_rules
    from ..summary import row_for

    p = pipeline.process_bytes(data, name, report=True, pdf=False, mark=True)
    if p.analysis is None:
        return {"error": p.error}
    out = _result(p.analysis)
    out["row"] = _plain(row_for(name, p, p.analysis.pack or load_rules()))
    out["cells"] = cells(p.analysis.model)
    out["problem"] = p.error
    return {"result": out, "workbook": p.workbook, "report": p.report}


def carry(data: bytes, name: str, year: int, dept: str | None) -> dict:
    """Next year's workbook started from a stored submission (``perfxl new --from``)."""
    from ..carryover import carry_forward
    from ..errors import PerfxlError

    try:
        carried = carry_forward(data, year, dept=dept, name=name)
    except PerfxlError as e:
        return {"error": str(e)}
    return {"body": carried.body, "year": carried.year}


def pdf(docx: bytes) -> bytes:
    """The PDF of a report (LibreOffice; slow, runs in the background pool)."""
    from ..report.pdf import docx_to_pdf_bytes

    return docx_to_pdf_bytes(docx)


def warm_up() -> bool:
    """Run the whole pipeline once on a generated workbook, so the first clerk's upload does not
    pay for this worker's first-use costs (about two seconds)."""
    import time

    from ..template import build_workbook

    process(build_workbook(None, None, "预热", 2023), "预热.xlsx")
    time.sleep(0.5)  # hold this worker so the next warm-up job lands on another one
    return True
