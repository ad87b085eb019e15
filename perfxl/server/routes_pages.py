"""Login and the clerk's pages (server-rendered, Chinese; forms carry a CSRF token)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from . import auth, db
from .web import ApiError, session_user, state

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def _local(value: object) -> str:
    """A stored UTC time as the bureau's wall-clock time (``PERFXL_TZ``, default Asia/Shanghai)."""
    import datetime as dt
    import os
    from zoneinfo import ZoneInfo

    if not isinstance(value, dt.datetime):
        return str(value or "")
    zone: dt.tzinfo
    try:
        zone = ZoneInfo(os.environ.get("PERFXL_TZ") or "Asia/Shanghai")
    except Exception:  # noqa: BLE001 - unknown zone name: show UTC
        zone = dt.timezone.utc
    return value.replace(tzinfo=dt.timezone.utc).astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _cellvalue(v: object) -> str:
    """A cell value for the diff: numbers without a trailing .0, thousands separated."""
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        v = int(v)
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:,.6f}".rstrip("0").rstrip(".")
    return str(v)


templates.env.filters["local"] = _local
templates.env.filters["cellvalue"] = _cellvalue


def render(request: Request, name: str, code: int = 200, **ctx: Any) -> Response:
    ctx.setdefault("user", None)
    ctx["csrf"] = auth.csrf_token(request.session)
    return templates.TemplateResponse(request, name, ctx, status_code=code,
                                      headers={"Cache-Control": "no-store"})


async def error_page(request: Request, status: int, message: str) -> Response:
    try:
        user = await session_user(request)
    except Exception:  # noqa: BLE001 - the database itself may be what failed
        user = None
    back = "/clerk" if request.url.path.startswith("/clerk") else None
    return render(request, "error.html", status, message=message, status=status, user=user, back=back)


async def page_user(request: Request, reviewer: bool = False) -> db.User:
    user = await session_user(request)
    if user is None:
        raise LoginRequired()
    if reviewer and not user.reviewer:
        raise ApiError(403, "只有财政局审核人员可以查看该页面。")
    return user


class LoginRequired(Exception):
    """Not logged in: the handler redirects to the login page."""


async def require_csrf(request: Request, fields: dict) -> None:
    if not auth.csrf_ok(request.session, fields.get("csrf")):
        raise ApiError(403, "页面已过期（安全校验未通过），请刷新页面后重试。")


async def home(request: Request) -> Response:
    user = await session_user(request)
    if user is None:
        return RedirectResponse("/login", 303)
    return RedirectResponse("/review" if user.reviewer else "/clerk", 303)


async def login_form(request: Request) -> Response:
    return render(request, "login.html", message=None)


async def login(request: Request) -> Response:
    form = await request.form(max_files=0, max_fields=10)
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    await require_csrf(request, fields)
    name, pw = fields.get("login", "").strip()[:64], fields.get("password", "")
    st = state(request)
    if st.throttle.blocked(name):
        return render(request, "login.html", 429, message="登录失败次数过多，请 5 分钟后再试。")
    found = await run_in_threadpool(db.user_with_hash, st.engine, name)
    ok = await run_in_threadpool(auth.verify_password, found[1] if found else None, pw)
    if not ok or found is None or found[0].disabled:
        st.throttle.failed(name)
        return render(request, "login.html", 401, message="登录名或密码不正确（或账号已停用）。")
    st.throttle.succeeded(name)
    request.session.clear()
    request.session.update({"uid": found[0].id, "login": found[0].login})
    auth.csrf_token(request.session)
    return RedirectResponse("/", 303)


async def logout(request: Request) -> Response:
    form = await request.form(max_files=0, max_fields=5)
    await require_csrf(request, {k: v for k, v in form.items() if isinstance(v, str)})
    request.session.clear()
    return RedirectResponse("/login", 303)


