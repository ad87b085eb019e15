"""marks: the 校验结果 sheet and cell marks — idempotent, and removable without a trace."""
from __future__ import annotations

import copy
import io
import json
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pytest
from lxml import etree
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill

from perfxl import marks, pipeline, reader, schema, template, validate
from perfxl.errors import WorkbookError
from perfxl.edits import ClearMarks, ClearSheet, DeleteSheet, EnsureSheet, Hyperlink, MarkCell, SetCell
from perfxl.testing.libreoffice import soffice_available

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = json.loads((ROOT / "samples" / "lechang-2023.json").read_text(encoding="utf-8"))


def sample() -> dict:
    return copy.deepcopy(SAMPLE)


def write(path: Path, body: bytes) -> Path:
    path.write_bytes(body)
    return path


def mark(src: Path, dst: Path) -> list:
    model, found = pipeline.check_file(src)
    marks.mark_file(src, dst, found, model)
    return found


# --------------------------------------------------------------------------- comparing workbooks

def canonical_parts(path: Path) -> dict[str, bytes]:
    """Every zip part; XML parts in canonical form (attribute order, character references)."""
    z = zipfile.ZipFile(path)
    out = {}
    for name in z.namelist():
        data = z.read(name)
        if name.endswith((".xml", ".rels", ".vml")):
            data = etree.tostring(etree.fromstring(data), method="c14n")
        out[name] = data
    return out


def _style(c) -> tuple:
    return (repr(c.font), repr(c.fill), repr(c.border), c.number_format, repr(c.alignment), repr(c.protection))


def snapshot(path: Path, *, comments: bool = True, skip: tuple[str, ...] = ()) -> dict:
    """What a clerk sees, per sheet: cell values, types, styles, comments, links, merges, widths,
    tables and data validations."""
    wb = openpyxl.load_workbook(path)
    out: dict = {"sheets": wb.sheetnames}
    for ws in wb.worksheets:
        if ws.title in skip:
            continue
        cells = {}
        for row in ws.iter_rows():
            for c in row:
                if c.value is None and not c.has_style and c.comment is None:
                    continue
                entry = (c.value, c.data_type, _style(c),
                         c.hyperlink.location if c.hyperlink is not None else None)
                if comments:
                    entry += ((c.comment.text, c.comment.author) if c.comment is not None else None,)
                cells[c.coordinate] = entry
        out[ws.title] = {
            "cells": cells,
            "merged": sorted(str(r) for r in ws.merged_cells.ranges),
            "widths": {k: d.width for k, d in ws.column_dimensions.items()},
            "tables": {n: ws.tables[n].ref for n in ws.tables},
            "validations": sorted(str(dv.sqref) for dv in ws.data_validations.dataValidation),
            "state": ws.sheet_state,
        }
    return out


# --------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def sample_path(tmp_path_factory) -> Path:
    return write(tmp_path_factory.mktemp("s") / "lechang.xlsx", template.build_workbook(sample()))


def _clerk_edits(wb) -> None:
    """Things a clerk adds that perfxl must never lose."""
    ws = wb.create_sheet("我的底稿")
    ws["A1"] = "核对记录"
    ws["A1"].font = Font(bold=True, color="FFC00000")
    ws["B2"] = 12345.678
    ws["B2"].number_format = "#,##0.000"
    ws.column_dimensions["A"].width = 33
    staff = wb[schema.S_STAFF]
    staff["C5"].comment = Comment("43 人含借调 1 人，待核实", "张会计")   # a cell perfxl will mark
    staff["B5"].fill = PatternFill("solid", fgColor="FF92D050")
    budget = wb[schema.S_BUDGET]
    budget["E6"] = "执行数取自决算报表"
    budget["E6"].comment = Comment("见决算表 1", "张会计")


