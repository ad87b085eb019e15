"""Entry-time rules of the standard workbook: every typed input cell has a data validation with
Chinese prompt and error texts, lists are dropdowns, manual scores are bounded by their own 分值
cell, formula and parameter cells are locked on password-less protected sheets — in the file
perfxl writes and after LibreOffice has opened and saved it again."""
from __future__ import annotations

import datetime as dt
import re

import openpyxl
import pytest
from openpyxl.utils.datetime import from_excel

from perfxl import guards, reader, rulepack, schema, template
from perfxl.testing.libreoffice import soffice_available
from conftest import SAMPLE_XLSX

CJK = re.compile(r"[\u4e00-\u9fff]")


def _validations(ws, coord):
    return [dv for dv in ws.data_validations.dataValidation if coord in dv.sqref]


def _one(ws, coord):
    found = _validations(ws, coord)
    assert len(found) == 1, f"{ws.title}!{coord}: {len(found)} validations"
    return found[0]


def _field_cell(wb, name):
    sheet, ref = reader.parse_sheet_ref(wb.defined_names[name].attr_text)
    return wb[sheet], ref.replace("$", "")


def _table(wb, name):
    for ws in wb.worksheets:
        if name in ws.tables:
            t = ws.tables[name]
            first, last = t.ref.split(":")
            c0 = ws[first]
            cols = {ws.cell(c0.row, c0.column + i).value: c0.column + i for i in range(len(t.tableColumns))}
            return ws, c0.row, ws[last].row, cols
    raise KeyError(name)


def check_fields(wb):
    for f in schema.FIELDS:
        ws, coord = _field_cell(wb, f.name)
        cell = ws[coord]
        if f.parts:  # a total: a formula, locked, nothing to type
            assert str(cell.value).startswith("=") and cell.protection.locked, f.name
            assert not _validations(ws, coord), f.name
            continue
        assert cell.protection.locked is False, f"{f.name} is an input and must be unlocked"
        if f.kind == schema.TEXT:
            continue
        dv = _one(ws, coord)
        assert dv.showErrorMessage and dv.errorStyle in (None, "stop"), f.name
        assert CJK.search(dv.prompt) and CJK.search(dv.error) and CJK.search(dv.errorTitle), f.name
        if f.name == "fiscal_year":
            assert (dv.type, dv.operator, dv.formula1, dv.formula2) == ("whole", "between", "2000", "2099")
        elif f.kind == schema.MONEY:
            assert (dv.type, dv.operator, dv.formula1) == ("decimal", "greaterThanOrEqual", "0"), f.name
        elif f.kind == schema.INT:
            assert (dv.type, dv.operator, dv.formula1) == ("whole", "greaterThanOrEqual", "0"), f.name
        elif f.kind == schema.DATE:
            assert (dv.type, dv.operator) == ("date", "between"), f.name
            lo, hi = (from_excel(float(x)).date() for x in (dv.formula1, dv.formula2))
            assert lo <= dt.date(2000, 1, 1) and hi >= dt.date(2099, 1, 1)
        else:
            pytest.fail(f"no expectation for {f.name} ({f.kind})")


def check_tables(wb):
    for tdef in schema.TABLES:
        ws, head, last, cols = _table(wb, tdef.name)
        for col in tdef.columns:
            letter = openpyxl.utils.get_column_letter(cols[col.header])
            # the first data row, and a row a clerk adds below the table later
            rows = [head + 1] + ([head + 150] if tdef.name != "tbl_scores" else [])
            for r in rows:
                coord = f"{letter}{r}"
                found = _validations(ws, coord)
                if col.choices or col.suggestions:
                    (dv,) = found
                    assert dv.type == "list" and dv.formula1 == '"' + ",".join(col.choices or col.suggestions) + '"'
                    assert dv.errorStyle in ((None, "stop") if col.choices else ("warning",)), coord
                    assert CJK.search(dv.error)
                elif col.kind == schema.INT:
                    (dv,) = found
                    assert dv.type == "whole" and dv.operator == "greaterThanOrEqual", coord
                elif col.kind == schema.DATE:
                    (dv,) = found
                    assert dv.type == "date", coord
                elif tdef.name == "tbl_awards" and col.header == "自评得分":
                    (dv,) = found
                    assert (dv.type, dv.operator, dv.formula1) == ("decimal", "greaterThanOrEqual", "0")
                elif col.kind == schema.TEXT:
                    assert not found, coord


