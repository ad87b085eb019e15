"""Write-back: live formulas with cached values, parameter cells, score_file's outputs, and
everything else in the file (images, charts, comments, VBA, other cells) left as it was."""
from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import python_calamine

from perfxl import api, formulas, reader, rulepack, schema, scoring, template, writeback
from perfxl.cellref import split_cell
from perfxl.errors import WorkbookError
from perfxl.edits import SetCell

ALT_PACK = Path(__file__).resolve().parent / "rules" / "county-alt-2024.toml"


def _unscored(data, path: Path, pack=None) -> Path:
    """A standard workbook as the template lays it out, before any scoring formula."""
    buf = io.BytesIO()
    template.layout(data, pack or rulepack.load()).save(buf)
    path.write_bytes(buf.getvalue())
    return path


def _cells(path: Path) -> dict[tuple[str, int, int], object]:
    wb = python_calamine.CalamineWorkbook.from_path(str(path))
    out = {}
    for name in wb.sheet_names:
        for r, row in enumerate(wb.get_sheet_by_name(name).to_python(skip_empty_area=False), start=1):
            for c, v in enumerate(row, start=1):
                if v != "":
                    out[(name, r, c)] = v
    return out


def _loc(model, name):
    sheet, cell = model.names[name]
    col, row = split_cell(cell)
    return sheet, cell, row


def test_built_sample_carries_formulas_and_cached_values(build, data):
    path = build(data)
    pack = rulepack.load()
    model = reader.read(path)
    wb = openpyxl.load_workbook(path)  # formulas
    targets = [o.name for o in schema.RATE_OUTPUTS + schema.TOTAL_OUTPUTS]
    targets += [f"score_{i.id}" for i in pack.automatic]
    for name in targets:
        sheet, cell, _ = _loc(model, name)
        f = wb[sheet][cell].value
        assert isinstance(f, str) and f.startswith("="), (name, f)
        assert "#" not in f and "_xlfn" not in f
        assert not re.search(r"(?<![A-Z])(IFS|XLOOKUP|LET|SWITCH|MAXIFS|MINIFS)\(", f), f
    # every formula of an automatic score refers to its parameter cells by name
    f = wb[model.names["score_spending_rate"][0]][model.names["score_spending_rate"][1]].value
    assert "p_spending_rate_zero_at" in f and "p_spending_rate_full_at" in f and "rate_spending" in f
    f = wb[model.names["rate_spending"][0]][model.names["rate_spending"][1]].value
    assert 'quota_basic=""' in f
    # cached values without recalculation: calamine (through the reader) and pandas
    assert model.outputs["score_total"].value == 98.31 and model.outputs["grade"].value == "优"
    assert round(model.outputs["rate_spending"].value, 4) == 0.7712
    sheet, cell, row = _loc(model, "score_total")
    col = openpyxl.utils.column_index_from_string(split_cell(cell)[0])
    df = pd.read_excel(path, sheet_name=sheet, header=None, engine="calamine")
    assert df.iat[row - 1, col - 1] == 98.31
    df = pd.read_excel(path, sheet_name=sheet, header=None, engine="openpyxl")
    assert df.iat[row - 1, col - 1] == 98.31


def test_parameter_cells_have_names_labels_and_values(build, data):
    pack = rulepack.load()
    path = build(data)
    model = reader.read(path)
    wb = openpyxl.load_workbook(path)
    ws = wb[schema.S_PARAMS]
    assert [c.value for c in ws[4][1:6]] == list(writeback.PARAM_HEADERS)
    for p in pack.params:
        sheet, cell = model.names[p.name]
        assert sheet == schema.S_PARAMS
        row = split_cell(cell)[1]
        assert row >= 5
        assert ws[f"C{row}"].value == p.value and ws[f"D{row}"].value == p.name and ws[f"B{row}"].value == p.label
    fitted = [ws[f"F{r}"].value for r in range(5, ws.max_row + 1) if ws[f"F{r}"].value]
    assert any("拟合（依据参考报告）" in v for v in fitted)
    for rng in (formulas.AWARD_LEVELS_RANGE, formulas.AWARD_POINTS_RANGE):
        assert re.fullmatch(r"'评分参数'!\$C\$\d+:\$C\$\d+", wb.defined_names[rng].attr_text)


def test_score_file_writes_beside_and_leaves_source_alone(tmp_path, data):
    src = _unscored(data, tmp_path / "乐昌.xlsx")
    before = src.read_bytes()
    scores = api.score_file(src)
    out = tmp_path / "乐昌-已评分.xlsx"
    assert out.exists() and src.read_bytes() == before
    assert scores.score_total == 98.31
    assert reader.read(out).outputs["score_total"].value == 98.31
    with pytest.raises(WorkbookError):
        api.score_file(src, tmp_path / "x.xlsm")


def test_score_file_in_place_keeps_a_backup(tmp_path, data):
    src = _unscored(data, tmp_path / "wb.xlsx")
    before = src.read_bytes()
    api.score_file(src, in_place=True)
    assert (tmp_path / "wb.xlsx.bak").read_bytes() == before
    assert reader.read(src).outputs["grade"].value == "优"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".~perfxl")]


