"""Malformed input, built in code: every case ends in findings or a clean WorkbookError.

Each builder returns the bytes of a damaged workbook; :func:`outcome` runs the reader, the
checks (with and without the scoring engine), the text/JSON output and the mark edits, and
fails on any exception other than WorkbookError.
"""
from __future__ import annotations

import copy
import datetime as dt
import io
import json
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Callable

import openpyxl
import pytest

from perfxl import marks, pipeline, reader, schema, template, validate
from perfxl.errors import WorkbookError
from perfxl.findings import CATALOGUE, Finding
from conftest import rewrite_zip

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = json.loads((ROOT / "samples" / "lechang-2023.json").read_text(encoding="utf-8"))
ERROR = "WorkbookError"


def sample() -> dict:
    return copy.deepcopy(SAMPLE)


def sample_bytes() -> bytes:
    return template.build_workbook(sample())


def with_openpyxl(body: bytes, fn: Callable) -> bytes:
    wb = openpyxl.load_workbook(io.BytesIO(body))
    fn(wb)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def table_part(body: bytes, table: str) -> str:
    z = zipfile.ZipFile(io.BytesIO(body))
    return next(n for n in z.namelist() if n.startswith("xl/tables/") and f'displayName="{table}"'.encode() in z.read(n))


def sheet_part(body: bytes, sheet: str) -> str:
    wb = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
    return f"xl/worksheets/sheet{wb.sheetnames.index(sheet) + 1}.xml"


def from_data(change: Callable[[dict], None]) -> Callable[[], bytes]:
    def build() -> bytes:
        d = sample()
        change(d)
        return template.build_workbook(d)
    return build


# --------------------------------------------------------------------------- builders

def wrong_types_everywhere() -> bytes:
    """Text in every number and date cell, a number in every text cell, a date in money cells."""
    def fn(wb):
        for f in schema.FIELDS:
            sheet, coord = next(iter(wb.defined_names[f.name].destinations))
            c = wb[sheet][coord.replace("$", "")]
            c.value = {"text": 12345, "date": "下个月", "money": "约一万元", "int": "3.5个"}.get(f.kind, "未知")
        wb[schema.S_FINANCE]["C5"].value = __import__("datetime").date(2024, 1, 1)
        for ws in wb.worksheets:
            for name in ws.tables:
                t = ws.tables[name]
                tdef = schema.TABLE_BY_NAME.get(name)
                (c1, r1), (c2, r2) = [openpyxl.utils.cell.coordinate_from_string(x) for x in t.ref.split(":")]
                first = openpyxl.utils.column_index_from_string(c1)
                for j, col in enumerate(tdef.columns):
                    for r in range(r1 + 1, r2 + 1):
                        cell = ws.cell(r, first + j)
                        if col.kind != "text":
                            cell.value = "不是" + col.kind
                        elif col.choices:
                            cell.value = True
    return with_openpyxl(sample_bytes(), fn)


def delete_table_part() -> bytes:
    body = sample_bytes()
    part = table_part(body, "tbl_targets")
    return rewrite_zip(body, lambda n, d: None if n == part else d)


def rename_every_table() -> bytes:
    return rewrite_zip(sample_bytes(), lambda n, d: re.sub(rb'(displayName|name)="tbl_', rb'\1="old_', d)
                         if n.startswith("xl/tables/") else d)


def header_only_table() -> bytes:
    body = sample_bytes()
    part = table_part(body, "tbl_awards")

    def fn(n, d):
        if n != part:
            return d
        return re.sub(rb'ref="([A-Z]+)(\d+):([A-Z]+)\d+"', rb'ref="\1\2:\3\2"', d)
    return rewrite_zip(body, fn)


def duplicate_headers() -> bytes:
    body = sample_bytes()
    part = table_part(body, "tbl_units")
    return rewrite_zip(body, lambda n, d: d.replace('name="层级"'.encode(), 'name="单位名称"'.encode()) if n == part else d)