routes = [
    Route("/", home),
    Route("/login", login_form, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
]


# ---- the clerk's pages ---------------------------------------------------------------------

def _current_year() -> int:
    import datetime as dt

    return dt.date.today().year


async def _draft(request: Request) -> tuple[bytes, str, dict] | None:
    """The workbook the clerk last uploaded on the page (its bytes, name, processed result)."""
    from . import service

    d = request.session.get("draft")
    if not isinstance(d, dict):
        return None
    st = state(request)
    try:
        data = await run_in_threadpool(st.draft_store.get, d.get("sha", ""))
    except (OSError, ValueError):
        request.session.pop("draft", None)
        return None
    return data, d.get("name") or "工作簿.xlsx", await service.processed(st, data, d.get("name") or "工作簿.xlsx")


def _grouped(findings: list[dict]) -> list[tuple[str, list[dict]]]:
    groups: dict[str, list[dict]] = {}
    for f in findings:
        groups.setdefault(f.get("sheet") or "（工作簿）", []).append(f)
    return list(groups.items())


async def clerk(request: Request) -> Response:
    user = await page_user(request)
    st = state(request)
    mine = await run_in_threadpool(db.list_submissions, st.engine, user) if not user.reviewer else []
    previous = None
    if mine:
        newest_year = max(s["year"] for s in mine)
        previous = next(s for s in mine if s["year"] == newest_year)
    flash = request.session.pop("flash", None)
    draft = await _draft(request)
    result = None
    refusal = None
    if draft is not None:
        from .web import dept_refusal

        result = draft[2]["result"]
        refusal = dept_refusal(user, result.get("dept")) if not user.reviewer else None
    return render(request, "clerk.html", user=user, submissions=mine, previous=previous, flash=flash,
                  draft_name=draft[1] if draft else None, result=result,
                  groups=_grouped(result["findings"]) if result else [], refusal=refusal,
                  year=previous["year"] + 1 if previous else _current_year() - 1)


async def clerk_check(request: Request) -> Response:
    from . import service
    from .web import read_upload

    await page_user(request)
    data, name, fields = await read_upload(request)
    await require_csrf(request, fields)
    st = state(request)
    await service.processed(st, data, name)  # errors (unreadable, timeout) become an error page
    sha = await run_in_threadpool(st.draft_store.put, data)
    request.session["draft"] = {"sha": sha, "name": name}
    return RedirectResponse("/clerk#result", 303)


async def clerk_draft_file(request: Request) -> Response:
    from .web import DOCX, XLSM, XLSX, download

    await page_user(request)
    draft = await _draft(request)
    if draft is None:
        raise ApiError(404, "没有待下载的结果：请先上传工作簿。")
    data, name, out = draft
    stem = name.rsplit(".", 1)[0]
    if request.path_params["kind"] == "report" and out.get("report"):
        return download(out["report"], f"{stem}-自评报告.docx", DOCX)
    if request.path_params["kind"] == "workbook" and out.get("workbook"):
        xlsm = name.lower().endswith(".xlsm")
        return download(out["workbook"], f"{stem}-已评分{'.xlsm' if xlsm else '.xlsx'}", XLSM if xlsm else XLSX)
    raise ApiError(404, "该文件没有生成。")


async def clerk_submit(request: Request) -> Response:
    from . import service

    user = await page_user(request)
    form = await request.form(max_files=0, max_fields=5)
    await require_csrf(request, {k: v for k, v in form.items() if isinstance(v, str)})
    draft = await _draft(request)
    if draft is None:
        raise ApiError(400, "没有可报送的工作簿：请先上传并检查。")
    row = await service.submit(state(request), user, draft[0], draft[1])
    request.session.pop("draft", None)
    request.session["flash"] = (f"已正式报送：{row['dept']} {row['year']} 年度第 {row['version']} 版，"
                                f"总分 {row['total']:.2f} 分，等级 {row['grade'] or '—'}。")
    return RedirectResponse("/clerk", 303)


async def clerk_clear(request: Request) -> Response:
    form = await request.form(max_files=0, max_fields=5)
    await require_csrf(request, {k: v for k, v in form.items() if isinstance(v, str)})
    request.session.pop("draft", None)
    return RedirectResponse("/clerk", 303)


async def blank(request: Request) -> Response:
    from ..template import build_workbook
    from .web import XLSX, download

    user = await page_user(request)
    year = _current_year() - 1
    q = request.query_params.get("year", "")
    if q.isdigit() and 2000 <= int(q) <= 2100:
        year = int(q)
    data = await run_in_threadpool(build_workbook, None, None, user.dept, year)
    return download(data, f"{user.dept or '部门'}-{year}-绩效自评表.xlsx", XLSX)


async def carry(request: Request) -> Response:
    """Next year's workbook carried forward from one of the department's submissions."""
    from . import jobs, service
    from .web import XLSX, download

    user = await page_user(request)
    st = state(request)
    sid = request.query_params.get("from", "")
    row = await run_in_threadpool(db.get_submission, st.engine, int(sid), user) if sid.isdigit() else None
    if row is None:
        raise ApiError(404, "找不到要结转的报送记录（或无权查看）。")
    data = await run_in_threadpool(st.storage.get, row["workbook_sha"])
    out = await service.run_job(st, jobs.carry, data, row["filename"], row["year"] + 1, row["dept"])
    return download(out["body"], f"{row['dept']}-{row['year'] + 1}-绩效自评表（由{row['year']}年度结转）.xlsx", XLSX)


routes += [
    Route("/clerk/carry", carry),
    Route("/clerk", clerk),
    Route("/clerk/check", clerk_check, methods=["POST"]),
    Route("/clerk/submit", clerk_submit, methods=["POST"]),
    Route("/clerk/clear", clerk_clear, methods=["POST"]),
    Route("/clerk/result/{kind:str}", clerk_draft_file),
    Route("/clerk/blank", blank),
]
