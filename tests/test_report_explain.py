"""Automatic indicators explained in words (perfxl/report/explain.py): each rate's formula with its
inputs' labels and figures, the rule applied with the effective parameters, blanks named and never
read as zero; and, generic over every shipped pack, the rendered report read back with python-docx."""
from __future__ import annotations

import copy
import importlib.util
import re
from types import SimpleNamespace

import docx
import pytest

from conftest import ROOT
from perfxl import formulas, reader, rulepack, schema, scoring
from perfxl.formulas import evaluate, result
from perfxl.model import Row, Table, Value, WorkbookModel
from perfxl.report import explain, numfmt as nf, render_report
from perfxl.report.sentences import Facts, rate_label
from perfxl.template import build_workbook

# ---------------------------------------------------------------- helpers


def _value(v, cell: str = "C1", numeric: bool = True) -> Value:
    """A cell as the reader gives it: '' empty; text in a number cell unreadable (value None)."""
    if v == "":
        return Value(None, "预算执行", cell, raw=None)
    if isinstance(v, str) and numeric:
        return Value(None, "预算执行", cell, raw=v, problem="不是数字")
    return Value(v, "预算执行", cell, raw=v)


def _table(name: str, rows: list[dict]) -> Table:
    tdef = schema.TABLE_BY_NAME[name]
    letters = {h: chr(ord("B") + i) for i, h in enumerate(tdef.headers)}
    out = tuple(Row({h: _value(r.get(h, ""), f"{letters[h]}{5 + k}", numeric=False) for h in tdef.headers}, 5 + k)
                for k, r in enumerate(rows))
    last = chr(ord("B") + len(tdef.headers) - 1)
    return Table(name, tdef.sheet, f"B4:{last}{max(5, 4 + len(rows))}", letters, out)


def _model(fields: dict, tables: dict[str, list[dict]] | None = None) -> WorkbookModel:
    vals = {n: _value(v) for n, v in fields.items()}
    tabs = {n: _table(n, rows) for n, rows in (tables or {}).items()}
    return WorkbookModel("t.xlsx", vals, tabs, {}, ())


def _facts(fields: dict, tables: dict[str, list[dict]] | None = None, pack=None) -> Facts:
    """Facts whose rates come from the real scoring engine."""
    model = _model(fields, tables)
    return Facts(model, scoring.score(model, pack or rulepack.load()), "2023", "某局")


def _pack(method: str, params: str, inp: str = "rate_sangong_change", points: float = 5):
    input_line = "" if method == "sum_checks" else f'input = "{inp}"\n'
    return rulepack.loads(f'[pack]\nid = "t"\nname = "t"\ntotal_points = {points}\n'
                          f'[[indicator]]\nid = "x"\npath = "投入/配置"\nname = "指标"\npoints = {points}\n'
                          f'method = "{method}"\n{input_line}params = {params}\n'
                          '[[grade]]\nname = "优"\nmin = 0\n')


class _Env:
    """Rates and parameter cells, for the real score formula of one indicator."""

    def __init__(self, rates: dict, pack):
        self.values = {**rates, **{p.name: p.value for p in pack.params}}

    def name(self, n):
        return self.values.get(n, formulas.NAME)


def _rule(pack, rates: dict) -> str:
    """The rule sentence of the pack's only indicator, scored by the real formula."""
    ind = pack.indicators[0]
    score = result(evaluate(formulas.indicator_expr(ind), _Env(rates, pack)))
    f = Facts(_model({}), SimpleNamespace(rates=rates, indicators={ind.id: score}, problems=()), "2023", "某局")
    return explain.rule_sentence(f, pack, ind)


# ---------------------------------------------------------------- the formula in words

def test_a_negative_change_rate_states_both_years():
    f = _facts({"sangong_actual": 12.3, "sangong_prev": 13.5})
    assert explain.rate_sentence(f, "rate_sangong_change") == (
        "“三公”经费变动率 =（本年“三公”经费实际支出数12.30万元 − 上年“三公”经费实际支出数13.50万元）÷ "
        "上年“三公”经费实际支出数13.50万元 = −8.89%。")


def test_a_ratio_of_two_amounts():
    f = _facts({"sangong_actual": 13.85, "sangong_budget": 14.8})
    assert explain.rate_sentence(f, "rate_sangong") == (
        "“三公”经费实际支出率 = “三公”经费实际支出数13.85万元 ÷ “三公”经费预算数14.80万元 = 93.58%。")


