"""The Word report: figures, structure, layout, fonts, escaping, sandboxing, other packs."""
from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path

import pytest
from docx import Document
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from perfxl import reader, rulepack, scoring
from perfxl.errors import TemplateError
from perfxl.report import build_context, context, docx_template, numfmt as nf, render, render_report, text as rtext
from perfxl.report import charts as rcharts
from perfxl.template import build_workbook

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "docs" / "reference-lechang-2023.txt"
ALT_PACK = ROOT / "tests" / "rules" / "county-alt-2024.toml"
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


# ---------------------------------------------------------------- helpers / fixtures

def _analyse(tmp: Path, data: dict, pack=None, name: str = "wb.xlsx"):
    pack = pack or rulepack.load()
    path = tmp / name
    path.write_bytes(build_workbook(data, pack=pack))
    model = reader.read(path)
    return model, scoring.score(model, pack), pack


def _report(tmp: Path, data: dict, pack=None, **kw) -> Document:
    model, scores, pack = _analyse(tmp, data, pack)
    out = render_report(model, scores, tmp / "report.docx", pack=pack, **kw)
    return Document(out)


def _all_text(doc: Document) -> str:
    """Body paragraphs and every table cell, in document order."""
    out = []
    for el in doc.element.body:
        if el.tag in (f"{W}p", f"{W}tbl"):
            for p in el.iter(f"{W}p"):
                out.append("".join(t.text or "" for t in p.iter(f"{W}t")))
    return "\n".join(out)


@pytest.fixture(scope="module")
def sample_report(tmp_path_factory, sample_data):
    tmp = tmp_path_factory.mktemp("report")
    model, scores, pack = _analyse(tmp, sample_data)
    out = render_report(model, scores, tmp / "乐昌市民政局-自评报告.docx", pack=pack)
    return out, Document(out), model, scores, pack


@pytest.fixture(scope="module")
def doc(sample_report) -> Document:
    return sample_report[1]


@pytest.fixture(scope="module")
def text(doc) -> str:
    return _all_text(doc)


# ---------------------------------------------------------------- numfmt

@pytest.mark.parametrize("fn, value, expected", [
    (nf.money, 12820.47, "12,820.47"), (nf.money, 5.5, "5.50"), (nf.money, 0, "0.00"),
    (nf.money, 1013.925, "1,013.93"), (nf.money, -0.001, "0.00"), (nf.money, None, "××"),
    (nf.pct, 0.77116404, "77.12%"), (nf.pct, 1.0, "100%"), (nf.pct, 1.1253036, "112.53%"),
    (nf.pct, 0.0125, "1.25%"), (nf.pct, 0.076, "7.60%"), (nf.pct, None, "××%"),
    (nf.share, 974.91 / 12820.47, "7.6%"), (nf.share, 11845.56 / 12820.47, "92.4%"), (nf.share, 1, "100%"),
    (nf.points, 98.31, "98.31"), (nf.points, 2.0, "2"), (nf.points, 3.50, "3.5"), (nf.points, 0, "0"),
    (nf.points, 1.805, "1.81"), (nf.points, -0.5, "-0.5"), (nf.points, None, "××"),
    (nf.integer, 172.0, "172"), (nf.date, dt.date(2024, 5, 20), "2024年5月20日"),
    (nf.date, "2024-05-20", "2024年5月20日"), (nf.date, None, "××××年××月××日"),
    (nf.dot_date, dt.date(2023, 2, 2), "2023.2.2"), (nf.dot_date, dt.date(2023, 12, 11), "2023.12.11"),
    (nf.cn_count, 4, "四"), (nf.cn_count, 11, "十一"), (nf.cn_count, 20, "二十"), (nf.cn_count, 35, "三十五"),
    (nf.cn_count, 100, "100"),
], ids=lambda v: repr(v) if not callable(v) else v.__name__)
def test_numfmt(fn, value, expected):
    assert fn(value) == expected


@pytest.mark.parametrize("value", [0, 0.0, -0.0, 3, -3, 2.0, 1234567.0, -1234.0, 10 ** 14, 1e15, 1e16, 2 ** 70,
                                   0.5, 1013.925, 12820.47, -2.5, True, float("nan")])
def test_numfmt_whole_numbers_print_as_the_decimal_path_does(value):
    """Whole numbers skip Decimal; the text must be what the Decimal rounding prints."""
    from decimal import ROUND_HALF_UP, Decimal

    if isinstance(value, bool) or value != value:
        assert nf.money(value) == nf.points(value) == nf.integer(value) == "××" and nf.pct(value) == "××%"
        return

    def dec(x, places):
        return Decimal(repr(float(x)) if isinstance(x, float) else str(x)).quantize(Decimal(1).scaleb(-places),
                                                                                    ROUND_HALF_UP)
    assert nf.money(value) == f"{abs(dec(value, 2)) if dec(value, 2) == 0 else dec(value, 2):,.2f}"
    assert nf.integer(value) == str(int(dec(value, 0)))
    p = dec(value, 2)
    assert nf.points(value) == ("0" if p == 0 else f"{p:.2f}".rstrip("0").rstrip("."))
    if abs(value) < 1e20:
        q = (Decimal(repr(float(value))) * 100).quantize(Decimal("0.01"), ROUND_HALF_UP)
        assert nf.pct(value) == (f"{int(q)}%" if q == q.to_integral_value() else f"{q:.2f}%")


