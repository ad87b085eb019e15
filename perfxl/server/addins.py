"""Where the service hosts the WPS JS add-in (``addins/wps/``: ribbon.xml, main.js, js/).

The folder is looked up in this order: ``$PERFXL_WPS_DIR``; ``perfxl/addins/wps`` (package data
of an installed perfxl); ``addins/wps`` beside the ``perfxl`` package (a source checkout).
It is served read-only under ``/wps/`` (no directory listing; StaticFiles serves files only).
Generated files: ``/jsplugins.xml`` (WPS online mode: ``oem.ini`` → ``JSPluginsServer``),
``/addins/perfxl-wps.zip`` (offline install), ``/addins/perfxl.xlam`` (the Excel add-in with this
service's address built in).  ``POST /api/check-snapshot`` (the WPS add-in's object-model
snapshot) is an API route (:mod:`.routes_api`).
"""
from __future__ import annotations

import functools
import os
from pathlib import Path

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from .. import wpsaddin

PREFIX = "/wps"


def wps_dir() -> Path | None:
    """The add-in folder, or ``None`` when this installation has none."""
    pkg = Path(__file__).resolve().parent.parent
    for cand in (os.environ.get("PERFXL_WPS_DIR"), pkg / "addins" / "wps", pkg.parent / "addins" / "wps"):
        if cand and Path(cand).is_dir():
            return Path(cand)
    return None


def clerk_messages(result: dict) -> dict[str, str]:
    """What the ribbon buttons tell the clerk after a check (``result``: the /api/check JSON):
    ``{"check": …, "score": …}``, the same sentences as the local-Python add-in (perfxl.app)."""
    findings = result.get("findings") or []
    errors, warnings = result.get("errors") or 0, result.get("warnings") or 0
    if findings:
        check = (f"校验完成：错误 {errors} 条、警告 {warnings} 条、提示 {len(findings) - errors - warnings} 条。"
                 "有问题的单元格已标色（错误浅红、警告浅橙、提示浅黄）并加批注，清单见“校验结果”表。")
    else:
        check = "校验通过：没有发现问题。"
    total = result.get("total")
    shown = "—" if total is None else f"{total:.2f}".rstrip("0").rstrip(".")
    score = f"计算完成：总分 {shown} 分，等级 {result.get('grade') or '—'}。公式已写回工作簿。"
    return {"check": check, "score": score}


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


async def jsplugins(request: Request) -> Response:
    """WPS online mode: the list ``oem.ini``'s ``JSPluginsServer`` points at."""
    return Response(wpsaddin.jsplugins_xml(_base(request) + PREFIX + "/"), media_type="application/xml",
                    headers={"Cache-Control": "no-cache"})


async def wps_zip(request: Request) -> Response:
    from .web import download

    return download(wpsaddin.zip_bytes(), f"perfxl-wps-{wpsaddin.version()}.zip", "application/zip")


async def excel_addin(request: Request) -> Response:
    """The Excel add-in with this service's address built in (``?server-only=1``: without the
    local-Python path).  Built once per address and kind, then kept in memory."""
    from starlette.concurrency import run_in_threadpool

    from .web import download

    only = request.query_params.get("server-only") == "1"
    data = await run_in_threadpool(_xlam, _base(request), only)
    return download(data, "perfxl.xlam", "application/vnd.ms-excel.addin.macroEnabled.12")


@functools.lru_cache(maxsize=8)
def _xlam(server: str, server_only: bool) -> bytes:
    import tempfile

    from .. import addin

    with tempfile.TemporaryDirectory(prefix="perfxl-xlam-") as tmp:
        return addin.build(Path(tmp) / "perfxl.xlam", server=server, server_only=server_only).read_bytes()


def cors() -> Middleware:
    """Let an add-in installed offline (its page is not served from here) call the API with its
    token: any origin may send Authorization, never cookies (``allow_credentials`` stays off, so
    a clerk's browser session is never used cross-origin)."""
    return Middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET", "POST"],
                      allow_headers=["Authorization", "Content-Type"], allow_credentials=False, max_age=600)


def extra_routes() -> list[BaseRoute]:
    """Generated add-in files (jsplugins.xml, the offline zip, the Excel add-in)."""
    return [Route("/jsplugins.xml", jsplugins), Route("/addins/perfxl-wps.zip", wps_zip),
            Route("/addins/perfxl.xlam", excel_addin)]


def routes() -> list[BaseRoute]:
    folder = wps_dir()
    mounted: list[BaseRoute] = extra_routes()
    if folder is not None:
        mounted.append(Mount(PREFIX, StaticFiles(directory=folder, follow_symlink=False), name="wps"))
    return mounted