@pytest.mark.parametrize("prev, why", [
    ("", "上年“三公”经费实际支出数未填写"),
    (0, "上年“三公”经费实际支出数为0"),
    ("{{ 7*7 }}", "上年“三公”经费实际支出数含非数字内容"),
], ids=["blank", "zero", "text"])
def test_a_blank_or_unusable_input_is_named_never_zero(prev, why):
    f = _facts({"sangong_actual": 12.3, "sangong_prev": prev})
    got = explain.rate_sentence(f, "rate_sangong_change")
    assert got == f"{why}，“三公”经费变动率无法计算。"
    assert "49" not in got and "{{" not in got  # a clerk's text is neither run nor echoed


def test_an_input_the_workbook_lacks_is_named():
    f = _facts({"sangong_actual": 12.3})
    assert explain.rate_sentence(f, "rate_sangong_change") == "工作簿缺少上年“三公”经费实际支出数一项，“三公”经费变动率无法计算。"


def test_without_scoring_problems_the_model_says_what_is_blank():
    model = _model({"sangong_actual": 12.3, "sangong_prev": ""})
    f = Facts(model, SimpleNamespace(rates={"rate_sangong_change": None}, problems=()), "2023", "某局")
    assert explain.rate_sentence(f, "rate_sangong_change") == "上年“三公”经费实际支出数未填写，“三公”经费变动率无法计算。"


def test_a_sum_of_many_inputs_marks_the_blank_one():
    f = _facts({"proc_sme": 60, "proc_goods": "", "proc_works": 50, "proc_services": 25})
    got = explain.rate_sentence(f, "rate_sme_share")
    assert got == ("中小企业合同金额占比 = 授予中小企业合同金额60.00万元 ÷（政府采购·货物（未填写） + "
                   "政府采购·工程50.00万元 + 政府采购·服务25.00万元）= 80%。")


def _unit(level: str, kind: str, quota, actual) -> dict:
    return {"单位名称": f"{level}单位{kind}", "层级": level, "编制类型": kind, "核定编制数": quota, "年末实有人数": actual}


@pytest.mark.parametrize("rows, expected", [
    ([], "本级核定编制数合计为0，财政供养人员控制率无法计算。"),
    ([_unit("本级", "行政", 20, 18)], "财政供养人员控制率 = 本级年末实有人数18人 ÷ 本级核定编制数20人 = 90%。"),
    ([_unit("本级", "行政", 18, 14), _unit("本级", "工勤", 5, 4), _unit("下属", "事业", 30, 29)],
     "财政供养人员控制率 = 本级年末实有人数18人 ÷ 本级核定编制数23人 = 78.26%。"),
], ids=["zero", "one", "many"])
def test_a_table_based_rate_counts_the_rows_it_sums(rows, expected):
    assert explain.rate_sentence(_facts({}, {"tbl_units": rows}), "rate_staff_control") == expected


def test_a_table_the_workbook_lacks_is_named():
    got = explain.rate_sentence(_facts({}), "rate_staff_control")
    assert got == "工作簿缺少“纳入预算编制范围的单位及人员编制”表，财政供养人员控制率无法计算。"


def _task(status: str) -> dict:
    return {"重点工作": "某项工作", "完成状态": status}


@pytest.mark.parametrize("rows, expected", [
    ([], "已填写的重点工作数为0，重点工作完成率无法计算。"),
    ([_task("已完成")], "重点工作完成率 = 已完成的重点工作数1项 ÷ 重点工作数1项 = 100%。"),
    ([_task("已完成"), _task("部分完成"), _task("未完成")],
     "重点工作完成率 = 已完成的重点工作数1项 ÷ 重点工作数3项 = 33.33%。"),
    ([_task("已完成"), _task("")], "有1项未填写完成状态的重点工作，重点工作完成率无法计算。"),
], ids=["zero", "one", "many", "status-blank"])
def test_counted_rows(rows, expected):
    assert explain.rate_sentence(_facts({}, {"tbl_key_tasks": rows}), "rate_key_tasks") == expected


