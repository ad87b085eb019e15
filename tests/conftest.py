"""Shared fixtures: the sample data and workbooks built from it in code."""
from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest

from perfxl.fileio import rewrite_zip  # noqa: F401 - tests do zip surgery with it

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_JSON = ROOT / "samples" / "lechang-2023.json"
SAMPLE_XLSX = ROOT / "samples" / "乐昌市民政局-2023.xlsx"
CONTRACT = ROOT / "docs" / "workbook-contract.md"
REFERENCE = ROOT / "docs" / "reference-lechang-2023.txt"


@pytest.fixture(scope="session")
def sample_data() -> dict:
    return json.loads(SAMPLE_JSON.read_text("utf-8"))


@pytest.fixture
def data(sample_data) -> dict:
    """A private deep copy of the sample data, to change one thing in a test."""
    return copy.deepcopy(sample_data)


@pytest.fixture
def sample_copy(tmp_path) -> Path:
    """The bundled sample workbook copied into tmp_path (tests never touch the original)."""
    dst = tmp_path / SAMPLE_XLSX.name
    shutil.copyfile(SAMPLE_XLSX, dst)
    return dst


@pytest.fixture
def build(tmp_path):
    """build(data, name='wb.xlsx') -> Path of a standard workbook filled with ``data``."""
    from perfxl.template import build_workbook

    def _build(data: dict | None = None, name: str = "wb.xlsx", pack=None) -> Path:
        p = tmp_path / name
        p.write_bytes(build_workbook(data, pack=pack))
        return p

    return _build




# --------------------------------------------------------------------------- markers
# `pytest -m "not libreoffice"` is the fast inner loop.  A test is marked `libreoffice` when it
# says so, or when its code or its skip conditions name LibreOffice (soffice, recalculate, the
# UNO converter, a PDF): tests added later are marked without anyone remembering to.
_LIBREOFFICE_WORDS = ("soffice", "libreoffice", "recalculate(", "lo_bridge", "converter", "pdf=true",
                      "\"--pdf\"", "to_pdf", "needs_lo", "needs_uno")


def _source_mentions(fn, depth: int = 2) -> bool:
    """``fn``'s code, or a function of its module it calls (``depth`` levels), names LibreOffice."""
    import inspect

    try:
        source = inspect.getsource(fn).lower()
    except (OSError, TypeError):
        return False
    source = source[source.find("def "):]  # not its decorators (a mark's name is no evidence)
    if any(w in source for w in _LIBREOFFICE_WORDS):
        return True
    module = inspect.getmodule(fn)
    code = getattr(fn, "__code__", None)
    if depth == 0 or module is None or code is None:
        return False
    for name in code.co_names:
        f = getattr(module, name, None)
        if inspect.isfunction(f) and f.__module__ == module.__name__ and f is not fn and _source_mentions(f, depth - 1):
            return True
    return False


def _mentions_libreoffice(item) -> bool:
    for mark in item.iter_markers("skipif"):
        if any(w in str(mark.kwargs.get("reason", "")).lower() for w in _LIBREOFFICE_WORDS):
            return True
    if _source_mentions(getattr(item, "function", None)):
        return True
    import inspect

    params = getattr(getattr(item, "callspec", None), "params", {})
    if any(inspect.isfunction(v) and _source_mentions(v) for v in params.values()):
        return True
    defs = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {})
    return any(_source_mentions(d.func) for ds in defs.values() for d in ds
               if d.func.__module__ not in ("_pytest", "builtins") and not d.func.__module__.startswith("_pytest"))


def pytest_collection_modifyitems(config, items):
    for item in items:
        if not item.get_closest_marker("libreoffice") and _mentions_libreoffice(item):
            item.add_marker(pytest.mark.libreoffice)
