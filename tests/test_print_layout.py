"""The standard workbook reads and prints: rendered by LibreOffice to PDF, no cell shows ``###``
even for the largest realistic amounts, every page is A4 and no sheet is wider than its page;
wrapped rows are as tall as their text measured with a real CJK font; English ids stay out of
the clerk's sight."""
from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from perfxl import schema, template
from perfxl.testing.libreoffice import find_soffice, soffice_available
from conftest import SAMPLE_JSON, SAMPLE_XLSX

A4 = {(595, 842), (842, 595)}
ID_LIKE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$")  # budget_rationality, income_total
CJK_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")


def _extreme_data() -> dict:
    """The sample with every amount at 9,999,999.99 万元 and every count at 99,999."""
    data = json.loads(SAMPLE_JSON.read_text("utf-8"))
    for f in schema.FIELDS:
        if f.kind == schema.MONEY and not f.parts:
            data["fields"][f.name] = 9999999.99
        elif f.kind == schema.INT and f.name != "fiscal_year":
            data["fields"][f.name] = 99999
    for row in data["tables"]["tbl_units"]:
        row["核定编制数"], row["年末实有人数"] = 99999, 99999
    return data


def _to_pdf(paths: list[Path], outdir: Path) -> list[Path]:
    profile = outdir / "profile"
    subprocess.run([find_soffice(), f"-env:UserInstallation=file://{profile}", "--headless",
                    "--convert-to", "pdf", "--outdir", str(outdir), *map(str, paths)],
                   capture_output=True, timeout=300, check=True)
    out = [outdir / (p.stem + ".pdf") for p in paths]
    assert all(p.exists() for p in out), out
    return out


