"""validate.check: one small workbook per problem, built in code from the sample data.

Each case copies a clean variant of the sample, changes one thing, builds the standard workbook
(template.build_workbook), reads it back and checks.  Assertions use (code, sheet, cell) only,
never the wording; locations are looked up in the model, not hard-coded.
"""
from __future__ import annotations

import copy
import dataclasses
import io
import json
import re
import statistics
import sys
import time
import types
import unicodedata
from pathlib import Path
from typing import Any, Callable

import openpyxl
import pytest

from perfxl import findings as fnd
from perfxl import pipeline, reader, rulepack, schema, template, textnorm, validate
from perfxl.findings import CATALOGUE, Finding
from perfxl.problems import Problem
from conftest import rewrite_zip

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = json.loads((ROOT / "samples" / "lechang-2023.json").read_text(encoding="utf-8"))
PACK = rulepack.load()


# --------------------------------------------------------------------------- building workbooks

def sample() -> dict:
    return copy.deepcopy(SAMPLE)


def clean() -> dict:
    """The sample without its two known inconsistencies: 42 staff (the units' 编制 count) and a
    指标数 that makes 支出进度 agree with 100 % executed."""
    d = sample()
    d["fields"]["staff_actual_stated"] = 42
    d["fields"]["quota_project"] = 12000.0
    return d


def with_openpyxl(body: bytes, fn: Callable[[openpyxl.Workbook], None]) -> bytes:
    wb = openpyxl.load_workbook(io.BytesIO(body))
    fn(wb)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def named_cell(wb, name: str):
    sheet, coord = next(iter(wb.defined_names[name].destinations))
    return wb[sheet][coord.replace("$", "")]


def table_cell(wb, table: str, i: int, header: str):
    for ws in wb.worksheets:
        if table in ws.tables:
            t = ws.tables[table]
            first = t.ref.split(":")[0]
            col0, row0 = openpyxl.utils.cell.coordinate_from_string(first)
            j = [c.name for c in t.tableColumns].index(header)
            return ws.cell(row0 + 1 + i, openpyxl.utils.column_index_from_string(col0) + j)
    raise KeyError(table)


def set_name(name: str, value: Any):
    def post(body: bytes) -> bytes:
        return with_openpyxl(body, lambda wb: setattr(named_cell(wb, name), "value", value))
    return post


def set_table(table: str, i: int, header: str, value: Any):
    def post(body: bytes) -> bytes:
        return with_openpyxl(body, lambda wb: setattr(table_cell(wb, table, i, header), "value", value))
    return post


def rewrite_parts(fn: Callable[[str, bytes], bytes | None]) -> Callable[[bytes], bytes]:
    """Zip-level surgery as a post-build step (see conftest.rewrite_zip)."""
    return lambda body: rewrite_zip(body, fn)


def table_xml(table: str, old: str, new: str) -> Callable[[bytes], bytes]:
    """Replace text in the table part that defines ``table``."""
    def fn(name: str, data: bytes) -> bytes:
        if name.startswith("xl/tables/") and f'displayName="{table}"'.encode() in data:
            return data.replace(old.encode(), new.encode())
        return data
    return rewrite_parts(fn)


def build(tmp_path: Path, data: dict, post: Callable[[bytes], bytes] | None = None, name: str = "wb.xlsx") -> Path:
    body = template.build_workbook(data)
    if post:
        body = post(body)
    path = tmp_path / name
    path.write_bytes(body)
    return path


def run_check(path: Path, scores: Any = None, pack=None):
    model = reader.read(path)
    return model, validate.check(model, pack or PACK, scores)


# --------------------------------------------------------------------------- locations in the model

def at_field(name: str):
    return lambda m: (m.fields[name].sheet, m.fields[name].cell)


def at_name(name: str):
    return lambda m: m.names[name]


def at_cell(table: str, i: int, header: str):
    def loc(m):
        t = m.tables[table]
        return t.sheet, f"{t.columns[header]}{t.rows[i].row}"
    return loc


def at_header(table: str, header: str | None = None):
    def loc(m):
        t = m.tables[table]
        first = re.match(r"([A-Z]+)(\d+)", t.ref)
        col = t.columns[header] if header else first.group(1)
        return t.sheet, f"{col}{first.group(2)}"
    return loc


