"""Error values read from an open book (Excel through xlwings, WPS through the add-in's snapshot)
give the same `cell-error` finding at the same cell as the file itself — never a blank, a zero or
a piece of text."""
from __future__ import annotations

import json

import pytest

from conftest import SAMPLE_JSON
from perfxl import excel, pipeline, reader
from perfxl.cellerrors import COM_ERRORS, error_of
from perfxl.formulas import XlError
from perfxl.snapshot import SnapshotSource
from perfxl.template import build_workbook
from test_addin import fake_book_from_file
from test_error_values import CASES, _where, with_error

SEVEN = ("#N/A", "#REF!", "#DIV/0!", "#VALUE!", "#NAME?", "#NUM!", "#NULL!")
HRESULT = {code: n for n, code in COM_ERRORS.items()}


@pytest.fixture(scope="module")
def base():
    return build_workbook(json.loads(SAMPLE_JSON.read_text("utf-8")))


def _found(model):
    a = pipeline.analyse(model)
    return sorted((f.code, f.sheet, f.cell) for f in a.findings), a.scores


def _errored(base, tmp_path, target, code):
    sheet, cell = _where(reader.read("x.xlsx", base), target)
    path = tmp_path / "e.xlsx"
    path.write_bytes(with_error(base, sheet, cell, code))
    return path, sheet, cell


def _snapshot(path, encode) -> dict:
    """The WPS add-in's snapshot of the file's workbook, error cells given by ``encode``."""
    src = reader.FileSource(path)
    grids = {s: [[encode(v) if isinstance(v, XlError) else v for v in row] for row in src.grid(s)]
             for s in src.sheet_names()}
    tables = {n: {"sheet": t.sheet, "ref": t.ref, "headers": list(t.headers), "totals": 0}
              for n, t in src.tables().items()}
    return {"version": 1, "name": path.name, "sheets": src.sheet_names(), "names": src.defined_names(),
            "tables": tables, "grids": grids}


ENCODINGS = {  # how an error cell may reach the server from WPS
    "marked": lambda e: {"error": e.code},      # js/snapshot.js marks what it recognises
    "hresult": lambda e: HRESULT[e.code],       # Value2 as Excel's COM gives it
    "literal": lambda e: e.code,                # Value2 as text
}


@pytest.mark.parametrize("target, code", CASES, ids=[c[0].split(":")[0] for c in CASES])
def test_xlwings_gives_the_files_finding(base, tmp_path, target, code):
    path, sheet, cell = _errored(base, tmp_path, target, code)
    file_found, file_scores = _found(reader.read(path))
    book_found, book_scores = _found(reader.parse(excel.XlwingsSource(fake_book_from_file(path))))
    assert ("cell-error", sheet, cell) in file_found
    assert book_found == file_found
    assert book_scores == file_scores


@pytest.mark.parametrize("how", sorted(ENCODINGS))
@pytest.mark.parametrize("target, code", CASES, ids=[c[0].split(":")[0] for c in CASES])
def test_a_wps_snapshot_gives_the_files_finding(base, tmp_path, target, code, how):
    path, sheet, cell = _errored(base, tmp_path, target, code)
    file_found, file_scores = _found(reader.read(path))
    snap_found, snap_scores = _found(reader.parse(SnapshotSource(_snapshot(path, ENCODINGS[how]))))
    assert ("cell-error", sheet, cell) in file_found
    assert snap_found == file_found
    assert snap_scores == file_scores


@pytest.mark.parametrize("code", SEVEN)
def test_every_error_value_on_a_money_cell(base, tmp_path, code):
    """issued_basic feeds 支出进度: with an error in it the rate is not computed (not read as 0)."""
    path, sheet, cell = _errored(base, tmp_path, "issued_basic", code)
    for model in (reader.read(path), reader.parse(excel.XlwingsSource(fake_book_from_file(path))),
                  reader.parse(SnapshotSource(_snapshot(path, ENCODINGS["hresult"])))):
        v = model.fields["issued_basic"]
        assert v.value is None and isinstance(v.raw, XlError) and v.raw.code == code
        a = pipeline.analyse(model)
        here = [f for f in a.findings if (f.sheet, f.cell) == (sheet, cell)]
        assert [f.code for f in here] == ["cell-error"] and code in here[0].message


def test_what_is_and_is_not_an_error_value():
    assert error_of(-2146826281) == XlError("#DIV/0!") and error_of(-2146826246) == XlError("#N/A")
    assert error_of(" #REF! ") == XlError("#REF!") and error_of({"error": "#BUSY!"}) == XlError("#BUSY!")
    for plain in (None, 0, 2007, 2007.0, -2146826281.0, True, "", "N/A", "#", "#1 项目", "无"):
        assert error_of(plain) is None, plain
