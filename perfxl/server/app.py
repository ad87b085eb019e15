"""The ASGI application: routes, middleware (sessions, security headers, body limit), errors."""
from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, Mapping

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import addins, db, routes_api, routes_pages, routes_review, service
from .auth import Throttle
from .pool import Workers
from .settings import MB, Settings
from .storage import Storage
from .uploads import UploadError
from .web import ApiError, BodyTooLarge, error

HERE = Path(__file__).parent
log = logging.getLogger("perfxl.server")

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"content-security-policy",
     b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'"),
]


class Guard:
    """Pure ASGI middleware: security headers on every response; a request body over the limit
    (announced by Content-Length, or counted while streaming) raises :class:`BodyTooLarge` when
    the route reads it, so the 413 is answered like any other error (JSON or page)."""

    def __init__(self, app: ASGIApp, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or []).get(b"content-length", b"")
        seen = int(length) if length.isdigit() else 0

        async def limited() -> Message:
            nonlocal seen
            if seen > self.limit:
                raise BodyTooLarge()
            msg = await receive()
            if msg["type"] == "http.request":
                seen += 0 if length.isdigit() else len(msg.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge()
            return msg

        return await self.app(scope, limited, self._send(send))

    @staticmethod
    def _send(send: Send) -> Send:
        async def wrapped(msg: Message) -> None:
            if msg["type"] == "http.response.start":
                names = {k.lower() for k, _ in msg.get("headers", [])}
                msg["headers"] = list(msg.get("headers", [])) + [h for h in SECURITY_HEADERS if h[0] not in names]
            await send(msg)
        return wrapped


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/healthz" or \
        "application/json" in request.headers.get("accept", "")


async def _api_error(request: Request, exc: ApiError) -> Response:
    if _wants_json(request):
        return error(exc.status, exc.message, {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None)
    return await routes_pages.error_page(request, exc.status, exc.message)


async def _upload_error(request: Request, exc: UploadError) -> Response:
    return await _api_error(request, ApiError(exc.status, exc.message))


async def _too_large(request: Request, exc: BodyTooLarge) -> Response:
    limit = request.app.state.perfxl.settings.max_upload // MB
    return await _api_error(request, ApiError(413, f"上传内容超过上限 {limit} MB。"))


_HTTP_TEXT = {404: "找不到该页面或地址。", 405: "不支持该请求方法。", 400: "请求格式不正确。"}


async def _http_error(request: Request, exc: HTTPException) -> Response:
    msg = _HTTP_TEXT.get(exc.status_code, "请求无法处理。")
    return await _api_error(request, ApiError(exc.status_code, msg))


async def _login(request: Request, exc: routes_pages.LoginRequired) -> Response:
    return RedirectResponse("/login", 303)


async def _crash(request: Request, exc: Exception) -> Response:
    log.exception("internal error on %s", request.url.path)
    msg = "服务器内部错误：请稍后重试；如仍出现，请把时间和所做操作告知财政局信息科。"
    if _wants_json(request):
        return JSONResponse({"error": msg}, status_code=500)
    return HTMLResponse(f"<!doctype html><meta charset=utf-8><title>错误</title><p>{msg}</p>", status_code=500)


# Starlette types every handler as taking ``Exception``, so a handler of a subclass does not fit
# its mapping although Starlette only calls it with its own key's class: hence ``Any``.
_HANDLERS: Mapping[Any, Callable[[Request, Any], Awaitable[Response]]] = {
    ApiError: _api_error, UploadError: _upload_error, BodyTooLarge: _too_large, HTTPException: _http_error,
    routes_pages.LoginRequired: _login, Exception: _crash}


def create_app(settings: Settings) -> Starlette:
    """The service for ``settings`` (the database schema is created on first use)."""
    engine = db.connect(settings.database_url)
    drafts = Storage(settings.drafts_dir, max_age=24 * 3600)
    drafts.prune(force=True)
    st = service.State(settings, engine, Storage(settings.files_dir),
                       Workers(settings.workers, settings.time_limit, memory_limit=3 * 1024 * MB),
                       Workers(1, 300.0), Throttle(), drafts)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await service.resume_pdfs(st)
        await service.warm_up(st)
        try:
            yield
        finally:
            st.workers.close()
            st.pdf_workers.close()
            engine.dispose()

    routes = (routes_api.routes + routes_pages.routes + routes_review.routes +
              [Mount("/static", StaticFiles(directory=HERE / "static"), name="static")] + addins.routes())
    app = Starlette(
        routes=routes,
        middleware=[addins.cors(),
                    Middleware(Guard, limit=settings.max_upload + MB),
                    Middleware(SessionMiddleware, secret_key=settings.secret.hex(), session_cookie="perfxl_session",
                               max_age=settings.session_hours * 3600, same_site="lax",
                               https_only=settings.secure_cookies)],
        exception_handlers=_HANDLERS,
        lifespan=lifespan,
    )
    app.state.perfxl = st
    return app


def app_from_env() -> Starlette:
    """``uvicorn --factory perfxl.server.app:app_from_env`` (reads PERFXL_DATA / PERFXL_DB)."""
    import os

    return create_app(Settings.load(os.environ.get("PERFXL_DATA", "perfxl-data"), os.environ.get("PERFXL_DB")))