@pytest.mark.parametrize("raw, expected", [("  预算编制  ", "预算编制"), ("a\tb", "a b"), ("a\r\nb\rc", "a\nb\nc"),
                                           ("x\x07y\x0c", "xy"), (None, ""), (2023, "2023"), ("\u3000全角\u3000", "全角")])
def test_clean(raw, expected):
    assert rtext.clean(raw) == expected


@pytest.mark.parametrize("items, expected", [([], ""), (["A"], "A"), (["A", "B"], "A和B"),
                                             (["A", "B", "C"], "A、B和C")])
def test_join_cn(items, expected):
    assert nf.join_cn(items) == expected


@pytest.mark.parametrize("dept, short", [("乐昌市民政局", "市民政局"), ("仁化县教育局", "县教育局"),
                                         ("乐昌市市场监督管理局", "市市场监督管理局"), ("民政局", "民政局")])
def test_short_name(dept, short):
    assert rtext.short_name(dept) == short


def test_clean_removes_what_would_become_structure():
    # \a and \f would become a new paragraph / page break in docxtpl; \x00 is not XML
    assert rtext.clean("A\x07B\x0cC\x00D\tE\r\nF") == "ABCD E\nF"
    assert rtext.paragraphs(" 一段 \n\n 二段 ") == ["一段", "二段"]


def test_characters_xml_forbids_do_not_stop_the_report(tmp_path, data):
    """U+FFFE / U+FFFF are not XML characters either (a live Excel cell can hold them, and so can
    a package written by a careless tool): they are dropped like control characters, instead
    of failing the report with an error that blames the template."""
    from perfxl import cli

    from conftest import rewrite_zip

    assert rtext.clean("乐\ufffe昌\uffff市") == "乐昌市"
    data["fields"]["dept_name"] = "乐昌市XFFFEX民政局"
    data["tables"]["tbl_narrative"][0]["正文"] += "XFFFFX"
    path = tmp_path / "怪字符.xlsx"  # the characters written raw, as openpyxl refuses to
    path.write_bytes(rewrite_zip(build_workbook(data), lambda n, d: d.replace(
        b"XFFFEX", "\ufffe".encode()).replace(b"XFFFFX", "\uffff".encode())))
    assert "\ufffe" in reader.read(path).fields["dept_name"].raw
    out = tmp_path / "报告.docx"
    assert cli.main(["report", str(path), "-o", str(out)]) == 0
    body = _all_text(Document(out))
    assert "乐昌市民政局" in body and "\ufffe" not in body and "\uffff" not in body


@pytest.mark.parametrize("text, expected", [("相符", "相符。"), ("相符。", "相符。"), ("相符；", "相符。"),
                                            ("“完成。”", "“完成。”"), ("", "")])
def test_sentence(text, expected):
    assert rtext.sentence(text) == expected


# ---------------------------------------------------------------- context

def test_context_is_plain_formatted_text(sample_report):
    _, _, model, scores, pack = sample_report
    ctx = build_context(model, scores, pack)
    assert ctx == build_context(model, scores, pack)  # pure

    def walk(v, where):
        if isinstance(v, dict):
            for k, x in v.items():
                walk(x, f"{where}.{k}")
        elif isinstance(v, list):
            for i, x in enumerate(v):
                walk(x, f"{where}[{i}]")
        else:
            assert isinstance(v, (str, bool)) or where in (".chart_scores", ".chart_expense"), where
    walk(ctx, "")


def test_context_tolerates_missing_values(tmp_path, data):
    for name in ("payment_count", "stock_prev", "exp_project_desc", "overall_goal", "report_date"):
        data["fields"].pop(name)
    data["tables"]["tbl_units"] = []
    data["tables"]["tbl_key_tasks"] = []
    model, scores, pack = _analyse(tmp_path, data)
    ctx = build_context(model, scores, pack)
    assert "存量资金××万元" in ctx["groups"][1]["subgroups"][0]["indicators"][2]["before"][0]
    assert ctx["staff_paras"] == ["人员编制情况未填报。"]
    assert ctx["report_date"] == ""
    assert "未填报重点工作任务" in str(ctx["groups"])
    spending = ctx["groups"][1]["subgroups"][0]["indicators"][0]["before"][0]
    assert spending.startswith("乐昌市民政局2023年度的指标数共计16,734.87万元")


# ---------------------------------------------------------------- the sample report

def test_six_sections_in_order(doc):
    h1 = [p.text for p in doc.paragraphs if p.style.name == "Heading 1"]
    assert h1 == ["一、部门的基本情况", "二、自评结论", "三、绩效分析", "四、主要绩效", "五、存在问题", "六、改进措施"]


def test_cover(doc):
    texts = [p.text for p in doc.paragraphs[:8]]
    assert texts[0] == "附件4"
    assert texts[1] == "2023年度部门整体支出绩效自评报告"
    assert "部门名称：乐昌市民政局（公章）" in texts
    assert "单位负责人：肖丽萍" in texts and "填报人：肖丽萍" in texts
    assert "联系电话：0751-5560127" in texts and "填报日期：2024年5月20日" in texts
    assert doc.core_properties.title == "2023年度部门整体支出绩效自评报告"