def delete_sheet(*sheets: str) -> Callable[[], bytes]:
    def build() -> bytes:
        def fn(wb):
            for s in sheets:
                wb.remove(wb[s])
        return with_openpyxl(sample_bytes(), fn)
    return build


def names_to_ref_errors() -> bytes:
    def fn(n, d):
        if n != "xl/workbook.xml":
            return d
        return re.sub(rb"(<definedName[^>]*name=\"(?:income_total|dept_name|rate_spending)\"[^>]*>)[^<]*",
                      rb"\1#REF!", d)
    return rewrite_zip(sample_bytes(), fn)


def names_odd_targets() -> bytes:
    """A name on a sheet that does not exist, one on a range, one on a formula."""
    targets = {"phone": "'不存在的表'!$C$5", "preparer": "'封面与基本信息'!$C$9:$E$12", "dept_head": "1+2"}

    def fn(n, d):
        if n != "xl/workbook.xml":
            return d
        text = d.decode("utf-8")
        for name, target in targets.items():
            text = re.sub(rf'(<definedName[^>]*name="{name}"[^>]*>)[^<]*', lambda m: m.group(1) + target, text)
        return text.encode("utf-8")
    return rewrite_zip(sample_bytes(), fn)


def corrupt_sheet_xml() -> bytes:
    body = sample_bytes()
    part = sheet_part(body, schema.S_BUDGET)
    return rewrite_zip(body, lambda n, d: b"<worksheet><sheetData><row" if n == part else d)