def at_sheet(sheet: str):
    return lambda m: (sheet, "")


def score_row(d: dict, iid: str) -> dict:
    return next(r for r in d["tables"]["tbl_scores"] if r["指标编号"] == iid)


def narrative_row(d: dict, section: str) -> dict:
    return next(r for r in d["tables"]["tbl_narrative"] if r["章节"] == section)


def narrative_index(section: str) -> int:
    return next(i for i, r in enumerate(SAMPLE["tables"]["tbl_narrative"]) if r["章节"] == section)


# --------------------------------------------------------------------------- the cases

@dataclasses.dataclass
class Case:
    id: str
    code: str
    loc: Callable
    change: Callable[[dict], Any] | None = None      # edits the data before building
    post: Callable[[bytes], bytes] | None = None     # edits the built workbook
    scores: Any = None
    pack: Any = None
    also: frozenset = frozenset()                    # other codes this one change may cause
    base: Callable[[], dict] = clean


def fset(section: str, key: str, value):
    return lambda d: d[section].__setitem__(key, value)


def tset(table: str, i: int, header: str, value):
    return lambda d: d["tables"][table][i].__setitem__(header, value)


def sset(iid: str, **kw):
    return lambda d: score_row(d, iid).update({k: v for k, v in kw.items()})


def fake_scores(**kw):
    return types.SimpleNamespace(rates=kw.pop("rates", {}), score_total=kw.pop("score_total", None),
                                 problems=kw.pop("problems", ()), **kw)


def _penalty_row(points=None):
    row = {"序号": 5, "项目名称": "财政资金使用被通报批评", "授奖机关": "乐昌市财政局", "授奖时间": "2023-06-01",
           "授奖依据": "关于2023年财政资金使用情况的通报", "授奖级别": "县级", "类型": "减分"}
    if points is not None:
        row["自评得分"] = points
    return lambda d: d["tables"]["tbl_awards"].append(row)


def _blank_middle(d):
    d["tables"]["tbl_duties"][3] = {}


def _drop_section(section):
    def change(d):
        d["tables"]["tbl_narrative"] = [r for r in d["tables"]["tbl_narrative"] if r["章节"] != section]
    return change


def _copy_text(src_section, dst_section):
    def change(d):
        narrative_row(d, dst_section)["正文"] = narrative_row(d, src_section)["正文"]
    return change


def _no_explanations(d):
    for r in d["tables"]["tbl_scores"]:
        r["评价说明"] = ""


def _pack_with_extra():
    extra = rulepack.Indicator("innovation", "资金使用效益", "效果性", "创新性", 0, "manual")
    return dataclasses.replace(PACK, indicators=PACK.indicators + (extra,))


def _shrink_scores_table(body: bytes) -> bytes:
    def fn(wb):
        t = wb["评分表"].tables["tbl_scores"]
        start, end = t.ref.split(":")
        col, row = re.match(r"([A-Z]+)(\d+)", end).groups()
        t.ref = f"{start}:{col}{int(row) - 1}"
        t.autoFilter.ref = t.ref
    return with_openpyxl(body, fn)


_SCORE_I = {ind.id: i for i, ind in enumerate(PACK.indicators)}
# Where the standard template puts a field (fake scoring problems name a cell, as scoring does).
_TEMPLATE_CELL = {n: v.cell for n, v in reader.read(template.TEMPLATE_PATH).fields.items()}
_N5 = narrative_index("五、存在问题")
_N6 = narrative_index("六、改进措施")

