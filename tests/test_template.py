"""The standard workbook: generated from one definition, carries the whole public contract,
is committed current, opens in LibreOffice, and `perfxl new` writes it."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile

import openpyxl
import pytest

from perfxl import reader, rulepack, schema, template
from conftest import CONTRACT, ROOT, SAMPLE_JSON, SAMPLE_XLSX


def contract_tables() -> dict[str, list[str]]:
    section = CONTRACT.read_text("utf-8").split("## Tables")[1].split("`层级`")[0]
    out = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("tbl_"):
            out[cells[0]] = [h.strip() for h in cells[1].split(",")]
    return out


def contract_output_names() -> list[str]:
    section = CONTRACT.read_text("utf-8").split("## Values perfxl writes back")[1]
    names = []
    for line in section.splitlines():
        first = line.strip().strip("|").split("|")[0].strip()
        for n in re.findall(r"(rate_[a-z_]+|score_base|score_bonus|score_total|grade)\b", first):
            names.append(n)
    return names


def test_committed_template_is_current():
    assert template.TEMPLATE_PATH.read_bytes() == template.build_workbook(), \
        "run: python scripts/regen.py"


def test_committed_sample_is_current():
    data = json.loads(SAMPLE_JSON.read_text("utf-8"))
    assert SAMPLE_XLSX.read_bytes() == template.build_workbook(data), "run: python scripts/regen.py"


@pytest.mark.parametrize("path", [template.TEMPLATE_PATH, SAMPLE_XLSX], ids=["template", "sample"])
def test_carries_every_contract_name_and_table(path):
    wb = openpyxl.load_workbook(path)
    names = set(wb.defined_names)
    pack = rulepack.load()
    expected = {f.name for f in schema.FIELDS} | set(contract_output_names()) | {
        f"score_{i.id}" for i in pack.indicators}
    assert len(contract_output_names()) == len(schema.RATE_OUTPUTS) + len(schema.TOTAL_OUTPUTS) == 23
    assert expected <= names, expected - names
    for n in expected:  # every name points at a real sheet
        sheet, _ = reader.parse_sheet_ref(wb.defined_names[n].attr_text)
        assert sheet in wb.sheetnames
    tables = {t: (ws.title, ws.tables[t]) for ws in wb.worksheets for t in ws.tables}
    for name, headers in contract_tables().items():
        assert name in tables, name
        sheet, t = tables[name]
        assert [c.name for c in t.tableColumns] == headers
        first = wb[sheet][t.ref.split(":")[0]]
        row = [wb[sheet].cell(first.row, first.column + i).value for i in range(len(headers))]
        assert row == headers  # header cells themselves, not only the table part


def test_sheets_in_chinese_in_order():
    wb = openpyxl.load_workbook(template.TEMPLATE_PATH)
    assert wb.sheetnames[: len(schema.SHEET_ORDER)] == list(schema.SHEET_ORDER)


def test_dropdowns_formats_and_input_styles():
    wb = openpyxl.load_workbook(template.TEMPLATE_PATH)
    lists = set()
    for ws in wb.worksheets:
        for dv in ws.data_validations.dataValidation:
            if dv.type == "list":
                lists.add(dv.formula1.strip('"'))
    for choices in (schema.LEVELS, schema.STAFF_TYPES, schema.TASK_STATUS, schema.AWARD_LEVELS,
                    schema.AWARD_TYPES, schema.SCORE_MODES):
        assert ",".join(choices) in lists
    def cell(name):
        sheet, ref = reader.parse_sheet_ref(wb.defined_names[name].attr_text)
        return wb[sheet][ref]
    assert cell("quota_basic").number_format == "#,##0.00"
    assert cell("rate_spending").number_format == "0.00%"
    assert cell("income_total").value.startswith("=")  # totals are formulas
    assert cell("quota_basic").fill.fgColor.rgb != cell("income_total").fill.fgColor.rgb  # input ≠ computed


def test_template_opens_in_libreoffice(tmp_path):
    if not shutil.which("soffice"):
        pytest.skip("LibreOffice missing")  # scripts/setup.sh installs it
    p = subprocess.run(["soffice", f"-env:UserInstallation=file://{tmp_path}/profile", "--headless",
                        "--convert-to", "xlsx", "--outdir", str(tmp_path / "out"), str(template.TEMPLATE_PATH)],
                       capture_output=True, text=True, timeout=180)
    out = tmp_path / "out" / template.TEMPLATE_PATH.name
    assert p.returncode == 0 and out.exists(), p.stderr
    wb = openpyxl.load_workbook(out)
    assert list(schema.SHEET_ORDER) == wb.sheetnames[: len(schema.SHEET_ORDER)]
    assert "dept_name" in wb.defined_names


def test_perfxl_new_writes_the_template(tmp_path):
    out = tmp_path / "新表.xlsx"
    p = subprocess.run([sys.executable, "-m", "perfxl", "new", str(out)], capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    assert out.read_bytes() == template.TEMPLATE_PATH.read_bytes()
    again = subprocess.run([sys.executable, "-m", "perfxl", "new", str(out)], capture_output=True, text=True, cwd=ROOT)
    assert again.returncode == 2 and "已存在" in again.stderr  # never overwrites silently


def test_perfxl_new_with_dept_and_year(tmp_path):
    out = tmp_path / "b.xlsx"
    p = subprocess.run([sys.executable, "-m", "perfxl", "new", str(out), "--dept", "某某县财政局", "--year", "2024"],
                       capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    m = reader.read(out)
    assert m.get("dept_name") == "某某县财政局" and m.get("fiscal_year") == 2024
    assert zipfile.ZipFile(out).testzip() is None


def test_clerk_text_starting_with_equals_stays_text(build, data):
    data["fields"]["dept_name"] = "=HYPERLINK(\"http://x\")"
    data["tables"]["tbl_duties"][0]["主要职责"] = "+负责…"
    path = build(data)
    m = reader.read(path)
    assert m.get("dept_name") == "=HYPERLINK(\"http://x\")"
    wb = openpyxl.load_workbook(path)
    sheet, ref = reader.parse_sheet_ref(wb.defined_names["dept_name"].attr_text)
    assert wb[sheet][ref].data_type == "s"
