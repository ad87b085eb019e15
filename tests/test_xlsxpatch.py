"""Tests of perfxl.xlsx (through perfxl.edits): XML-level edits that keep everything else of a workbook intact.

Workbooks are built in code with openpyxl (image, chart, comments, data validation, table,
defined names). LibreOffice checks run in ONE soffice call for all scenarios (module fixture
``lo``): it recalculates every formula (so wrong cached values get corrected) and a successful
conversion shows the file is not corrupt.
"""
from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import statistics
import sys
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest
import python_calamine
from lxml import etree
from openpyxl.chart import BarChart, Reference
from openpyxl.comments import Comment
from openpyxl.drawing.image import Image as XLImage
from openpyxl.styles import Font, PatternFill
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.table import Table, TableStyleInfo

from perfxl.errors import PerfxlError, WorkbookError
from perfxl.testing.libreoffice import recalculate, soffice_available
from perfxl.edits import (
    ClearMarks,
    ClearSheet,
    DefineName,
    DeleteSheet,
    EnsureSheet,
    Hyperlink,
    InvalidEditError,
    MarkCell,
    ResizeTable,
    SetCell,
    SheetNotFoundError,
    apply_edits,
    apply_edits_bytes,
)

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
SITE = Path(openpyxl.__file__).resolve().parent.parent
XLSM_BASES = [
    SITE / "pyopenvba" / "_templates" / "blank_files" / "blank_workbook.xlsm",
    SITE / "xlwings" / "quickstart.xlsm",
]

needs_lo = pytest.mark.skipif(not soffice_available(), reason="LibreOffice (soffice) not installed")


# ------------------------------------------------------------------------------------------
# Building workbooks
# ------------------------------------------------------------------------------------------


def _png() -> io.BytesIO:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (24, 16), (200, 30, 30)).save(buf, "PNG")
    buf.seek(0)
    return buf


def make_workbook(path: Path) -> Path:
    """A small perfxl-like workbook with everything the engine must not disturb."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "评分表"
    ws["A1"] = "部门整体支出绩效自评"
    ws.merge_cells("A1:C1")
    ws["A2"] = "部门名称"
    ws["B2"] = "乐昌市民政局"
    ws["B2"].comment = Comment("请填写全称", "审核人")
    headers = ["指标编号", "一级指标", "二级指标", "三级指标", "分值", "评分方式", "计算值", "自评得分", "评价说明"]
    for i, h in enumerate(headers, start=1):
        ws.cell(row=4, column=i, value=h)
    ws.append(["spending_rate", "预算执行情况", "资金管理", "部门预算资金支出率", 3, "自动", None, None, None])
    ws.append(["carryover_rate", "预算执行情况", "资金管理", "结转结余率", 3, "自动", None, None, None])
    ws["H5"].fill = PatternFill("solid", fgColor="FFDDEEFF")
    ws["H5"].number_format = "0.00"
    ws["I5"].font = Font(bold=True)
    tbl = Table(displayName="tbl_scores", ref="A4:I6")
    tbl.tableStyleInfo = TableStyleInfo(name="TableStyleMedium9", showRowStripes=True)
    ws.add_table(tbl)
    dv = DataValidation(type="list", formula1='"自动,人工"', allow_blank=True)
    ws.add_data_validation(dv)
    dv.add("F5:F6")

    ws2 = wb.create_sheet("预算执行")
    ws2["B7"], ws2["C7"] = "执行数", 12820.47
    ws2["B8"], ws2["C8"] = "指标数", 16734.87
    ws2.add_image(XLImage(_png()), "E2")
    chart = BarChart()
    chart.add_data(Reference(ws2, min_col=3, min_row=7, max_row=8))
    ws2.add_chart(chart, "E10")

    ws3 = wb.create_sheet("参数")
    ws3["A1"], ws3["B1"] = "满分", 100
    wb.defined_names["budget_executed"] = DefinedName("budget_executed", attr_text="'预算执行'!$C$7")
    wb.defined_names["quota_total"] = DefinedName("quota_total", attr_text="'预算执行'!$C$8")
    ws3.defined_names["local_full"] = DefinedName("local_full", attr_text="'参数'!$B$1")
    wb.save(path)
    return path


def parts(path_or_bytes) -> dict[str, bytes]:
    data = path_or_bytes if isinstance(path_or_bytes, bytes) else Path(path_or_bytes).read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: z.read(n) for n in z.namelist()}


def raw_entries(path: Path) -> dict[str, tuple[int, int, int, bytes]]:
    """name -> (method, crc, size, compressed bytes) straight from the zip."""
    data = Path(path).read_bytes()
    out = {}
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for i in z.infolist():
            off = i.header_offset
            n = int.from_bytes(data[off + 26 : off + 28], "little")
            m = int.from_bytes(data[off + 28 : off + 30], "little")
            start = off + 30 + n + m
            out[i.filename] = (i.compress_type, i.CRC, i.file_size, data[start : start + i.compress_size])
    return out


def c14n(xml: bytes) -> bytes:
    return etree.tostring(etree.fromstring(xml), method="c14n")


def assert_same_package(a: dict[str, bytes], b: dict[str, bytes], *, ignore: tuple[str, ...] = ()) -> None:
    assert sorted(a) == sorted(b)
    for name in a:
        if name in ignore:
            continue
        if a[name] == b[name]:
            continue
        assert name.endswith((".xml", ".rels", ".vml")), name
        assert c14n(a[name]) == c14n(b[name]), name


def sheet_xml(path: Path, sheet: str) -> etree._Element:
    wb = openpyxl.load_workbook(path, read_only=True)
    idx = wb.sheetnames.index(sheet)
    wb.close()
    with zipfile.ZipFile(path) as z:
        wbx = etree.fromstring(z.read("xl/workbook.xml"))
        rels = etree.fromstring(z.read("xl/_rels/workbook.xml.rels"))
        rid = wbx.findall(".//m:sheet", NS)[idx].get("{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id")
        target = next(r.get("Target") for r in rels if r.get("Id") == rid)
        target = target.lstrip("/") if target.startswith("/") else "xl/" + target
        return etree.fromstring(z.read(target))


def calamine(path: Path, sheet: str) -> list[list]:
    """Cached values of a sheet as a grid anchored at A1 (calamine starts at the first used cell)."""
    sh = python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet)
    r0, c0 = sh.start
    return [[""] * c0 + row for row in [[]] * r0 + sh.to_python()]


def cal(rows: list[list], ref: str):
    """Value of cell ``ref`` (single-letter column) in a :func:`calamine` grid; "" if empty."""
    col = ord(ref[0]) - 64
    row = int(ref[1:])
    try:
        return rows[row - 1][col - 1]
    except IndexError:
        return ""


def rewrite_zip(src: Path, dst: Path, changes: dict[str, bytes | None]) -> Path:
    """Copy a zip, replacing (bytes) or dropping (None) some entries, appending new ones."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        seen = set()
        for info in zin.infolist():
            seen.add(info.filename)
            if info.filename in changes:
                if changes[info.filename] is not None:
                    zout.writestr(info, changes[info.filename])
            else:
                zout.writestr(info, zin.read(info))
        for name, data in changes.items():
            if name not in seen and data is not None:
                zout.writestr(name, data)
    return dst


# ------------------------------------------------------------------------------------------
# Scenarios (shared by the plain tests and the single LibreOffice run)
# ------------------------------------------------------------------------------------------

