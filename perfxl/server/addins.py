"""Where the service hosts the WPS JS add-in (``addins/wps/``: ribbon.xml, main.js, js/).

The folder is looked up in this order: ``$PERFXL_WPS_DIR``; ``perfxl/addins/wps`` (package data
of an installed perfxl); ``addins/wps`` beside the ``perfxl`` package (a source checkout).
It is served read-only under ``/wps/`` (no directory listing; StaticFiles serves files only).
Routes that generate files for WPS's online mode (``jsplugins.xml``/publish) belong in
:func:`extra_routes`, which :func:`routes` includes.
"""
from __future__ import annotations

import os
from pathlib import Path

from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

PREFIX = "/wps"


def wps_dir() -> Path | None:
    """The add-in folder, or ``None`` when this installation has none."""
    pkg = Path(__file__).resolve().parent.parent
    for cand in (os.environ.get("PERFXL_WPS_DIR"), pkg / "addins" / "wps", pkg.parent / "addins" / "wps"):
        if cand and Path(cand).is_dir():
            return Path(cand)
    return None


def extra_routes() -> list[BaseRoute]:
    """Generated add-in files (jsplugins.xml, publish data): added by the WPS add-in's owner."""
    return []


def routes() -> list[BaseRoute]:
    folder = wps_dir()
    mounted: list[BaseRoute] = extra_routes()
    if folder is not None:
        mounted.append(Mount(PREFIX, StaticFiles(directory=folder, follow_symlink=False), name="wps"))
    return mounted
