"""Report wording a bureau would not correct (issue 13): the grade in 二、自评结论, sentences
for 0, 1 and many, continuous figure numbering, empty tables as （未填写）, a "××" that never
breaks — and the reference report's own forms kept."""
from __future__ import annotations

import io
import re

import pytest
from docx import Document

from perfxl import reader, rulepack, scoring
from perfxl.report import build_context, report_bytes
from perfxl.report import charts as rcharts


def _report(build, data, name, charts=True):
    pack = rulepack.load()
    model = reader.read(build(data, name))
    scores = scoring.score(model, pack)
    return model, scores, pack, report_bytes(model, scores, pack=pack, charts=charts)


def _text(docx: bytes) -> str:
    return "\n".join(p.text for p in Document(io.BytesIO(docx)).paragraphs)


def test_conclusion_states_the_grade_and_keeps_reference_headings(build, data):
    _, _, _, doc = _report(build, data, "s.xlsx", charts=False)
    text = _text(doc)
    assert "部门整体支出绩效自评得分为98.31分，评价等级为“优”。全年预算数12,820.47万元" in text
    assert "（1）预算编制合理性（5分）。" in text  # the reference report's heading form
    assert re.search(r"5\.加减分项。该项自评得3\.5分。", text)


def test_conclusion_names_unscored_indicators(build, data):
    for row in data["tables"]["tbl_scores"]:
        if row.get("指标编号") == "budget_compliance":
            row["自评得分"] = None
    model, scores, pack, _ = _report(build, data, "u.xlsx", charts=False)
    ctx = build_context(model, scores, pack)
    lead = ctx["conclusion_paras"][0]
    assert "预算编制规范性共1项指标尚未评分，未计入" in lead


def test_one_unit_one_task_no_awards(build, data):
    data["tables"]["tbl_units"] = [r for r in data["tables"]["tbl_units"] if r["层级"] == "本级"] + [
        {"单位名称": "乐昌市殡仪馆", "层级": "下属", "编制类型": "事业", "单位性质": "公益二类", "经费保障": "经费自理",
         "核定编制数": 15, "年末实有人数": 13}]
    data["tables"]["tbl_key_tasks"] = data["tables"]["tbl_key_tasks"][:1]
    data["tables"]["tbl_awards"] = []
    model, scores, pack, doc = _report(build, data, "one.xlsx", charts=False)
    ctx = build_context(model, scores, pack)
    assert ctx["units_text"] == "纳入乐昌市民政局预算管理的单位除本级外有一个下属单位，即乐昌市殡仪馆。"
    text = _text(doc)
    assert "有一项重点工作任务需要完成" in text and "共有一项" not in text
    assert "本年度未申报加减分项目，该项自评得0分。" in text


def test_figures_numbered_without_gaps(build, data):
    if rcharts.cjk_font_file() is None:
        pytest.skip("no CJK font: no charts")
    _, _, _, both = _report(build, data, "both.xlsx")
    captions = [p.text for p in Document(io.BytesIO(both)).paragraphs if p.style.name == "Caption" and p.text.startswith("图")]
    assert captions == ["图1 部门支出构成", "图2 各一级指标得分情况"]
    for k in ("exp_personnel", "exp_public", "exp_project"):
        data["fields"][k] = None
    _, _, _, one = _report(build, data, "nomoney.xlsx")
    captions = [p.text for p in Document(io.BytesIO(one)).paragraphs if p.style.name == "Caption" and p.text.startswith("图")]
    assert captions == ["图1 各一级指标得分情况"]  # not 图2 after a dropped 图1


def test_empty_tables_say_not_filled(build, data):
    data["tables"]["tbl_targets"] = []
    data["tables"]["tbl_duties"] = []
    _, _, _, doc = _report(build, data, "empty.xlsx", charts=False)
    d = Document(io.BytesIO(doc))
    first_rows = [[c.text for c in t.rows[1].cells] for t in d.tables[:2]]
    assert all("（未填写）" in row for row in first_rows), first_rows
    # the table numbers stay continuous: 表1 and 表2 are still there
    text = _text(doc)
    assert "表1 部门主要职责" in text and "表2 部门整体支出绩效目标情况" in text


def test_placeholder_never_breaks(build, data):
    data["fields"]["stock_prev"] = None
    _, _, _, doc = _report(build, data, "x.xlsx", charts=False)
    text = _text(doc)
    assert "×\u2060×" in text
    assert not re.search("××", text)  # every run of × is joined


def test_blank_workbook_conclusion_is_short(build):
    model, scores, pack, _ = _report(build, None, "blank.xlsx", charts=False)
    lead = build_context(model, scores, pack)["conclusion_paras"][0]
    n = sum(1 for i in pack.indicators if scores.indicators.get(i.id) is None)
    assert n > 3 and f"等共{n}项指标尚未评分" in lead and len(lead) < 200
    assert "评价等级" not in lead or scores.score_total is not None