VALUE_EDITS = [
    SetCell("评分表", "G5", 0.7712),
    SetCell("评分表", "I5", "=SUM(A1) 不是公式"),
    SetCell("评分表", "I6", '  <b>&"引号"\'  \n第二行'),
    SetCell("评分表", "J5", "控制\x01字符_x0041_"),
    SetCell("评分表", "K5", True),
    SetCell("评分表", "L5", dt.date(2024, 5, 20)),
    SetCell("评分表", "M5", dt.datetime(2024, 5, 20, 12, 0)),
    SetCell("评分表", "B2", None),  # clears the value, keeps the cell's style/comment
    # Formulas with deliberately WRONG cached values: LibreOffice must recompute them.
    SetCell("评分表", "H5", 999, formula="ROUND(budget_executed/quota_total*3,2)"),
    SetCell("评分表", "H6", "错", formula='IF(\'预算执行\'!C7>0,"达标","未达标")'),
    SetCell("评分表", "H7", 0, formula="'预算执行'!C9*2"),
    SetCell("预算执行", "C9", 21),
    SetCell("评分表", "H8", "", formula='IF(1>2,"x","")'),
    SetCell("评分表", "H9", False, formula="AND(quota_total>budget_executed,1<2)"),
    SetCell("评分表", "H10", "#DIV/0!", formula="1/0"),
    SetCell("评分表", "H11", 5, formula="=2+3", style_from="H5"),
    SetCell("评分表", "A3", 1),  # a new row between existing rows 2 and 4
    SetCell("评分表", "Z1", "右"),  # a new cell after existing cells of row 1
    DefineName("score_total", "'评分表'!$H$5"),
    SetCell("参数", "B2", 7, formula="score_total+0"),
]


def scenario_values(d: Path) -> Path:
    src = make_workbook(d / "values_src.xlsx")
    apply_edits(src, d / "values.xlsx", VALUE_EDITS)
    return d / "values.xlsx"


MARKS = [
    MarkCell("评分表", "B2", "部门名称与预算批复不一致", "错误"),  # cell with a clerk's note
    MarkCell("评分表", "H5", "得分超过分值", "警告"),
    MarkCell("评分表", "H5", "计算值缺失", "错误"),  # same cell again: combined, most severe
    MarkCell("评分表", "Q40", "空白单元格也能标记", "提示"),
    MarkCell("预算执行", "C7", "执行数 < 指标数 & 需说明", "提示"),  # sheet with image+chart, no notes
]


def scenario_marks(d: Path) -> tuple[Path, Path, Path]:
    src = make_workbook(d / "marks_src.xlsx")
    apply_edits(src, d / "marked.xlsx", MARKS)
    apply_edits(d / "marked.xlsx", d / "cleared.xlsx", [ClearMarks()])
    return src, d / "marked.xlsx", d / "cleared.xlsx"


def scenario_sheets(d: Path) -> tuple[Path, Path, Path]:
    src = make_workbook(d / "sheets_src.xlsx")
    apply_edits(src, d / "ensured.xlsx", [EnsureSheet("_perfxl", hidden=True, position=1), SetCell("_perfxl", "A1", "内部")])
    apply_edits(src, d / "deleted.xlsx", [DeleteSheet("预算执行")])
    return src, d / "ensured.xlsx", d / "deleted.xlsx"


SHARED_SHEET = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="A1:B3"/>'
    "<sheetData>"
    '<row r="1"><c r="A1"><v>1</v></c><c r="B1"><f t="shared" ref="B1:B3" si="0">A1*2</f><v>2</v></c></row>'
    '<row r="2"><c r="A2"><v>2</v></c><c r="B2"><f t="shared" si="0"/><v>4</v></c></row>'
    '<row r="3"><c r="A3"><v>3</v></c><c r="B3"><f t="shared" si="0"/><v>6</v></c></row>'
    "</sheetData></worksheet>"
)


def scenario_shared(d: Path) -> Path:
    wb = openpyxl.Workbook()
    wb.active.title = "共享"
    wb.save(d / "shared_base.xlsx")
    src = rewrite_zip(d / "shared_base.xlsx", d / "shared_src.xlsx", {"xl/worksheets/sheet1.xml": SHARED_SHEET.encode()})
    apply_edits(src, d / "shared.xlsx", [SetCell("共享", "B1", 100, formula="A1*100")])
    return d / "shared.xlsx"


def first_sheet(path: Path) -> str:
    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        return wb.sheetnames[0]
    finally:
        wb.close()


def scenario_xlsm(d: Path, base: Path) -> Path:
    src = d / f"{base.stem}_src.xlsm"
    shutil.copyfile(base, src)
    out = d / f"{base.stem}_out.xlsm"
    sheet = first_sheet(src)
    apply_edits(
        src,
        out,
        [
            SetCell(sheet, "A1", 3),
            SetCell(sheet, "B1", 0, formula="A1*2"),
            MarkCell(sheet, "A1", "宏工作簿中的标记"),
            EnsureSheet("评分表"),
            SetCell("评分表", "A1", "新表"),
            DefineName("score_total", f"'{sheet}'!$B$1"),
        ],
    )
    return out


@pytest.fixture(scope="module")
def lo(tmp_path_factory):
    """Every scenario's outputs, recalculated by LibreOffice in one soffice call."""
    if not soffice_available():
        pytest.skip("LibreOffice (soffice) not installed")
    d = tmp_path_factory.mktemp("lo_in")
    files = {"values": scenario_values(d)}
    _, files["marked"], files["cleared"] = scenario_marks(d)
    _, files["ensured"], files["deleted"] = scenario_sheets(d)
    files["shared"] = scenario_shared(d)
    for base in XLSM_BASES:
        if base.exists():
            files[base.stem] = scenario_xlsm(d, base)
    outs = recalculate(list(files.values()), tmp_path_factory.mktemp("lo_out"))
    return dict(zip(files, outs))


# ------------------------------------------------------------------------------------------
# Values and formulas
# ------------------------------------------------------------------------------------------


def test_values_and_formulas_read_back(tmp_path):
    out = scenario_values(tmp_path)
    rows = calamine(out, "评分表")
    assert cal(rows, "G5") == pytest.approx(0.7712)
    assert cal(rows, "I5") == "=SUM(A1) 不是公式"
    assert cal(rows, "I6") == '  <b>&"引号"\'  \n第二行'
    assert cal(rows, "J5") == "控制\x01字符_x0041_"
    assert cal(rows, "K5") is True
    assert cal(rows, "B2") == ""
    # cached values as written
    assert cal(rows, "H5") == 999
    assert cal(rows, "H6") == "错"
    assert cal(rows, "H8") == ""
    assert cal(rows, "H9") is False
    assert cal(rows, "H11") == 5
    assert cal(rows, "A3") == 1
    assert cal(rows, "Z1") == "右"

    wb = openpyxl.load_workbook(out)
    ws = wb["评分表"]
    assert ws["H5"].value == "=ROUND(budget_executed/quota_total*3,2)"
    assert ws["H6"].value == '=IF(\'预算执行\'!C7>0,"达标","未达标")'
    assert ws["H9"].value == "=AND(quota_total>budget_executed,1<2)"
    assert ws["H11"].value == "=2+3"
    assert ws["I5"].value == "=SUM(A1) 不是公式" and ws["I5"].data_type == "s"
    assert ws["L5"].value == 45432  # a date is its serial number; the cell's number format shows it
    assert ws["B2"].comment is not None and ws["B2"].comment.text == "请填写全称"
    # style kept / copied
    assert ws["H5"].fill.fgColor.rgb == "FFDDEEFF" and ws["H5"].number_format == "0.00"
    assert ws["H11"].number_format == "0.00"
    assert ws["I5"].font.b
    assert wb["参数"]["B2"].value == "=score_total+0"
    assert wb.defined_names["score_total"].attr_text == "'评分表'!$H$5"
    cached = openpyxl.load_workbook(out, data_only=True)["评分表"]
    assert cached["H10"].value == "#DIV/0!"

    x = sheet_xml(out, "评分表")
    cells = {c.get("r"): c for c in x.iterfind(".//m:c", NS)}
    assert cells["H8"].get("t") == "str" and cells["H8"].find("m:v", NS).text is None
    raw = parts(out)["xl/worksheets/sheet1.xml"]
    assert re.search(rb'<c r="H8"[^>]*t="str"><f>IF\(1&gt;2,"x",""\)</f><v></v></c>', raw)
    assert cells["H5"].get("t") is None and cells["H5"].findtext("m:v", namespaces=NS) == "999"
    assert cells["H9"].get("t") == "b" and cells["H10"].get("t") == "e"
    assert cells["I5"].get("t") == "inlineStr" and cells["I5"].find("m:f", NS) is None
    assert cells["L5"].findtext("m:v", namespaces=NS) == "45432"
    assert cells["M5"].findtext("m:v", namespaces=NS) == "45432.5"
    assert cells["H11"].get("s") == cells["H5"].get("s") != None  # noqa: E711
    # rows and cells in sorted order; dimension widened
    rownums = [int(r.get("r")) for r in x.iterfind(".//m:row", NS)]
    assert rownums == sorted(rownums) and 3 in rownums
    row1 = [c.get("r") for c in x.find(".//m:row[@r='1']", NS)]
    assert row1[-1] == "Z1"
    assert x.find("m:dimension", NS).get("ref") == "A1:Z11"
    wbx = etree.fromstring(parts(out)["xl/workbook.xml"])
    assert wbx.find("m:calcPr", NS).get("fullCalcOnLoad") == "1"


