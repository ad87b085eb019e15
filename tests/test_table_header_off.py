"""A table whose header row is turned off (Excel: Table Design → Header Row; ``headerRowCount="0"``,
kept by LibreOffice): every row of its range is data, none is dropped."""
from __future__ import annotations

import re
import zipfile

import pytest

from conftest import rewrite_zip
from perfxl import pipeline, reader
from perfxl.api import score
from perfxl.cellref import split_range
from perfxl.template import build_workbook
from perfxl.testing.libreoffice import recalculate, soffice_available


def _header_row_off(name: str, body: bytes) -> bytes:
    """What Excel does to a table part when its header row is turned off: the range starts at
    the first data row, headerRowCount="0", no autoFilter; the column names stay."""
    if not name.startswith("xl/tables/"):
        return body
    t = body.decode()
    ref = re.search(r' ref="([^"]+)"', t).group(1)
    (c1, r1), (c2, r2) = split_range(ref)
    t = t.replace(f' ref="{ref}"', f' ref="{c1}{r1 + 1}:{c2}{r2}"', 1)
    t = re.sub(r"<autoFilter[^>]*/>", "", t)
    t = re.sub(r' headerRowCount="\d+"', "", t).replace("<table ", '<table headerRowCount="0" ', 1)
    return t.encode()


@pytest.fixture
def headerless(tmp_path, sample_data):
    p = tmp_path / "无表头.xlsx"
    p.write_bytes(rewrite_zip(build_workbook(sample_data), _header_row_off))
    with zipfile.ZipFile(p) as z:
        parts = [z.read(n) for n in z.namelist() if n.startswith("xl/tables/")]
    assert parts and all(b'headerRowCount="0"' in t for t in parts)
    return p


def test_every_row_of_a_headerless_table_is_read(headerless, tmp_path, sample_data):
    normal = tmp_path / "有表头.xlsx"
    normal.write_bytes(build_workbook(sample_data))
    want, got = reader.read(normal), reader.read(headerless)
    for name, table in want.tables.items():
        rows = [[c.value for c in r.cells.values()] for r in table.filled]
        assert [[c.value for c in r.cells.values()] for r in got.tables[name].filled] == rows, name
        assert [r.row for r in got.tables[name].filled] == [r.row for r in table.filled], name
    staff = sum(r.get("年末实有人数") or 0 for r in got.tables["tbl_units"].filled)
    assert staff == sum(u["年末实有人数"] for u in sample_data["tables"]["tbl_units"])


def test_headerless_tables_score_like_the_others(headerless):
    a = pipeline.analyse(pipeline.load(headerless))
    assert a.scores.score_total == pytest.approx(98.31)
    assert a.scores.score_bonus == pytest.approx(3.5)
    assert not [f for f in a.findings if f.severity == "错误"]


@pytest.mark.skipif(not soffice_available(), reason="LibreOffice (soffice) not installed")
def test_headerless_tables_recalculate_to_the_cached_scores(headerless, tmp_path):
    out = tmp_path / "已评分.xlsx"
    assert score(headerless, out).ok
    cached = reader.read(out)
    [recalc] = recalculate([out], tmp_path / "lo")
    lo = reader.read(recalc)
    assert cached.outputs["score_total"].value == pytest.approx(98.31)
    for name, v in cached.outputs.items():
        if name.startswith(("score_", "rate_")):
            assert lo.outputs[name].value == pytest.approx(v.value, abs=1e-9), name