CASES = [
    # structure
    Case("name-missing: phone deleted", "name-missing", at_sheet(schema.S_COVER),
         post=lambda b: with_openpyxl(b, lambda wb: wb.defined_names.pop("phone"))),
    Case("table-missing: tbl_targets renamed", "table-missing", at_sheet(schema.S_TARGETS),
         post=table_xml("tbl_targets", 'displayName="tbl_targets"', 'displayName="表2"')),
    Case("column-missing: header renamed", "column-missing", at_header("tbl_units"),
         post=table_xml("tbl_units", 'name="核定编制数"', 'name="编制数"')),
    # values
    Case("required-empty: field", "required-empty", at_field("dept_head"), fset("fields", "dept_head", None)),
    Case("required-empty: table cell", "required-empty", at_cell("tbl_units", 0, "核定编制数"),
         tset("tbl_units", 0, "核定编制数", None)),
    Case("wrong-type: text in money", "wrong-type", at_field("income_general"),
         fset("fields", "income_general", "一万二千五百"), also=frozenset({"income-expense-mismatch"})),
    Case("wrong-type: text in table count", "wrong-type", at_cell("tbl_units", 0, "年末实有人数"),
         tset("tbl_units", 0, "年末实有人数", "十四"), also=frozenset({"staff-total-mismatch"})),
    Case("number-as-text", "number-as-text", at_field("income_fund"), post=set_name("income_fund", "281.15")),
    Case("number-text-unusable: unit", "number-text-unusable", at_field("income_fund"),
         post=set_name("income_fund", "281.15万元")),
    Case("number-text-unusable: full-width digits in a table", "number-text-unusable",
         at_cell("tbl_units", 3, "核定编制数"), post=set_table("tbl_units", 3, "核定编制数", "３")),
    Case("date-impossible: report date", "date-impossible", at_field("report_date"),
         post=set_name("report_date", "2024年2月30日")),
    Case("date-impossible: award date", "date-impossible", at_cell("tbl_awards", 0, "授奖时间"),
         post=set_table("tbl_awards", 0, "授奖时间", "2023-02-30")),
    Case("negative-value: money", "negative-value", at_field("income_fund"), fset("fields", "income_fund", -281.15),
         also=frozenset({"income-expense-mismatch"})),
    Case("negative-value: staff count", "negative-value", at_cell("tbl_units", 3, "核定编制数"),
         tset("tbl_units", 3, "核定编制数", -3), also=frozenset({"staff-over-quota"})),
    Case("negative-value: penalty points", "negative-value", at_cell("tbl_awards", 4, "自评得分"), _penalty_row(-1)),
    Case("invalid-choice: 层级", "invalid-choice", at_cell("tbl_units", 0, "层级"), tset("tbl_units", 0, "层级", "本部")),
    Case("invalid-choice: 完成状态", "invalid-choice", at_cell("tbl_key_tasks", 1, "完成状态"),
         tset("tbl_key_tasks", 1, "完成状态", "基本完成")),
    Case("year-implausible", "year-implausible", at_field("fiscal_year"), fset("fields", "fiscal_year", 23)),
    Case("report-date-out-of-period: a year early", "report-date-out-of-period", at_field("report_date"),
         fset("fields", "report_date", "2023-05-20")),
    Case("rate-out-of-range: typed over formula", "rate-out-of-range", at_name("rate_spending"),
         post=set_name("rate_spending", 1.5)),
    Case("text-too-long", "text-too-long", at_field("overall_goal"), fset("fields", "overall_goal", "字" * 10_001)),
    Case("formula-like-text: =", "formula-like-text", at_field("preparer"), fset("fields", "preparer", "=HYPERLINK(\"x\")")),
    Case("formula-like-text: @ in table", "formula-like-text", at_cell("tbl_duties", 0, "主要职责"),
         tset("tbl_duties", 0, "主要职责", "@SUM(1+1)")),
    # tables
    Case("blank-row", "blank-row", at_cell("tbl_duties", 3, "序号"), _blank_middle),
    Case("duplicate-serial", "duplicate-serial", at_cell("tbl_duties", 1, "序号"), tset("tbl_duties", 1, "序号", 1)),
    # totals
    Case("sum-mismatch: total typed over", "sum-mismatch", at_field("income_total"),
         post=set_name("income_total", 12000)),
    Case("sum-mismatch: basic typed over", "sum-mismatch", at_field("exp_basic"), post=set_name("exp_basic", 900)),
    Case("income-expense-mismatch", "income-expense-mismatch", at_field("exp_total"),
         fset("fields", "exp_project", 11945.56), also=frozenset({"executed-expense-mismatch"})),
    Case("executed-exceeds-budget", "executed-exceeds-budget", at_field("budget_executed"),
         fset("fields", "budget_executed", 13000.0), also=frozenset({"executed-expense-mismatch"})),
    Case("executed-expense-mismatch", "executed-expense-mismatch", at_field("budget_executed"),
         fset("fields", "budget_executed", 12800.0)),
    Case("staff-total-mismatch: the reference's 43", "staff-total-mismatch", at_field("staff_actual_stated"),
         fset("fields", "staff_actual_stated", 43)),
    # cross-sheet
    Case("issued-exceeds-quota: basic", "issued-exceeds-quota", at_field("issued_basic"),
         fset("fields", "issued_basic", 1100.0)),
    Case("issued-exceeds-quota: project", "issued-exceeds-quota", at_field("issued_project"),
         fset("fields", "issued_project", 12100.0)),
    Case("staff-over-quota", "staff-over-quota", at_cell("tbl_units", 2, "年末实有人数"),
         tset("tbl_units", 2, "年末实有人数", 20), also=frozenset({"staff-total-mismatch"})),
    Case("execution-progress-mismatch: the reference's 77.12 %", "execution-progress-mismatch",
         at_field("budget_executed"), fset("fields", "quota_project", 15720.94),
         also=frozenset({"high-score-low-spending"})),
    Case("sme-exceeds-procurement", "sme-exceeds-procurement", at_field("proc_sme"), fset("fields", "proc_sme", 80.0)),
    Case("targets-exceed-projects", "targets-exceed-projects", at_field("projects_with_targets"),
         fset("fields", "projects_with_targets", 12)),
    Case("asset-net-exceeds-original", "asset-net-exceeds-original", at_field("asset_net"),
         fset("fields", "asset_net", 400.0)),
    Case("key-spending-exceeds-project", "key-spending-exceeds-project", at_field("key_project_exp"),
         fset("fields", "key_project_exp", 12000.0)),
    Case("assets-in-use-exceed-total", "assets-in-use-exceed-total", at_field("fixed_assets_in_use"),
         lambda d: d["fields"].update(fixed_assets_total=300.0, fixed_assets_in_use=300.5)),
    # scoring table
    Case("indicator-missing: row cut off the table", "indicator-missing", at_header("tbl_scores", "指标编号"),
         post=_shrink_scores_table),
    Case("indicator-missing: pack has more", "indicator-missing", at_header("tbl_scores", "指标编号"),
         pack=_pack_with_extra()),
    Case("indicator-unknown", "indicator-unknown", at_cell("tbl_scores", 0, "指标编号"),
         post=set_table("tbl_scores", 0, "指标编号", "budget_xyz"), also=frozenset({"indicator-missing"})),
    Case("indicator-duplicate", "indicator-duplicate", at_cell("tbl_scores", 1, "指标编号"),
         post=set_table("tbl_scores", 1, "指标编号", "budget_rationality"), also=frozenset({"indicator-missing"})),
    Case("points-changed", "points-changed", at_cell("tbl_scores", 0, "分值"), post=set_table("tbl_scores", 0, "分值", 6)),
    Case("score-missing", "score-missing", at_cell("tbl_scores", _SCORE_I["budget_rationality"], "自评得分"),
         sset("budget_rationality", 自评得分=None)),
    Case("score-out-of-range: above points", "score-out-of-range",
         at_cell("tbl_scores", _SCORE_I["effectiveness"], "自评得分"), sset("effectiveness", 自评得分=12)),
    Case("score-out-of-range: negative", "score-out-of-range",
         at_cell("tbl_scores", _SCORE_I["fairness"], "自评得分"), sset("fairness", 自评得分=-1)),
    Case("deduction-unexplained", "deduction-unexplained", at_cell("tbl_scores", _SCORE_I["disclosure"], "评价说明"),
         sset("disclosure", 自评得分=3, 评价说明="")),
    Case("full-marks-unexplained", "full-marks-unexplained", at_cell("tbl_scores", _SCORE_I["disclosure"], "评价说明"),
         sset("disclosure", 评价说明="")),
    Case("all-full-marks-unexplained", "all-full-marks-unexplained",
         at_cell("tbl_scores", _SCORE_I["budget_rationality"], "评价说明"), _no_explanations),
    # 加减分
    Case("award-evidence-missing: 依据", "award-evidence-missing", at_cell("tbl_awards", 0, "授奖依据"),
         tset("tbl_awards", 0, "授奖依据", None)),
    Case("award-evidence-missing: 机关", "award-evidence-missing", at_cell("tbl_awards", 2, "授奖机关"),
         tset("tbl_awards", 2, "授奖机关", None)),
    Case("award-evidence-missing: 时间", "award-evidence-missing", at_cell("tbl_awards", 1, "授奖时间"),
         tset("tbl_awards", 1, "授奖时间", None)),
    Case("award-date-outside-year", "award-date-outside-year", at_cell("tbl_awards", 0, "授奖时间"),
         tset("tbl_awards", 0, "授奖时间", "2022-12-30")),
    Case("penalty-points-missing", "penalty-points-missing", at_cell("tbl_awards", 4, "自评得分"), _penalty_row()),
    # narrative
    Case("narrative-section-missing: 六", "narrative-section-missing", at_header("tbl_narrative", "章节"),
         _drop_section("六、改进措施")),
    Case("narrative-section-empty: 无", "narrative-section-empty", at_cell("tbl_narrative", _N5, "正文"),
         lambda d: narrative_row(d, "五、存在问题").update(正文="无。")),
    Case("narrative-section-empty: 暂无", "narrative-section-empty", at_cell("tbl_narrative", _N6, "正文"),
         lambda d: narrative_row(d, "六、改进措施").update(正文="暂无")),
    Case("narrative-section-empty: blank", "narrative-section-empty", at_cell("tbl_narrative", _N6, "正文"),
         lambda d: narrative_row(d, "六、改进措施").update(正文="", 标题="")),
    Case("narrative-boilerplate", "narrative-boilerplate", at_cell("tbl_narrative", _N6, "正文"),
         lambda d: narrative_row(d, "六、改进措施").update(正文="进一步加强管理，不断完善制度。")),
    Case("duplicate-text: across sections", "duplicate-text", at_cell("tbl_narrative", _N6, "正文"),
         _copy_text("五、存在问题", "六、改进措施")),
    Case("duplicate-text: across 评价说明", "duplicate-text", at_cell("tbl_scores", _SCORE_I["fairness"], "评价说明"),
         lambda d: score_row(d, "fairness").update(评价说明=score_row(d, "effectiveness")["评价说明"])),
    # plausibility and scoring
    Case("high-score-low-spending", "high-score-low-spending", at_name("score_total"),
         fset("fields", "quota_project", 15720.94), scores=fake_scores(score_total=98.31),
         also=frozenset({"execution-progress-mismatch"})),
    Case("param-modified: a threshold edited on 评分参数", "param-modified", at_name("p_spending_rate_full_at"),
         post=set_name("p_spending_rate_full_at", 0.75)),
    Case("rate-undefined: stock_prev zero (real scoring)", "rate-undefined", at_field("stock_prev"),
         fset("fields", "stock_prev", 0), scores="real"),
    Case("rate-undefined: no 本级 编制 (real scoring)", "rate-undefined", at_header("tbl_units", "核定编制数"),
         lambda d: [r.update(层级="下属") for r in d["tables"]["tbl_units"]], scores="real"),
    Case("rate-undefined: a structured problem, located by its rate's denominator", "rate-undefined",
         at_field("projects_total"),
         scores=fake_scores(problems=[Problem.of("rate-undefined", "rate_target_coverage", label="绩效目标覆盖率",
                                                 reason="denominator-zero", reason_params=(("den_label", "项目总数"),))])),
    Case("rate-undefined: a structured problem at its cell", "rate-undefined", at_field("stock_prev"),
         scores=fake_scores(problems=[Problem.of("rate-undefined", "rate_stock", sheet=schema.S_BUDGET, cell=_TEMPLATE_CELL["stock_prev"],
                                                 label="存量资金比率", reason="denominator-zero",
                                                 reason_params=(("den_label", "上年末存量资金"),))])),
    Case("scoring-problem", "scoring-problem", at_field("carryover_balance"),
         scores=fake_scores(problems=[Problem.of("input-is-text", "carryover_balance", sheet=schema.S_BUDGET,
                                                 cell=_TEMPLATE_CELL["carryover_balance"], label="结转结余",
                                                 ref=f"{schema.S_BUDGET}!{_TEMPLATE_CELL['carryover_balance']}", raw="1,0")])),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_one_problem(case: Case, tmp_path):
    data = case.base()
    if case.change:
        case.change(data)
    path = build(tmp_path, data, case.post)
    scores = case.scores
    if scores == "real":
        from perfxl import scoring
        scores = scoring.score(reader.read(path), case.pack or PACK)
    model, found = run_check(path, scores, case.pack)
    where = case.loc(model)
    projection = {(f.code, f.sheet, f.cell) for f in found}
    assert (case.code, *where) in projection, validate.format_findings_text(found)
    assert {f.code for f in found} <= {case.code} | case.also, validate.format_findings_text(found)
    assert all(f.severity == CATALOGUE[f.code].severity for f in found)


def test_scoring_failure_becomes_a_finding(tmp_path, monkeypatch):
    path = build(tmp_path, clean())  # built (and scored) before scoring is broken

    def boom(model, pack):
        raise ZeroDivisionError("bug")
    fake = types.ModuleType("perfxl.scoring")
    fake.score = boom
    monkeypatch.setitem(sys.modules, "perfxl.scoring", fake)
    import perfxl
    monkeypatch.setattr(perfxl, "scoring", fake, raising=False)
    _, found = pipeline.check_file(path)
    assert [(f.code, f.sheet, f.cell) for f in found] == [("scoring-failed", schema.S_SCORES, "")]


OTHER_TESTED = {"scoring-failed",  # exercised by test_scoring_failure_becomes_a_finding
                # two years compared: tests/test_carryover.py
                "staff-quota-jump", "unit-disappeared", "stock-prev-mismatch", "prev-figure-mismatch",
                "year-not-consecutive",
                "cell-error",  # tests/test_error_values.py (error cells are built by zip surgery)
                "rule-pack-unknown", "rule-pack-override"}  # tests/test_pack_choice.py (real processes)


def test_every_code_is_exercised():
    tested = {c.code for c in CASES} | OTHER_TESTED
    assert set(CATALOGUE) - tested == set()
    assert tested - set(CATALOGUE) == set()


def test_clean_variant_has_no_findings(tmp_path):
    _, found = run_check(build(tmp_path, clean()))
    assert found == [], validate.format_findings_text(found)


# --------------------------------------------------------------------------- the sample

BUNDLED = ROOT / "samples" / "乐昌市民政局-2023.xlsx"


@pytest.fixture(scope="module")
def sample_path(tmp_path_factory):
    return build(tmp_path_factory.mktemp("sample"), sample(), name="lechang-2023.xlsx")


@pytest.mark.parametrize("which", ["built from the sample data", "bundled sample workbook"])
def test_sample_has_the_references_two_inconsistencies(which, sample_path):
    path = sample_path if which.startswith("built") else BUNDLED
    if not path.exists():
        pytest.skip("no bundled sample workbook")
    model, found = pipeline.check_file(path)
    warnings = sorted((f.code, f.sheet, f.cell) for f in found if f.severity == fnd.WARNING)
    assert warnings == sorted([
        ("staff-total-mismatch", *at_field("staff_actual_stated")(model)),
        ("execution-progress-mismatch", *at_field("budget_executed")(model)),
    ])
    assert [f for f in found if f.severity == fnd.ERROR] == []
    # The one 提示 allowed: a total of 98.31 beside a 支出进度 of 77.12 % (when scores exist).
    assert {f.code for f in found if f.severity == fnd.INFO} <= {"high-score-low-spending"}


def test_sample_check_is_fast(sample_path):
    model = reader.read(sample_path)
    times = []
    for _ in range(15):
        t0 = time.perf_counter()
        validate.check(model, PACK)
        times.append(time.perf_counter() - t0)
    assert statistics.median(times) < 0.25


# --------------------------------------------------------------------------- catalogue and output

def test_catalogue_codes_are_stable_kebab_case():
    for code, info in CATALOGUE.items():
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", code), code
        assert info.code == code and info.severity in fnd.SEVERITIES and info.title and info.description


def test_finding_takes_its_severity_from_the_catalogue():
    f = Finding.at("sum-mismatch", "收支情况", "C8", "m", "h")
    assert f.severity == fnd.ERROR and f.ref == "收支情况!C8"
    with pytest.raises(KeyError):
        Finding.at("no-such-code", "收支情况", "C8", "m", "h")


def test_docs_codes_md_is_generated_from_the_catalogue():
    assert (ROOT / "docs" / "codes.md").read_text(encoding="utf-8") == fnd.catalogue_markdown()


def test_catalogue_table_lists_every_code_once():
    table = fnd.catalogue_table()
    for code in CATALOGUE:
        assert table.count(f"`{code}`") == 1


def test_findings_are_sorted_by_sheet_order_then_cell(tmp_path):
    data = clean()
    data["fields"]["asset_net"] = 400.0           # 预算执行!C37
    data["fields"]["issued_basic"] = 1100.0       # 预算执行!C10
    data["fields"]["dept_head"] = None            # 封面与基本信息
    model, found = run_check(build(tmp_path, data))
    order = [model.sheets.index(f.sheet) for f in found]
    assert order == sorted(order)
    budget = [f.cell for f in found if f.sheet == schema.S_BUDGET]
    assert budget == sorted(budget, key=lambda c: int(re.sub(r"\D", "", c)))


def _width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def test_text_output_groups_by_sheet_and_aligns_cjk(tmp_path):
    data = clean()
    data["fields"]["staff_actual_stated"] = 43
    data["fields"]["issued_basic"] = 1100.0
    data["fields"]["proc_sme"] = 80.0
    _, found = run_check(build(tmp_path, data))
    text = validate.format_findings_text(found, "乐昌.xlsx")
    assert "乐昌.xlsx" in text and "【人员编制】" in text and "【预算执行】" in text
    lines = text.splitlines()
    heads = [ln for ln in lines if ln.startswith("单元格")]
    rows = [ln for ln in lines if re.match(r"^[A-Z]+\d+\s", ln)]
    assert heads and len(rows) == len(found)
    message_col = _width(heads[0][: heads[0].index("问题")])
    for ln, f in zip(rows, found):
        assert _width(ln[: ln.index(f.message)]) == message_col
    assert "共 3 条" in text


def test_text_output_without_findings():
    assert "未发现问题" in validate.format_findings_text([], "x.xlsx")


def test_json_output_keys(tmp_path):
    data = clean()
    data["fields"]["proc_sme"] = 80.0
    _, found = run_check(build(tmp_path, data))
    out = validate.findings_json(found)
    json.dumps(out, ensure_ascii=False)
    assert out and {"code", "severity", "sheet", "cell", "message", "hint"} <= set(out[0])
    assert (out[0]["code"], out[0]["sheet"]) == ("sme-exceeds-procurement", schema.S_BUDGET)


# --------------------------------------------------------------------------- the NFKC fast path

def _plain_chars() -> list[str]:
    """Every character the fast path accepts."""
    return [chr(c) for c in range(0x110000) if 0xD800 > c or c > 0xDFFF
            if textnorm._NFKC_PLAIN.search(chr(c)) is None]


def test_nfkc_fast_path_is_unicodedata_character_by_character():
    plain = _plain_chars()
    assert 20000 < len(plain) < 25000  # ASCII, CJK ideographs, CJK and full-width punctuation
    seconds = set()  # characters that can end a canonical composition pair
    for c in range(0x110000):
        d = unicodedata.decomposition(chr(c))
        if d and not d.startswith("<") and len(d.split()) == 2:
            seconds.add(chr(int(d.split()[1], 16)))
    for ch in plain:
        n = unicodedata.normalize("NFKC", ch)
        assert textnorm.nfkc(ch) == n, ch
        # each result is a starter that composes with nothing: the string's NFKC is the concatenation
        assert all(unicodedata.combining(x) == 0 and x not in seconds for x in n), ch


def test_norm_matches_nfkc_then_punctuation_stripping():
    import random

    rng = random.Random(7)
    plain = _plain_chars()
    pool = plain[:200] + rng.sample(plain, 300) + list("，。：；！？（）【】“”‘’…　＂＇［］１２Ａｚ％") + ["\u0301", "ﬁ", "①", "㈱", "é", "e"]
    assert textnorm._PUNCT_FIRST_OK
    for _ in range(3000):
        text = "".join(rng.choice(pool) for _ in range(rng.randint(0, 40)))
        expected = textnorm._PUNCT.sub("", unicodedata.normalize("NFKC", text))
        assert textnorm.norm(text) == expected, repr(text)
        assert textnorm.nfkc(text) == unicodedata.normalize("NFKC", text), repr(text)