def test_formula_text_is_escaped_in_xml(tmp_path):
    src = make_workbook(tmp_path / "src.xlsx")
    data = apply_edits_bytes(src.read_bytes(), [SetCell("评分表", "A9", "a", formula='IF(A1<>"<&>","x"&"y","")')])
    xml = parts(data)["xl/worksheets/sheet1.xml"]
    assert b'<f>IF(A1&lt;&gt;"&lt;&amp;&gt;","x"&amp;"y","")</f>' in xml


@needs_lo
def test_libreoffice_recalculates_wrong_cached_values(lo):
    rows = calamine(lo["values"], "评分表")
    assert cal(rows, "H5") == pytest.approx(round(12820.47 / 16734.87 * 3, 2))  # was cached 999
    assert cal(rows, "H6") == "达标"  # Chinese sheet name, was cached "错"
    assert cal(rows, "H7") == 42  # cell written in the same batch on another sheet
    assert cal(rows, "H9") is True  # defined names, was cached False
    assert cal(rows, "H11") == 5
    assert cal(rows, "I5") == "=SUM(A1) 不是公式"  # still text after a real spreadsheet opened it
    assert cal(calamine(lo["values"], "参数"), "B2") == pytest.approx(cal(rows, "H5"))  # new defined name


def test_calc_chain_removed(tmp_path):
    src = make_workbook(tmp_path / "src.xlsx")
    p = parts(src)
    rels = p["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>",
        b'<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/calcChain" Target="calcChain.xml"/></Relationships>',
    )
    ct = p["[Content_Types].xml"].replace(
        b"</Types>",
        b'<Override PartName="/xl/calcChain.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.calcChain+xml"/></Types>',
    )
    wbx = p["xl/workbook.xml"].replace(b'<calcPr calcId="124519" fullCalcOnLoad="1"/>', b'<calcPr calcId="124519"/>')
    chain = b'<calcChain xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><c r="A1" i="1"/></calcChain>'
    withchain = rewrite_zip(
        src,
        tmp_path / "chain.xlsx",
        {"xl/_rels/workbook.xml.rels": rels, "[Content_Types].xml": ct, "xl/calcChain.xml": chain, "xl/workbook.xml": wbx},
    )
    out = parts(apply_edits_bytes(withchain.read_bytes(), [SetCell("评分表", "H5", 1, formula="1")]))
    assert "xl/calcChain.xml" not in out
    assert b"calcChain" not in out["xl/_rels/workbook.xml.rels"]
    assert b"calcChain" not in out["[Content_Types].xml"]
    assert etree.fromstring(out["xl/workbook.xml"]).find("m:calcPr", NS).get("fullCalcOnLoad") == "1"


def test_shared_formula_master_overwritten(tmp_path):
    out = scenario_shared(tmp_path)
    ws = openpyxl.load_workbook(out)["共享"]
    assert [ws["B1"].value, ws["B2"].value, ws["B3"].value] == ["=A1*100", "=A2*2", "=A3*2"]


@needs_lo
def test_shared_formula_recalculates(lo):
    rows = calamine(lo["shared"], "共享")
    assert [r[1] for r in rows] == [100, 4, 6]


# ------------------------------------------------------------------------------------------
# Preservation
# ------------------------------------------------------------------------------------------


def test_untouched_parts_are_byte_identical(tmp_path):
    src = make_workbook(tmp_path / "src.xlsx")
    before_parts = parts(src)
    before_raw = raw_entries(src)
    assert any(n.startswith("xl/media/") for n in before_parts) and any(n.startswith("xl/charts/") for n in before_parts)
    out = tmp_path / "out.xlsx"
    apply_edits(src, out, [SetCell("评分表", "H5", 2.5, formula="1+1.5"), SetCell("评分表", "I5", "说明")])
    after_parts = parts(out)
    after_raw = raw_entries(out)
    assert list(after_parts) == list(before_parts)  # same entries, same order
    changed = {n for n in before_parts if before_parts[n] != after_parts[n]}
    # openpyxl's workbook already has fullCalcOnLoad="1", so only the sheet changes
    assert changed == {"xl/worksheets/sheet1.xml"}
    for n in before_parts:
        if n not in changed:
            assert after_raw[n] == before_raw[n], n  # same compression method, same compressed bytes
    wb = openpyxl.load_workbook(out)
    ws, ws2 = wb["评分表"], wb["预算执行"]
    assert ws.data_validations.dataValidation[0].formula1 == '"自动,人工"'
    assert str(ws.data_validations.dataValidation[0].sqref) == "F5:F6"
    assert ws.tables["tbl_scores"].ref == "A4:I6"
    assert "A1:C1" in {str(r) for r in ws.merged_cells.ranges}
    assert ws["B2"].comment.text == "请填写全称"
    assert len(ws2._images) == 1 and len(ws2._charts) == 1
    assert set(wb.defined_names) >= {"budget_executed", "quota_total"}
    assert "local_full" in wb["参数"].defined_names


@pytest.mark.parametrize("base", [b for b in XLSM_BASES if b.exists()], ids=lambda p: p.name)
def test_xlsm_keeps_vba(tmp_path, base):
    out = scenario_xlsm(tmp_path, base)
    before, after = parts(base), parts(out)
    assert after["xl/vbaProject.bin"] == before["xl/vbaProject.bin"]
    assert raw_entries(out)["xl/vbaProject.bin"] == raw_entries(base)["xl/vbaProject.bin"]
    assert b"macroEnabled.main+xml" in after["[Content_Types].xml"]
    wb = openpyxl.load_workbook(out, keep_vba=True)
    assert wb.vba_archive is not None and "xl/vbaProject.bin" in wb.vba_archive.namelist()
    first = wb[wb.sheetnames[0]]
    assert first["A1"].value == 3 and first["B1"].value == "=A1*2"
    assert first["A1"].comment is not None and first["A1"].comment.author == "perfxl"
    assert wb["评分表"]["A1"].value == "新表"
    wb.vba_archive.close()
    # app.xml knows the new sheet (Excel-made files carry TitlesOfParts)
    app = etree.fromstring(after["docProps/app.xml"])
    titles = [t.text for t in app.iter("{http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes}lpstr")]
    assert "评分表" in titles
    # ClearMarks gives the same workbook as the same edits without the mark
    src = tmp_path / f"{base.stem}_src.xlsm"
    cleared = apply_edits_bytes(out.read_bytes(), [ClearMarks()])
    sheet = first_sheet(src)
    unmarked = apply_edits_bytes(
        src.read_bytes(),
        [SetCell(sheet, "A1", 3), SetCell(sheet, "B1", 0, formula="A1*2"), EnsureSheet("评分表"),
         SetCell("评分表", "A1", "新表"), DefineName("score_total", f"'{sheet}'!$B$1")],
    )
    assert_same_package(parts(unmarked), parts(cleared))