@pytest.fixture
def clerk_path(tmp_path) -> Path:
    wb = openpyxl.load_workbook(io.BytesIO(template.build_workbook(sample())))
    _clerk_edits(wb)
    buf = io.BytesIO()
    wb.save(buf)
    return write(tmp_path / "clerk.xlsx", buf.getvalue())


# --------------------------------------------------------------------------- tests

def test_mark_twice_equals_once(sample_path, tmp_path):
    once, twice = tmp_path / "once.xlsx", tmp_path / "twice.xlsx"
    first = mark(sample_path, once)
    second = mark(once, twice)
    assert [(f.code, f.sheet, f.cell) for f in first] == [(f.code, f.sheet, f.cell) for f in second]
    assert canonical_parts(once) == canonical_parts(twice)
    assert snapshot(once) == snapshot(twice)


def test_mark_in_place_twice_equals_once(sample_path, tmp_path):
    a, b = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    a.write_bytes(sample_path.read_bytes())
    mark(a, a)
    b.write_bytes(a.read_bytes())
    mark(b, b)
    assert canonical_parts(a) == canonical_parts(b)


def test_findings_sheet_lists_every_finding_with_a_link(sample_path, tmp_path):
    out = tmp_path / "marked.xlsx"
    found = mark(sample_path, out)
    ws = openpyxl.load_workbook(out)[schema.S_FINDINGS]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == marks.HEADERS
    assert len(rows) == len(found) + 1
    for i, (row, f) in enumerate(zip(rows[1:], found), start=1):
        assert row == (f"{f.sheet}!{f.cell}", f.severity, f.message, f.hint, f.code)
        link = ws.cell(i + 1, marks.HEADERS.index("位置") + 1).hyperlink
        assert link is not None and link.location == f"'{f.sheet}'!{f.cell}"


def test_marked_cells_carry_message_and_hint(sample_path, tmp_path):
    out = tmp_path / "marked.xlsx"
    found = mark(sample_path, out)
    wb = openpyxl.load_workbook(out)
    for f in found:
        if not f.cell:
            continue
        note = wb[f.sheet][f.cell].comment
        assert note is not None and f.message in note.text and f.hint in note.text


def test_marking_keeps_the_clerks_cells_styles_sheets_and_unmark_restores_them(clerk_path, tmp_path):
    marked, unmarked = tmp_path / "marked.xlsx", tmp_path / "unmarked.xlsx"
    before = snapshot(clerk_path)
    found = mark(clerk_path, marked)
    assert any(f.sheet == schema.S_STAFF and f.cell == "C5" for f in found)  # the clerk's noted cell
    after = snapshot(marked, comments=False, skip=(schema.S_FINDINGS,))
    assert after["sheets"] == [schema.S_FINDINGS] + before["sheets"]  # the worklist is the first tab
    for sheet in before["sheets"]:
        want = dict(before[sheet], cells={k: v[:-1] for k, v in before[sheet]["cells"].items()})
        assert after[sheet] == want, sheet
    wb = openpyxl.load_workbook(marked)
    note = wb[schema.S_STAFF]["C5"].comment.text
    assert "43 人含借调 1 人，待核实" in note and "年末实有人数" in note
    assert wb[schema.S_BUDGET]["E6"].comment.text.endswith("见决算表 1")

    marks.unmark_file(marked, unmarked)
    assert snapshot(unmarked) == before
    assert canonical_parts(unmarked) == canonical_parts(clerk_path)


def test_unmark_of_an_unmarked_workbook_changes_nothing(sample_path, tmp_path):
    out = tmp_path / "out.xlsx"
    marks.unmark_file(sample_path, out)
    assert canonical_parts(out) == canonical_parts(sample_path)