def test_tables_1_to_5_with_the_sample_rows(doc, sample_data):
    captions = [p.text for p in doc.paragraphs if p.style.name == "Caption" and p.text.startswith("表")]
    assert captions == ["表1 部门主要职责", "表2 部门整体支出绩效目标情况", "表3 不同类型支出的支出进度统计表",
                        "表4 2023年乐昌市民政局重点工作完成情况表", "表5 创新性亮点工作加分申报表"]
    t1, t2, t3, t4, t5 = doc.tables
    duties = sample_data["tables"]["tbl_duties"]
    assert [[c.text for c in r.cells] for r in t1.rows[1:]] == [[str(d["序号"]), d["主要职责"]] for d in duties]
    targets = sample_data["tables"]["tbl_targets"]
    assert [r.cells[1].text for r in t2.rows[1:]] == [t["指标内容"] for t in targets]
    assert [r.cells[2].text for r in t2.rows[1:]] == [t["指标值"] for t in targets]
    assert [[c.text for c in r.cells[1:]] for r in t3.rows] == [
        ["", "指标数", "已下达用款计划", "指标结余数", "支出进度"],
        ["金额", "1,013.93", "971.47", "42.46", "95.81%"], ["占比", "6.06%", "7.53%", "1.11%", "-"],
        ["金额", "15,720.94", "11,933.86", "3,787.08", "75.91%"], ["占比", "93.94%", "92.47%", "98.89%", "-"],
        ["金额", "16,734.87", "12,905.33", "3,829.54", "77.12%"], ["占比", "100%", "100%", "100%", "-"]]
    assert [r.cells[0].text for r in t3.rows[1:]] == ["基本支出"] * 2 + ["项目支出"] * 2 + ["总预算"] * 2
    tasks = sample_data["tables"]["tbl_key_tasks"]
    assert [[c.text for c in r.cells] for r in t4.rows[1:]] == [[str(t["序号"]), t["重点工作"], t["进展情况"]]
                                                                for t in tasks]
    assert [[c.text for c in r.cells] for r in t5.rows[1:]] == [
        [str(a["序号"]), a["项目名称"], a["授奖机关"], nf.dot_date(a["授奖时间"]), a["授奖依据"], s]
        for a, s in zip(sample_data["tables"]["tbl_awards"], ["0.5", "1", "1", "1"])]


def test_table_2_types_are_merged_per_group(doc):
    t2 = doc.tables[1]
    first = [r._tr.findall(f"{W}tc")[0] for r in t2.rows[1:]]
    vm = [tc.find(f"{W}tcPr/{W}vMerge") for tc in first]
    states = ["" if v is None else (v.get(f"{W}val") or "continue") for v in vm]
    # 数量 | 质量 ×3 | 时效 | 成本 | 社会效益 ×7
    assert states == ["", "restart", "continue", "continue", "", "", "restart"] + ["continue"] * 6
    assert [c.text for c in t2.columns[0].cells[1:]][:2] == ["数量指标", "质量指标"]


def test_header_rows_repeat_and_tables_are_fully_bordered(doc):
    for t in doc.tables:
        assert t.rows[0]._tr.find(f"{W}trPr/{W}tblHeader") is not None
        borders = t._tbl.tblPr.find(f"{W}tblBorders")
        assert {b.tag.split("}")[1] for b in borders} >= {"top", "left", "bottom", "right", "insideH", "insideV"}


def test_captions_keep_with_their_table(doc):
    body = list(doc.element.body)
    for i, el in enumerate(body):
        if el.tag == f"{W}tbl":
            prev = body[i - 1]
            assert prev.tag == f"{W}p" and prev.find(f"{W}pPr/{W}pStyle").get(f"{W}val") == "Caption"
    assert doc.styles["Caption"].paragraph_format.keep_with_next


def test_every_indicator_paragraph_with_its_score(sample_report, text):
    _, doc, _, scores, pack = sample_report
    paras = [p.text for p in doc.paragraphs]
    groups: dict[str, dict[str, list]] = {}
    for ind in pack.indicators:
        groups.setdefault(ind.level1, {}).setdefault(ind.level2, []).append(ind)
    for gi, (l1, subs) in enumerate(groups.items(), start=1):
        assert f"（{nf.cn_count(gi)}）{l1}（{nf.points(pack.tree[l1])}分）" in paras
        for si, (l2, inds) in enumerate(subs.items(), start=1):
            assert f"{si}.{l2}。" in paras
            for ii, ind in enumerate(inds, start=1):
                if len(inds) > 1:
                    assert f"（{ii}）{ind.name}（{nf.points(ind.points)}分）。" in paras
    expected = [f"该项自评得{nf.points(scores.indicators[i.id])}分。" for i in pack.indicators]
    found = re.findall(r"该项自评得[\d.]+分。", text)
    assert found[:len(expected)] == expected
    assert found[-1] == "该项自评得3.5分。" and len(found) == len(expected) + 1
    assert "5.加减分项。该项自评得3.5分。" in paras


def test_total_score_and_budget_sentence(text):
    assert "部门整体支出绩效自评得分为98.31分，评价等级为“优”。" in text
    assert "全年预算数12,820.47万元，执行数12,820.47万元，完成预算的100%。" in text


