"""The reader: the sample gives back the reference report's figures; lenient parsing;
fields found by defined name wherever they sit."""
from __future__ import annotations

import datetime as dt
import re

import openpyxl
import pytest

from perfxl import reader, schema
from conftest import CONTRACT, SAMPLE_XLSX


def contract_seeds() -> list[tuple[str, str]]:
    """(name, seed text) of every single-cell input in the public contract document."""
    text = CONTRACT.read_text("utf-8")
    section = text.split("## Single-cell inputs")[1].split("## Tables")[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and re.fullmatch(r"[a-z_]+", cells[0]) and cells[0] != "name":
            rows.append((cells[0], cells[3]))
    return rows


SEEDS = contract_seeds()


def test_contract_lists_every_field_of_the_schema():
    assert {n for n, _ in SEEDS} == {f.name for f in schema.FIELDS}


@pytest.fixture(scope="module")
def sample_model():
    return reader.read(SAMPLE_XLSX)


@pytest.mark.parametrize("name,seed", SEEDS, ids=[n for n, _ in SEEDS])
def test_sample_holds_contract_seed(sample_model, name, seed):
    got = sample_model.get(name)
    m = re.search(r"sample: (\d+)", seed)
    if m:
        assert got == int(m.group(1))
    elif re.fullmatch(r"\d{4}-\d{2}-\d{2}", seed):
        assert got == dt.date.fromisoformat(seed)
    elif re.fullmatch(r"-?\d+(\.\d+)?", seed):
        assert got == pytest.approx(float(seed), abs=1e-9)
    elif seed == "—":  # an optional input the reference sample does not have
        assert got is None
    elif "…" in seed:
        head = seed.split("…")[0]
        assert isinstance(got, str) and got.startswith(head) and len(got) > len(head)
    else:
        assert got == seed


TABLE_ROWS = {"tbl_duties": 11, "tbl_units": 6, "tbl_targets": 13, "tbl_key_tasks": 3, "tbl_awards": 4,
              "tbl_scores": 27}


@pytest.mark.parametrize("table,n", TABLE_ROWS.items())
def test_sample_table_rows(sample_model, sample_data, table, n):
    t = sample_model.table(table)
    assert len(t.filled) == n
    if table != "tbl_scores":
        for got, want in zip(t.filled, sample_data["tables"][table]):
            for header, value in want.items():
                v = got.get(header)
                if isinstance(v, dt.date):
                    v = v.isoformat()
                assert v == value, (table, header)


def test_sample_units_match_contract_seed(sample_model):
    rows = [(r.get("单位名称"), r.get("层级"), r.get("编制类型"), r.get("核定编制数"), r.get("年末实有人数"))
            for r in sample_model.table("tbl_units").filled]
    assert [(lv, tp, a, b) for _, lv, tp, a, b in rows] == [
        ("本级", "行政", 18, 14), ("本级", "工勤", 5, 4), ("下属", "事业", 14, 9), ("下属", "事业", 3, 3),
        ("下属", "事业", 3, 3), ("下属", "事业", 15, 13)]
    # the reference text says 43 where its 编制内 units add to 42 (46 with 工勤): validation's job
    assert sum(r[4] for r in rows if r[2] != "工勤") == 42


def test_every_value_keeps_its_address(sample_model):
    v = sample_model.fields["quota_basic"]
    assert v.sheet == "预算执行" and re.fullmatch(r"C\d+", v.cell)
    wb = openpyxl.load_workbook(SAMPLE_XLSX)
    assert wb[v.sheet][v.cell].value == pytest.approx(1013.93)
    row = sample_model.table("tbl_awards").filled[2]
    assert wb[row["授奖机关"].sheet][row["授奖机关"].cell].value == row.get("授奖机关")


def test_lenient_values_typed_as_text(build, data):
    data["fields"].update(income_general="12,539.32 ", income_fund="２８１．１５", report_date="2024年5月20日",
                          payment_count="172", dept_name="  乐昌市民政局  ")
    m = reader.read(build(data))
    assert m.get("income_general") == pytest.approx(12539.32)
    assert m.get("income_fund") == pytest.approx(281.15)
    assert m.get("report_date") == dt.date(2024, 5, 20)
    assert m.get("payment_count") == 172
    assert m.get("dept_name") == "乐昌市民政局"
    assert m.get("income_total") == pytest.approx(12820.47)  # computed: openpyxl saved no cache


def test_unparseable_value_is_kept_with_problem(build, data):
    data["fields"]["quota_basic"] = "一千万"
    v = reader.read(build(data)).fields["quota_basic"]
    assert v.value is None and v.raw == "一千万" and v.problem


def test_fields_found_after_rows_inserted_and_blocks_moved(build, data, tmp_path):
    path = build(data)
    wb = openpyxl.load_workbook(path)
    ws = wb["预算执行"]
    ws.insert_rows(3, amount=5)  # openpyxl does not move names: move them like Excel would
    for name, dn in list(wb.defined_names.items()):
        sheet, cell = reader.parse_sheet_ref(dn.attr_text)
        if sheet == "预算执行":
            col, row = re.match(r"([A-Z]+)(\d+)", cell).groups()
            dn.attr_text = f"'预算执行'!${col}${int(row) + 5}"
    # and move the dept_name cell to another place on its sheet
    cover = wb["封面与基本信息"]
    old = wb.defined_names["dept_name"].attr_text
    _, cell = reader.parse_sheet_ref(old)
    cover["H20"] = cover[cell].value
    cover[cell] = None
    wb.defined_names["dept_name"].attr_text = "'封面与基本信息'!$H$20"
    out = tmp_path / "moved.xlsx"
    wb.save(out)
    m = reader.read(out)
    assert m.get("quota_basic") == pytest.approx(1013.93)
    assert m.get("dept_name") == "乐昌市民政局"
    assert m.fields["dept_name"].cell == "H20"


def test_reads_xlsm(build, data, tmp_path):
    path = build(data)
    wb = openpyxl.load_workbook(path)
    out = tmp_path / "带宏.xlsm"
    wb.save(out)
    assert reader.read(out).get("dept_name") == "乐昌市民政局"


def test_reads_from_bytes(sample_copy):
    m = reader.read("任意名称.xlsx", data=sample_copy.read_bytes())
    assert m.get("fiscal_year") == 2023


def test_parts_read_from_bytes_are_what_zipfile_reads(tmp_path):
    """The direct read of package parts equals ZipFile.read; anything unusual (a stored entry is
    fine, a damaged CRC is not) falls back to zipfile, so errors stay as they were."""
    import io
    import zipfile

    data = SAMPLE_XLSX.read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for info in z.infolist():
            assert reader.inflate_member(data, info) == z.read(info), info.filename
        stored = io.BytesIO()
        with zipfile.ZipFile(stored, "w", zipfile.ZIP_STORED) as out:
            for info in z.infolist():
                out.writestr(info.filename, z.read(info))
    stored = stored.getvalue()
    with zipfile.ZipFile(io.BytesIO(stored)) as z:
        for info in z.infolist():
            assert reader.inflate_member(stored, info) == z.read(info), info.filename
    a, b = reader.read("x.xlsx", stored), reader.read("x.xlsx", data)
    assert (a.fields, a.tables, a.names, a.outputs, a.missing) == (b.fields, b.tables, b.names, b.outputs, b.missing)
    # flip one byte of the stored workbook.xml: CRC mismatch -> zipfile's own error -> WorkbookError
    with zipfile.ZipFile(io.BytesIO(stored)) as z:
        info = z.getinfo("xl/workbook.xml")
    off = info.header_offset + 30 + len(info.filename.encode()) + 40
    broken = stored[:off] + bytes([stored[off] ^ 1]) + stored[off + 1:]
    assert reader.inflate_member(broken, info) is None
    with pytest.raises(reader.WorkbookError):
        reader.read("broken.xlsx", broken)


def test_parse_shortcuts_agree_with_the_general_parser():
    """coerce.parse answers the commonest cells (empty, text, finite numbers, dates) by exact
    type; each answer — value, its type, problem — is the general parser's."""
    from perfxl import coerce

    raws = [None, "", "  ", " 乐昌市民政局 ", "12,820.47", "77.12%", "2024年5月20日", "一千万", 0.0, -0.0, 3.0,
            2.5, 2023.0000000001, 2022.9999999999, 1e300, -1e-12, float("inf"), float("-inf"), float("nan"),
            True, False, 5, dt.date(2024, 5, 20), dt.datetime(2024, 5, 20, 8, 30)]
    for kind in (schema.TEXT, schema.INT, schema.MONEY, schema.DATE, schema.RATE, schema.NUMBER):
        for raw in raws:
            # repr: nan equals itself there, and 3 is told from 3.0
            assert repr(coerce.parse(kind, raw)) == repr(coerce._parse_general(kind, raw)), (kind, raw)


def test_values_built_by_the_reader_are_plain_values():
    """The reader builds Value objects without the dataclass __init__: they must be the same."""
    import dataclasses

    from perfxl.model import Value

    fast = reader._new_value(1.5, "预算执行", "C7", "1.5", None)
    slow = Value(1.5, "预算执行", "C7", "1.5", None)
    assert fast == slow and hash(fast) == hash(slow) and repr(fast) == repr(slow)
    assert vars(fast) == vars(slow)
    assert list(vars(fast)) == [f.name for f in dataclasses.fields(Value)]  # every field set, none extra
