"""Files that are not standard workbooks are told what they are; system errors are Chinese."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, rewrite_zip
from perfxl.template import build_workbook
from perfxl.testing.libreoffice import find_soffice, soffice_available

_STRICT = {b"http://schemas.openxmlformats.org/spreadsheetml/2006/main": b"http://purl.oclc.org/ooxml/spreadsheetml/main",
           b"http://schemas.openxmlformats.org/officeDocument/2006/relationships":
               b"http://purl.oclc.org/ooxml/officeDocument/relationships"}


def perfxl(*args):
    return subprocess.run([sys.executable, "-m", "perfxl", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)


def _strict(body: bytes) -> bytes:
    """The workbook in Strict Open XML (Excel: 另存为 → Strict Open XML 电子表格): same parts,
    the ISO namespaces, conformance="strict"."""
    def fix(name: str, part: bytes) -> bytes:
        for a, b in _STRICT.items():
            part = part.replace(a, b)
        if name == "xl/workbook.xml":
            part = re.sub(rb"<workbook ", b'<workbook conformance="strict" ', part, count=1)
        return part

    return rewrite_zip(body, fix)


def test_strict_open_xml_is_named_and_the_fix_given(tmp_path, sample_data):
    p = tmp_path / "严格.xlsx"
    p.write_bytes(_strict(build_workbook(sample_data)))
    r = perfxl("check", p)
    assert r.returncode == 2
    assert "Strict Open XML" in r.stderr and "另存为" in r.stderr and "Excel 工作簿(*.xlsx)" in r.stderr
    assert "不是标准绩效自评工作簿" not in r.stderr


@pytest.mark.skipif(not soffice_available(), reason="LibreOffice (soffice) not installed")
@pytest.mark.parametrize("name", ["表.ods", "改了扩展名.xlsx"])
def test_an_ods_is_named_and_the_fix_given(tmp_path, sample_data, name):
    src = tmp_path / "表.xlsx"
    src.write_bytes(build_workbook(sample_data))
    out = tmp_path / "ods"
    subprocess.run([find_soffice(), f"-env:UserInstallation=file://{tmp_path / 'profile'}", "--headless",
                    "--convert-to", "ods", "--outdir", str(out), str(src)], check=True, capture_output=True,
                   timeout=180)
    p = tmp_path / name
    (out / "表.ods").rename(p)
    r = perfxl("check", p)
    assert r.returncode == 2
    assert "OpenDocument 电子表格" in r.stderr and "另存为" in r.stderr and "*.xlsx" in r.stderr


@pytest.fixture
def small_mount(tmp_path):
    """mount(options) → a fresh tmpfs folder (root only; skipped elsewhere), unmounted after."""
    mounted = []

    def mount(options: str) -> Path:
        d = tmp_path / f"mnt{len(mounted)}"
        d.mkdir()
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(d)], capture_output=True)
        if r.returncode != 0:
            pytest.skip("cannot mount a tmpfs here (needs root)")
        mounted.append(d)
        return d

    yield mount
    for d in mounted:
        subprocess.run(["umount", str(d)], capture_output=True)


def test_disk_full_is_said_in_chinese(small_mount, build, data):
    wb = build(data, "W.xlsx")
    full = small_mount("size=32k")
    with open(full / "填满", "wb") as f:  # leave a few KB: not enough for the scored workbook
        try:
            f.write(b"x" * (28 * 1024))
        except OSError:
            pass
    r = perfxl("score", wb, "-o", full / "已评分.xlsx")
    assert r.returncode == 2
    assert "磁盘空间已满" in r.stderr, r.stderr
    assert "No space" not in r.stderr and "Traceback" not in r.stderr
    assert not [p for p in full.iterdir() if p.name.startswith(".~perfxl-")]


def test_read_only_file_system_is_said_in_chinese(small_mount, build, data):
    wb = build(data, "W.xlsx")
    ro = small_mount("ro,size=64k")
    r = perfxl("report", wb, "-o", ro / "报告.docx")
    assert r.returncode == 2
    assert "只读" in r.stderr, r.stderr
    assert "Read-only" not in r.stderr and "Traceback" not in r.stderr


def test_unknown_errno_keeps_a_code_not_english():
    from perfxl.oserrors import describe

    assert describe(OSError(5, "Input/output error")) == "读写磁盘时出错（磁盘、U 盘或网络盘可能有故障）"
    text = describe(OSError(99999, "Something English"))
    assert "99999" in text and "English" not in text


def _padded(sample_data, megabytes: int) -> bytes:
    """The standard workbook with an incompressible picture-sized part of ``megabytes`` MB."""
    import io
    import zipfile

    buf = io.BytesIO(build_workbook(sample_data))
    with zipfile.ZipFile(buf, "a", zipfile.ZIP_STORED) as z:
        z.writestr("xl/media/image99.bin", os.urandom(megabytes << 20))
    return buf.getvalue()


def test_a_large_workbook_stays_well_under_1_gb(tmp_path, sample_data):
    """Just under the input limit (100 MB): check, score and report it in one process, measured."""
    from perfxl.fileio import MAX_WORKBOOK_BYTES

    p = tmp_path / "大.xlsx"
    p.write_bytes(_padded(sample_data, 95))
    assert p.stat().st_size < MAX_WORKBOOK_BYTES
    r = subprocess.run([sys.executable, "-c", "import re, sys; from perfxl.cli import main; code = main(sys.argv[1:]);"
                        # VmHWM: this process's own peak (ru_maxrss would carry pytest's over fork + exec)
                        " print(re.search(r'VmHWM:\\s*(\\d+)', open('/proc/self/status').read()).group(1),"
                        " file=sys.stderr); sys.exit(code)",
                        "run", str(p), "-o", str(tmp_path / "out")], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode in (0, 1), r.stderr
    peak_kb = int(r.stderr.strip().splitlines()[-1])
    print(f"peak RSS of perfxl run on a 95 MB workbook: {peak_kb / 1024:.0f} MiB")
    assert peak_kb < 1 << 20  # KB: under 1 GB


def test_a_workbook_over_the_limit_is_refused_before_reading(tmp_path, sample_data):
    p = tmp_path / "太大.xlsx"
    with open(p, "wb") as f:  # sparse: 30 GB on paper, nothing on disk
        f.truncate(30 << 30)
    r = perfxl("check", p)
    assert r.returncode == 2 and "30 GB" in r.stderr and "上限" in r.stderr, r.stderr
