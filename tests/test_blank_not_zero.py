"""A blank is "not filled", never a result (issue 13): in Python, in the formulas LibreOffice
recalculates, in the report and in its charts."""
from __future__ import annotations

import copy
import json

import pytest

from conftest import ROOT
from perfxl import reader, rulepack, scoring, template
from perfxl.testing.libreoffice import recalculate, soffice_available

SAMPLE = json.loads((ROOT / "samples" / "lechang-2023.json").read_text("utf-8"))


def _with_statuses(*statuses):
    data = copy.deepcopy(SAMPLE)
    rows = data["tables"]["tbl_key_tasks"]
    for row, s in zip(rows, statuses):
        row["完成状态"] = s
    return data


CASES = {  # name → (statuses of the sample's three tasks, expected rate, expected score or None)
    "all-done": (("已完成", "已完成", "已完成"), 1.0, 3.0),
    "one-blank": (("已完成", None, "已完成"), None, None),
    "all-blank": ((None, None, None), None, None),
    "one-not-done": (("已完成", "未完成", "已完成"), 2 / 3, None),
}


def _scores(path):
    pack = rulepack.load()
    model = reader.read(path)
    return model, scoring.score(model, pack)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("blank")
    paths = {}
    for name, (statuses, _, _) in CASES.items():
        p = root / f"{name}.xlsx"
        p.write_bytes(template.build_workbook(_with_statuses(*statuses)))
        paths[name] = p
    return root, paths


@pytest.mark.parametrize("name", list(CASES))
def test_blank_status_leaves_rate_undefined_in_python(built, name):
    _, paths = built
    statuses, rate, _ = CASES[name]
    model, s = _scores(paths[name])
    got = s.rates["rate_key_tasks"]
    if rate is None:
        assert got is None and s.indicators["key_task_completion"] is None
        kinds = {(p.kind, p.key) for p in s.problems}
        assert ("rate-undefined", "rate_key_tasks") in kinds
        assert ("indicator-unscored", "key_task_completion") in kinds
    else:
        assert got == pytest.approx(rate)
        assert s.indicators["key_task_completion"] is not None


@pytest.mark.skipif(not soffice_available(), reason="LibreOffice (soffice) not installed")
def test_blank_status_leaves_rate_undefined_in_libreoffice(built):
    """The written COUNTIFS formulas, recalculated by LibreOffice: a blank 完成状态 gives an empty
    rate and an empty score (not 0 %, not 0 points); Python's values are the same."""
    root, paths = built
    names = list(CASES)
    out = recalculate([paths[n] for n in names], root / "lo")
    for name, lo_path in zip(names, out):
        lo = reader.read(lo_path)
        _, s = _scores(paths[name])
        rate_lo = lo.outputs["rate_key_tasks"].value
        score_lo = lo.outputs["score_key_task_completion"].value
        if CASES[name][1] is None:
            assert rate_lo is None and score_lo is None, (name, rate_lo, score_lo)
        else:
            assert rate_lo == pytest.approx(s.rates["rate_key_tasks"], abs=1e-12), name
            assert score_lo == pytest.approx(s.indicators["key_task_completion"], abs=0.005), name


def _sample_with(tmp_path, name, **cells):
    """A copy of the sample with ``cells`` ({"评分表!I8": None, …}) changed by openpyxl."""
    import openpyxl

    wb = openpyxl.load_workbook(ROOT / "samples" / "乐昌市民政局-2023.xlsx")
    for ref, value in cells.items():
        sheet, cell = ref.split("!")
        wb[sheet][cell] = value
    path = tmp_path / f"{name}.xlsx"
    wb.save(path)
    return path


def test_unfilled_manual_scores_are_missing_in_chart_and_text(tmp_path):
    from perfxl.report import build_context, charts, context

    path = _sample_with(tmp_path, "manual", **{"评分表!I8": None, "评分表!I12": None})
    pack = rulepack.load()
    model, s = _scores(path)
    assert s.indicators["budget_compliance"] is None and s.indicators["target_rationality"] is None
    d = context.chart_data(model, s, pack)
    assert d["groups"][0] == ("预算编制情况", None, 28.0)  # missing, not 19 / 28 (nor 0)
    assert d["unscored"] == {"预算编制情况": 2}
    assert charts.score_label(None, 28, 2) == "×× / 28 分（2项未评分）"
    ctx = build_context(model, s, pack)
    inds = {i["id"]: "".join(i["before"] + i["after"]) for g in ctx["groups"] for sub in g["subgroups"]
            for i in sub["indicators"]}
    assert [k for k, t in inds.items() if "该项尚未评分" in t] == ["budget_compliance", "target_rationality"]
    # only the indicators that really scored 0 (the sample's stock_efficiency) say 0
    assert [k for k, t in inds.items() if "自评得0分" in t] == [k for k, v in s.indicators.items() if v == 0]


def test_score_above_points_is_drawn_and_flagged(tmp_path):
    from perfxl.report import build_context, charts, context

    path = _sample_with(tmp_path, "over", **{"评分表!I7": 8})
    pack = rulepack.load()
    model, s = _scores(path)
    d = context.chart_data(model, s, pack)
    assert d["groups"][0] == ("预算编制情况", 31.0, 28.0)
    assert charts.score_label(31, 28) == "31 / 28 分（超出分值）"
    if charts.cjk_font_file() is not None:
        from PIL import Image
        import io

        img = Image.open(io.BytesIO(charts.render_all(d)["chart_scores"])).convert("RGB")
        assert charts.OVER in {c for _, c in img.getcolors(1 << 16)}  # the part above 28 is red
        plain = Image.open(io.BytesIO(charts.score_chart([("a", 20.0, 28.0)]))).convert("RGB")
        assert charts.OVER not in {c for _, c in plain.getcolors(1 << 16)}
    ctx = build_context(model, s, pack)
    first = ctx["groups"][0]["subgroups"][0]["indicators"][0]
    assert "超出该项分值5分" in first["before"][-1]


def test_blank_staff_type_is_not_other(tmp_path):
    from perfxl.report import build_context

    path = _sample_with(tmp_path, "type", **{"人员编制!D9": None})
    pack = rulepack.load()
    model, s = _scores(path)
    ctx = build_context(model, s, pack)
    text = "".join(ctx["staff_paras"])
    assert "（编制类型未填写）编制人数为18名" in text  # the 本级 row stays in the paragraph
    assert "其他编制" not in text and "其他在编" not in text and "其他编" not in text


def test_blank_expense_part_draws_no_zero_bar(tmp_path):
    from perfxl.report import charts, context

    path = _sample_with(tmp_path, "exp", **{"收支情况!C11": None})
    pack = rulepack.load()
    model, s = _scores(path)
    d = context.chart_data(model, s, pack)
    assert ("公用经费", None) in d["expense"]
    assert charts.expense_chart(d["expense"]) is None
