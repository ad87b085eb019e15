"""The service's operations over the pool, the database and the stored files (no HTTP here
beyond :class:`~.web.ApiError`): check, report, submit, and the background PDF."""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any, Callable

from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from . import db, jobs
from .auth import Throttle
from .pool import Busy, TimeLimit, Workers
from .settings import Settings
from .storage import Storage
from .web import ApiError

log = logging.getLogger("perfxl.server")


@dataclass
class State:
    settings: Settings
    engine: Engine
    storage: Storage
    workers: Workers
    pdf_workers: Workers
    throttle: Throttle
    draft_store: Storage  # workbooks uploaded on the pages, not (yet) submitted
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    drafts: dict[str, dict[str, Any]] = field(default_factory=dict)  # sha → processed result, a small LRU for the pages


async def run_job(st: State, fn: Callable[..., Any], *args: Any) -> Any:
    try:
        out = await st.workers.run(fn, *args)
    except TimeLimit:
        raise ApiError(400, f"处理超时（超过 {st.settings.time_limit:g} 秒）：该文件无法在规定时间内处理，请检查工作簿是否异常。") from None
    except Busy:
        raise ApiError(503, "服务器繁忙，处理进程被重启，请稍后重试。") from None
    except MemoryError:
        raise ApiError(400, "该文件处理时占用内存过多，已停止处理，请检查工作簿是否异常。") from None
    if isinstance(out, dict) and out.get("error"):
        raise ApiError(400, out["error"])
    return out


async def check(st: State, data: bytes, name: str) -> dict:
    return await run_job(st, jobs.check, data, name)


async def report(st: State, data: bytes, name: str) -> dict:
    return await run_job(st, jobs.report, data, name)


async def processed(st: State, data: bytes, name: str) -> dict:
    """The page's result of an upload (marked workbook, report, findings), cached by content."""
    import hashlib

    key = hashlib.sha256(data).hexdigest() + "/" + name
    hit = st.drafts.get(key)
    if hit is None:
        hit = await run_job(st, jobs.process, data, name)
        st.drafts[key] = hit
        while len(st.drafts) > 32:
            st.drafts.pop(next(iter(st.drafts)))
    return hit


async def submit(st: State, user: db.User, data: bytes, name: str) -> dict:
    """Store a new version; the answer of ``POST /api/submissions``."""
    from .web import dept_refusal

    out = await processed(st, data, name)
    res = out["result"]
    why = dept_refusal(user, res.get("dept"))
    if why:
        raise ApiError(403, why)
    if not res.get("dept"):
        raise ApiError(400, "工作簿没有填写部门名称，无法报送。")
    if res.get("year") is None:
        raise ApiError(400, "工作簿没有填写年度，无法报送：请在“基本信息”表填写年度（如 2023）后重试。")
    if not 1900 <= res["year"] <= 2999:
        raise ApiError(400, f"工作簿的年度是 {res['year']}，不是合理的年度，无法报送：请改为实际的预算年度（如 2023）。")
    if len(res["dept"].strip()) > 200:
        raise ApiError(400, "工作簿的部门名称超过 200 个字，无法报送：请填写部门的规范全称。")

    def store() -> dict:
        sha = st.storage.put(data)
        marked = st.storage.put(out["workbook"]) if out.get("workbook") else None
        rep = st.storage.put(out["report"]) if out.get("report") else None
        return db.add_submission(st.engine, dept=res["dept"].strip(), year=res["year"], user_id=user.id,
                                 filename=name, workbook_sha=sha, marked_sha=marked, report_sha=rep,
                                 total=res.get("total"), grade=res.get("grade"), errors=res["errors"],
                                 warnings=res["warnings"], result=res,
                                 pdf_state="pending" if rep else "failed")

    row = await run_in_threadpool(store)
    if out.get("report"):
        schedule_pdf(st, row["id"], out["report"])
    return row


def schedule_pdf(st: State, sid: int, docx: bytes) -> None:
    task = asyncio.get_running_loop().create_task(_make_pdf(st, sid, docx))
    st.tasks.add(task)
    task.add_done_callback(st.tasks.discard)


async def _make_pdf(st: State, sid: int, docx: bytes) -> None:
    try:
        pdf = await st.pdf_workers.run(jobs.pdf, docx, time_limit=300)
        sha = await run_in_threadpool(st.storage.put, pdf)
        await run_in_threadpool(db.set_pdf, st.engine, sid, "done", sha)
    except Exception as e:  # noqa: BLE001 - LibreOffice missing or failing: recorded, not raised
        log.warning("PDF of submission %s failed: %s", sid, e)
        await run_in_threadpool(db.set_pdf, st.engine, sid, "failed", None)


async def warm_up(st: State) -> None:
    """Warm every pipeline worker in the background (failures only cost the first upload time)."""
    async def one() -> None:
        try:
            await st.workers.run(jobs.warm_up, time_limit=120)
        except Exception as e:  # noqa: BLE001
            log.warning("warm-up failed: %s", e)

    for _ in range(st.settings.workers):
        task = asyncio.get_running_loop().create_task(one())
        st.tasks.add(task)
        task.add_done_callback(st.tasks.discard)


async def resume_pdfs(st: State) -> None:
    """After a restart, make the PDFs that were still pending."""
    for sid in await run_in_threadpool(db.pending_pdfs, st.engine):
        row = await run_in_threadpool(_report_of, st, sid)
        if row:
            schedule_pdf(st, sid, row)
        else:
            await run_in_threadpool(db.set_pdf, st.engine, sid, "failed", None)


def _report_of(st: State, sid: int) -> bytes | None:
    from sqlalchemy import select

    with st.engine.connect() as c:
        sha = c.execute(select(db.submissions.c.report_sha).where(db.submissions.c.id == sid)).scalar()
    try:
        return st.storage.get(sha) if sha else None
    except (OSError, ValueError):
        return None
