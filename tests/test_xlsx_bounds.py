"""A small file that describes a huge workbook is refused in Chinese before memory is spent:
a sheet that inflates far beyond its compressed size, an entry lying about its size, one cell at
XFD1048576. Peak memory is measured in a fresh process running the CLI."""
from __future__ import annotations

import os
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from perfxl.edits import SetCell, apply_edits_bytes
from perfxl.errors import WorkbookError
from perfxl.xlsx.bounds import MAX_PART_BYTES, used_range

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "乐昌市民政局-2023.xlsx"
SCORE_SHEET = "xl/worksheets/sheet10.xml"  # 评分表 in the sample (checked below)

# Peak RSS from /proc/self/status (VmHWM, this process's own memory since exec).  Not
# getrusage's ru_maxrss: Linux keeps that high-water mark across fork + exec, so a child of a
# large pytest process would report the parent's size.
_RSS = """
import re, sys
from perfxl import cli
try:
    rc = cli.main(sys.argv[1:])
except SystemExit as e:
    rc = e.code
hwm = int(re.search(r"VmHWM:\\s*(\\d+)", open("/proc/self/status").read()).group(1))
print("RSS_MB", hwm // 1024, "RC", rc, file=sys.stderr)
"""


def _run(*args: str) -> tuple[int, int, str]:
    """(exit code, peak RSS in MB, stderr) of ``perfxl ARGS`` in a fresh process."""
    p = subprocess.run([sys.executable, "-c", _RSS, *args], capture_output=True, text=True, timeout=600,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    last = p.stderr.strip().splitlines()[-1].split()
    assert last[0] == "RSS_MB", p.stderr
    return int(last[3]), int(last[1]), p.stderr


def _with_sheet(dst: Path, write_sheet) -> Path:
    """The sample with 评分表's part replaced by what ``write_sheet(original, file)`` streams."""
    with zipfile.ZipFile(SAMPLE) as src, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            if info.filename != SCORE_SHEET:
                out.writestr(info, src.read(info))
                continue
            zi = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            zi.compress_type = zipfile.ZIP_DEFLATED
            with out.open(zi, "w") as f:
                write_sheet(src.read(info), f)
    return dst


def _inflating_to(size: int):
    """Comments inside <sheetData> (valid XML) until the part holds ``size`` bytes."""
    def write(body: bytes, f) -> None:
        i = body.index(b"<sheetData>") + len(b"<sheetData>")
        f.write(body[:i])
        pad, n = b"<!--" + b" " * (1 << 20) + b"-->", len(body)
        while n < size:
            f.write(pad)
            n += len(pad)
        f.write(body[i:])
    return write


def test_the_sample_score_sheet_is_where_the_tests_expect_it():
    import openpyxl

    wb = openpyxl.load_workbook(SAMPLE, read_only=True)
    assert wb.sheetnames[9] == "评分表"  # sheet10.xml


@pytest.mark.parametrize("command", [["check"], ["check", "--mark"], ["score", "-o", "{out}"]], ids=" ".join)
def test_a_sheet_inflating_to_400_mib_is_refused_in_chinese_with_little_memory(tmp_path, command):
    """Before the bound, `score` on such a file (1 GiB: 5 GB, 43 s) parsed it all."""
    bomb = _with_sheet(tmp_path / "炸弹.xlsx", _inflating_to(400 << 20))
    assert bomb.stat().st_size < 2 << 20
    before = bomb.read_bytes()
    rc, rss, err = _run(*[a.format(out=tmp_path / "o.xlsx") for a in command], str(bomb))
    assert rc == 2 and "炸弹.xlsx：工作表“评分表”解压后超过 10 MB" in err and "Traceback" not in err, err
    assert rss < 200, rss
    assert bomb.read_bytes() == before and not (tmp_path / "o.xlsx").exists()


def test_an_entry_lying_about_its_size_is_measured_not_believed(tmp_path):
    """Central directory and local header say 1 KB; the deflate stream holds 100 MiB."""
    bomb = _with_sheet(tmp_path / "lie.xlsx", _inflating_to(100 << 20))
    data = bytearray(bomb.read_bytes())
    info = zipfile.ZipFile(bomb).getinfo(SCORE_SHEET)
    struct.pack_into("<I", data, info.header_offset + 22, 1024)  # local header: uncompressed size
    for off in _central_entries(bytes(data)):
        n = struct.unpack_from("<H", data, off + 28)[0]
        if data[off + 46: off + 46 + n].decode() == SCORE_SHEET:
            struct.pack_into("<I", data, off + 24, 1024)  # central directory: uncompressed size
    bomb.write_bytes(data)
    assert zipfile.ZipFile(bomb).getinfo(SCORE_SHEET).file_size == 1024
    with pytest.raises(WorkbookError, match="工作表“评分表”解压后超过"):
        apply_edits_bytes(bytes(data), [SetCell("评分表", "A1", 1)])
    rc, rss, err = _run("check", str(bomb))
    assert rc == 2 and "解压后超过" in err and rss < 200, (rss, err)


def _central_entries(data: bytes):
    off = data.find(b"PK\x01\x02")
    while off >= 0:
        yield off
        off = data.find(b"PK\x01\x02", off + 46)


def test_one_cell_at_the_last_row_and_column_is_refused_not_a_crash(tmp_path):
    """calamine lays a sheet's used range out densely: A1 and XFD1048576 asked it for 512 GB
    and the process died by SIGABRT without a word."""
    def write(body: bytes, f) -> None:
        f.write(body.replace(b"</sheetData>", b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>'))

    far = _with_sheet(tmp_path / "远处.xlsx", write)
    rc, rss, err = _run("check", str(far))
    assert rc == 2 and "远处.xlsx：工作表“评分表”的单元格范围过大" in err and "第 1048576 行、第 16384 列" in err, err
    assert rss < 200


def test_a_large_but_honest_sheet_is_read(tmp_path):
    """Within the bounds nothing changes: 9 MiB of comments in 评分表 still scores."""
    big = _with_sheet(tmp_path / "big.xlsx", _inflating_to(MAX_PART_BYTES - (1 << 20)))
    rc, rss, err = _run("score", "-o", str(tmp_path / "o.xlsx"), str(big))
    assert rc == 0, err
    assert (tmp_path / "o.xlsx").exists()


def test_used_range_reads_the_cell_references():
    assert used_range(b'<row r="3"><c r="B3"/><c r="AA7" s="1"><v>1</v></c></row>') == (7, 27)
    assert used_range(b'<x:c r="$C$9"/>') == (9, 3)
    assert used_range(b"<sheetData/>") == (0, 0)