#: Figures of the reference report's sections 一、二、三 that the workbook holds, written as the
#: reference writes them.  Compared without thousands separators and spaces (the reference
#: itself writes 1609.96 and 1,609.96; its table writes 16734.87).
REFERENCE_FIGURES = [
    "共有11项", "单位共4个", "四个下属单位", "行政编制人数为18名", "分别为14名、3名、3名和15名", "共计35名",
    "年末实际编制43人", "行政在编14名", "事业编9名", "经费自理事业编13人",
    "总收入12,820.47万元", "一般公共预算财政拨款收入12,539.32万元", "政府性基金预算财政拨款收入281.15万元",
    "支出合计12,820.47万元", "基本支出974.91万元", "7.6%", "人员经费支出916.65万元", "公用经费支出58.26万元",
    "项目支出11,845.56万元", "92.4%", "98.31分", "完成预算的100%",
    "（28分）", "（42分）", "（30分）", "项目占民政局全部项目的100%",
    "172笔", "16,734.87万元", "13,400.96万元", "81.15万元", "495.62万元", "77.12%", "80.08%", "1.81分",
    "1013.93", "971.47", "42.46", "95.81%", "6.06%", "7.53%", "1.11%", "15720.94", "11933.86", "3787.08",
    "75.91%", "93.94%", "92.47%", "98.89%", "16734.87", "12905.33", "3829.54",
    "10,976.12万元", "1,609.96万元", "153.04万元", "14.67%", "757.52万元", "112.53%", "得0分",
    "75.54万元", "5.50万元", "56.20万元", "13.84万元", "67.65万元", "89.56%",
    "207项资产", "333.02万元", "140.33万元", "78.26%", "工勤编制5人", "工勤人员4人",
    "13.85万元", "14.80万元", "93.58%", "50.70万元", "51.00万元", "部门重点工作完成率为100%", "3.5分",
    "0.5", "2023.2.2", "2023.8.10",
]


def _norm(s: str) -> str:
    return re.sub(r"[\s,]", "", s).replace("(", "（").replace(")", "）")


def test_reference_figures_list_is_from_the_reference():
    ref = _norm(REFERENCE.read_text("utf-8").split("四、主要绩效")[0])
    assert len(REFERENCE_FIGURES) >= 40
    missing = [f for f in REFERENCE_FIGURES if _norm(f) not in ref]
    assert not missing


@pytest.mark.parametrize("figure", REFERENCE_FIGURES)
def test_reference_figure_in_report(figure, text):
    norm = _norm(text)
    value = _norm(figure)
    if value in norm:
        return
    # wording may differ around the number: the number itself must appear with the same value
    number = re.findall(r"\d[\d.]*%?", value)
    assert number and all(n in norm for n in number), figure


# ---------------------------------------------------------------- layout and fonts

def test_page_setup_gb9704(doc):
    assert len(doc.sections) == 2  # cover, body
    for s in doc.sections:
        got = (s.page_width, s.page_height, s.top_margin, s.bottom_margin, s.left_margin, s.right_margin)
        want = (Mm(210), Mm(297), Mm(37), Mm(35), Mm(28), Mm(26))
        assert all(abs(g - w) <= 635 for g, w in zip(got, want)), got  # stored in whole twips
        grid = s._sectPr.find(qn("w:docGrid"))
        assert grid.get(qn("w:type")) == "lines" and grid.get(qn("w:linePitch")) in ("579", "580")
    assert doc.settings.odd_and_even_pages_header_footer


def test_page_number_footers(doc):
    cover, body = doc.sections
    assert cover._sectPr.find(qn("w:footerReference")) is None  # no number on the cover
    assert body._sectPr.find(qn("w:pgNumType")).get(qn("w:start")) == "1"
    for footer, align in ((body.footer, "right"), (body.even_page_footer, "left")):
        assert not footer.is_linked_to_previous
        p = footer.paragraphs[0]
        xml = p._p.xml
        assert "PAGE" in "".join(p._p.itertext()) or "PAGE" in xml
        assert p.text.startswith("— ") and p.text.endswith(" —")
        assert p._p.find(f"{W}pPr/{W}jc").get(f"{W}val") == align
        for r in p._p.iter(f"{W}r"):
            f = r.find(f"{W}rPr/{W}rFonts")
            assert f.get(qn("w:eastAsia")) == "宋体"
            assert r.find(f"{W}rPr/{W}sz").get(qn("w:val")) == "28"  # 四号 14 pt


def _rfonts(style_el):
    return style_el.find(f"{W}rPr/{W}rFonts")


@pytest.mark.parametrize("style, face, half_points", [
    ("Normal", "仿宋_GB2312", "32"), ("Heading 1", "黑体", "32"), ("Heading 2", "楷体_GB2312", "32"),
    ("Heading 3", "仿宋_GB2312", "32"), ("Heading 4", "仿宋_GB2312", "32"), ("Title", "方正小标宋简体", "44"),
    ("Footer", "宋体", "28"),
])
def test_style_fonts(doc, style, face, half_points):
    st = doc.styles[style].element
    assert _rfonts(st).get(qn("w:eastAsia")) == face
    assert st.find(f"{W}rPr/{W}sz").get(qn("w:val")) == half_points
    b = st.find(f"{W}rPr/{W}b")
    assert b is None or b.get(qn("w:val")) == "0"


def test_east_asian_fonts_everywhere_and_no_theme_fonts(sample_report):
    path, doc = sample_report[0], sample_report[1]
    styles = doc.styles.element
    default = styles.find(f"{W}docDefaults/{W}rPrDefault/{W}rPr/{W}rFonts")
    assert default.get(qn("w:eastAsia")) == "仿宋_GB2312"
    with zipfile.ZipFile(path) as z:
        xml = z.read("word/styles.xml").decode() + z.read("word/document.xml").decode()
        assert not re.search(r"w:(ascii|hAnsi|eastAsia|cs)Theme=|w:cstheme=", xml)
        assert "word/stylesWithEffects.xml" not in z.namelist()
        fonts = z.read("word/fontTable.xml").decode()
    assert 'w:name="仿宋_GB2312"' in fonts and 'w:altName w:val="仿宋"' in fonts
    runs = [r for r in doc.element.body.iter(f"{W}r") if "".join(t.text or "" for t in r.iter(f"{W}t")).strip()]
    assert runs
    bare = [r for r in runs if r.find(f"{W}rPr/{W}rFonts") is None
            or not r.find(f"{W}rPr/{W}rFonts").get(qn("w:eastAsia"))]
    assert not bare


