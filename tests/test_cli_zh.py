"""The command line speaks one language: every --help (usage line, section titles, argparse's
own texts) and every command-line mistake in Chinese, with examples; inputs that are not
workbooks and outputs of the wrong kind get the right diagnosis."""
from __future__ import annotations

import argparse
import re
import subprocess
import sys

import pytest

from perfxl import argparse_zh
from perfxl.argparse_zh import display_width
from perfxl.cli import build_parser
from conftest import ROOT

ENGLISH = ("usage:", "positional arguments", "options:", "optional arguments", "show this help",
           "show program's version", "error:", "the following arguments", "unrecognized arguments",
           "invalid choice", "invalid int value", "expected one argument")


def _parsers(parser, prog="perfxl"):
    yield prog, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, f"{prog} {name}")


PARSERS = dict(_parsers(build_parser()))


@pytest.mark.parametrize("prog", list(PARSERS))
def test_help_is_chinese_with_examples(prog):
    text = PARSERS[prog].format_help()
    for phrase in ENGLISH:
        assert phrase not in text.lower(), (prog, phrase)
    assert text.startswith("用法：") and "选项：" in text
    examples = text.split("示例：\n", 1)[1].splitlines()
    assert 1 <= len(examples) <= 3 and all(line.strip().startswith(prog.split()[0]) for line in examples)
    assert any(line.strip().startswith(prog) for line in examples), (prog, examples)


def test_option_help_is_aligned_by_display_width():
    text = PARSERS["perfxl new"].format_help()
    section = text.split("选项：\n")[1].split("\n\n")[0].splitlines()
    starts = set()
    for line in section:
        m = re.match(r"^(\s+-\S.*?\s{2,})(\S.*)$", line) or re.match(r"^(\s{3,})(\S.*)$", line)
        if m:
            starts.add(display_width(m[1]))
    assert len(starts) == 1, section  # every help text begins in the same terminal column


@pytest.mark.parametrize("argv, expected", [
    (["score"], "缺少必需的参数：工作簿.xlsx"),
    ([], "缺少必需的参数：命令"),
    (["check", "a.xlsx", "--bogus"], "无法识别的参数：--bogus"),
    (["new", "a.xlsx", "--year", "二〇二四"], "参数 --year：“二〇二四”不是有效的整数"),
    (["addin", "foo"], "参数 操作：“foo”不是可选值（可选：build、install、wps-zip）"),
    (["nosuch"], "参数 命令：“nosuch”不是可选值"),
    (["batch", "x", "-o"], "参数 -o/--output：需要一个值"),
], ids=["missing", "no-command", "unknown-option", "bad-int", "bad-choice", "bad-command", "no-value"])
def test_command_line_mistakes_are_chinese(argv, expected):
    p = subprocess.run([sys.executable, "-m", "perfxl", *argv], capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 2
    assert expected in p.stderr and p.stderr.startswith("用法：perfxl"), p.stderr
    for phrase in ENGLISH:
        assert phrase not in p.stderr, p.stderr


def test_unknown_messages_pass_through():
    assert argparse_zh.translate("something new in Python 3.14") == "something new in Python 3.14"


def test_other_parsers_in_the_process_stay_english():
    assert "usage:" in argparse.ArgumentParser(prog="x").format_usage()


def test_new_refuses_a_word_file_name(tmp_path):
    out = tmp_path / "out.docx"
    p = subprocess.run([sys.executable, "-m", "perfxl", "new", str(out)], capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 2 and ".xlsx" in p.stderr and not out.exists()


@pytest.mark.parametrize("command", ["score", "check", "report"])
def test_a_word_document_as_input_is_diagnosed_as_not_a_workbook(tmp_path, command):
    import docx

    src = tmp_path / "报告.docx"
    docx.Document().save(src)
    before = sorted(tmp_path.iterdir())
    p = subprocess.run([sys.executable, "-m", "perfxl", command, str(src)], capture_output=True, text=True,
                       cwd=ROOT)
    assert p.returncode == 2
    assert "报告.docx：这是 Word 文档" in p.stderr and "不是 Excel 工作簿" in p.stderr, p.stderr
    assert "输出文件名" not in p.stderr and "-o" not in p.stderr  # not a complaint about the output
    assert sorted(tmp_path.iterdir()) == before


def test_a_workbook_under_another_extension_is_asked_to_be_renamed(tmp_path):
    from conftest import SAMPLE_XLSX

    src = tmp_path / "数据.bin"
    src.write_bytes(SAMPLE_XLSX.read_bytes())
    p = subprocess.run([sys.executable, "-m", "perfxl", "score", str(src)], capture_output=True, text=True,
                       cwd=ROOT)
    assert p.returncode == 2 and "“数据.xlsx”" in p.stderr and "改名" in p.stderr, p.stderr
