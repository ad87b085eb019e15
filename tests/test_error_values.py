"""Error values in input cells (#N/A, #REF!, #DIV/0!), names defined for one sheet only: each
error is a finding naming it, and every value perfxl caches is what LibreOffice recalculates."""
from __future__ import annotations

import io
import re
import zipfile

import pytest

from conftest import rewrite_zip
from perfxl import pipeline, reader
from perfxl.api import score
from perfxl.formulas import XlError
from perfxl.template import build_workbook
from perfxl.testing.libreoffice import recalculate, soffice_available


def _sheet_part(body: bytes, sheet: str) -> str:
    z = zipfile.ZipFile(io.BytesIO(body))
    wb = z.read("xl/workbook.xml").decode()
    rels = z.read("xl/_rels/workbook.xml.rels").decode()
    rid = re.search(r'<sheet [^>]*name="%s"[^>]*r:id="([^"]+)"' % re.escape(sheet), wb).group(1)
    target = re.search(r'<Relationship [^>]*Id="%s"[^>]*>' % rid, rels).group(0)
    return "xl/" + re.search(r'Target="([^"]+)"', target).group(1).lstrip("/").removeprefix("xl/")


def with_error(body: bytes, sheet: str, cell: str, code: str) -> bytes:
    """The workbook with ``sheet!cell`` showing ``code`` (what Excel stores: t="e")."""
    part = _sheet_part(body, sheet)

    def fix(name: str, xml: bytes) -> bytes:
        if name != part:
            return xml
        s = xml.decode()
        pat = re.compile(r'<c r="%s"(?:[^>]*?/>|[^>]*?>.*?</c>)' % cell, re.S)
        assert pat.search(s), (sheet, cell)
        return pat.sub(f'<c r="{cell}" t="e"><v>{code}</v></c>', s, 1).encode()

    return rewrite_zip(body, fix)


def _where(model, target: str) -> tuple[str, str]:
    """``field`` or ``table:column:n`` (n-th filled row) → (sheet, cell)."""
    if ":" not in target:
        v = model.fields[target]
        return v.sheet, v.cell
    table, column, n = target.split(":")
    rows = model.tables[table].filled
    v = [r for r in rows if column in r.cells and r.get(column) is not None][int(n)][column]
    return v.sheet, v.cell


CASES = [  # (input, error) — a rate input, a SUMIFS column, a manual score, an award level
    ("issued_basic", "#N/A"),
    ("tbl_units:年末实有人数:0", "#REF!"),
    ("tbl_scores:自评得分:0", "#DIV/0!"),
    ("tbl_awards:授奖级别:0", "#N/A"),
]


@pytest.fixture(scope="module")
def base(sample_data_module):
    return build_workbook(sample_data_module)


@pytest.fixture(scope="module")
def sample_data_module():
    import json

    from conftest import SAMPLE_JSON

    return json.loads(SAMPLE_JSON.read_text("utf-8"))


@pytest.mark.parametrize("target, code", CASES, ids=[c[0].split(":")[0] for c in CASES])
def test_an_error_value_is_its_own_finding(base, target, code):
    sheet, cell = _where(reader.read("x.xlsx", base), target)
    model = reader.read("e.xlsx", with_error(base, sheet, cell, code))
    a = pipeline.analyse(model)
    here = [f for f in a.findings if f.sheet == sheet and f.cell == cell]
    assert [f.code for f in here] == ["cell-error"], [(f.code, f.message) for f in here]
    assert code in here[0].message
    assert not [f for f in a.findings if f.code == "required-empty" and f.cell == cell]


def _scoped_only(body: bytes, names: tuple[str, ...]) -> bytes:
    """Turn workbook-scope names into names of their own sheet (localSheetId)."""
    def fix(name: str, xml: bytes) -> bytes:
        if name != "xl/workbook.xml":
            return xml
        s = xml.decode()
        sheets = re.findall(r'<sheet [^>]*name="([^"]+)"', s)
        for n in names:
            m = re.search(r'<definedName name="%s">([^<]+)</definedName>' % n, s)
            sheet = m.group(1).split("!")[0].strip("'")
            s = s.replace(m.group(0), f'<definedName name="{n}" localSheetId="{sheets.index(sheet)}">{m.group(1)}</definedName>')
        return s.encode()

    return rewrite_zip(body, fix)


def test_names_of_one_sheet_are_read(base):
    body = _scoped_only(base, ("issued_basic", "quota_basic", "dept_name"))
    model = reader.read("s.xlsx", body)
    assert {"issued_basic", "quota_basic", "dept_name"} <= model.scoped
    assert model.get("dept_name") == reader.read("x.xlsx", base).get("dept_name")
    a = pipeline.analyse(model)
    assert a.scores.score_total == pytest.approx(98.31)
    assert not [f for f in a.findings if f.code == "name-missing"]