def test_body_paragraphs_indent_two_characters(doc):
    ind = doc.styles["Normal"].element.find(f"{W}pPr/{W}ind")
    assert ind.get(qn("w:firstLineChars")) == "200"
    for name in ("表格文字", "Caption", "Title"):
        i = doc.styles[name].element.find(f"{W}pPr/{W}ind")
        assert i.get(qn("w:firstLineChars")) == "0"


def test_default_template_is_current():
    assert docx_template.DEFAULT_PATH.exists(), "run: python -m perfxl.report.docx_template"
    assert docx_template.parts(docx_template.build()) == docx_template.parts(docx_template.DEFAULT_PATH.read_bytes())


# ---------------------------------------------------------------- escaping, sandbox, templates

NASTY = "收入&支出<预算>“三公”\"引号\" '单引号' {{ dept_name }} {% if 1 %}x{% endif %} ]]> &amp; 完毕"


def test_clerk_text_comes_out_literally(tmp_path, data):
    row = next(r for r in data["tables"]["tbl_scores"] if r["指标编号"] == "fairness")
    row["评价说明"] = NASTY
    data["tables"]["tbl_narrative"].append({"章节": "六、改进措施", "标题": "<b>四是</b>", "正文": "A&B\tC"})
    data["fields"]["dept_name"] = "乐昌市民政局<&>"
    doc = _report(tmp_path, data)
    text = _all_text(doc)
    assert NASTY + "。该项自评得5分。" in text
    assert "<b>四是</b>A&B C" in text
    assert "部门名称：乐昌市民政局<&>（公章）" in text


def test_clerks_own_score_sentence_is_not_repeated(tmp_path, data):
    row = next(r for r in data["tables"]["tbl_scores"] if r["指标编号"] == "fairness")
    row["评价说明"] = "未见投诉或信访事件，该项自评得 5 分。"
    text = _all_text(_report(tmp_path, data))
    assert "未见投诉或信访事件。该项自评得5分。" in text
    assert text.count("自评得5分") == text.count("该项自评得5分。")


def _template_with(tmp_path: Path, line: str, name: str = "t.docx") -> Path:
    d = Document(docx_template.DEFAULT_PATH)
    d.add_paragraph(line)
    p = tmp_path / name
    d.save(p)
    return p


@pytest.mark.parametrize("expr", [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__ }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ dept_name.__class__.__base__.__subclasses__() }}",
    "{% for c in ().__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    "{{ groups.__class__.__init__.__globals__['os'] }}",
    "{{ 'x' * 10**9 }}",
    "{{ 2**100000000 }}",
    "{{ (((10**60)**60)**60)**60 }}",
    "{{ range(10**9)|list }}",
    "{{ 1/0 }}",
    "{% set _ = groups.append(1) %}",
])
def test_hostile_template_cannot_reach_python(tmp_path, sample_report, expr):
    _, _, model, scores, pack = sample_report
    tpl = _template_with(tmp_path, expr)
    out = tmp_path / "out.docx"
    with pytest.raises(TemplateError) as e:
        render_report(model, scores, out, template=tpl, pack=pack)
    assert "t.docx" in str(e.value)
    assert not out.exists()


def test_unknown_names_are_named_before_anything_is_written(tmp_path, sample_report):
    _, _, model, scores, pack = sample_report
    tpl = _template_with(tmp_path, "{{ 单位地址 }}{{ no_such_field }}")
    out = tmp_path / "out.docx"
    out.write_bytes(b"previous report")
    with pytest.raises(TemplateError) as e:
        render_report(model, scores, out, template=tpl, pack=pack)
    assert "no_such_field" in str(e.value) and "单位地址" in str(e.value)
    assert out.read_bytes() == b"previous report"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".~")] == []


@pytest.mark.parametrize("make, words", [
    (lambda p: None, "不存在"),
    (lambda p: p.write_bytes(b"not a zip"), "不是 Word"),
    (lambda p: zipfile.ZipFile(p, "w").writestr("x.txt", "x"), "不是 Word"),
    (lambda p: p.write_bytes(docx_template.DEFAULT_PATH.read_bytes()[:2000]), "不是 Word"),
    (lambda p: zipfile.ZipFile(p, "w").writestr("word/document.xml", "<w:document/>"), "无法作为 Word 文档打开"),
], ids=["missing", "not-zip", "zip-not-docx", "truncated", "no-package-parts"])
def test_broken_template_files(tmp_path, sample_report, make, words):
    _, _, model, scores, pack = sample_report
    tpl = tmp_path / "模板.docx"
    make(tpl)
    with pytest.raises(TemplateError) as e:
        render_report(model, scores, tmp_path / "out.docx", template=tpl, pack=pack)
    assert words in str(e.value) and "模板.docx" in str(e.value)


