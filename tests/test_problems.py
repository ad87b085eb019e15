"""Scoring talks to validation in data: rewording a problem's message changes no finding's code
or place (issue 11), and every kind renders."""
from __future__ import annotations

import dataclasses

from perfxl import problems, reader, rulepack, scoring, validate
from perfxl.findings import CATALOGUE


def _workbook_with_problems(build, data):
    data["fields"]["stock_prev"] = 0                      # a rate with a zero denominator
    data["fields"]["projects_total"] = None               # a rate with an empty input
    data["tables"]["tbl_awards"][0]["授奖级别"] = "区级"     # an unknown level
    return build(data)


def test_rewording_changes_no_code_or_place(build, data, monkeypatch):
    path = _workbook_with_problems(build, data)
    pack = rulepack.load()
    model = reader.read(path)
    scores = scoring.score(model, pack)
    assert {p.code for p in scores.problems} >= {"rate-undefined"}
    before = [(f.code, f.sheet, f.cell) for f in validate.check(model, pack, scores)]
    reworded = {k: dataclasses.replace(v, template="改写：" + v.template) for k, v in problems.PROBLEMS.items()}
    monkeypatch.setattr(problems, "PROBLEMS", reworded)
    found = validate.check(model, pack, scores)
    assert [(f.code, f.sheet, f.cell) for f in found] == before
    assert any(f.message.startswith("改写：") for f in found)


def test_every_kind_renders_and_maps_to_a_catalogued_code():
    facts = {"label": "标签", "ref": "表!C5", "raw": 1.5, "row": 7, "first": 3, "id": "x", "name": "名",
             "mode": "人工", "expected": "自动", "pack": "p", "points": 2.0, "level": "区级", "levels": "国家级",
             "reason": "denominator-zero", "reason_params": (("den_label", "项目总数"),),
             "missing": (("支出进度", "input-empty", (("name_label", "指标数"), ("ref", "表!C6"))),)}
    for kind, info in problems.PROBLEMS.items():
        p = problems.Problem.of(kind, "k", **facts)
        assert p.code == info.code and p.code in CATALOGUE
        assert "{" not in p.message and p.message
