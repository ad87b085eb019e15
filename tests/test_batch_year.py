"""`perfxl batch --year 2023`: a bureau reviews one year.  Only workbooks whose 年度 is 2023 are
ranked in 抽查建议; the others are listed apart, each saying 年度不符 with the year found and the
year expected, in 汇总 (原因), 抽查建议, the CSV and the JSON; the batch exits 1 because of them."""
from __future__ import annotations

import copy
import csv
import io
import json
import subprocess
import sys

import openpyxl
import pytest

from conftest import ROOT
from perfxl import summary
from perfxl.template import build_workbook

SAMPLE = json.loads((ROOT / "samples" / "lechang-2023.json").read_text("utf-8"))


def _wb(dept, **fields):
    data = copy.deepcopy(SAMPLE)
    data["fields"]["dept_name"] = dept
    data["fields"].update(fields)
    return build_workbook(data)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """Three 2023 workbooks, last year's workbook of one of them, a 2024 one and one without 年度."""
    root = tmp_path_factory.mktemp("years")
    src = root / "报送"
    src.mkdir()
    (src / "甲局-2023.xlsx").write_bytes(_wb("甲局"))
    (src / "乙局-2023.xlsx").write_bytes(_wb("乙局"))
    (src / "丙局-2023.xlsx").write_bytes(_wb("丙局"))
    (src / "甲局-2022.xlsx").write_bytes(_wb("甲局", fiscal_year=2022))
    (src / "丁局-2024.xlsx").write_bytes(_wb("丁局", fiscal_year=2024))
    (src / "戊局-无年度.xlsx").write_bytes(_wb("戊局", fiscal_year=None))
    out = root / "结果"
    p = subprocess.run([sys.executable, "-m", "perfxl", "batch", str(src), "-o", str(out), "--year", "2023",
                        "--jobs", "2", "--quiet", "--no-charts"], capture_output=True, text=True, cwd=ROOT)
    return out, p


OFF = {"甲局-2022.xlsx": "工作簿年度为 2022，应为 2023", "丁局-2024.xlsx": "工作簿年度为 2024，应为 2023",
       "戊局-无年度.xlsx": "工作簿未填写年度，应为 2023"}


def test_only_the_year_is_ranked_and_the_others_say_why(mixed):
    out, p = mixed
    assert p.returncode == 1, p.stderr
    assert "年度不符 3" in p.stdout
    doc = json.loads((out / "汇总表.json").read_text("utf-8"))
    review = {r["文件"]: r for r in doc["抽查建议"]}
    ranked = [r for r in doc["抽查建议"] if r["排名"] is not None]
    assert sorted(r["文件"] for r in ranked) == ["丙局-2023.xlsx", "乙局-2023.xlsx", "甲局-2023.xlsx"]
    assert [r["排名"] for r in ranked] == [1, 2, 3]
    assert [r["文件"] for r in doc["抽查建议"][3:]] == sorted(OFF)  # listed after the ranking
    for name, why in OFF.items():
        assert review[name]["风险分"] is None and why in review[name]["抽查理由"], name
        assert "年度不符" in review[name]["抽查理由"]
    # 甲局 also sent last year's workbook: not the same department sent twice for 2023
    assert "重复" not in review["甲局-2023.xlsx"]["抽查理由"]
    rows = {r["文件"]: r for r in doc["rows"]}
    for name, why in OFF.items():
        assert rows[name]["原因"].startswith("年度不符：" + why), rows[name]["原因"]
    assert doc["meta"]["指定年度"] == 2023


def test_the_workbook_summary_and_csv_say_it_too(mixed):
    out, _ = mixed
    wb = openpyxl.load_workbook(out / "汇总表.xlsx")
    ws = wb["抽查建议"]
    head = [c.value for c in ws[1]][:8]
    table = [dict(zip(head, (c.value for c in row[:8]))) for row in ws.iter_rows(min_row=2) if row[2].value]
    off = [r for r in table if r["文件"] in OFF]
    assert len(off) == 3 and all(r["排名"] is None and "年度不符" in r["抽查理由"] for r in off)
    summary_ws = wb["汇总"]
    head = [c.value for c in summary_ws[1]]
    reasons = {r[head.index("文件")]: r[head.index("原因")] for r in summary_ws.iter_rows(min_row=2, values_only=True)}
    assert all(OFF[n] in reasons[n] for n in OFF)
    grades = {r[0]: r[1] for r in wb["得分分布"].iter_rows(min_row=4, max_col=2, values_only=True) if r[0]}
    assert sum(v for k, v in grades.items() if k != "未评分") == 3  # the off-year workbooks are not in it
    notes = {r[0]: r[1] for r in wb["说明"].iter_rows(values_only=True) if r[0]}
    assert notes.get("指定年度") == "2023"
    rows = list(csv.DictReader(io.StringIO((out / "汇总表.csv").read_bytes().decode("utf-8-sig"))))
    by = {r["文件"]: r for r in rows}
    assert all(OFF[n] in by[n]["原因"] and "年度不符" in by[n]["抽查理由"] and by[n]["风险分"] == "" for n in OFF)


def test_a_rerun_with_another_year_ranks_the_other_year(mixed, tmp_path):
    """The year is not part of a workbook's cached row: a rerun with --year 2024 reuses the
    outputs and ranks only 2024."""
    out, _ = mixed
    src = out.parent / "报送"
    p = subprocess.run([sys.executable, "-m", "perfxl", "batch", str(src), "-o", str(out), "--year", "2024",
                        "--jobs", "1", "--quiet", "--no-charts"], capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 1 and "沿用上次结果" in p.stdout, p.stdout + p.stderr
    doc = json.loads((out / "汇总表.json").read_text("utf-8"))
    assert [r["文件"] for r in doc["抽查建议"] if r["排名"] is not None] == ["丁局-2024.xlsx"]
    rows = {r["文件"]: r for r in doc["rows"]}
    assert "工作簿年度为 2023，应为 2024" in rows["甲局-2023.xlsx"]["原因"]
    assert "年度不符" not in (rows["丁局-2024.xlsx"]["原因"] or "")


def test_help_is_chinese_and_a_bad_year_is_refused(tmp_path):
    p = subprocess.run([sys.executable, "-m", "perfxl", "batch", "--help"], capture_output=True, text=True, cwd=ROOT)
    assert "--year" in p.stdout and "年度不符" in p.stdout
    p = subprocess.run([sys.executable, "-m", "perfxl", "batch", str(tmp_path), "-o", str(tmp_path / "o"),
                        "--year", "23"], capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 2 and "四位" in p.stderr


def test_ranking_with_a_year_leaves_the_others_unranked():
    rows = [{"文件": f"{i}.xlsx", "部门名称": f"局{i}", "状态": "成功", "年度": 2023} for i in range(3)]
    assert all(r["风险分"] == 0 for r in summary.review_ranking(rows))
    got = summary.review_ranking(rows, year=2024)
    assert all(r["排名"] is None and "工作簿年度为 2023，应为 2024" in r["抽查理由"] for r in got)
    unreadable = {"文件": "x.xlsx", "部门名称": None, "状态": "无法读取", "年度": None, "原因": "坏了"}
    got = summary.review_ranking(rows[:1] + [unreadable], year=2023)
    assert [r["文件"] for r in got if r["排名"] is not None] == ["x.xlsx", "0.xlsx"]  # unreadable: still ranked first