def test_every_contract_rate_reads_in_words():
    """A rate added to the contract later is explained from its definition, with no code here."""
    f = _facts({n: 10 for n in schema.FIELD_BY_NAME if schema.FIELD_BY_NAME[n].kind in (schema.MONEY, schema.INT)},
               {"tbl_units": [_unit("本级", "行政", 10, 9)], "tbl_key_tasks": [_task("已完成")]})
    explained = 0
    for rd in formulas.RATES:
        got = explain.rate_sentence(f, rd.name)
        if f.rate(rd.name) is None:  # e.g. a table this test does not fill: the reason is given
            assert got.endswith(f"，{rate_label(rd.name)}无法计算。"), got
            continue
        explained += 1
        assert got.startswith(f"{rate_label(rd.name)} =") and got.endswith(f"= {nf.pct(f.rate(rd.name))}。"), got
        for n in rd.inputs:
            assert schema.FIELD_BY_NAME[n].label in got, (rd.name, n)
    assert explained >= 14


# ---------------------------------------------------------------- the rule applied, each method

CASES = [
    # deduct_per_point
    ("deduct_per_point", "{ line = 1.0, direction = \"above\", per_point = 0.5 }", 0.95,
     "按评分标准，“三公”经费变动率未超过100%，不扣分。"),
    ("deduct_per_point", "{ line = 1.0, direction = \"above\", per_point = 0.5 }", 1.032,
     "按评分标准，“三公”经费变动率超过100%共3.2个百分点，每个百分点扣0.5分，扣1.6分。"),
    ("deduct_per_point", "{ line = 0.0, direction = \"above\", per_point = 0.5 }", 0.25,
     "按评分标准，“三公”经费变动率超过0%共25个百分点，每个百分点扣0.5分，应扣12.5分，以该项分值5分为限，扣完为止。"),
    ("deduct_per_point", "{ line = 0.0, direction = \"above\", per_point = 0.5 }", -0.0889,
     "按评分标准，“三公”经费变动率未超过0%，不扣分。"),
    ("deduct_per_point", "{ line = 0.9, direction = \"below\", per_point = 1 }", 0.875,
     "按评分标准，“三公”经费变动率低于90%共2.5个百分点，每个百分点扣1分，扣2.5分。"),
    ("deduct_per_point", "{ line = 0.9, direction = \"below\", per_point = 1 }", 0.9,
     "按评分标准，“三公”经费变动率不低于90%，不扣分。"),
    # linear, increasing and decreasing
    ("linear", "{ zero_at = 0.5, full_at = 0.95 }", 0.7712,
     "按评分标准，“三公”经费变动率介于50%与95%之间，按线性计分：5分 ×（77.12% − 50%）÷（95% − 50%）= 3.01分。"),
    ("linear", "{ zero_at = 0.5, full_at = 0.95 }", 0.97, "按评分标准，“三公”经费变动率达到95%，得满分。"),
    ("linear", "{ zero_at = 0.5, full_at = 0.95 }", 0.5, "按评分标准，“三公”经费变动率不高于50%，不得分。"),
    ("linear", "{ zero_at = 0.3, full_at = 0.05 }", 0.1467,
     "按评分标准，“三公”经费变动率介于5%与30%之间，按线性计分：5分 ×（30% − 14.67%）÷（30% − 5%）= 3.07分。"),
    ("linear", "{ zero_at = 0.3, full_at = 0.05 }", 0.01, "按评分标准，“三公”经费变动率不高于5%，得满分。"),
    ("linear", "{ zero_at = 0.3, full_at = 0.05 }", 0.4, "按评分标准，“三公”经费变动率达到30%，不得分。"),
    # bands
    ("bands", "{ upper = [0.1, 0.2, 0.3], score = [5, 3, 1], else = 0 }", 0.1,
     "按评分标准，“三公”经费变动率不超过10%，得5分。"),
    ("bands", "{ upper = [0.1, 0.2, 0.3], score = [5, 3, 1], else = 0 }", 0.1467,
     "按评分标准，“三公”经费变动率高于10%、不超过20%，得3分。"),
    ("bands", "{ upper = [0.1, 0.2, 0.3], score = [5, 3, 1], else = 0 }", 0.35,
     "按评分标准，“三公”经费变动率高于30%，得0分。"),
    ("bands", "{ lower = [0.9, 0.8, 0.6], score = [5, 4, 2], else = 0 }", 0.9,
     "按评分标准，“三公”经费变动率达到90%，得5分。"),
    ("bands", "{ lower = [0.9, 0.8, 0.6], score = [5, 4, 2], else = 0 }", 0.75,
     "按评分标准，“三公”经费变动率达到60%、低于80%，得2分。"),
    ("bands", "{ lower = [0.9, 0.8, 0.6], score = [5, 4, 2], else = 0 }", 0.5999,
     "按评分标准，“三公”经费变动率低于60%，得0分。"),
    # threshold
    ("threshold", "{ at_most = 0.0 }", -0.02, "按评分标准，“三公”经费变动率未超过0%，得满分。"),
    ("threshold", "{ at_most = 0.0 }", 1.1253, "按评分标准，“三公”经费变动率超过0%，不得分。"),
    ("threshold", "{ at_least = 1.0 }", 1.0, "按评分标准，“三公”经费变动率达到100%，得满分。"),
    ("threshold", "{ at_least = 1.0 }", 0.99, "按评分标准，“三公”经费变动率低于100%，不得分。"),
    # ratio
    ("ratio", "{}", 0.8956, "按评分标准，“三公”经费变动率按比例计分：5分 × 89.56% = 4.48分。"),
    ("ratio", "{}", 1.2, "按评分标准，“三公”经费变动率达到100%，得满分。"),
    ("ratio", "{}", -0.1, "按评分标准，“三公”经费变动率为−10%，不得分。"),
]