def check_scores(wb, pack):
    ws, head, last, cols = _table(wb, "tbl_scores")
    manual = {i.id for i in pack.indicators if i.manual}
    f = openpyxl.utils.get_column_letter
    seen = 0
    for r in range(head + 1, last + 1):
        ind = ws.cell(r, cols["指标编号"]).value
        score = f(cols["自评得分"]) + str(r)
        for h in ("指标编号", "一级指标", "二级指标", "三级指标", "分值", "评分方式", "计算值"):
            assert ws.cell(r, cols[h]).protection.locked, (ind, h)
        assert ws.cell(r, cols["评价说明"]).protection.locked is False, ind
        if ind in manual:
            seen += 1
            dv = _one(ws, score)
            assert (dv.type, dv.operator, dv.formula1) == ("decimal", "between", "0")
            # the upper bound is this row's own 分值 cell, which holds the pack's points
            ref = dv.formula2.lstrip("=").replace("$", "")
            assert ref == f(cols["分值"]) + str(r)
            assert ws[ref].value == next(i.points for i in pack.indicators if i.id == ind)
            assert ws[score].protection.locked is False
        else:
            assert not _validations(ws, score), ind
            assert ws[score].protection.locked, ind
    assert seen == len(manual) > 0


def check_protection(wb):
    for ws in wb.worksheets:
        protected = ws.title in guards.PROTECTED_SHEETS
        assert bool(ws.protection.sheet) == protected, ws.title
        assert not ws.protection.password, ws.title  # a clerk can always unprotect
        for row in ws.iter_rows():
            for c in row:
                if isinstance(c.value, str) and c.value.startswith("="):
                    assert c.protection.locked, f"{ws.title}!{c.coordinate} is a formula"
    params = wb[schema.S_PARAMS]
    values = [params.cell(r, 3) for r in range(5, params.max_row + 1) if params.cell(r, 3).value is not None]
    assert values and all(c.protection.locked for c in values)
    scores = wb[schema.S_SCORES]
    assert scores.protection.sheet and not scores.protection.formatColumns  # widths may change
    # every sheet a clerk extends a table on stays unprotected
    for tdef in schema.TABLES:
        if tdef.name != "tbl_scores":
            assert tdef.sheet not in guards.PROTECTED_SHEETS, tdef.sheet


@pytest.fixture(scope="module")
def pack():
    return rulepack.load()


@pytest.mark.parametrize("path", [template.TEMPLATE_PATH, SAMPLE_XLSX], ids=["template", "sample"])
def test_entry_rules_and_protection(path, pack):
    wb = openpyxl.load_workbook(path)
    check_fields(wb)
    check_tables(wb)
    check_scores(wb, pack)
    check_protection(wb)


@pytest.mark.skipif(not soffice_available(), reason="LibreOffice (soffice) not installed")
def test_libreoffice_keeps_rules_and_protection(tmp_path, pack):
    """LibreOffice opens the sample and saves it as .xlsx: the validations and the protection
    come back the same, so a clerk using LibreOffice (or WPS after it) keeps them."""
    from perfxl.testing.libreoffice import recalculate

    [out] = recalculate([SAMPLE_XLSX], tmp_path / "lo")
    wb = openpyxl.load_workbook(out)
    check_fields(wb)
    check_tables(wb)
    check_scores(wb, pack)
    for ws in wb.worksheets:
        assert bool(ws.protection.sheet) == (ws.title in guards.PROTECTED_SHEETS), ws.title
        assert not ws.protection.password


def test_rule_texts_fit_excels_limits():
    rules = [guards.kind_rule(k, "一个很长很长的标签" * 6, "万元", "帮助" * 20) for k in
             (schema.MONEY, schema.INT, schema.DATE, schema.NUMBER, schema.RATE)]
    rules += [guards.column_rule(t, c) for t in schema.TABLES for c in t.columns]
    for r in filter(None, rules):
        dv = r.validation()
        assert len(dv.promptTitle) <= 32 and len(dv.errorTitle) <= 32
        assert len(dv.prompt) <= 255 and len(dv.error) <= 225