def test_template_syntax_error(tmp_path, sample_report):
    _, _, model, scores, pack = sample_report
    tpl = _template_with(tmp_path, "{{ dept_name ")
    with pytest.raises(TemplateError, match="语法错误"):
        render_report(model, scores, tmp_path / "out.docx", template=tpl, pack=pack)


def test_restyled_template_keeps_the_words(tmp_path, sample_report):
    """A bureau restyles the default template (other body size, other heading face) in Word."""
    _, _, model, scores, pack = sample_report
    d = Document(docx_template.DEFAULT_PATH)
    d.styles["Normal"].font.size = Pt(15)
    rf = d.styles["Heading 1"].element.find(f"{W}rPr/{W}rFonts")
    rf.set(qn("w:eastAsia"), "方正黑体_GBK")
    d.add_paragraph("评价等级：{{ grade }}；基础得分 {{ score_base }} 分；支出进度 {{ rates.rate_spending }}。")
    tpl = tmp_path / "局模板.docx"
    d.save(tpl)
    out = render_report(model, scores, tmp_path / "out.docx", template=tpl, pack=pack)
    got = Document(out)
    assert got.styles["Normal"].font.size == Pt(15)
    assert "评价等级：优；基础得分 94.81 分；支出进度 77.12%。" in [p.text for p in got.paragraphs]


