"""The bureau's 抽查建议 sees the strongest signals (issue 13): scores above their points,
rates lost to an unreadable number, the same department twice, a stray 年度 — ranked to the
top; reasons every workbook shares are left out; CSV/JSON carry 风险分 and 抽查理由."""
from __future__ import annotations

import copy
import csv
import io
import json

import openpyxl
import pytest

from conftest import ROOT
from perfxl import batch
from perfxl.rulepack import load as load_rules
from perfxl.template import build_workbook

SAMPLE = json.loads((ROOT / "samples" / "lechang-2023.json").read_text("utf-8"))


def _wb(dept, **fields):
    data = copy.deepcopy(SAMPLE)
    data["fields"]["dept_name"] = dept
    data["fields"].update(fields)
    return data


def _set(body: bytes, path, ref, value):
    path.write_bytes(body)
    wb = openpyxl.load_workbook(path)
    sheet, cell = ref.split("!")
    wb[sheet][cell] = value
    wb.save(path)


@pytest.fixture(scope="module")
def ranked(tmp_path_factory):
    root = tmp_path_factory.mktemp("spot")
    src = root / "报送"
    src.mkdir()
    (src / "1-普通甲.xlsx").write_bytes(build_workbook(_wb("甲局")))
    (src / "2-普通乙.xlsx").write_bytes(build_workbook(_wb("乙局")))
    _set(build_workbook(_wb("超分局")), src / "3-超分.xlsx", "评分表!I7", 8)
    _set(build_workbook(_wb("单位局")), src / "4-单位.xlsx", "预算执行!C8", "1013.93万元")
    (src / "5-重复一.xlsx").write_bytes(build_workbook(_wb("重复局")))
    (src / "6-重复二.xlsx").write_bytes(build_workbook(_wb("重复局", issued_project=9000.0)))
    (src / "7-年度.xlsx").write_bytes(build_workbook(_wb("年度局", fiscal_year=2022)))
    out = root / "结果"
    result = batch.run(src, out, pack=load_rules(), jobs=2, progress=False)
    return out, result


def test_rank_positions(ranked):
    out, _ = ranked
    doc = json.loads((out / "汇总表.json").read_text("utf-8"))
    order = [r["文件"] for r in doc["抽查建议"]]
    why = {r["文件"]: r["抽查理由"] for r in doc["抽查建议"]}
    assert order[0] == "3-超分.xlsx" and "高于其分值" in why["3-超分.xlsx"]
    # the stray year (its award dates fall outside 2022 too: more errors) and both duplicates
    assert set(order[1:4]) == {"5-重复一.xlsx", "6-重复二.xlsx", "7-年度.xlsx"}
    for f in ("5-重复一.xlsx", "6-重复二.xlsx"):  # both flagged, each naming both files and both progress figures
        assert "同一部门在本批报送了 2 份" in why[f] and "5-重复一.xlsx" in why[f] and "6-重复二.xlsx" in why[f]
        assert "支出进度 77.12%" in why[f] and "支出进度 59.59%" in why[f]
    assert "年度 2022 与本批多数工作簿的 2023 年度不同" in why["7-年度.xlsx"]
    assert order[4] == "4-单位.xlsx"  # was 成功-like and ranked with the plain ones before
    assert "1 个数值无法读取，1 个比率未能计算" in why["4-单位.xlsx"]
    assert set(order[5:]) == {"1-普通甲.xlsx", "2-普通乙.xlsx"}


def test_reasons_on_every_row_are_dropped(ranked):
    out, _ = ranked
    doc = json.loads((out / "汇总表.json").read_text("utf-8"))
    # every workbook has the sample's two 前后不一致 warnings: it says nothing about any one
    assert "正文与表格等前后不一致" in doc["meta"]["共性问题（不计入风险分）"]
    assert not any("前后不一致" in r["抽查理由"] for r in doc["抽查建议"])
    ws = openpyxl.load_workbook(out / "汇总表.xlsx")["抽查建议"]
    assert any("不计入风险分" in str(c.value) for row in ws.iter_rows() for c in row if c.value)


def test_csv_carries_risk_and_percent(ranked):
    out, _ = ranked
    rows = list(csv.DictReader(io.StringIO((out / "汇总表.csv").read_bytes().decode("utf-8-sig"))))
    by = {r["文件"]: r for r in rows}
    assert by["1-普通甲.xlsx"]["支出进度"] == "77.12%"
    assert by["4-单位.xlsx"]["支出进度"] == ""  # not computable: empty, not 0
    assert int(by["3-超分.xlsx"]["风险分"]) > int(by["1-普通甲.xlsx"]["风险分"])
    assert by["3-超分.xlsx"]["超出分值指标数"] == "1" and by["4-单位.xlsx"]["无法读取数值数"] == "1"
