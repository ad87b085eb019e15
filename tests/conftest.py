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