@pytest.mark.parametrize("method, params, rate, expected", CASES,
                         ids=[f"{m}-{r}" for m, _, r, _ in CASES])
def test_rule_wording(method, params, rate, expected):
    assert _rule(_pack(method, params), {"rate_sangong_change": rate}) == expected


def test_sum_checks_state_each_check():
    pack = _pack("sum_checks", '{ checks = [{ input = "rate_sangong", at_most = 1.0, score = 3, label = "“三公”经费不超预算" },'
                               ' { input = "rate_public", at_least = 0.9, score = 2, label = "公用经费执行到位" }] }')
    got = _rule(pack, {"rate_sangong": 0.9358, "rate_public": 0.85})
    assert got == ("按评分标准，“三公”经费不超预算：“三公”经费实际支出率93.58%，未超过100%，得3分；"
                   "公用经费执行到位：日常公用经费实际支出率85%，低于90%，不得分。")


def test_the_rule_uses_the_workbooks_parameters():
    """A bureau's edit on 评分参数 (the effective pack) is what the report states."""
    pack = _pack("deduct_per_point", '{ line = 0.0, direction = "above", per_point = 0.5 }')
    edited = rulepack.with_params(pack, {"p_x_line": 0.05, "p_x_per_point": 0.2})
    assert _rule(edited, {"rate_sangong_change": 0.0759}) == (
        "按评分标准，“三公”经费变动率超过5%共2.59个百分点，每个百分点扣0.2分，扣0.52分。")


def test_no_rule_sentence_without_the_rate_or_the_score():
    pack = _pack("ratio", "{}")
    assert _rule(pack, {"rate_sangong_change": None}) == ""
    manual = rulepack.loads('[pack]\nid = "t"\nname = "t"\ntotal_points = 5\n[[indicator]]\nid = "m"\n'
                            'path = "a/b"\nname = "人工"\npoints = 5\nmethod = "manual"\n[[grade]]\nname = "优"\nmin = 0\n')
    f = _facts({})
    assert explain.rule_sentence(f, manual, manual.indicators[0]) == ""


# ---------------------------------------------------------------- every shipped pack, rendered


