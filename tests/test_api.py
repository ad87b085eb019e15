"""The library API (`from perfxl import check, score, make_report, run`): one call per job, a
Result that says how it ended, outputs where the README says, the clerk's file untouched."""
from __future__ import annotations

import hashlib
import json

import openpyxl

import perfxl
from perfxl.pipeline import Status


def _sha(p):
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_check_score_report_run(sample_copy, tmp_path):
    before = _sha(sample_copy)
    checked = perfxl.check(sample_copy)
    assert checked.status is Status.OK and checked.exit_code == 0 and checked.files == ()
    assert {f.code for f in checked.findings} and not checked.errors

    scored = perfxl.score(sample_copy, tmp_path / "scored.xlsx")
    assert scored.ok and scored.files == (tmp_path / "scored.xlsx",)
    assert scored.analysis.scores.score_total > 0
    wb = openpyxl.load_workbook(tmp_path / "scored.xlsx")
    assert "score_total" in wb.defined_names

    report = perfxl.make_report(sample_copy, tmp_path / "报告.docx")
    assert report.ok and (tmp_path / "报告.docx").read_bytes()[:2] == b"PK"

    ran = perfxl.run(sample_copy, tmp_path / "输出")
    names = sorted(p.name for p in ran.files)
    stem = sample_copy.stem
    assert names == sorted([f"{stem}-已评分.xlsx", f"{stem}-自评报告.docx", f"{stem}-校验结果.json"])
    doc = json.loads((tmp_path / "输出" / f"{stem}-校验结果.json").read_text("utf-8"))
    assert doc["状态"] == "成功" and len(doc["校验结果"]) == len(ran.findings)
    assert _sha(sample_copy) == before


def test_an_unreadable_file_is_a_result_not_an_exception(tmp_path):
    bad = tmp_path / "坏.xlsx"
    bad.write_bytes(b"not a zip")
    for result in (perfxl.check(bad), perfxl.run(bad, tmp_path / "out")):
        assert result.status is Status.UNREADABLE and result.exit_code == 2 and "坏.xlsx" in result.error
    assert not (tmp_path / "out").exists()