def corrupt_workbook_xml() -> bytes:
    return rewrite_zip(sample_bytes(), lambda n, d: d[: len(d) // 2] if n == "xl/workbook.xml" else d)


def no_workbook_part() -> bytes:
    return rewrite_zip(sample_bytes(), lambda n, d: None if n == "xl/workbook.xml" else d)


def not_a_standard_workbook() -> bytes:
    wb = openpyxl.Workbook()
    wb.active["A1"] = "随便一张表"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _rows(n: int, make: Callable[[int], dict]) -> list[dict]:
    return [make(i) for i in range(n)]


CASES: list[tuple[str, Callable[[], bytes], str | None]] = [
    ("wrong types everywhere", wrong_types_everywhere, "wrong-type"),
    ("table part deleted", delete_table_part, "table-missing"),
    ("every table renamed", rename_every_table, "table-missing"),
    ("table with only a header row", header_only_table, None),
    ("tables without data rows", from_data(lambda d: d["tables"].clear()), "score-missing"),
    ("duplicate table headers", duplicate_headers, "column-missing"),
    ("sheet deleted: names dangle", delete_sheet(schema.S_BUDGET), "name-missing"),
    ("scores sheet deleted", delete_sheet(schema.S_SCORES), "table-missing"),
    ("every data sheet deleted", delete_sheet(*schema.SHEET_ORDER[1:]), ERROR),
    ("names pointing at #REF!", names_to_ref_errors, "name-missing"),
    ("names pointing at odd targets", names_odd_targets, "name-missing"),
    ("10,000 rows in a table", from_data(lambda d: d["tables"].__setitem__(
        "tbl_duties", _rows(10_000, lambda i: {"序号": i + 1, "主要职责": f"职责第 {i + 1} 条"}))), None),
    ("100,000 characters in a cell", from_data(lambda d: d["fields"].__setitem__("overall_goal", "长" * 100_000)),
     "text-too-long"),
    ("100,000 characters in a table cell", from_data(
        lambda d: d["tables"]["tbl_narrative"][-1].__setitem__("正文", "改" * 100_000)), "text-too-long"),
    ("formula-like text: =", from_data(lambda d: d["fields"].__setitem__("dept_name", "=cmd|' /C calc'!A0")),
     "formula-like-text"),
    ("formula-like text: +", from_data(lambda d: d["fields"].__setitem__("preparer", "+SUM(A1:A9)")),
     "formula-like-text"),
    ("formula-like text: -", from_data(lambda d: d["tables"]["tbl_duties"][0].__setitem__("主要职责", "-2+3+cmd|x")),
     "formula-like-text"),
    ("formula-like text: @", from_data(lambda d: d["fields"].__setitem__("dept_head", "@SUM(1,2)")),
     "formula-like-text"),
    ("formula-like text in money cells", from_data(lambda d: d["fields"].update(
        income_general="=1+2", income_fund="@x", income_other="-5")), "wrong-type"),
    ("huge and odd numbers", from_data(lambda d: d["fields"].update(
        income_general=1e308, income_fund="inf", exp_personnel="NaN", payment_count=10**30)), None),
    ("blank template", lambda: template.build_workbook(), "required-empty"),
    ("sheet XML damaged", corrupt_sheet_xml, ERROR),
    ("workbook XML damaged", corrupt_workbook_xml, ERROR),
    ("zip without workbook part", no_workbook_part, ERROR),
    ("a plain workbook, not the standard one", not_a_standard_workbook, ERROR),
    ("empty file", lambda: b"", ERROR),
    ("text file renamed .xlsx", lambda: "单位,金额\n民政局,100\n".encode("gbk"), ERROR),
    ("truncated zip", lambda: sample_bytes()[:5000], ERROR),
    ("zip signature, random body", lambda: b"PK\x03\x04" + bytes(range(256)) * 8, ERROR),
    ("old .xls signature", lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, ERROR),
]


def outcome(path: Path):
    """The reader's WorkbookError, or the findings; any other exception fails the test."""
    try:
        model = reader.read(path)
    except WorkbookError as e:
        assert str(e) and path.name in str(e)
        return ERROR, []
    found = validate.check(model)
    assert all(isinstance(f, Finding) and f.code in CATALOGUE for f in found)
    _, with_scoring = pipeline.check_file(path)
    assert all(isinstance(f, Finding) and f.code in CATALOGUE for f in with_scoring)
    validate.format_findings_text(with_scoring, path.name)
    json.dumps(validate.findings_json(with_scoring), ensure_ascii=False)
    marks.mark_edits(model, with_scoring)
    return None, found


@pytest.mark.parametrize("build, expect", [(b, e) for _, b, e in CASES], ids=[i for i, _, _ in CASES])
def test_malformed_input_ends_in_findings_or_a_workbook_error(build, expect, tmp_path):
    path = tmp_path / "坏文件.xlsx"
    path.write_bytes(build())
    t0 = time.perf_counter()
    error, found = outcome(path)
    assert time.perf_counter() - t0 < 30
    if expect == ERROR:
        assert error == ERROR
    else:
        assert error is None
        if expect:
            assert expect in {f.code for f in found}, validate.format_findings_text(found)


@pytest.mark.parametrize("build", [wrong_types_everywhere, header_only_table, delete_sheet(schema.S_BUDGET)],
                         ids=["wrong types", "header-only table", "sheet deleted"])
def test_marking_a_malformed_workbook_works_or_is_a_workbook_error(build, tmp_path):
    path = tmp_path / "bad.xlsx"
    path.write_bytes(build())
    model, found = pipeline.check_file(path)
    try:
        marks.mark_file(path, tmp_path / "marked.xlsx", found, model)
    except WorkbookError:
        return
    assert reader.read(tmp_path / "marked.xlsx").sheets[0] == schema.S_FINDINGS


def test_reader_errors_for_paths_that_are_not_files(tmp_path):
    with pytest.raises(WorkbookError):
        reader.read(tmp_path / "不存在.xlsx")
    with pytest.raises(WorkbookError):
        reader.read(tmp_path)


def test_ten_thousand_findings_stay_fast(tmp_path):
    d = sample()
    d["tables"]["tbl_units"] = _rows(10_000, lambda i: {"单位名称": f"单位{i}", "层级": "本部", "编制类型": "事业",
                                                       "核定编制数": "许多", "年末实有人数": 1})
    path = tmp_path / "big.xlsx"
    path.write_bytes(template.build_workbook(d))
    assert outcome(path)[0] is None
    model = reader.read(path)
    t0 = time.perf_counter()
    found = validate.check(model)
    elapsed = time.perf_counter() - t0
    assert len(found) >= 20_000 and elapsed < 5
    t0 = time.perf_counter()
    validate.format_findings_text(found)
    marks.mark_edits(model, found)
    assert time.perf_counter() - t0 < 5


EXTREMES = [1e300, -1e300, 10 ** 30, 1e-300, -0.0, dt.date(2024, 5, 20), dt.datetime(2024, 5, 20, 8, 30), "=1+2",
            "一" * 300, "9" * 300, "77.12%", True]


def extreme_values_everywhere() -> bytes:
    """Every named cell and every table cell holds, in turn, a value no clerk should type:
    1e300, a date in a money cell, a 300-character name, a formula-like text …"""
    def change(wb):
        i = 0
        for _, dn in wb.defined_names.items():
            for sheet, coord in dn.destinations:
                if sheet in wb.sheetnames:
                    cell = wb[sheet][coord.replace("$", "").split(":")[0]]
                    if not isinstance(cell, openpyxl.cell.cell.MergedCell):
                        cell.value = EXTREMES[i % len(EXTREMES)]
                        i += 1
        for ws in wb.worksheets:
            for t in ws.tables.values():
                for row in ws[t.ref][1:]:
                    for cell in row:
                        cell.value = EXTREMES[i % len(EXTREMES)]
                        i += 1
    return with_openpyxl(sample_bytes(), change)


def test_extreme_values_go_through_the_whole_pipeline(tmp_path):
    """Check, score, write back and report a workbook full of absurd values: every output is
    written and the run ends with exit 1 (errors found), never an internal error."""
    from perfxl import cli
    from perfxl.batch import work
    from perfxl.rulepack import load

    path = tmp_path / "极端值.xlsx"
    data = extreme_values_everywhere()
    path.write_bytes(data)
    out = tmp_path / "out"
    assert cli.main(["run", str(path), "-o", str(out)]) == 1
    assert {p.suffix for p in out.iterdir()} == {".xlsx", ".docx", ".json"}
    got = work(data, path.name, load())  # the batch's work unit, with the pack's parameters
    assert got.row["状态"] == "有错误" and {"workbook", "report", "findings"} <= set(got.files)


def test_a_huge_negative_number_in_a_date_cell_is_a_finding(tmp_path, capfd):
    """-1E+12 in a date-formatted cell makes python-calamine panic (a BaseException that no
    ``except Exception`` catches): the sheet is read without date formats instead, the number
    is reported at its cell and the other dates of the sheet still read."""
    from perfxl import cli
    from perfxl.batch import work
    from perfxl.rulepack import load

    def change(wb):
        wb[schema.S_COVER]["C11"].value = -1e12  # report_date, formatted as a date
        wb[schema.S_AWARDS]["E7"].value = -1e300  # 授奖时间 of the first award row
    data = with_openpyxl(sample_bytes(), change)
    path = tmp_path / "负日期.xlsx"
    path.write_bytes(data)
    model = reader.read(path)
    awards = model.tables["tbl_awards"].rows
    assert model.fields["report_date"].value is None and awards[0]["授奖时间"].value is None
    assert awards[1]["授奖时间"].value == dt.date(2023, 8, 10)  # read from its serial number
    wrong = {f.ref for f in validate.check(model) if f.code == "wrong-type"}
    assert {f"{schema.S_COVER}!C11", f"{schema.S_AWARDS}!E7"} <= wrong
    assert cli.main(["run", str(path), "-o", str(tmp_path / "out")]) == 1
    assert work(data, path.name, load()).row["状态"] == "有错误"
    capfd.readouterr()
    # the clerk's terminal: the real command, in its own process, shows no Rust panic text
    # (inside this pytest process other tests' threads may run, and then perfxl leaves
    # descriptor 2 alone rather than silence them: perfxl.reader._quiet_stderr)
    p = subprocess.run([sys.executable, "-m", "perfxl", "check", str(path)], capture_output=True, text=True,
                       timeout=120, cwd=tmp_path)
    assert p.returncode == 1 and "panicked" not in p.stderr and "wrong-type" in p.stdout, p.stderr