@needs_lo
def test_libreoffice_opens_every_output(lo):
    for name, path in lo.items():
        assert path.exists() and path.stat().st_size > 0, name
        python_calamine.CalamineWorkbook.from_path(str(path))  # and it is a readable workbook
    for base in XLSM_BASES:
        if base.exists():
            rows = calamine(lo[base.stem], first_sheet(base))
            assert rows[0][:2] == [3, 6]


# ------------------------------------------------------------------------------------------
# Defined names, tables, hyperlinks, sheets
# ------------------------------------------------------------------------------------------


def test_define_name_add_replace_sorted(tmp_path):
    src = make_workbook(tmp_path / "src.xlsx")
    data = apply_edits_bytes(
        src.read_bytes(),
        [
            DefineName("rate_spending", "'评分表'!$G$5"),
            DefineName("budget_executed", "'预算执行'!$C$9"),  # replace
            DefineName("a_first", "=评分表!$A$1"),
        ],
    )
    wbx = etree.fromstring(parts(data)["xl/workbook.xml"])
    names = [(d.get("name"), d.text) for d in wbx.iterfind(".//m:definedName", NS)]
    workbook_scope = [n for n, _ in names if n != "local_full"]
    assert workbook_scope == sorted(workbook_scope, key=str.casefold)
    assert dict(names)["budget_executed"] == "'预算执行'!$C$9"
    assert dict(names)["a_first"] == "评分表!$A$1"
    assert [n for n, _ in names].count("budget_executed") == 1
    # definedNames stays between sheets and calcPr
    order = [etree.QName(e).localname for e in wbx]
    assert order.index("sheets") < order.index("definedNames") < order.index("calcPr")
    for bad in ["A1", "有 空格", "1abc", "R1C1", ""]:
        with pytest.raises(InvalidEditError):
            apply_edits_bytes(src.read_bytes(), [DefineName(bad, "'评分表'!$A$1")])


def test_resize_table(tmp_path):
    src = make_workbook(tmp_path / "src.xlsx")
    out = tmp_path / "out.xlsx"
    apply_edits(src, out, [ResizeTable("tbl_scores", "A4:I31"), SetCell("评分表", "A31", "last")])
    t = openpyxl.load_workbook(out)["评分表"].tables["tbl_scores"]
    assert t.ref == "A4:I31" and t.autoFilter.ref == "A4:I31"
    with pytest.raises(InvalidEditError, match="列"):
        apply_edits_bytes(src.read_bytes(), [ResizeTable("tbl_scores", "A4:J31")])
    with pytest.raises(SheetNotFoundError, match="tbl_nope"):
        apply_edits_bytes(src.read_bytes(), [ResizeTable("tbl_nope", "A1:B2")])


def test_hyperlink(tmp_path):
    src = make_workbook(tmp_path / "src.xlsx")
    out = tmp_path / "out.xlsx"
    apply_edits(
        src,
        out,
        [
            SetCell("评分表", "I5", "见预算执行表"),
            Hyperlink("评分表", "I5", "'预算执行'!C7"),
            Hyperlink("评分表", "I5", "'预算执行'!C8"),  # replaces, never duplicates
        ],
    )
    ws = openpyxl.load_workbook(out)["评分表"]
    assert ws["I5"].hyperlink.location == "'预算执行'!C8"
    x = sheet_xml(out, "评分表")
    assert len(x.findall(".//m:hyperlink", NS)) == 1
    order = [etree.QName(e).localname for e in x]
    assert order.index("dataValidations") < order.index("hyperlinks") < order.index("pageMargins")


def test_ensure_sheet(tmp_path):
    src, ensured, _ = scenario_sheets(tmp_path)
    wb = openpyxl.load_workbook(ensured)
    assert wb.sheetnames == ["评分表", "_perfxl", "预算执行", "参数"]
    assert wb["_perfxl"].sheet_state == "hidden" and wb["_perfxl"]["A1"].value == "内部"
    # the local name of 参数 moved from index 1 to 2 with its sheet
    assert "local_full" in wb["参数"].defined_names
    # existing sheet is kept as it is
    again = apply_edits_bytes(ensured.read_bytes(), [EnsureSheet("_perfxl"), EnsureSheet("评分表", hidden=True)])
    assert parts(again) == parts(ensured)
    with pytest.raises(InvalidEditError):
        apply_edits_bytes(src.read_bytes(), [EnsureSheet("bad/name")])


def test_delete_sheet_removes_everything_pointing_at_it(tmp_path):
    src, _, deleted = scenario_sheets(tmp_path)
    before, after = parts(src), parts(deleted)
    gone = set(before) - set(after)
    assert "xl/worksheets/sheet2.xml" in gone
    assert any(n.startswith("xl/media/") for n in gone) and any(n.startswith("xl/charts/") for n in gone)
    assert any(n.startswith("xl/drawings/drawing") for n in gone)
    assert not set(after) - set(before)
    for n in gone:
        assert ("/" + n).encode() not in after["[Content_Types].xml"], n
    assert b"sheet2.xml" not in after["xl/_rels/workbook.xml.rels"]
    wb = openpyxl.load_workbook(deleted)
    assert wb.sheetnames == ["评分表", "参数"]
    assert wb.defined_names["budget_executed"].attr_text == "#REF!$C$7"
    assert "local_full" in wb["参数"].defined_names  # localSheetId shifted 2 -> 1
    wbx = etree.fromstring(after["xl/workbook.xml"])
    assert wbx.find(".//m:definedName[@name='local_full']", NS).get("localSheetId") == "1"
    with pytest.raises(InvalidEditError, match="可见"):
        apply_edits_bytes(
            src.read_bytes(), [DeleteSheet("评分表"), DeleteSheet("预算执行"), DeleteSheet("参数")]
        )


def test_ensure_then_delete_round_trip(tmp_path):
    src = make_workbook(tmp_path / "src.xlsx")
    data = apply_edits_bytes(src.read_bytes(), [EnsureSheet("临时", hidden=True, position=0), SetCell("临时", "A1", 1)])
    assert openpyxl.load_workbook(io.BytesIO(data)).sheetnames[0] == "临时"
    back = apply_edits_bytes(data, [DeleteSheet("临时")])
    assert_same_package(parts(src), parts(back))


@pytest.mark.parametrize("base", [b for b in XLSM_BASES if b.exists()], ids=lambda p: p.name)
def test_ensure_delete_round_trip_updates_app_xml(tmp_path, base):
    VT = "{http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes}"
    src = base.read_bytes()
    data = apply_edits_bytes(src, [EnsureSheet("新表", position=1)])
    app = etree.fromstring(parts(data)["docProps/app.xml"])
    titles = [t.text for t in app.find(".//{*}TitlesOfParts")[0]]
    wb = openpyxl.load_workbook(base, read_only=True)
    n_before = len(wb.sheetnames)
    wb.close()
    assert titles[1] == "新表" and len(titles) == n_before + 1
    assert app.find(".//{*}TitlesOfParts")[0].get("size") == str(n_before + 1)
    assert app.find(f".//{{*}}HeadingPairs/{VT}vector/{VT}variant[2]/{VT}i4").text == str(n_before + 1)
    back = parts(apply_edits_bytes(data, [DeleteSheet("新表")]))
    # DeleteSheet asks for a recalculation on open; everything else is as before
    wb_back = etree.fromstring(back["xl/workbook.xml"])
    wb_back.find("m:calcPr", NS).attrib.pop("fullCalcOnLoad")
    back["xl/workbook.xml"] = etree.tostring(wb_back)
    assert_same_package(parts(src), back)