def _regen():
    spec = importlib.util.spec_from_file_location("regen", ROOT / "scripts" / "regen.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _paragraphs(path) -> list[str]:
    return [p.text for p in docx.Document(path).paragraphs]


def _aggregates(node) -> list[formulas.TableAgg]:
    if isinstance(node, formulas.TableAgg):
        return [node]
    if isinstance(node, (formulas.BinOp, formulas.Compare)):
        return _aggregates(node.a) + _aggregates(node.b)
    if isinstance(node, formulas.Call):
        return [a for arg in node.args for a in _aggregates(arg)]
    return []


def _input_figures(model, pack, rd: formulas.RateDef) -> list[str]:
    """What the paragraph must hold for each input of ``rd``: its label with its figure (a
    table-based input: the column it sums or counts, then its figure)."""
    out = []
    for agg in _aggregates(rd.numerator) + _aggregates(rd.denominator):
        header = agg.target or next(h for h, c in agg.criteria if c == "<>")
        out.append(re.compile(re.escape(header) + r"数?" + re.escape(nf.integer(evaluate(agg, scoring._Env(model, pack))))))
    for n in rd.inputs:
        fd = schema.FIELD_BY_NAME[n]
        v = model.get(n)
        fig = {schema.MONEY: nf.money, schema.INT: nf.integer}.get(fd.kind, nf.points)(v)
        out.append(f"{fd.label}{fig.replace('-', '−')}{fd.unit if v is not None else ''}" if v is not None
                   else f"{fd.label}（未填写）")
    return out


@pytest.mark.parametrize("name", rulepack.shipped_names())
def test_every_automatic_indicator_is_explained_in_the_report(name, tmp_path, sample_data):
    pack = rulepack.load(name)
    data = copy.deepcopy(sample_data)
    data["fields"].update(_regen().NATIONAL_EXTRA)
    data["tables"]["tbl_scores"] = [{"指标编号": i.id, "自评得分": i.points} for i in pack.indicators if i.manual]
    path = tmp_path / "wb.xlsx"
    path.write_bytes(build_workbook(data, pack=pack))
    model = reader.read(path)
    scores = scoring.score(model, pack)
    paras = _paragraphs(render_report(model, scores, tmp_path / "r.docx", pack=pack, charts=False))
    for ind in pack.automatic:
        rates = formulas.METHODS[ind.method].inputs(ind)
        score = f"该项自评得{nf.points(scores.indicators[ind.id])}分。"
        if pack.report_wording == "reference":  # the reference report's sentences: its rates and score
            hit = [p for p in paras if score in p and all(nf.pct(scores.rates[r]) in p for r in rates)]
            assert hit, ind.id
            continue
        hit = [p for p in paras if score in p and "按评分标准，" in p]
        assert len(hit) >= 1, (ind.id, score)
        text = hit[0] if len(hit) == 1 else next(p for p in hit if all(rate_label(r) in p for r in rates))
        for r in rates:
            rd = formulas.RATE_BY_NAME[r]
            assert f"{rate_label(r)} =" in text and f"= {nf.pct(scores.rates[r]).replace('-', '−')}。" in text, (ind.id, r)
            for figure in _input_figures(model, pack, rd):
                assert (figure.search(text) if isinstance(figure, re.Pattern) else figure in text), (ind.id, figure)


def test_a_blank_input_in_the_rendered_report(tmp_path, sample_data):
    """The national pack's 上年“三公”经费 left blank: named in 三、绩效分析, never a 0 and no rule applied."""
    pack = rulepack.load("national-framework")
    data = copy.deepcopy(sample_data)
    data["tables"]["tbl_scores"] = [{"指标编号": i.id, "自评得分": i.points} for i in pack.indicators if i.manual]
    path = tmp_path / "wb.xlsx"
    path.write_bytes(build_workbook(data, pack=pack))
    model = reader.read(path)
    scores = scoring.score(model, pack)
    paras = _paragraphs(render_report(model, scores, tmp_path / "r.docx", pack=pack, charts=False))
    assert ("上年“三公”经费实际支出数未填写，“三公”经费变动率无法计算。"
            "该项尚未评分（自评得×\u2060×分，相关数据未填写或无法计算）。") in paras


def test_a_method_without_wording_is_named_by_its_label(monkeypatch):
    """A scoring method added later still gets a rule sentence (its label and the rate)."""
    monkeypatch.delitem(explain.RULE_WORDS, "ratio")
    assert _rule(_pack("ratio", "{}"), {"rate_sangong_change": 0.8956}) == "按评分标准（按比率计分），“三公”经费变动率为89.56%。"


def test_report_wording_is_checked_where_it_is_written():
    good = '[pack]\nid = "t"\nname = "t"\ntotal_points = 5\nreport_wording = "{}"\n' \
           '[[indicator]]\nid = "m"\npath = "a/b"\nname = "人工"\npoints = 5\nmethod = "manual"\n[[grade]]\nname = "优"\nmin = 0\n'
    assert rulepack.loads(good.replace("{}", "reference")).report_wording == "reference"
    assert rulepack.loads(good.replace('report_wording = "{}"\n', "")).report_wording == "explained"
    with pytest.raises(rulepack.RulesError, match="第 5 行.*report_wording"):
        rulepack.loads(good.replace("{}", "原文"), "t.toml")
    assert rulepack.load().report_wording == "reference"  # the default pack reproduces the reference report