def _pages(pdf: Path) -> list[tuple[float, float, str, list[tuple[float, float]]]]:
    """(width, height, text laid out, [(xMin, xMax) of every word]) per page."""
    xml = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True,
                         check=True).stdout
    layout = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                            check=True).stdout.split("\f")
    pages = []
    for i, (w, h, body) in enumerate(re.findall(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', xml, re.S)):
        words = re.findall(r'<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" yMax="[\d.]+">', body)
        pages.append((float(w), float(h), layout[i], [(float(a), float(b)) for a, b in words]))
    return pages


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    if not soffice_available() or not shutil.which("pdftotext"):
        pytest.skip("LibreOffice or poppler-utils missing")  # scripts/setup.sh installs both
    tmp = tmp_path_factory.mktemp("print")
    blank, sample, extreme = tmp / "blank.xlsx", tmp / "sample.xlsx", tmp / "extreme.xlsx"
    shutil.copyfile(template.TEMPLATE_PATH, blank)
    shutil.copyfile(SAMPLE_XLSX, sample)
    extreme.write_bytes(template.build_workbook(_extreme_data()))
    run = subprocess.run([sys.executable, "-m", "perfxl", "run", str(sample), "-o", str(tmp / "run")],
                         capture_output=True, text=True)
    assert run.returncode in (0, 1), run.stderr
    marked = tmp / "marked.xlsx"
    shutil.copyfile(tmp / "run" / "sample-已评分.xlsx", marked)
    pdfs = _to_pdf([blank, sample, extreme, marked], tmp / "pdf")
    return {p.stem: _pages(p) for p in pdfs}


def _sheet_of(text: str) -> str | None:
    """The sheet a page belongs to, from the footer the template sets ("评分表　第 2 页…")."""
    found = re.search(r"(\S+)\s+第 \d+ 页，共 \d+ 页", text)
    return found.group(1) if found and found.group(1) in schema.SHEET_ORDER else None


@pytest.mark.parametrize("which", ["blank", "sample", "extreme", "marked"])
def test_prints_on_a4_without_hashes_or_cut_columns(rendered, which):
    pages = rendered[which]
    printed = set()
    for i, (w, h, text, words) in enumerate(pages, start=1):
        assert "###" not in text, f"{which} page {i}: a number too wide for its column"
        assert (round(w), round(h)) in A4, f"{which} page {i}: {w}×{h} is not A4"
        sheet = _sheet_of(text)
        if sheet is None:
            continue  # a sheet perfxl's marking adds (校验结果) has its own layout
        printed.add(sheet)
        inside = [x for x in words if x[0] >= 0 and x[1] <= w - 10]
        assert len(inside) == len(words), \
            f"{which} page {i} ({sheet}): text beyond the page edge — the sheet is wider than its page"
    assert printed == set(schema.SHEET_ORDER), set(schema.SHEET_ORDER) - printed


def test_every_sheet_is_set_up_for_a4_one_page_wide():
    wb = openpyxl.load_workbook(SAMPLE_XLSX)
    for ws in wb.worksheets:
        ps = ws.page_setup
        assert int(ps.paperSize) == 9 and ps.orientation in ("portrait", "landscape"), ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage and ps.fitToWidth == 1 and ps.fitToHeight == 0, ws.title
    assert wb[schema.S_COVER].page_setup.orientation == "portrait"  # a narrow form stays upright
    assert wb[schema.S_SCORES].page_setup.orientation == "landscape"  # a wide table lies down
    assert wb[schema.S_SCORES].print_title_rows  # its header repeats on every page


def _hidden(ws, letter: str) -> bool:
    dim = ws.column_dimensions.get(letter)
    return bool(dim is not None and dim.hidden)


@pytest.mark.parametrize("path", [template.TEMPLATE_PATH, SAMPLE_XLSX], ids=["template", "sample"])
def test_english_ids_out_of_sight(path):
    wb = openpyxl.load_workbook(path)
    seen = []
    for ws in wb.worksheets:
        if ws.title == schema.S_PARAMS:  # the finance bureau's sheet names its parameters
            continue
        for row in ws.iter_rows():
            for c in row:
                if isinstance(c.value, str) and ID_LIKE.match(c.value) and not _hidden(ws, c.column_letter):
                    seen.append(f"{ws.title}!{c.coordinate}={c.value}")
    assert not seen, seen[:5]
    assert any(isinstance(c.value, str) and ID_LIKE.match(c.value)
               for row in wb[schema.S_SCORES].iter_rows() for c in row)  # the ids are still there


def test_no_hint_shows_a_formula_to_the_clerk():
    wb = openpyxl.load_workbook(SAMPLE_XLSX)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if isinstance(c.value, str) and c.data_type == "s":
                    assert not re.search(r"=\s*[a-z_]+\s*[+\-]", c.value), f"{ws.title}!{c.coordinate}"


@pytest.mark.skipif(not CJK_FONT.exists(), reason="Noto Sans CJK missing (fonts-noto-cjk)")
def test_wrapped_rows_are_tall_enough_for_their_text():
    """Measured with a real CJK font (11 pt at 96 dpi; a column unit is 7 px plus 5 px of
    padding), not with the template's own estimate."""
    from PIL import ImageFont

    font = ImageFont.truetype(str(CJK_FONT), 15)  # 11 pt ≈ 14.7 px
    wb = openpyxl.load_workbook(SAMPLE_XLSX)
    short = []
    for ws in wb.worksheets:
        merged = {str(r).split(":")[0]: r for r in ws.merged_cells.ranges}
        for row in ws.iter_rows():
            for c in row:
                if not (isinstance(c.value, str) and c.alignment and c.alignment.wrap_text and c.value) \
                        or c.value.startswith("="):  # a formula shows its result, not its text
                    continue
                cols = range(merged[c.coordinate].min_col, merged[c.coordinate].max_col + 1) \
                    if c.coordinate in merged else [c.column]
                px = sum((ws.column_dimensions[openpyxl.utils.get_column_letter(k)].width or 8.43) * 7 + 5
                         for k in cols) - 6
                size = (c.font.sz or 11) / 11
                lines = sum(max(1, math.ceil(font.getlength(part) * size / px)) for part in c.value.split("\n"))
                height = ws.row_dimensions[c.row].height or 15
                if height < lines * 14 * size:
                    short.append(f"{ws.title}!{c.coordinate}: {lines} lines in {height} pt")
    assert not short, short[:5]