def test_clear_sheet(tmp_path):
    src = make_workbook(tmp_path / "src.xlsx")
    data = apply_edits_bytes(src.read_bytes(), [ClearSheet("参数"), SetCell("参数", "C3", "新")])
    ws = openpyxl.load_workbook(io.BytesIO(data))["参数"]
    assert ws["A1"].value is None and ws["B1"].value is None and ws["C3"].value == "新"
    assert etree.fromstring(parts(data)["xl/worksheets/sheet3.xml"]).find("m:dimension", NS).get("ref") == "C3"


# ------------------------------------------------------------------------------------------
# Marks
# ------------------------------------------------------------------------------------------


def test_mark_cells(tmp_path):
    src, marked, _ = scenario_marks(tmp_path)
    wb = openpyxl.load_workbook(marked)
    ws, ws2 = wb["评分表"], wb["预算执行"]
    # the clerk's note keeps its author and text; ours is appended
    assert ws["B2"].comment.author == "审核人"
    assert ws["B2"].comment.text.startswith("请填写全称") and "部门名称与预算批复不一致" in ws["B2"].comment.text
    h5 = ws["H5"].comment
    assert h5.author == "perfxl" and "得分超过分值" in h5.text and "计算值缺失" in h5.text
    assert ws["Q40"].comment.author == "perfxl"
    assert "执行数 < 指标数 & 需说明" in ws2["C7"].comment.text
    # fills are conditional formats; the most severe mark of a cell wins
    sqrefs = {str(cf.sqref): cf.rules[0].formula[0] for cf in ws.conditional_formatting}
    assert sqrefs == {"B2 H5": '"perfxl-error"<>""', "Q40": '"perfxl-info"<>""'}  # H5's 警告 became 错误
    fills = {cf.rules[0].formula[0]: cf.rules[0].dxf.fill.fgColor.rgb for cf in ws.conditional_formatting}
    assert fills['"perfxl-error"<>""'] == "FFFFC7CE"
    assert [str(cf.sqref) for cf in ws2.conditional_formatting] == ["C7"]
    # cell XML (values, style index) untouched by marks
    a, b = sheet_xml(src, "评分表"), sheet_xml(marked, "评分表")
    assert c14n(etree.tostring(a.find("m:sheetData", NS))) == c14n(etree.tostring(b.find("m:sheetData", NS)))
    assert note_shapes(marked.read_bytes(), "评分表") == {(1, 1), (4, 7), (39, 16)}  # one shape per note
    assert note_shapes(marked.read_bytes(), "预算执行") == {(6, 2)}
    # the images and chart of 预算执行 survive next to the new VML drawing
    assert len(ws2._images) == 1 and len(ws2._charts) == 1


def test_clear_marks_restores_original(tmp_path):
    src, marked, cleared = scenario_marks(tmp_path)
    before, after = parts(src), parts(cleared)
    assert_same_package(before, after)
    # parts that marks never touched are byte-identical, not just equivalent
    touched = {n for n in parts(marked) if parts(marked).get(n) != before.get(n)}
    for n in before:
        if n not in touched:
            assert after[n] == before[n], n
    assert list(after) == list(before)
    # and ClearMarks on an unmarked workbook changes nothing at all
    assert parts(apply_edits_bytes(src.read_bytes(), [ClearMarks()])) == before


def test_mark_twice_equals_mark_once(tmp_path):
    src, marked, _ = scenario_marks(tmp_path)
    twice = apply_edits_bytes(marked.read_bytes(), [ClearMarks(), *MARKS])
    assert twice == marked.read_bytes()
    # marks and cell edits in one batch, repeated, are stable too
    batch = [SetCell("评分表", "H5", 2, formula="1+1"), *MARKS[:2]]
    once = apply_edits_bytes(src.read_bytes(), batch)
    assert apply_edits_bytes(once, [ClearMarks(), *batch]) == once


def strip_state_part(marked: Path, dst: Path) -> Path:
    """``marked`` without perfxl's custom XML part (as another program may save it)."""
    p = parts(marked)
    assert "customXml/item1.xml" in p
    rels = re.sub(rb'<Relationship [^>]*customXml/item1.xml"/>', b"", p["xl/_rels/workbook.xml.rels"])
    ct = re.sub(rb'<Override PartName="/customXml/[^>]*/>', b"", p["[Content_Types].xml"])
    return rewrite_zip(
        marked,
        dst,
        {"customXml/item1.xml": None, "customXml/itemProps1.xml": None, "customXml/_rels/item1.xml.rels": None,
         "xl/_rels/workbook.xml.rels": rels, "[Content_Types].xml": ct},
    )


def assert_marks_gone(data: bytes) -> None:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb["评分表"]
    assert ws["H5"].comment is None and ws["Q40"].comment is None and wb["预算执行"]["C7"].comment is None
    assert ws["B2"].comment.text == "请填写全称"
    assert not list(ws.conditional_formatting) and not list(wb["预算执行"].conditional_formatting)


def test_clear_marks_without_state_part(tmp_path):
    """Another program may drop perfxl's custom XML part: marks are still recognised."""
    src, marked, _ = scenario_marks(tmp_path)
    stripped = strip_state_part(marked, tmp_path / "stripped.xlsx")
    data = apply_edits_bytes(stripped.read_bytes(), [ClearMarks()])
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb["评分表"]
    assert ws["H5"].comment is None and ws["Q40"].comment is None and wb["预算执行"]["C7"].comment is None
    assert ws["B2"].comment.text == "请填写全称"  # the clerk's note, without what perfxl appended
    assert not list(ws.conditional_formatting) and not list(wb["预算执行"].conditional_formatting)
    # only the appended dxfs stay behind (unused, harmless): without the state part we cannot
    # prove they are ours
    assert_same_package(parts(src), parts(data), ignore=("xl/styles.xml",))


def test_clear_marks_without_state_part_on_sheets_edited_first(tmp_path):
    """ClearMarks skips sheets whose bytes show no mark; sheets already parsed and edited by
    earlier edits of the batch are still cleared when they carry marks."""
    src, marked, _ = scenario_marks(tmp_path)
    stripped = strip_state_part(marked, tmp_path / "stripped.xlsx").read_bytes()
    edits = [SetCell("评分表", "A3", "x"), SetCell("预算执行", "A1", "y"), ClearMarks()]
    data = apply_edits_bytes(stripped, edits)
    assert_marks_gone(data)
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb["评分表"]["A3"].value == "x" and wb["预算执行"]["A1"].value == "y"
    # on an unmarked workbook the ClearMarks after the edits changes nothing
    clean = src.read_bytes()
    assert apply_edits_bytes(clean, edits) == apply_edits_bytes(clean, edits[:-1])


def test_repeated_workbooks_give_the_same_results(tmp_path):
    """Per-process caches (parsed template parts, deflated payloads, mark scans) only skip
    work: the same input gives the same output however often it is seen, in any order."""
    src, marked, _ = scenario_marks(tmp_path)
    stripped = strip_state_part(marked, tmp_path / "stripped.xlsx").read_bytes()
    clean = src.read_bytes()
    edits_a = [SetCell("评分表", "H5", 3, formula="1+2"), *MARKS[:2]]
    edits_b = [SetCell("评分表", "H5", "text"), DefineName("score_x", "'评分表'!$H$5")]
    first_a = apply_edits_bytes(clean, edits_a)
    first_b = apply_edits_bytes(clean, edits_b)
    first_clear = apply_edits_bytes(clean, [ClearMarks()])
    for _ in range(3):
        assert apply_edits_bytes(clean, edits_a) == first_a
        assert apply_edits_bytes(clean, edits_b) == first_b
        assert apply_edits_bytes(clean, [ClearMarks()]) == first_clear
        assert parts(first_clear) == parts(clean)
        assert_marks_gone(apply_edits_bytes(stripped, [ClearMarks()]))
    assert first_a != first_b


