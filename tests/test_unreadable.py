"""Files that cannot be read end with exit code 2 and one Chinese sentence naming the file;
no traceback, nothing written."""
from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys

import openpyxl
import pytest

from conftest import ROOT, SAMPLE_XLSX


def _xls(tmp_path):
    """A real Excel 97-2003 file, made by LibreOffice from the sample."""
    if not shutil.which("soffice"):
        pytest.skip("LibreOffice missing")  # scripts/setup.sh installs it
    out = tmp_path / "lo"
    subprocess.run(["soffice", f"-env:UserInstallation=file://{tmp_path}/profile", "--headless",
                    "--convert-to", "xls", "--outdir", str(out), str(SAMPLE_XLSX)],
                   check=True, capture_output=True, timeout=180)
    return (out / SAMPLE_XLSX.with_suffix(".xls").name).read_bytes()


def _encrypted(tmp_path):
    from msoffcrypto.format.ooxml import OOXMLFile

    out = io.BytesIO()
    OOXMLFile(io.BytesIO(SAMPLE_XLSX.read_bytes())).encrypt("secret", out) if hasattr(OOXMLFile, "encrypt") and False else None
    import msoffcrypto

    f = msoffcrypto.format.ooxml.OOXMLFile(open(SAMPLE_XLSX, "rb"))
    f.encrypt("secret", out)
    return out.getvalue()


def _plain_workbook(tmp_path):
    wb = openpyxl.Workbook()
    wb.active["A1"] = "部门名称"
    wb.active["B1"] = "乐昌市民政局"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


CASES = {
    "not-a-zip": lambda tmp: "这只是一段文字。\n".encode("utf-8"),
    "empty-file": lambda tmp: b"",
    "csv-renamed": lambda tmp: "部门名称,年度\n乐昌市民政局,2023\n".encode("utf-8"),
    "old-xls": _xls,
    "password-protected": _encrypted,
    "truncated-download": lambda tmp: SAMPLE_XLSX.read_bytes()[: len(SAMPLE_XLSX.read_bytes()) // 2],
    "no-standard-names": _plain_workbook,
}
EXPECT = {"not-a-zip": "不是 Excel", "empty-file": "空的", "csv-renamed": "CSV", "old-xls": ".xls",
          "password-protected": "密码", "truncated-download": "损坏", "no-standard-names": "标准"}


@pytest.mark.parametrize("kind", [pytest.param(k, marks=pytest.mark.libreoffice) if CASES[k] is _xls else k
                                  for k in CASES])
@pytest.mark.parametrize("command", ["check", "score", "report", "export", "run"])
def test_unreadable_file_exit_2(tmp_path, kind, command):
    path = tmp_path / f"坏 文件-{kind}.xlsx"
    path.write_bytes(CASES[kind](tmp_path))
    before = sorted(os.listdir(tmp_path))
    p = subprocess.run([sys.executable, "-m", "perfxl", command, str(path)], capture_output=True,
                       text=True, cwd=ROOT, timeout=120)
    assert p.returncode == 2, p.stderr
    assert "Traceback" not in p.stderr
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and path.name in lines[0] and EXPECT[kind] in lines[0]
    assert sorted(os.listdir(tmp_path)) == before  # nothing written


def test_missing_file_exit_2(tmp_path):
    p = subprocess.run([sys.executable, "-m", "perfxl", "check", str(tmp_path / "无.xlsx")],
                       capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 2 and "无.xlsx" in p.stderr and "Traceback" not in p.stderr
