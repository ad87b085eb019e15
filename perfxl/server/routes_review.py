"""The reviewer's pages: the live 汇总, a department's versions and diffs, downloads of everything."""
from __future__ import annotations

import io
import zipfile

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import summary as sm
from ..rulepack import RulePack
from . import db, diff, summaryview
from .routes_pages import page_user, render
from .web import XLSX, ZIP, ApiError, download, state

BANDS = (("90 分及以上", 90, 1000), ("80–90 分", 80, 90), ("70–80 分", 70, 80), ("60–70 分", 60, 70), ("60 分以下", -1000, 60))


def _int(q: str | None) -> int | None:
    return int(q) if q and q.isdigit() else None


def chart(rows: list[dict]) -> dict:
    """Bars of the score distribution, sized for an inline SVG."""
    counts = []
    for label, lo, hi in BANDS:
        n = sum(1 for r in rows if isinstance(r.get("总分"), (int, float)) and lo <= r["总分"] < hi)
        counts.append((label, n))
    unscored = sum(1 for r in rows if not isinstance(r.get("总分"), (int, float)))
    if unscored:
        counts.append(("无得分", unscored))
    top = max([n for _, n in counts] + [1])
    bar_w, gap, height = 90, 20, 160
    bars = [{"label": label, "n": n, "x": 40 + i * (bar_w + gap), "w": bar_w,
             "h": round(height * n / top), "y": 20 + height - round(height * n / top)} for i, (label, n) in enumerate(counts)]
    return {"bars": bars, "width": 40 + len(bars) * (bar_w + gap), "base": 20 + height, "height": height + 60}


async def review(request: Request) -> Response:
    user = await page_user(request, reviewer=True)
    st = state(request)
    q = request.query_params
    year, grade, status = _int(q.get("year")), q.get("grade") or "", q.get("status") or ""
    rows = await run_in_threadpool(summaryview.rows, st.engine, year)
    if grade:
        rows = [r for r in rows if (r.get("等级") or "") == grade]
    if status:
        rows = [r for r in rows if r.get("状态") == status]
    years = await run_in_threadpool(db.years, st.engine)
    level1 = [c for c in sm.columns(_pack(), rows) if c not in sm.HEAD_COLUMNS and c not in sm.TAIL_COLUMNS]
    return render(request, "review.html", user=user, rows=rows, ranking=sm.review_ranking(rows),
                  counts=sm.counts(rows), chart=chart(rows), years=years, year=year, grade=grade, status=status,
                  statuses=sm.STATUSES, grades=("优", "良", "中", "差"), level1=level1, mixed=sm.mixed_note(rows),
                  query=request.url.query)


def _pack(key: str | None = None) -> RulePack:
    """The shipped pack a stored result names (``result["pack"]``), else the default."""
    from ..rulepack import load, shipped_pack

    return (shipped_pack(key) if key else None) or load()


async def dept_page(request: Request) -> Response:
    user = await page_user(request, reviewer=True)
    st = state(request)
    dept = request.query_params.get("dept", "")
    versions = await run_in_threadpool(db.list_submissions, st.engine, user, dept)
    if not versions:
        raise ApiError(404, f"没有“{dept}”的报送记录。")
    by_year: dict[int, list[dict]] = {}
    for v in versions:
        by_year.setdefault(v["year"], []).append(v)
    yoy = []
    years = sorted(by_year)
    for i, y in enumerate(years):
        latest = by_year[y][0]
        prev = by_year[years[i - 1]][0] if i else None
        delta = None
        if prev and latest["total"] is not None and prev["total"] is not None:
            delta = round(latest["total"] - prev["total"], 2)
        yoy.append({"year": y, "row": latest, "delta": delta})
    return render(request, "dept.html", user=user, dept=dept, versions=versions, yoy=yoy)


async def diff_page(request: Request) -> Response:
    user = await page_user(request, reviewer=True)
    st = state(request)
    a, b = _int(request.query_params.get("a")), _int(request.query_params.get("b"))
    if a is None or b is None:
        raise ApiError(400, "请选择要比较的两个版本。")
    old = await run_in_threadpool(db.get_submission, st.engine, a, user)
    new = await run_in_threadpool(db.get_submission, st.engine, b, user)
    if old is None or new is None:
        raise ApiError(404, "找不到要比较的版本。")
    if (old["created_at"], old["id"]) > (new["created_at"], new["id"]):
        old, new = new, old
    names = {i.id: i.name for i in _pack(new["result"].get("pack")).indicators}
    d = diff.compare(old["result"], new["result"])
    for ind in d["indicators"]:
        ind["name"] = names.get(ind["id"], ind["id"])
    return render(request, "diff.html", user=user, old=old, new=new, d=d)


async def export_zip(request: Request) -> Response:
    await page_user(request, reviewer=True)
    st = state(request)
    year = _int(request.query_params.get("year"))

    def build() -> bytes:
        latest = db.latest(st.engine, year)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for r in latest:
                folder = _safe(f"{r['dept']}-{r['year']}-第{r['version']}版")
                z.writestr(f"{folder}/{_safe(r['filename'])}", st.storage.get(r["workbook_sha"]))
                if r["marked_sha"]:
                    z.writestr(f"{folder}/已评分.xlsx", st.storage.get(r["marked_sha"]))
                if r["report_sha"]:
                    z.writestr(f"{folder}/自评报告.docx", st.storage.get(r["report_sha"]))
                if r["pdf_sha"]:
                    z.writestr(f"{folder}/自评报告.pdf", st.storage.get(r["pdf_sha"]))
            z.writestr(sm.SUMMARY_XLSX, summaryview.summary_xlsx(st.engine, year))
        return buf.getvalue()

    data = await run_in_threadpool(build)
    return download(data, f"绩效自评报送-{year or '全部年度'}.zip", ZIP)


def _safe(name: str) -> str:
    """A zip member name without folders or characters Windows refuses."""
    return "".join("_" if ch in '<>:"/\\|?*' or not ch.isprintable() else ch for ch in name).strip(". ") or "文件"


async def summary_xlsx(request: Request) -> Response:
    await page_user(request, reviewer=True)
    year = _int(request.query_params.get("year"))
    data = await run_in_threadpool(summaryview.summary_xlsx, state(request).engine, year)
    return download(data, sm.SUMMARY_XLSX, XLSX)


routes = [
    Route("/review", review),
    Route("/review/dept", dept_page),
    Route("/review/diff", diff_page),
    Route("/review/export.zip", export_zip),
    Route("/review/summary.xlsx", summary_xlsx),
]