def test_clerk_edits_to_a_marked_note_survive_clear_marks(tmp_path):
    src, marked, _ = scenario_marks(tmp_path)
    p = parts(marked)
    name = "xl/comments/comment1.xml"
    assert "请填写全称" in p[name].decode()
    edited = rewrite_zip(marked, tmp_path / "edited.xlsx", {name: p[name].replace("请填写全称".encode(), "请填写单位全称".encode())})
    data = apply_edits_bytes(edited.read_bytes(), [ClearMarks()])
    assert openpyxl.load_workbook(io.BytesIO(data))["评分表"]["B2"].comment.text == "请填写单位全称"


def test_clear_marks_made_in_excel_by_the_addin(tmp_path):
    """Marks the Excel add-in (perfxl.excel) makes in an open book are plain-text notes and
    conditional formats with the same marker; ClearMarks on the saved file removes them too."""
    from openpyxl.formatting.rule import FormulaRule

    src = make_workbook(tmp_path / "src.xlsx")
    wb = openpyxl.load_workbook(src)
    ws = wb["评分表"]
    ws["B2"].comment = Comment("请填写全称\nperfxl 错误：\n名称不一致", "张三")
    ws["H5"].comment = Comment("perfxl 警告：\n得分超过分值\nperfxl 提示：\n请复核", "张三")
    ws.conditional_formatting.add("H5", FormulaRule(formula=['"perfxl-warning"<>""'], fill=PatternFill("solid", bgColor="FFFFD8A8")))
    ws.conditional_formatting.add("I5", FormulaRule(formula=["I5>0"], fill=PatternFill("solid", bgColor="FF00FF00")))
    wb.save(tmp_path / "excel_marked.xlsx")
    data = apply_edits_bytes((tmp_path / "excel_marked.xlsx").read_bytes(), [ClearMarks()])
    ws = openpyxl.load_workbook(io.BytesIO(data))["评分表"]
    assert ws["B2"].comment.text == "请填写全称"
    assert ws["H5"].comment is None
    assert [r.formula for cf in ws.conditional_formatting for r in cf.rules] == [["I5>0"]]  # the clerk's own rule stays
    assert note_shapes(data, "评分表") == {(1, 1)}  # B2's shape stays, H5's is gone


def note_shapes(data: bytes, sheet: str) -> set[tuple[int, int]]:
    """(row, column), 0-based, of the note shapes in the legacy VML drawing of a sheet."""
    X = "{urn:schemas-microsoft-com:office:excel}"
    p = parts(data)
    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    idx = wb.sheetnames.index(sheet)
    wb.close()
    rels = p[f"xl/worksheets/_rels/sheet{idx + 1}.xml.rels"].decode()
    path = re.search(r'Target="([^"]+\.vml)"', rels).group(1)
    path = path.lstrip("/") if path.startswith("/") else "xl/" + path.replace("../", "")
    vml = etree.fromstring(p[path])
    return {
        (int(cd.findtext(X + "Row")), int(cd.findtext(X + "Column")))
        for cd in vml.iter(X + "ClientData")
        if cd.get("ObjectType") == "Note"
    }


VML_WITH_BUTTON = (
    '<xml xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" '
    'xmlns:x="urn:schemas-microsoft-com:office:excel">\n'
    ' <o:shapelayout v:ext="edit">\n  <o:idmap v:ext="edit" data="3"/>\n </o:shapelayout>'
    '<v:shapetype id="_x0000_t201" coordsize="21600,21600" o:spt="201" path="m,l,21600r21600,l21600,xe">\n'
    '  <v:stroke joinstyle="miter"/>\n  <v:path shadowok="f" o:extrusionok="f" strokeok="f" fillok="f" o:connecttype="rect"/>\n'
    ' </v:shapetype><v:shape id="_x0000_s3073" type="#_x0000_t201" style="position:absolute;width:90pt;height:20pt" '
    'o:button="t" fillcolor="buttonFace [67]" strokecolor="windowText [64]" o:insetmode="auto">\n'
    '  <x:ClientData ObjectType="Button">\n   <x:Anchor>1, 0, 1, 0, 3, 0, 2, 0</x:Anchor>\n'
    '   <x:FmlaMacro>[0]!Run</x:FmlaMacro>\n  </x:ClientData>\n </v:shape></xml>'
)


def test_marks_share_vml_with_form_controls(tmp_path):
    """A sheet whose legacy drawing holds a macro button: notes join that drawing, and leave it."""
    src = make_workbook(tmp_path / "src.xlsx")
    p = parts(src)
    sheet = p["xl/worksheets/sheet3.xml"].replace(
        b"</worksheet>",
        b'<legacyDrawing xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" r:id="rId1"/></worksheet>',
    )
    rels = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/vmlDrawing" '
        b'Target="../drawings/vmlDrawing9.vml"/></Relationships>'
    )
    withbutton = rewrite_zip(
        src,
        tmp_path / "button.xlsx",
        {
            "xl/worksheets/sheet3.xml": sheet,
            "xl/worksheets/_rels/sheet3.xml.rels": rels,
            "xl/drawings/vmlDrawing9.vml": VML_WITH_BUTTON.encode(),
        },
    )
    marked = apply_edits_bytes(withbutton.read_bytes(), [MarkCell("参数", "B1", "满分应为 100")])
    m = parts(marked)
    vml = etree.fromstring(m["xl/drawings/vmlDrawing9.vml"])
    kinds = [s.find("{urn:schemas-microsoft-com:office:excel}ClientData").get("ObjectType") for s in vml.iter("{urn:schemas-microsoft-com:vml}shape")]
    assert kinds == ["Button", "Note"]
    assert sum(1 for _ in etree.fromstring(m["xl/worksheets/sheet3.xml"]).iter("{*}legacyDrawing")) == 1
    assert openpyxl.load_workbook(io.BytesIO(marked))["参数"]["B1"].comment.author == "perfxl"
    cleared = apply_edits_bytes(marked, [ClearMarks()])
    assert_same_package(parts(withbutton), parts(cleared))


def test_unusual_but_valid_sheet_xml(tmp_path):
    """Rows/cells without r= (allowed by the standard), 1904 dates, a prefixed main namespace."""
    wb = openpyxl.Workbook()
    wb.active.title = "表"
    wb.save(tmp_path / "base.xlsx")
    p = parts(tmp_path / "base.xlsx")
    sheet = (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:sheetData>'
        b"<x:row><x:c><x:v>1</x:v></x:c><x:c><x:v>2</x:v></x:c></x:row>"
        b"<x:row><x:c><x:v>3</x:v></x:c></x:row>"
        b'<x:row r="5"><x:c r="B5"><x:v>5</x:v></x:c></x:row>'
        b"</x:sheetData></x:worksheet>"
    )
    wbx = p["xl/workbook.xml"].replace(b"<workbookPr/>", b'<workbookPr date1904="1"/>')
    src = rewrite_zip(tmp_path / "base.xlsx", tmp_path / "src.xlsx", {"xl/worksheets/sheet1.xml": sheet, "xl/workbook.xml": wbx})
    data = apply_edits_bytes(
        src.read_bytes(),
        [SetCell("表", "B2", 4), SetCell("表", "A4", dt.date(1904, 1, 2)), SetCell("表", "C1", "新")],
    )
    x = etree.fromstring(parts(data)["xl/worksheets/sheet1.xml"])
    refs = [c.get("r") for c in x.iter("{*}c")]
    assert refs == ["A1", "B1", "C1", "A2", "B2", "A4", "B5"]
    assert all(e.prefix == "x" for e in x.iter("{*}c"))
    rows = calamine(io.BytesIO(data) and _save(tmp_path / "out.xlsx", data), "表")
    assert rows[0][:3] == [1, 2, "新"] and rows[1][:2] == [3, 4] and rows[4][1] == 5
    assert x.find(".//{*}c[@r='A4']/{*}v").text == "1"  # 1904 system: 1904-01-02 is serial 1


