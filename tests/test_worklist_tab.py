"""The 校验结果 worklist opens first: marking makes it the active and only selected tab (OOXML
workbookView activeTab + sheetView tabSelected), writing anything else leaves the tabs alone, and
unmarking gives the view back to the tab the clerk had."""
from __future__ import annotations

import copy
import io
import json
import zipfile
from pathlib import Path

import openpyxl
import pytest
from lxml import etree

from perfxl import marks, pipeline, schema, template
from perfxl.api import score
from perfxl.testing.libreoffice import soffice_available

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = json.loads((ROOT / "samples" / "lechang-2023.json").read_text(encoding="utf-8"))
M = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"


def views(path: Path) -> tuple[int, list[str], list[str]]:
    """(activeTab, sheet names in order, names of the sheets whose sheetView is tabSelected),
    read from the XML itself."""
    z = zipfile.ZipFile(path)
    wb = etree.fromstring(z.read("xl/workbook.xml"))
    rels = etree.fromstring(z.read("xl/_rels/workbook.xml.rels"))
    target = {r.get("Id"): r.get("Target") for r in rels}
    view = wb.find(f"{M}bookViews/{M}workbookView")
    active = int(view.get("activeTab", "0")) if view is not None else 0
    names, selected = [], []
    for s in wb.find(f"{M}sheets"):
        names.append(s.get("name"))
        part = "xl/" + target[s.get(f"{R}id")].lstrip("/").removeprefix("xl/")
        sv = etree.fromstring(z.read(part)).find(f"{M}sheetViews/{M}sheetView")
        if sv is not None and sv.get("tabSelected") in ("1", "true"):
            selected.append(s.get("name"))
    return active, names, selected


@pytest.fixture
def on_budget_tab(tmp_path) -> Path:
    """The sample saved by a clerk who was last on the 预算执行 tab."""
    wb = openpyxl.load_workbook(io.BytesIO(template.build_workbook(copy.deepcopy(SAMPLE))))
    for ws in wb.worksheets:
        ws.sheet_view.tabSelected = False
    wb.active = wb.sheetnames.index(schema.S_BUDGET)
    wb.active.sheet_view.tabSelected = True
    path = tmp_path / "clerk.xlsx"
    wb.save(path)
    active, names, selected = views(path)
    assert names[active] == schema.S_BUDGET and selected == [schema.S_BUDGET]
    return path


def _mark(src: Path, dst: Path) -> None:
    model, found = pipeline.check_file(src)
    marks.mark_file(src, dst, found, model)


def test_marking_makes_the_worklist_the_active_and_only_selected_tab(on_budget_tab, tmp_path):
    out = tmp_path / "marked.xlsx"
    _mark(on_budget_tab, out)
    active, names, selected = views(out)
    assert names[0] == schema.S_FINDINGS
    assert names[active] == schema.S_FINDINGS
    assert selected == [schema.S_FINDINGS]
    assert openpyxl.load_workbook(out).active.title == schema.S_FINDINGS


def test_marking_twice_keeps_one_selected_tab_and_unmark_gives_the_clerks_tab_back(on_budget_tab, tmp_path):
    once, twice, clean = tmp_path / "once.xlsx", tmp_path / "twice.xlsx", tmp_path / "clean.xlsx"
    _mark(on_budget_tab, once)
    _mark(once, twice)
    active, names, selected = views(twice)
    assert names[active] == schema.S_FINDINGS and selected == [schema.S_FINDINGS]
    marks.unmark_file(twice, clean)
    active, names, selected = views(clean)
    assert schema.S_FINDINGS not in names
    assert names[active] == schema.S_BUDGET and selected == [schema.S_BUDGET]


def test_scoring_without_marks_leaves_the_tabs_alone(on_budget_tab, tmp_path):
    out = tmp_path / "scored.xlsx"
    assert score(on_budget_tab, out).ok
    assert views(out) == views(on_budget_tab)


@pytest.mark.skipif(not soffice_available(), reason="LibreOffice not installed")
def test_libreoffice_opens_the_marked_workbook_on_the_worklist(on_budget_tab, tmp_path):
    """LibreOffice reads the view and writes it back: the saved copy still opens on 校验结果."""
    from perfxl.testing.libreoffice import recalculate

    out = tmp_path / "marked.xlsx"
    _mark(on_budget_tab, out)
    (saved,) = recalculate([out], tmp_path / "lo")
    active, names, selected = views(saved)
    assert names[active] == schema.S_FINDINGS and selected == [schema.S_FINDINGS]
