"""What perfxl prints: never a workbook's control characters, never a traceback on a closed pipe."""
from __future__ import annotations

import os
import subprocess
import sys


from conftest import ROOT, rewrite_zip
from perfxl import reader
from perfxl.template import build_workbook
from perfxl.termtext import printable

HOSTILE = b"_x001B_]0;pwned_x0007__x001B_[31m\xe7\xba\xa2\xe5\xad\x97\xe5\xb1\x80_x0008__x000D_"


def _hostile(data, tmp_path, name="esc.xlsx"):
    data["fields"]["dept_name"] = "ZZDEPTZZ"
    body = rewrite_zip(build_workbook(data), lambda n, b: b.replace(b"ZZDEPTZZ", HOSTILE))
    p = tmp_path / name
    p.write_bytes(body)
    assert "\x1b" in reader.read(p).get("dept_name")  # the workbook really holds ESC
    return p


def _perfxl(*args, **kw):
    return subprocess.run([sys.executable, "-m", "perfxl", *map(str, args)], cwd=ROOT, timeout=300, **kw)


def test_control_characters_never_reach_the_terminal(data, tmp_path):
    w = _hostile(data, tmp_path)
    p = _perfxl("run", w, "-o", tmp_path / "out", capture_output=True)
    assert p.returncode in (0, 1), p.stderr
    for stream in (p.stdout, p.stderr):
        assert not any(c in stream for c in b"\x1b\x07\x08\r"), stream[:300]
    assert "红字局".encode() in p.stdout


def test_control_characters_in_a_file_name_never_reach_the_terminal(tmp_path):
    bad = tmp_path / "\x1b[31m\x07坏.xlsx"
    bad.write_bytes(b"not a workbook")
    p = _perfxl("check", bad, capture_output=True)
    assert p.returncode == 2
    assert "坏.xlsx".encode() in p.stderr
    assert not any(c in p.stderr + p.stdout for c in b"\x1b\x07")


def test_printable_keeps_text_drops_controls():
    assert printable("甲\t乙\n丙\x1b[31m丁\x07\x9b\u202e戊") == "甲\t乙\n丙[31m丁戊"


def test_closed_pipe_is_neither_a_traceback_nor_a_false_statement(build, data, tmp_path):
    """``perfxl check --mark W.xlsx | head -1``: the reader has gone before perfxl prints."""
    w = build(data, "W.xlsx")
    r, wfd = os.pipe()
    os.close(r)  # the reader already left: every write to stdout is EPIPE
    try:
        p = _perfxl("check", "--mark", w, stdout=wfd, stderr=subprocess.PIPE, text=True)
    finally:
        os.close(wfd)
    assert "Traceback" not in p.stderr and "没有被修改" not in p.stderr, p.stderr
    assert p.returncode in (0, 1), p.stderr  # check's own exit code: the work was done
    assert "校验结果" in reader.read(w).sheets