def test_remarking_after_fixes_leaves_only_the_new_findings(tmp_path):
    data = sample()
    data["fields"]["proc_sme"] = 80.0
    data["fields"]["asset_net"] = 400.0
    broken = write(tmp_path / "broken.xlsx", template.build_workbook(data))
    mark(broken, broken)
    fixed = tmp_path / "fixed.xlsx"
    model = reader.read(broken)
    found = [f for f in validate.check(model) if f.code not in ("sme-exceeds-procurement", "asset-net-exceeds-original")]
    marks.mark_file(broken, fixed, found, model)
    wb = openpyxl.load_workbook(fixed)
    rows = list(wb[schema.S_FINDINGS].iter_rows(values_only=True))
    assert len(rows) == len(found) + 1
    assert wb[schema.S_BUDGET]["C28"].comment is None
    links = [c.coordinate for row in wb[schema.S_FINDINGS].iter_rows() for c in row if c.hyperlink is not None]
    assert len(links) == len(found)


def test_no_findings_writes_a_sheet_that_says_so(tmp_path):
    path = write(tmp_path / "x.xlsx", template.build_workbook(sample()))
    marks.mark_file(path, path, [])
    ws = openpyxl.load_workbook(path)[schema.S_FINDINGS]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == marks.HEADERS and "未发现问题" in "".join(str(v) for v in rows[1] if v)


def test_edit_lists(sample_path):
    model, found = pipeline.check_file(sample_path)
    edits = marks.mark_edits(model, found)
    assert edits[:3] == [ClearMarks(), EnsureSheet(schema.S_FINDINGS, position=0), ClearSheet(schema.S_FINDINGS)]
    assert [e for e in edits if isinstance(e, SetCell)][: len(marks.HEADERS)] == [
        SetCell(schema.S_FINDINGS, f"{c}1", h) for c, h in zip("ABCDE", marks.HEADERS)]
    assert sum(isinstance(e, MarkCell) for e in edits) == sum(1 for f in found if f.cell)
    assert sum(isinstance(e, Hyperlink) for e in edits) == sum(1 for f in found if f.cell)
    assert marks.unmark_edits(model) == [ClearMarks()]
    marked = dataclass_replace_sheets(model, model.sheets + (schema.S_FINDINGS,))
    assert marks.unmark_edits(marked) == [DeleteSheet(schema.S_FINDINGS), ClearMarks()]
    assert marks.mark_edits(marked, found)[:4] == [DeleteSheet(schema.S_FINDINGS), ClearMarks(),
                                                   EnsureSheet(schema.S_FINDINGS, position=0),
                                                   ClearSheet(schema.S_FINDINGS)]


def dataclass_replace_sheets(model, sheets):
    import dataclasses

    return dataclasses.replace(model, sheets=sheets)


def test_findings_without_a_cell_are_listed_but_not_marked(tmp_path):
    wb = openpyxl.load_workbook(io.BytesIO(template.build_workbook(sample())))
    del wb.defined_names["phone"]
    buf = io.BytesIO()
    wb.save(buf)
    path = write(tmp_path / "x.xlsx", buf.getvalue())
    found = mark(path, path)
    missing = [f for f in found if f.code == "name-missing"]
    assert missing and missing[0].cell == ""
    rows = list(openpyxl.load_workbook(path)[schema.S_FINDINGS].iter_rows(values_only=True))
    assert any(r[4] == "name-missing" and r[0] == (missing[0].sheet or "整个工作簿") for r in rows[1:])


def test_mark_file_on_an_unreadable_file_is_a_workbook_error(tmp_path):
    bad = write(tmp_path / "bad.xlsx", b"not a workbook")
    with pytest.raises(WorkbookError):
        marks.mark_file(bad, tmp_path / "out.xlsx", [])
    assert not (tmp_path / "out.xlsx").exists()