def _save(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@needs_lo
def test_marked_and_cleared_open_in_libreoffice(lo):
    assert cal(calamine(lo["marked"], "预算执行"), "C7") == pytest.approx(12820.47)
    assert cal(calamine(lo["cleared"], "评分表"), "B2") == "乐昌市民政局"


# ------------------------------------------------------------------------------------------
# Errors, atomic writes, speed
# ------------------------------------------------------------------------------------------


def test_bad_input_raises_chinese_errors(tmp_path):
    src = make_workbook(tmp_path / "src.xlsx")
    notzip = tmp_path / "x.xlsx"
    notzip.write_bytes(b"this is not a workbook")
    with pytest.raises(WorkbookError, match="zip"):
        apply_edits(notzip, tmp_path / "o.xlsx", [])
    with pytest.raises(SheetNotFoundError, match="找不到工作表“不存在”") as ei:
        apply_edits(src, tmp_path / "o.xlsx", [SetCell("不存在", "A1", 1)])
    assert isinstance(ei.value, PerfxlError) and "评分表" in str(ei.value)
    with pytest.raises(InvalidEditError, match="单元格地址"):
        apply_edits_bytes(src.read_bytes(), [SetCell("评分表", "1A", 1)])
    with pytest.raises(InvalidEditError, match="级别"):
        apply_edits_bytes(src.read_bytes(), [MarkCell("评分表", "A1", "x", "严重")])
    with pytest.raises(InvalidEditError, match="类型"):
        apply_edits_bytes(src.read_bytes(), [SetCell("评分表", "A1", object())])
    with pytest.raises(WorkbookError, match="missing.xlsx：文件不存在"):
        apply_edits(tmp_path / "missing.xlsx", tmp_path / "o.xlsx", [])
    assert not (tmp_path / "o.xlsx").exists()


def test_atomic_in_place_and_failure_leaves_file(tmp_path):
    src = make_workbook(tmp_path / "wb.xlsx")
    original = src.read_bytes()
    with pytest.raises(SheetNotFoundError):
        apply_edits(src, src, [SetCell("评分表", "A1", 1), SetCell("没有", "A1", 1)])
    assert src.read_bytes() == original
    apply_edits(src, src, [SetCell("评分表", "H5", 4.5)])
    assert cal(calamine(src, "评分表"), "H5") == 4.5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wb.xlsx"]  # no temp files left


def test_speed_100_edits_on_15_sheets(tmp_path):
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for i in range(15):
        ws = wb.create_sheet(f"表{i}")
        for r in range(1, 41):
            ws.append([f"文本{r}", r, r * 1.5, "说明" * 5, r % 7, None, r, "是", r / 3])
    buf = io.BytesIO()
    wb.save(buf)
    data = buf.getvalue()
    edits = [SetCell(f"表{i % 3}", f"J{i // 3 + 1}", i * 1.0, formula=f"B{i // 3 + 1}*2") for i in range(100)]
    apply_edits_bytes(data, edits)  # warm-up
    times = []
    for _ in range(7):
        t = time.perf_counter()
        apply_edits_bytes(data, edits)
        times.append((time.perf_counter() - t) * 1000)
    median = statistics.median(times)
    print(f"\n100 SetCell edits on a 15-sheet workbook: median {median:.1f} ms, best {min(times):.1f} ms", file=sys.stderr)
    assert median < 250  # generous bound for slow CI machines; typically a few ms


# ------------------------------------------------------------------------------------------
# Fast paths must build exactly what the general path builds
# ------------------------------------------------------------------------------------------


def test_reapplying_edits_changes_nothing(tmp_path):
    """Cells already holding what an edit writes are left alone: a second run over the output
    gives the same parts, and a sheet whose edits were all no-ops keeps its compressed bytes."""
    src = make_workbook(tmp_path / "src.xlsx")
    edits = [e for e in VALUE_EDITS if not isinstance(e, SetCell) or e.style_from is None]
    once = apply_edits_bytes(src.read_bytes(), edits)
    twice = apply_edits_bytes(once, edits)
    assert parts(twice) == parts(once)
    (tmp_path / "once.xlsx").write_bytes(once)
    (tmp_path / "twice.xlsx").write_bytes(twice)
    assert raw_entries(tmp_path / "twice.xlsx")["xl/worksheets/sheet1.xml"] == \
        raw_entries(tmp_path / "once.xlsx")["xl/worksheets/sheet1.xml"]


def test_rewritten_cell_is_normalised_even_when_its_value_is_the_same(tmp_path):
    """Same value, but t= not last, a stale t="n", an <f> attribute, a tail: rebuilt as usual."""
    wb = openpyxl.Workbook()
    wb.active.title = "表"
    wb.save(tmp_path / "base.xlsx")
    sheet = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        b'<row r="1"><c r="A1" t="inlineStr" s="0"><is><t>x</t></is></c><c r="B1" s="0" t="n"><v>1</v></c>'
        b'<c r="C1"><f ca="1">1+1</f><v>2</v></c><c r="D1"><v>3</v>\n</c><c r="E1" t="inlineStr"><is><t>y</t></is></c></row>'
        b"</sheetData></worksheet>"
    )
    src = rewrite_zip(tmp_path / "base.xlsx", tmp_path / "src.xlsx", {"xl/worksheets/sheet1.xml": sheet})
    data = apply_edits_bytes(src.read_bytes(), [SetCell("表", "A1", "x"), SetCell("表", "B1", 1),
                                                SetCell("表", "C1", 2, formula="1+1"), SetCell("表", "D1", 3),
                                                SetCell("表", "E1", "y")])
    xml = parts(data)["xl/worksheets/sheet1.xml"]
    assert b'<c r="A1" s="0" t="inlineStr"><is><t>x</t></is></c>' in xml
    assert b'<c r="B1" s="0"><v>1</v></c>' in xml
    assert b'<c r="C1"><f>1+1</f><v>2</v></c>' in xml
    assert b'<c r="D1"><v>3</v></c>' in xml
    assert b'<c r="E1" t="inlineStr"><is><t>y</t></is></c>' in xml  # already as written: kept


def test_define_name_goes_before_the_first_later_name_in_an_unsorted_list(tmp_path):
    src = make_workbook(tmp_path / "src.xlsx")
    p = parts(src)
    wbx = re.sub(rb"<definedNames>.*</definedNames>",
                 b"<definedNames><definedName name=\"m_name\">'\xe5\x8f\x82\xe6\x95\xb0'!$B$1</definedName>"
                 b"<definedName name=\"b_name\">'\xe5\x8f\x82\xe6\x95\xb0'!$B$1</definedName>"
                 b"<definedName name=\"z_name\">'\xe5\x8f\x82\xe6\x95\xb0'!$B$1</definedName></definedNames>",
                 p["xl/workbook.xml"], flags=re.S)
    src2 = rewrite_zip(src, tmp_path / "unsorted.xlsx", {"xl/workbook.xml": wbx})
    data = apply_edits_bytes(src2.read_bytes(), [DefineName("c_name", "'参数'!$B$1"), DefineName("A_first", "'参数'!$B$1"),
                                                 DefineName("Z_NAME", "'参数'!$B$2"), DefineName("zz", "'参数'!$B$3")])
    names = [(d.get("name"), d.text) for d in etree.fromstring(parts(data)["xl/workbook.xml"]).iterfind(".//m:definedName", NS)]
    assert [n for n, _ in names] == ["A_first", "c_name", "m_name", "b_name", "z_name", "zz"]
    assert dict(names)["z_name"] == "'参数'!$B$2"  # matched case-insensitively, kept its spelling