def test_output_is_atomic_and_replaces(tmp_path, sample_report):
    _, _, model, scores, pack = sample_report
    out = tmp_path / "r.docx"
    out.write_bytes(b"old")
    render_report(model, scores, out, pack=pack)
    assert zipfile.is_zipfile(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.docx"]


# ---------------------------------------------------------------- another rule pack

def test_another_pack_numbers_from_its_own_tree(tmp_path, data):
    pack = rulepack.load(ALT_PACK)
    # the sample's manual notes belong to the default pack; give the alt pack's manual rows text
    data["tables"]["tbl_scores"] = [{"指标编号": "budget_quality", "自评得分": 11, "评价说明": "预算编制较好。"},
                                    {"指标编号": "target_quality", "自评得分": 9, "评价说明": ""},
                                    {"指标编号": "satisfaction", "自评得分": 10, "评价说明": "满意度高。"}]
    model, scores, pack = _analyse(tmp_path, data, pack)
    doc = Document(render_report(model, scores, tmp_path / "alt.docx", pack=pack))
    paras = [p.text for p in doc.paragraphs]
    assert [p.text for p in doc.paragraphs if p.style.name == "Heading 2"][3:] == ["（一）投入（30分）", "（二）过程（40分）",
                                                                   "（三）产出效益（30分）"]
    assert "1.资金管理。" in paras and "（1）预算执行率（10分）。" in paras
    text = _all_text(doc)
    # not the reference pack: each automatic indicator states its formula, inputs and result, then the rule
    assert pack.report_wording == "explained"
    assert ("支出进度·总预算（部门预算资金支出率） =（已下达用款计划·基本支出971.47万元 + 已下达用款计划·项目支出"
            "11,933.86万元）÷（指标数·基本支出1,013.93万元 + 指标数·项目支出15,720.94万元）= 77.12%。") in text
    assert "按评分标准，支出进度·总预算（部门预算资金支出率）高于60%、不超过80%，得4分。" in text
    assert "含应付未付支出进度达 80%：支出进度（含应付未付）80.08%，达到80%，得2分" in text  # a check of 节约与执行
    assert "支出进度·基本支出 = 已下达用款计划·基本支出971.47万元 ÷ 指标数·基本支出1,013.93万元 = 95.81%。" in text
    assert "年度的指标数共计" not in text  # the reference report's sentence belongs to the reference pack
    captions = [p.text for p in doc.paragraphs if p.style.name == "Caption" and p.text.startswith("表")]
    assert captions[2:] == ["表3 不同类型支出的支出进度统计表", "表4 2023年乐昌市民政局重点工作完成情况表",
                            "表5 创新性亮点工作加分申报表"]
    assert f"该项自评得{nf.points(scores.indicators['spend_bands'])}分。" in text
    last = [p for p in paras if "加减分项" in p]
    assert last == [f"3.加减分项。该项自评得{nf.points(scores.score_bonus)}分。"]


def test_scores_of_another_pack_need_that_pack(tmp_path, data):
    from perfxl.errors import PerfxlError

    model, scores, _ = _analyse(tmp_path, data, rulepack.load(ALT_PACK))
    with pytest.raises(PerfxlError, match="test-county-alt-2024"):
        render_report(model, scores, tmp_path / "r.docx")


# ---------------------------------------------------------------- charts

needs_cjk_font = pytest.mark.skipif(rcharts.cjk_font_file() is None, reason="no CJK font for the charts")


@needs_cjk_font
def test_charts_are_on_by_default_and_optional(tmp_path, sample_report):
    _, doc, model, scores, pack = sample_report
    assert len(doc.inline_shapes) == 2
    captions = [p.text for p in doc.paragraphs if p.style.name == "Caption"]
    assert "图1 部门支出构成" in captions and "图2 各一级指标得分情况" in captions
    for shape in doc.inline_shapes:
        assert round(shape.width.mm) == 150
    plain = Document(render_report(model, scores, tmp_path / "a.docx", pack=pack, charts=False))
    assert len(plain.inline_shapes) == 0
    assert not [p.text for p in plain.paragraphs if p.text.startswith("图")]


@needs_cjk_font
def test_chart_pngs(sample_report):
    from PIL import Image

    charts = rcharts
    _, _, model, scores, pack = sample_report
    pngs = charts.render_all(context.chart_data(model, scores, pack))
    assert set(pngs) == {"chart_expense", "chart_scores"}
    for png in pngs.values():
        im = Image.open(io.BytesIO(png))
        assert im.format == "PNG" and im.mode == "P" and im.width == charts.WIDTH * charts.SCALE
        assert 300 <= im.height <= 600 and round(im.info["dpi"][0]) == charts.DPI
        colours = {c for _, c in im.convert("RGB").getcolors(1 << 16)}
        assert charts.INK in colours and (255, 255, 255) in colours
    assert charts.render_all(context.chart_data(model, scores, pack)) == pngs  # deterministic
    assert charts.expense_chart([("人员经费", 0.0), ("公用经费", 0.0)]) is None
    assert charts.score_chart([]) is None
    # odd data draws without failing: a long name, a negative amount, a score above its points
    assert charts.score_chart([("一个非常非常非常非常非常长的一级指标名称", 12.5, 10.0), ("短", -1, 0)])
    assert charts.expense_chart([("人员经费", -5.0), ("项目支出", 10.004)])


def test_chart_font_can_be_named(monkeypatch):
    """PERFXL_CHART_FONT names the font file when none of the usual places has one."""
    found = rcharts.cjk_font_file()
    others = [p for p in ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",) if Path(p).exists()]
    if found is None or not others:
        pytest.skip("needs two CJK fonts")
    try:
        monkeypatch.setenv("PERFXL_CHART_FONT", others[0])
        rcharts.forget_font()
        assert rcharts.cjk_font_file() == (others[0], 0)
        assert rcharts.cjk_font() == "WenQuanYi Zen Hei"
        assert rcharts.score_chart([("预算编制情况", 28.0, 28.0)]).startswith(b"\x89PNG")
        monkeypatch.setenv("PERFXL_CHART_FONT", "/nonexistent.ttf")
        monkeypatch.setattr(rcharts, "FONT_FILES", ())
        monkeypatch.setattr(rcharts, "_fontconfig_files", lambda: [])
        monkeypatch.setattr(rcharts, "_matplotlib_files", lambda: [])
        rcharts.forget_font()
        assert rcharts.cjk_font_file() is None and rcharts.render_all({"groups": [("a", 1, 2)]}) == {}
    finally:
        monkeypatch.undo()
        rcharts.forget_font()
    assert rcharts.cjk_font_file() == found


def test_charts_do_not_need_matplotlib():
    import subprocess
    import sys

    code = ("import sys; sys.modules['matplotlib'] = None\n"
            "from perfxl.report import charts\n"
            "charts.score_chart([('预算编制情况', 28.0, 28.0)])\n"
            "charts.expense_chart([('人员经费', 1.0)])\n"
            "assert not [m for m in sys.modules if m.startswith('matplotlib') and sys.modules[m]]")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_chart_data(sample_report):
    _, _, model, scores, pack = sample_report
    d = context.chart_data(model, scores, pack)
    assert d["groups"] == [("预算编制情况", 28.0, 28.0), ("预算执行情况", 36.81, 42.0), ("资金使用效益", 30.0, 30.0)]
    assert [v for _, v in d["expense"]] == [916.65, 58.26, 11845.56]


# ---------------------------------------------------------------- render module directly

def test_undeclared_lists_only_missing_names(sample_report):
    _, _, model, scores, pack = sample_report
    ctx = build_context(model, scores, pack)
    assert render.undeclared(None, ctx) == set()
    smaller = dict(ctx)
    del smaller["awards_heading"]
    assert render.undeclared(None, smaller) == {"awards_heading"}


def test_render_bytes_is_a_docx(sample_report):
    _, _, model, scores, pack = sample_report
    data = render.render_bytes(build_context(model, scores, pack))
    assert Document(io.BytesIO(data)).paragraphs[1].text == "2023年度部门整体支出绩效自评报告"


# ---------------------------------------------------------------- the cached fast path

def _picture_template(tmp_path: Path) -> Path:
    """The default template with a chart in a footer too (a picture in another part)."""
    d = Document(docx_template.DEFAULT_PATH)
    d.sections[-1].footer.add_paragraph("{{ chart_scores }}")
    d.add_paragraph("评价等级：{{ grade }} & {{ dept_name }}")
    p = tmp_path / "footer-chart.docx"
    d.save(p)
    return p


@pytest.mark.parametrize("with_images", [False, True], ids=["no-charts", "charts"])
@pytest.mark.parametrize("which", ["default", "picture-in-footer"])
def test_fast_path_writes_what_docxtpl_writes(tmp_path, sample_report, which, with_images):
    """render_bytes writes the package itself from cached parts; part for part it is what
    docxtpl's render + python-docx's save make of the same template and context."""
    _, _, model, scores, pack = sample_report
    ctx = build_context(model, scores, pack)
    images = rcharts.render_all(context.chart_data(model, scores, pack)) if with_images else {}
    template = None if which == "default" else _picture_template(tmp_path)
    prep = render.prepared(template)
    assert prep.fast
    fast = render.render_bytes(ctx, template, images)
    slow = render._render_docxtpl(prep, ctx, images, "t.docx")
    with zipfile.ZipFile(io.BytesIO(fast)) as zf, zipfile.ZipFile(io.BytesIO(slow)) as zs:
        assert zf.testzip() is None
        assert zf.namelist() == zs.namelist()
        for name in zs.namelist():
            assert zf.read(name) == zs.read(name), name
    assert docx_template.parts(render.render_bytes(ctx, template, images)) == docx_template.parts(fast)


def test_template_work_is_cached_per_content(tmp_path):
    assert render.prepared(None) is render.prepared(None)
    copy = tmp_path / "copy.docx"
    copy.write_bytes(docx_template.DEFAULT_PATH.read_bytes())
    assert render.prepared(copy) is render.prepared(None)  # same bytes, same work
    other = _template_with(tmp_path, "{{ grade }}")
    assert render.prepared(other) is not render.prepared(None)


@pytest.mark.parametrize("expr", ["{{ chart_scores.tpl }}", "{{ chart_scores._job }}",
                                  "{{ chart_scores.__class__ }}", "{{ chart_scores._png }}"])
def test_charts_expose_nothing_to_templates(tmp_path, sample_report, expr):
    """The picture objects in the context give a template nothing to call (docxtpl's
    InlineImage.tpl would hand it the DocxTemplate, whose save() writes files)."""
    _, _, model, scores, pack = sample_report
    tpl = _template_with(tmp_path, expr)
    with pytest.raises(TemplateError):
        render_report(model, scores, tmp_path / "out.docx", template=tpl, pack=pack)


def test_template_text_with_tabs_and_breaks_still_becomes_structure(tmp_path, sample_report):
    """docxtpl turns a tab / newline in rendered text into w:tab / w:br (resolve_listing); the
    fast path skips that step only when no text holds one."""
    _, _, model, scores, pack = sample_report
    d = Document(docx_template.DEFAULT_PATH)
    d.add_paragraph("甲\t{{ grade }}")
    tpl = tmp_path / "tab.docx"
    d.save(tpl)
    got = Document(render_report(model, scores, tmp_path / "out.docx", template=tpl, pack=pack))
    last = [p for p in got.paragraphs if "优" in p.text][-1]
    assert last._p.xpath(".//w:tab") and last.text == "甲\t优"


# ---------------------------------------------------------------- awkward values, both paths

def _map_text(value, fn):
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, dict):
        return {k: _map_text(v, fn) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_map_text(v, fn) for v in value)
    return value


_AWKWARD = {
    "plain": lambda s: s,
    "quotes-and-markup-characters": lambda s: f"“{s}” 'a' \"b\" & <c> ]]>",
    "empty-text": lambda s: "",
    "ideographic-spaces": lambda s: "\u3000" if s.endswith("类") else s,
    "escaped-braces": lambda s: s + "{_{ x }_} {_% y %_}",
    "line-breaks-and-tabs": lambda s: s + "\n甲\t乙",
    "control-characters": lambda s: s + "\x0b\r",
    "emoji": lambda s: s + "😀",
}


@pytest.mark.parametrize("which", ["default", "picture-in-footer", "text-before-chart"])
@pytest.mark.parametrize("awkward", sorted(_AWKWARD))
def test_awkward_values_render_as_docxtpl_renders_them(tmp_path, sample_report, which, awkward):
    """The package render_bytes writes is docxtpl's own render + save, part for part, for text
    that needs escaping, empty cells (merged or collapsed), docxtpl's escaped braces, breaks,
    tabs and control characters."""
    _, _, model, scores, pack = sample_report
    plain = build_context(model, scores, pack)
    ctx = _map_text(plain, _AWKWARD[awkward])
    ctx.update(dept_name=plain["dept_name"], title=plain["title"])  # core properties refuse control characters
    images = rcharts.render_all(context.chart_data(model, scores, pack))
    template = {"default": None, "picture-in-footer": _picture_template(tmp_path),
                "text-before-chart": _template_with(tmp_path, "图：{{ chart_scores }}")}[which]
    prep = render.prepared(template)
    assert prep.fast
    fast = render.render_bytes(ctx, template, images)
    slow = render._render_docxtpl(prep, ctx, images, "t.docx")
    with zipfile.ZipFile(io.BytesIO(fast)) as zf, zipfile.ZipFile(io.BytesIO(slow)) as zs:
        assert zf.namelist() == zs.namelist()
        for name in zs.namelist():
            assert zf.read(name) == zs.read(name), name


def test_markup_values_are_not_escaped_twice(sample_report):
    """A value that is already markup is written as such."""
    from markupsafe import Markup

    _, _, model, scores, pack = sample_report
    ctx = build_context(model, scores, pack)
    ctx["dept_name"] = Markup("甲&amp;乙")
    assert "甲&amp;乙".encode() in docx_template.parts(render.render_bytes(ctx))["word/document.xml"]


@pytest.mark.parametrize("line", ["{% set d = dept_name %}{{ d }}", "{{ dept_name|upper }}",
                                  "{{ dept_name ~ '乙' }}"])
def test_templates_with_statements_and_filters_render_as_docxtpl(tmp_path, sample_report, line):
    """Statements, filters and expressions render as docxtpl would."""
    _, _, model, scores, pack = sample_report
    ctx = build_context(model, scores, pack)
    template = _template_with(tmp_path, line)
    prep = render.prepared(template)
    assert prep.fast
    fast = render.render_bytes(ctx, template)
    slow = render._render_docxtpl(prep, ctx, {}, "t.docx")
    with zipfile.ZipFile(io.BytesIO(fast)) as zf, zipfile.ZipFile(io.BytesIO(slow)) as zs:
        for name in zs.namelist():
            assert zf.read(name) == zs.read(name), name