def test_a_workbook_without_a_styles_part_can_be_marked(tmp_path):
    """The styles part is optional in a package (minimal writers leave it out, Excel opens the
    file): marking adds one for its fills instead of failing, and the result opens everywhere."""
    import re

    from perfxl import cli
    from perfxl.batch import work
    from perfxl.rulepack import load
    from conftest import rewrite_zip

    def drop_styles(name, data):
        if name == "xl/styles.xml":
            return None
        if name.startswith("xl/worksheets/"):
            data = re.sub(rb'(<col [^>]*?) style="\d+"', rb"\1", data)  # column styles too
            return re.sub(rb'(<c [^>]*?) s="\d+"', rb"\1", data)
        if name in ("xl/_rels/workbook.xml.rels", "[Content_Types].xml"):
            return re.sub(rb"<(?:Relationship|Override) [^>]*styles[^>]*/>", b"", data)
        return data
    body = rewrite_zip(template.build_workbook(sample()), drop_styles)
    assert "xl/styles.xml" not in zipfile.ZipFile(io.BytesIO(body)).namelist()
    src, dst = write(tmp_path / "无样式.xlsx", body), tmp_path / "marked.xlsx"
    assert cli.main(["check", str(src), "--mark", "-o", str(dst)]) == 0
    z = zipfile.ZipFile(dst)
    assert b"<dxf>" in z.read("xl/styles.xml") and b"styles+xml" in z.read("[Content_Types].xml")
    wb = openpyxl.load_workbook(dst)
    assert wb.sheetnames[0] == schema.S_FINDINGS
    assert any(cf for ws in wb.worksheets for cf in ws.conditional_formatting)
    assert work(body, src.name, load()).row["状态"] == "成功"


# --------------------------------------------------------------------------- after a LibreOffice save

def _notes(path: Path) -> dict[tuple[str, str], str]:
    """(sheet, cell) → note text, every note of the workbook (openpyxl reads them all)."""
    wb = openpyxl.load_workbook(path)
    return {(ws.title, c.coordinate): c.comment.text for ws in wb.worksheets for row in ws.iter_rows()
            for c in row if c.comment is not None}


def _libreoffice_save(path: Path, outdir: Path) -> Path:
    from perfxl.testing.libreoffice import recalculate

    return recalculate([path], outdir)[0]


@pytest.mark.skipif(not soffice_available(), reason="LibreOffice (soffice) not installed")
def test_unmark_and_remark_after_a_libreoffice_save(clerk_path, tmp_path):
    """LibreOffice saves every note author as " ", splits and merges our runs, and drops the
    workbook's link to the customXml state part (keeping the part). Unmarking must still leave
    the clerk's notes as they were and no empty note behind, and marking again must not start
    a note with a blank line or leave a second state part."""
    marked = tmp_path / "marked.xlsx"
    found = mark(clerk_path, marked)
    saved = _libreoffice_save(marked, tmp_path / "lo")
    clerk_notes = {k: v for k, v in _notes(clerk_path).items()}
    assert any("perfxl" in t for t in _notes(saved).values())

    unmarked = tmp_path / "unmarked.xlsx"
    marks.unmark_file(saved, unmarked)
    left = _notes(unmarked)
    assert set(left) == set(clerk_notes), left  # no empty or perfxl note stays behind
    for key, text in clerk_notes.items():
        assert left[key].strip() == text.strip()
    assert not [n for n in zipfile.ZipFile(unmarked).namelist() if n.startswith("customXml/")]

    remarked = tmp_path / "remarked.xlsx"
    marks.mark_file(saved, remarked, found)
    notes = _notes(remarked)
    ours = {k: t for k, t in notes.items() if "perfxl" in t}
    assert ours and all(t.startswith("perfxl ") or k in clerk_notes for k, t in ours.items()), ours
    assert all(not t.startswith("\n") for t in notes.values()), notes
    for key, text in clerk_notes.items():  # the clerk's note first, ours once after it
        assert notes[key].startswith(text.strip()) and notes[key].count("perfxl ") <= 1, notes[key]
    state = [n for n in zipfile.ZipFile(remarked).namelist() if n.startswith("customXml/item") and "Props" not in n]
    assert len(state) == 1, state


# --------------------------------------------------------------------------- the worklist as a clerk sees it

