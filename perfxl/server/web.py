"""What every route shares: JSON errors, who is calling, reading an upload, safe downloads."""
from __future__ import annotations

import urllib.parse
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from . import auth, db
from .uploads import inspect, safe_name

if TYPE_CHECKING:
    from .service import State

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLSM = "application/vnd.ms-excel.sheet.macroEnabled.12"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PDF = "application/pdf"
ZIP = "application/zip"


class BodyTooLarge(Exception):
    """The request body grew past the upload limit while it was being received."""


class ApiError(Exception):
    """An error answered as ``{"error": message}`` with ``status``."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def error(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def state(request: Request) -> State:
    return request.app.state.perfxl


async def session_user(request: Request) -> db.User | None:
    uid = request.session.get("uid")
    if not isinstance(uid, int):
        return None
    user = await run_in_threadpool(db.get_user, state(request).engine, uid)
    if user is None or user.disabled or request.session.get("login") != user.login:
        request.session.clear()
        return None
    return user


async def api_user(request: Request, reviewer: bool = False) -> db.User:
    """The caller: a Bearer token, or (for GET only) the browser's session. 401/403 otherwise."""
    header = request.headers.get("authorization", "")
    user = None
    if header:
        kind, _, token = header.partition(" ")
        if kind.lower() != "bearer" or not token.strip():
            raise ApiError(401, "认证方式无效：请使用 Authorization: Bearer <令牌>。")
        user = await run_in_threadpool(db.user_by_token, state(request).engine, auth.token_hash(token.strip()))
        if user is None:
            raise ApiError(401, "令牌无效或已被停用，请向财政局索取新的令牌。")
    elif request.method in ("GET", "HEAD"):
        user = await session_user(request)
    if user is None:
        raise ApiError(401, "需要登录：请在请求头中提供 Authorization: Bearer <令牌>。")
    if user.disabled:
        raise ApiError(403, "该账号已被停用。")
    if reviewer and not user.reviewer:
        raise ApiError(403, "只有财政局审核人员可以查看汇总。")
    return user


async def read_upload(request: Request, field: str = "file") -> tuple[bytes, str, dict]:
    """The uploaded file's bytes and safe name (checked by :func:`uploads.inspect`), plus the
    form's other fields."""
    settings = state(request).settings
    try:
        form = await request.form(max_files=1, max_fields=20, max_part_size=64 * 1024)
    except BodyTooLarge:
        raise
    except Exception:  # malformed multipart, too many parts
        raise ApiError(400, "请求格式不正确：请以 multipart/form-data 上传，文件字段名为 file。") from None
    up = form.get(field)
    if not isinstance(up, UploadFile):
        raise ApiError(400, "请求中没有上传文件：文件字段名应为 file。")
    name = safe_name(up.filename)
    data = await up.read(settings.max_upload + 1)
    await up.close()
    inspect(data, name, settings)
    return data, name, {k: v for k, v in form.items() if isinstance(v, str)}


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback and the real name per RFC 5987 (``filename*``)."""
    clean = "".join(ch for ch in filename if ch.isprintable() and ch not in '"\\/;') or "download"
    ext = clean.rsplit(".", 1)[-1] if "." in clean else ""
    if all(ch.isascii() and (ch.isalnum() or ch in "._-") for ch in clean):
        ascii_name = clean
    else:  # old clients get a plain name; current browsers use filename*
        ascii_name = "perfxl-download" + (f".{ext}" if ext.isascii() and ext.isalnum() else "")
    quoted = urllib.parse.quote(clean, safe="")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quoted}"


def download(data: bytes, filename: str, media_type: str) -> Response:
    return Response(data, media_type=media_type,
                    headers={"Content-Disposition": content_disposition(filename), "Cache-Control": "private, no-store"})


def dept_refusal(user: db.User, dept: str | None) -> str | None:
    """Why ``user`` may not submit a workbook of ``dept`` (``None`` when allowed)."""
    if user.reviewer:
        return None
    mine = (user.dept or "").strip()
    theirs = (dept or "").strip()
    if not theirs:
        return "工作簿没有填写部门名称，无法报送：请在“基本信息”表填写部门名称后重试。"
    if theirs != mine:
        return (f"工作簿的部门名称是“{theirs}”，而您的账号属于“{mine or '（未指定部门）'}”："
                "只能报送本部门的工作簿。如部门名称填写有误，请改正后重试。")
    return None
