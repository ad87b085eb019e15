"""The draft gate (issue 13): a report from a workbook with 错误 is a draft on every page, lists
each error, and every command that makes outputs exits 1; the sample stays final."""
from __future__ import annotations

import io
import subprocess
import sys

import openpyxl
import pytest
from docx import Document

from conftest import ROOT
from perfxl.report.draft import APPENDIX_TITLE, DRAFT_MARK, draft_state

SAMPLE = ROOT / "samples" / "乐昌市民政局-2023.xlsx"


def perfxl(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "perfxl", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


def clerk_mistakes(path):
    """The issue's found case: the sample with typical clerk mistakes, made with openpyxl."""
    wb = openpyxl.load_workbook(SAMPLE)
    wb["收支情况"]["C5"] = "12539.32万元"     # text with a unit
    wb["封面与基本信息"]["C8"] = None           # 单位负责人 empty
    wb["收支情况"]["C8"] = 13000               # 总收入 typed over its formula
    wb["评分表"]["I7"] = 8                     # 8 on a 5-point indicator
    wb["加减分"]["D8"] = None                  # an award without 授奖机关 …
    wb["加减分"]["F8"] = None                  # … and without 授奖依据
    wb["加减分"]["E9"] = "2023/13/01"          # a date that does not exist
    wb.save(path)
    return path


@pytest.fixture
def bad(tmp_path):
    return clerk_mistakes(tmp_path / "有错误.xlsx")


EXPECTED_ERRORS = {"封面与基本信息!C8", "收支情况!C5", "收支情况!C8", "评分表!I7", "加减分!D8", "加减分!F8", "加减分!E9"}


def test_report_from_workbook_with_errors_is_a_draft_and_exits_1(bad, tmp_path):
    out = tmp_path / "r.docx"
    p = perfxl("report", bad, "-o", out)
    assert p.returncode == 1, p.stderr
    assert "草稿" in p.stdout and "不得盖章" in p.stderr
    data = out.read_bytes()
    state = draft_state(data)
    assert state["draft"], state["headers"]
    doc = Document(io.BytesIO(data))
    # every section's every header (odd/even pages, and the first page where it differs)
    assert doc.settings.odd_and_even_pages_header_footer
    for s in doc.sections:
        assert not s.header.is_linked_to_previous
        assert DRAFT_MARK in s.header.paragraphs[0].text
        assert DRAFT_MARK in s.even_page_header.paragraphs[0].text
    assert DRAFT_MARK in doc.core_properties.keywords and doc.core_properties.title.startswith("（草稿）")
    # the appendix: each error, with its sheet!cell and its message
    refs = [ref for ref, _ in state["appendix"]]
    assert set(refs) == EXPECTED_ERRORS
    msgs = dict(state["appendix"])
    assert "8" in msgs["评分表!I7"] and "0 到 5" in msgs["评分表!I7"]
    assert "2023/13/01" in msgs["加减分!E9"]
    assert any(APPENDIX_TITLE in p.text for p in doc.paragraphs)


def test_score_and_run_exit_1_with_errors(bad, tmp_path):
    p = perfxl("score", bad, "-o", tmp_path / "s.xlsx")
    assert p.returncode == 1, p.stderr
    assert (tmp_path / "s.xlsx").exists()  # scores still written, for the clerk to look at
    p = perfxl("run", bad, "-o", tmp_path / "out")
    assert p.returncode == 1, p.stderr
    assert "草稿" in p.stdout
    assert draft_state((tmp_path / "out" / "有错误-自评报告.docx").read_bytes())["draft"]


def test_blank_workbook_report_is_a_draft(tmp_path):
    blank = tmp_path / "空白.xlsx"
    assert perfxl("new", blank).returncode == 0
    p = perfxl("report", blank, "-o", tmp_path / "r.docx")
    assert p.returncode == 1
    state = draft_state((tmp_path / "r.docx").read_bytes())
    assert state["draft"] and len(state["appendix"]) > 5
    assert all("!" in ref or ref for ref, _ in state["appendix"])


def test_sample_report_is_final(tmp_path):
    out = tmp_path / "r.docx"
    p = perfxl("report", SAMPLE, "-o", out)
    assert p.returncode == 0, p.stderr
    assert "草稿" not in p.stdout
    data = out.read_bytes()
    state = draft_state(data)
    assert not state["draft"] and state["appendix"] == []
    doc = Document(io.BytesIO(data))
    everything = "\n".join(p.text for p in doc.paragraphs) + "".join(
        p.text for s in doc.sections for h in (s.header, s.even_page_header) for p in h.paragraphs)
    assert DRAFT_MARK not in everything and APPENDIX_TITLE not in everything
    assert "98.31" in everything


def test_library_render_without_findings_still_gates(bad):
    """A caller that skips validation gets the gate anyway: report_bytes validates itself."""
    from perfxl import reader, rulepack, scoring
    from perfxl.report import report_bytes

    pack = rulepack.load()
    model = reader.read(bad)
    data = report_bytes(model, scoring.score(model, pack), pack=pack, charts=False)
    assert draft_state(data)["draft"]


def test_app_buttons_say_draft(bad):
    from perfxl import app
    from perfxl.reader import FileSource

    out = app.run_action("score", FileSource(bad), str(bad))
    assert "7 个错误" in out.message and "仅供核对" in out.message
    out = app.run_action("report", FileSource(bad), str(bad))
    assert "草稿" in out.message and "不得盖章" in out.message
    assert draft_state(out.report.read_bytes())["draft"]


def test_findings_given_as_a_generator_still_make_a_draft(bad):
    """report_bytes reads the findings twice (context, draft gate): a generator used to be spent
    by the first, and the report of a workbook with 错误 came out final."""
    from perfxl.pipeline import analyse, load
    from perfxl.report import report_bytes

    a = analyse(load(bad))
    assert a.errors
    data = report_bytes(a.model, a.scores, findings=(f for f in a.findings), pack=a.pack, charts=False)
    assert draft_state(data)["draft"]