def test_nothing_else_changes(tmp_path, data):
    pack = rulepack.load()
    data["tables"]["tbl_awards"][2]["类型"] = "减分"
    data["tables"]["tbl_awards"][2]["自评得分"] = 0.5
    src = _unscored(data, tmp_path / "wb.xlsx")
    model = reader.read(src)
    edits = writeback.score_edits(model, pack, scoring.score(model, pack))
    written = {(e.sheet, split_cell(e.cell)[1], openpyxl.utils.column_index_from_string(split_cell(e.cell)[0]))
               for e in edits if isinstance(e, SetCell)}
    dst = tmp_path / "out.xlsx"
    api.score_file(src, dst)
    a, b = _cells(src), _cells(dst)
    changed = {k for k in set(a) | set(b) if a.get(k) != b.get(k)}
    assert changed <= written, sorted(changed - written)[:10]
    # manual scores and the 减分 entry are the clerk's: same values, still not formulas
    wb = openpyxl.load_workbook(dst)
    t = model.tables["tbl_scores"]
    for row in t.rows:
        if row.get("评分方式") == "人工":
            c = row["自评得分"]
            assert wb[c.sheet][c.cell].value == c.raw
    deduct = model.tables["tbl_awards"].rows[2]["自评得分"]
    assert wb[deduct.sheet][deduct.cell].value == 0.5
    # zip parts the edits do not touch are byte-identical
    za, zb = zipfile.ZipFile(src), zipfile.ZipFile(dst)
    touched = {"xl/workbook.xml", "xl/calcChain.xml", "[Content_Types].xml", "xl/_rels/workbook.xml.rels"}
    sheets = {"评分表", "预算执行", "加减分", "评分参数"}
    for info in za.infolist():
        if info.filename in touched or info.filename.startswith("xl/worksheets/sheet"):
            continue
        assert zb.read(info.filename) == za.read(info.filename), info.filename
    assert sheets <= set(reader.read(dst).sheets)


def test_rescoring_is_stable_and_clears_stale_parameters(tmp_path, data):
    pack = rulepack.load()
    once = tmp_path / "once.xlsx"
    once.write_bytes(template.build_workbook(data, pack=pack))
    twice = tmp_path / "twice.xlsx"
    api.score_file(once, twice, pack=pack)
    assert _cells(once) == _cells(twice)
    # a pack with more parameters, then the default again: no leftover parameter rows
    alt = rulepack.load(ALT_PACK)
    third = tmp_path / "third.xlsx"
    api.score_file(twice, third, pack=alt)
    fourth = tmp_path / "fourth.xlsx"
    api.score_file(third, fourth, pack=pack)
    params = {k: v for k, v in _cells(fourth).items() if k[0] == schema.S_PARAMS and k[1] >= 5}
    assert max(r for _, r, _ in params) == 4 + len(pack.params)


@pytest.fixture
def png(tmp_path) -> Path:
    from PIL import Image

    p = tmp_path / "logo.png"
    Image.new("RGB", (40, 20), (200, 30, 30)).save(p)
    return p


def _blank_xlsm() -> Path:
    import pyopenvba

    return Path(pyopenvba.__file__).parent / "_templates" / "blank_files" / "blank_workbook.xlsm"


def test_xlsm_with_image_chart_comment_and_extra_sheet_survives(tmp_path, data, png):
    from openpyxl.chart import BarChart, Reference
    from openpyxl.comments import Comment
    from openpyxl.drawing.image import Image

    base = _unscored(data, tmp_path / "base.xlsx")
    wb = openpyxl.load_workbook(base)
    wb.vba_archive = openpyxl.load_workbook(_blank_xlsm(), keep_vba=True).vba_archive
    ws = wb.create_sheet("自定义图表")
    for i in range(1, 6):
        ws.cell(i, 1, f"第{i}项")
        ws.cell(i, 2, i * i)
    chart = BarChart()
    chart.add_data(Reference(ws, min_col=2, min_row=1, max_row=5))
    ws.add_chart(chart, "D2")
    ws.add_image(Image(str(png)), "D20")
    wb[schema.S_COVER]["B5"].comment = Comment("请核对部门全称", "科员")
    src = tmp_path / "带宏.xlsm"
    wb.save(src)
    zs = zipfile.ZipFile(src)
    assert "xl/vbaProject.bin" in zs.namelist()
    kept = [n for n in zs.namelist() if n.startswith(("xl/media/", "xl/charts/", "xl/drawings/", "xl/comments"))
            or n == "xl/vbaProject.bin"]
    assert any(n.startswith("xl/charts/") for n in kept) and any(n.startswith("xl/media/") for n in kept)

    scores = api.score_file(src)
    out = tmp_path / "带宏-已评分.xlsm"
    zo = zipfile.ZipFile(out)
    for n in kept:
        assert zo.read(n) == zs.read(n), n
    assert "macroEnabled" in zo.read("[Content_Types].xml").decode()
    assert "请核对部门全称" in b"".join(zo.read(n) for n in zo.namelist() if "comments" in n).decode()
    model = reader.read(out)
    assert "自定义图表" in model.sheets
    assert model.outputs["score_total"].value == scores.score_total == 98.31
    assert model.outputs["score_spending_rate"].value == 1.81
    wb2 = openpyxl.load_workbook(out, keep_vba=True)
    assert wb2[schema.S_COVER]["B5"].comment.text.startswith("请核对部门全称")
    assert wb2["自定义图表"]._charts or "xl/charts/chart1.xml" in zo.namelist()


def test_format_scores_text_mentions_total_and_problems(build, data):
    data["fields"]["upper_funds_total"] = 0
    model = reader.read(build(data))
    s = scoring.score(model, rulepack.load())
    text = writeback.format_scores_text(s)
    assert f"{s.score_total:g}" in text and "rate_carryover" in text