def test_the_worklist_reads_as_a_clerks_list(sample_path, tmp_path):
    """openpyxl sees the first tab, the Chinese columns first, widths, wrapping, a frozen bold
    header, filters and A4 landscape fit to one page wide with the header repeated."""
    out = tmp_path / "marked.xlsx"
    found = mark(sample_path, out)
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames[0] == schema.S_FINDINGS
    ws = wb[schema.S_FINDINGS]
    assert [c.value for c in ws[1]] == ["位置", "严重程度", "问题", "怎么改", "代码"]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == f"A1:E{len(found) + 1}"
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1
    assert ws.page_setup.fitToHeight == 0 and ws.print_title_rows == "$1:$1"
    widths = {k: d.width for k, d in ws.column_dimensions.items()}
    assert widths["C"] > 40 and widths["D"] > 30 and sum(widths.values()) < 160
    assert all(c.font.b for c in ws[1])
    for r in range(2, len(found) + 2):
        assert all(ws.cell(r, c).alignment.wrap_text for c in range(1, 6))
        units = sum(2 if ord(ch) > 0x2E7F else 1 for ch in ws.cell(r, 3).value)  # CJK: two columns wide
        assert ws.row_dimensions[r].height >= 15 * -(-units // widths["C"])
    link = ws["A2"].hyperlink
    assert link is not None and link.location == f"'{found[0].sheet}'!{found[0].cell}"


@pytest.mark.skipif(not soffice_available(), reason="LibreOffice (soffice) not installed")
def test_the_worklist_prints_on_a4_landscape_without_cut_text(sample_path, tmp_path):
    """Rendered by LibreOffice: the worklist's page is A4 landscape, all five columns are on it,
    and the last words of every 问题 and 怎么改 are there (rows tall enough, nothing clipped)."""
    import re
    import shutil

    from perfxl.report.pdf import environment, find_soffice

    out = tmp_path / "marked.xlsx"
    found = mark(sample_path, out)
    subprocess.run([find_soffice(), "--headless", f"-env:UserInstallation=file://{tmp_path / 'profile'}",
                    "--convert-to", "pdf", "--outdir", str(tmp_path), str(out)],
                   check=True, capture_output=True, timeout=300, env=environment(tmp_path))
    pdf = tmp_path / "marked.pdf"
    assert shutil.which("pdftotext")
    first = subprocess.run(["pdftotext", "-f", "1", "-l", "1", "-raw", str(pdf), "-"], capture_output=True,
                           text=True, check=True).stdout  # -raw: each cell's lines together
    info = subprocess.run(["pdfinfo", "-f", "1", "-l", "1", str(pdf)], capture_output=True, text=True,
                          check=True).stdout
    w, h = map(float, re.search(r"Page\s+1 size:\s+([\d.]+) x ([\d.]+)", info).groups())
    assert (round(w), round(h)) == (842, 595), info  # A4 landscape, in points
    for head in ("位置", "严重程度", "问题", "怎么改", "代码"):
        assert head in first, first
    flat = re.sub(r"\s+", "", first)
    for f in found:
        assert f.code in flat and f"{f.sheet}!{f.cell}" in flat
        for text in (f.message, f.hint):
            assert re.sub(r"\s+", "", text)[-8:] in flat, (text, first)


def test_unmark_in_the_old_order_still_restores_the_styles(sample_path, tmp_path):
    """ClearMarks before DeleteSheet (as callers wrote it before the worklist had formats): the
    formats the sheet used go at the end of the run, once the sheet is gone."""
    from perfxl.edits import apply_edits_bytes

    marked = tmp_path / "marked.xlsx"
    mark(sample_path, marked)
    out = write(tmp_path / "out.xlsx", apply_edits_bytes(marked.read_bytes(), [ClearMarks(), DeleteSheet(schema.S_FINDINGS)]))
    assert canonical_parts(out) == canonical_parts(sample_path)
