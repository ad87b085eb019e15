"""Login and the clerk's pages (server-rendered, Chinese; forms carry a CSRF token)."""
from __future__ import annotations

from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from . import auth, db
from .web import ApiError, session_user, state

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def render(request: Request, name: str, code: int = 200, **ctx) -> Response:
    ctx.setdefault("user", None)
    ctx["csrf"] = auth.csrf_token(request.session)
    return templates.TemplateResponse(request, name, ctx, status_code=code,
                                      headers={"Cache-Control": "no-store"})


def error_page(request: Request, status: int, message: str) -> Response:
    return render(request, "error.html", status, message=message, status=status)


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
