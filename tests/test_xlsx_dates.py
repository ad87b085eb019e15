"""Excel serial numbers: one conversion for the writer, the scorer and the reader."""
from __future__ import annotations

import datetime as dt

import openpyxl
import pytest

from perfxl import coerce, scoring
from perfxl.edits import SetCell, apply_edits_bytes
from perfxl.xlsx.dates import from_serial, to_serial


@pytest.mark.parametrize("day,serial", [
    ("1899-12-31", 0), ("1900-01-01", 1), ("1900-02-28", 59), ("1900-03-01", 61), ("2023-01-01", 44927),
    ("9999-12-31", 2958465)], ids=str)
def test_dates_of_the_1900_system_match_excel(day, serial):
    d = dt.date.fromisoformat(day)
    assert to_serial(d) == serial
    assert from_serial(serial) == d
    assert scoring.excel_serial(d) == serial  # the scorer uses the same conversion


def test_the_fictitious_leap_day_and_the_1904_system():
    with pytest.raises(ValueError):
        from_serial(60)  # Excel shows 1900-02-29, which did not exist
    assert coerce.to_date(60)[0] is None
    assert to_serial(dt.date(1904, 1, 1), date1904=True) == 0
    assert from_serial(1461, date1904=True) == dt.date(1908, 1, 1)
    assert to_serial(dt.date(1908, 1, 1), date1904=True) == 1461
    with pytest.raises(ValueError):
        to_serial(dt.date(1899, 12, 30))
    assert to_serial(dt.datetime(2024, 5, 20, 12)) == 45432.5
    assert to_serial(dt.time(6)) == 0.25


@pytest.mark.parametrize("day", ["1900-01-01", "1900-02-28", "1900-03-01", "2024-02-29"])
def test_a_written_date_reads_back_as_the_same_day(tmp_path, day):
    """openpyxl (which follows Excel's calendar) reads the serial perfxl wrote as the same day."""
    wb = openpyxl.Workbook()
    wb.active.title = "S"
    wb.save(tmp_path / "a.xlsx")
    d = dt.date.fromisoformat(day)
    out = apply_edits_bytes((tmp_path / "a.xlsx").read_bytes(), [SetCell("S", "A1", d)])
    (tmp_path / "b.xlsx").write_bytes(out)
    cell = openpyxl.load_workbook(tmp_path / "b.xlsx")["S"]["A1"]
    assert cell.value == to_serial(d)
    assert openpyxl.utils.datetime.from_excel(cell.value).date() == d
    assert coerce.to_date(cell.value)[0] == d