def _compare(cached_path, lo_path) -> list[str]:
    """Every perfxl-written value (rates, totals, automatic and award scores) that LibreOffice
    recalculated differently."""
    cached, lo = reader.read(cached_path), reader.read(lo_path)
    pairs = [(n, v.raw, lo.outputs[n].raw) for n, v in cached.outputs.items()
             if n.startswith(("rate_", "score_", "grade"))]
    for table, cols in (("tbl_scores", ("自评得分", "计算值")), ("tbl_awards", ("自评得分",))):
        for rc, rl in zip(cached.tables[table].rows, lo.tables[table].rows):
            for c in cols:
                if c in rc.cells:
                    pairs.append((f"{table}!{rc[c].cell}", rc[c].raw, rl[c].raw))
    bad = []
    for what, a, b in pairs:
        a = None if a == "" else a
        b = None if b == "" else b
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            if abs(a - b) > 1e-9:
                bad.append(f"{what}: cached {a!r}, LibreOffice {b!r}")
        elif a != b:
            bad.append(f"{what}: cached {a!r}, LibreOffice {b!r}")
    return bad


@pytest.mark.skipif(not soffice_available(), reason="LibreOffice (soffice) not installed")
def test_cached_values_are_what_libreoffice_recalculates(base, tmp_path):
    model = reader.read("x.xlsx", base)
    inputs = {}
    for target, code in CASES:
        sheet, cell = _where(model, target)
        inputs[target.split(":")[0]] = with_error(base, sheet, cell, code)
    from perfxl import schema

    inputs["scoped_names"] = _scoped_only(base, tuple(f.name for f in schema.FIELDS if f.name in model.names))
    outs = []
    for name, body in inputs.items():
        src = tmp_path / f"{name}.xlsx"
        src.write_bytes(body)
        out = tmp_path / "scored" / f"{name}.xlsx"
        assert score(src, out).ok
        outs.append(out)
    recalculated = recalculate(outs, tmp_path / "lo")
    errors_seen = 0
    for out, lo in zip(outs, recalculated):
        assert _compare(out, lo) == [], out.stem
        errors_seen += isinstance(reader.read(lo).outputs["score_total"].raw, XlError)
    assert errors_seen >= 1  # a case really makes the totals show an error (a manual score)


def _array_over_automatic_cell(body: bytes) -> tuple[bytes, str]:
    """A clerk's array formula {={m;7}} over a manual 自评得分 cell and the automatic one below it
    (its master is the manual cell): a spreadsheet computes both from the array."""
    from perfxl.rulepack import load

    pack = load()
    model = reader.read("x.xlsx", body)
    rows = [r for r in model.tables["tbl_scores"].rows if r.get("指标编号")]
    manual = {i.id for i in pack.indicators if i.manual}
    for upper, lower in zip(rows, rows[1:]):
        if upper.get("指标编号") in manual and lower.get("指标编号") not in manual and lower.row == upper.row + 1:
            break
    else:  # pragma: no cover - the standard pack has such a pair
        raise AssertionError("no manual row above an automatic one")
    top, auto = upper["自评得分"], lower["自评得分"]
    part = _sheet_part(body, top.sheet)
    m = upper.get("自评得分")

    def fix(name: str, xml: bytes) -> bytes:
        if name != part:
            return xml
        s = xml.decode()
        for cell, inner in ((top.cell, f'<f t="array" ref="{top.cell}:{auto.cell}">{{{m:g};7}}</f><v>{m:g}</v>'),
                            (auto.cell, "<v>7</v>")):
            pat = re.compile(r'<c r="%s"((?:\s+(?!t=)[^\s>/]+="[^"]*")*)[^>]*?(?:/>|>.*?</c>)' % cell, re.S)
            assert pat.search(s), cell
            s = pat.sub(lambda mm: f'<c r="{cell}"{mm.group(1)}>{inner}</c>', s, 1)
        return s.encode()

    return rewrite_zip(body, fix), auto.cell


@pytest.mark.skipif(not soffice_available(), reason="LibreOffice (soffice) not installed")
def test_array_formula_over_an_automatic_score(base, tmp_path):
    body, auto = _array_over_automatic_cell(base)
    src = tmp_path / "数组.xlsx"
    src.write_bytes(body)
    out = tmp_path / "scored" / "数组.xlsx"
    assert score(src, out).ok
    [lo] = recalculate([out], tmp_path / "lo")
    assert _compare(out, lo) == []
    assert reader.read(lo).outputs["score_total"].value == pytest.approx(98.31)