def test_many_marks_and_links_on_one_sheet(tmp_path):
    """Comments stay in (row, col) order, the shapetype is added once, a cell's hyperlink is
    replaced and an external link's relationship goes with its last user."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "表"
    ws["A1"].hyperlink = "http://example.com/a"
    ws["A2"].hyperlink = "http://example.com/a"
    buf = io.BytesIO()
    wb.save(buf)
    cells = [f"{c}{r}" for r in range(30, 0, -1) for c in "DCBA"]
    edits = [MarkCell("表", ref, f"第 {i} 条", ("错误", "警告", "提示")[i % 3]) for i, ref in enumerate(cells)]
    edits += [Hyperlink("表", "A1", "'表'!B1"), Hyperlink("表", "C3", "'表'!B2"), Hyperlink("表", "C3", "'表'!B3")]
    first = parts(apply_edits_bytes(buf.getvalue(), edits))
    comments = etree.fromstring(next(v for k, v in first.items() if k.startswith("xl/comments")))
    refs = [c.get("ref") for c in comments.iterfind(".//m:comment", NS)]
    key = [(int(re.sub(r"\D", "", r)), r[0]) for r in refs]
    assert key == sorted(key) and len(refs) == len(cells)
    vml = next(v for k, v in first.items() if k.endswith(".vml"))
    assert vml.count(b'id="_x0000_t202"') == 1
    sheet = etree.fromstring(first["xl/worksheets/sheet1.xml"])
    links = [(h.get("ref"), h.get("location"), h.get("{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"))
             for h in sheet.iterfind(".//m:hyperlink", NS)]
    assert ("A1", "'表'!B1", None) in links and [r for r, *_ in links].count("C3") == 1
    assert b"example.com" in first["xl/worksheets/_rels/sheet1.xml.rels"]  # A2 still uses it
    second = parts(apply_edits_bytes(buf.getvalue(), edits + [Hyperlink("表", "A2", "'表'!B9")]))
    assert b"example.com" not in second.get("xl/worksheets/_rels/sheet1.xml.rels", b"")


def test_stored_entries_and_damaged_parts(tmp_path):
    """Parts are read straight from the package bytes; a stored entry works, a part whose CRC
    does not match is still refused with the Chinese error zipfile's check leads to."""
    src = make_workbook(tmp_path / "src.xlsx")
    stored = tmp_path / "stored.xlsx"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(stored, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info))
    edits = [SetCell("评分表", "H5", 2.5, formula="1+1.5"), MarkCell("评分表", "H5", "说明")]
    assert parts(apply_edits_bytes(stored.read_bytes(), edits)) == parts(apply_edits_bytes(src.read_bytes(), edits))
    data = stored.read_bytes()
    with zipfile.ZipFile(stored) as z:
        info = z.getinfo("xl/worksheets/sheet1.xml")
    off = info.header_offset + 30 + len(info.filename) + 60
    broken = data[:off] + bytes([data[off] ^ 1]) + data[off + 1:]
    with pytest.raises(WorkbookError, match="无法读取工作簿部件"):
        apply_edits_bytes(broken, edits)


def _general_paths_only(monkeypatch) -> None:
    """Switch off the fast paths (rows of new cells built as one text, notes copied from
    templates), leaving the general cell-by-cell / element-by-element code."""
    from perfxl.xlsx import notes, patcher, sheet

    monkeypatch.setattr(patcher.Patcher, "_append_cells", lambda self, edits, start: 0)
    monkeypatch.setattr(notes, "standard_vml_prefixes", lambda root: False)
    monkeypatch.setattr(notes, "main_ns_default", lambda el: False)
    monkeypatch.setattr(sheet, "main_ns_default", lambda el: False)


def test_fast_paths_write_the_same_bytes_as_the_general_ones(tmp_path, monkeypatch):
    """New rows appended in one go and notes copied from templates give byte for byte what
    the general code builds: awkward texts, formulas with every kind of cached value, gaps,
    column default styles, a cleared sheet, a second mark on the same cell."""
    src = make_workbook(tmp_path / "src.xlsx")
    p = parts(src)
    sheet = p["xl/worksheets/sheet2.xml"]
    sheet = re.sub(rb"<cols>.*?</cols>|(?=<sheetData)", b'<cols><col min="2" max="3" width="9" style="1" customWidth="1"/></cols>', sheet, count=1)
    styled = rewrite_zip(src, tmp_path / "styled.xlsx", {"xl/worksheets/sheet2.xml": sheet})
    texts = ["a & b < c > d", " lead", "trail ", "two\nlines", "cr\rlf", "_x0041_ literal", "控制\x01字符", "", "=1+1", "💡"]
    values = texts + [0, -3, 2.5, 1e20, True, False, dt.date(2024, 2, 29), dt.datetime(2024, 1, 1, 12), None]
    edits = [EnsureSheet("校验结果"), ClearSheet("校验结果")]
    for i, v in enumerate(values, start=1):
        edits += [SetCell("校验结果", f"A{i}", v), SetCell("校验结果", f"C{i}", None), SetCell("校验结果", f"D{i}", i)]
    for i, v in enumerate([1.5, "文本", "", True, "#DIV/0!", None, dt.date(2024, 1, 1)], start=1):
        edits.append(SetCell("校验结果", f"F{40 + i}", v, formula=f"=A{i}*1"))
    edits += [ClearSheet("参数")] + [SetCell("参数", f"{c}{r}", f"{c}{r} & <x>") for r in (2, 3) for c in "ABCD"]
    edits += [SetCell("参数", "E9", 9), SetCell("参数", "B9", 1)]  # out of order: the general path
    edits += [Hyperlink("校验结果", "A2", "'评分表'!B2")]
    edits += [MarkCell("评分表", "B2", "第一条 & <说明>\n建议：改"), MarkCell("评分表", "B2", " 第二条 ", "警告"),
              MarkCell("评分表", "C3", "x", "提示"), MarkCell("参数", "A2", "y")]
    from perfxl.xlsx.patcher import Patcher

    appended = []
    append_cells = Patcher._append_cells
    monkeypatch.setattr(Patcher, "_append_cells", lambda self, e, i: appended.append(append_cells(self, e, i)) or appended[-1])
    for data in (src.read_bytes(), styled.read_bytes()):
        appended.clear()
        fast = apply_edits_bytes(data, edits)
        assert max(appended) > 20  # the fast path was taken
        with monkeypatch.context() as m:
            _general_paths_only(m)
            general = apply_edits_bytes(data, edits)
        assert parts(fast) == parts(general)
        again = apply_edits_bytes(fast, [ClearMarks()])
        with monkeypatch.context() as m:
            _general_paths_only(m)
            assert parts(again) == parts(apply_edits_bytes(general, [ClearMarks()]))


def test_rows_appended_in_one_go_stop_at_an_invalid_edit(tmp_path):
    """An invalid SetCell in a run of new cells is reported as on the general path."""
    src = make_workbook(tmp_path / "src.xlsx")
    edits = [EnsureSheet("新表"), SetCell("新表", "A1", 1), SetCell("新表", "B1", object())]
    with pytest.raises(InvalidEditError, match=r"不支持的单元格值类型 object：新表!B1"):
        apply_edits_bytes(src.read_bytes(), edits)
    edits = [EnsureSheet("新表"), SetCell("新表", "A1", 1), SetCell("新表", "A2", 0, formula="=")]
    with pytest.raises(InvalidEditError, match="公式为空"):
        apply_edits_bytes(src.read_bytes(), edits)


def test_missing_vml_part_is_a_workbook_error():
    """A legacyDrawing whose VML part is absent is reported as a damaged workbook (it was an
    AttributeError on ``None`` before mypy checked perfxl.xlsx.notes)."""
    from perfxl.xlsx.notes import parse_vml
    from perfxl.xlsx.package import Package

    buf = io.BytesIO()
    openpyxl.Workbook().save(buf)
    with pytest.raises(WorkbookError, match="缺少部件 xl/drawings/vmlDrawing9.vml"):
        parse_vml(Package(buf.getvalue()), "xl/drawings/vmlDrawing9.vml")
