"""Outputs never destroy inputs: -o equal to an input, a wrong extension, backups, symlinks."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT
from perfxl import reader
from perfxl.outnames import backup_path, fit_stem


def perfxl(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "perfxl", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.fixture
def wb(build, data):
    data["fields"]["dept_name"] = "测试局"
    return build(data, "W.xlsx")


@pytest.mark.parametrize("argv", [
    ("report", "{w}", "-o", "{w}"),
    ("report", "{w}", "-o", "{dot}"),
    ("report", "{w}", "-o", "{link}"),
    ("score", "{w}", "-o", "{w}"),
    ("score", "{w}", "-o", "{link}"),
    ("check", "--mark", "{w}", "-o", "{w}"),
    ("check", "--unmark", "{w}", "-o", "{dot}"),
], ids=["report-same", "report-dotdot", "report-symlink", "score-same", "score-symlink", "mark-same",
        "unmark-dotdot"])
def test_output_equal_to_input_is_refused(wb, tmp_path, argv):
    (tmp_path / "sub").mkdir()
    link = tmp_path / "link.xlsx"
    link.symlink_to(wb)
    names = {"w": wb, "dot": tmp_path / "sub" / ".." / wb.name, "link": link}
    before = sha(wb)
    p = perfxl(*(a.format(**names) for a in argv))
    assert p.returncode == 2, p.stdout
    assert "同一个文件" in p.stderr and "Traceback" not in p.stderr
    assert sha(wb) == before


@pytest.mark.parametrize("argv, wrong", [
    (("report", "{w}", "-o", "other.xlsx"), "other.xlsx"),
    (("score", "{w}", "-o", "other.docx"), "other.docx"),
    (("check", "--mark", "{w}", "-o", "other.docx"), "other.docx"),
    (("addin", "build", "-o", "other.xlsx"), "other.xlsx"),
    (("new", "other.docx"), "other.docx"),
], ids=["report-to-xlsx", "score-to-docx", "mark-to-docx", "addin-to-xlsx", "new-docx"])
def test_output_of_another_kind_is_refused(wb, tmp_path, argv, wrong):
    other = tmp_path / wrong
    other.write_bytes(b"someone else's file")
    p = perfxl(*(a.format(w=wb) for a in argv), cwd=tmp_path)
    assert p.returncode == 2, p.stdout
    assert "结尾" in p.stderr and "Traceback" not in p.stderr
    assert other.read_bytes() == b"someone else's file"


def test_report_template_is_an_input(wb, tmp_path):
    tpl = tmp_path / "模板.docx"
    tpl.write_bytes(b"PK not really")
    p = perfxl("report", wb, "--template", tpl, "-o", tpl)
    assert p.returncode == 2 and "同一个文件" in p.stderr
    assert tpl.read_bytes() == b"PK not really"


def test_second_in_place_keeps_the_original_backup(wb, build, data):
    original = wb.read_bytes()
    assert perfxl("score", wb, "--in-place").returncode == 0
    assert (wb.parent / "W.xlsx.bak").read_bytes() == original
    data["fields"]["dept_name"] = "测试局（改过）"  # the clerk edits the workbook, then scores again
    build(data, "W.xlsx")
    edited = wb.read_bytes()
    assert edited != original
    assert perfxl("score", wb, "--in-place").returncode == 0
    assert (wb.parent / "W.xlsx.bak").read_bytes() == original  # the first backup is kept
    assert (wb.parent / "W.xlsx.2.bak").read_bytes() == edited
    assert backup_path(wb) == wb.parent / "W.xlsx.3.bak"


def test_in_place_on_a_symlink_rewrites_its_target(wb, tmp_path):
    (tmp_path / "links").mkdir()
    link = tmp_path / "links" / "W.xlsx"
    link.symlink_to(wb)
    original = wb.read_bytes()
    p = perfxl("score", link, "--in-place")
    assert p.returncode == 0, p.stderr
    assert link.is_symlink() and os.path.samefile(link, wb)
    assert reader.read(wb).outputs["score_total"].value is not None
    assert backup_path(wb) != wb.parent / "W.xlsx.bak"  # the backup sits beside the real file
    assert (wb.parent / "W.xlsx.bak").read_bytes() == original


def test_mark_on_a_symlink_rewrites_its_target(wb, tmp_path):
    link = tmp_path / "link.xlsx"
    link.symlink_to(wb)
    p = perfxl("check", "--mark", link)
    assert p.returncode in (0, 1), p.stderr
    assert link.is_symlink()
    assert "校验结果" in reader.read(wb).sheets


@pytest.mark.parametrize("stem", ["短名", "部门" * 120, "a" * 300, "𠀀" * 80])
def test_fit_stem_respects_name_max_in_bytes(stem):
    tail = "-校验结果.json"
    got = fit_stem(stem, tail)
    assert len((got + tail).encode("utf-8")) <= 255
    if len((stem + tail).encode("utf-8")) <= 255:
        assert got == stem
    else:
        assert got != fit_stem(stem[:-1] + "x", tail)  # same beginning, different names
        assert got.startswith(stem[:20])
