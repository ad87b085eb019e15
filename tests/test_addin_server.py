"""The Excel add-in's server mode (macros/PerfxlServer.bas), checked without Excel: its texts,
the edits it applies against perfxl.edits, the HTTP routes it calls, and the --server-only build."""
from __future__ import annotations

import dataclasses
import re
import warnings
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from perfxl import addin, edits
from perfxl.errors import PerfxlError

ROOT = Path(__file__).resolve().parent.parent
MACROS = ROOT / "macros"
FLAGGED = ("Shell", "WScript.Shell", "Kill", "VBProject", "VBComponents")  # what olevba reports in xlwings


def _source(name: str) -> str:
    return (MACROS / f"{name}.bas").read_text("ascii")


def _u(s: str) -> str:
    """PerfxlText.U: \\uXXXX, \\n (line feed), \\q (double quote), \\\\."""
    return re.sub(r"\\(u[0-9a-fA-F]{4}|.)",
                  lambda m: chr(int(m.group(1)[1:], 16)) if m.group(1)[0] == "u" and len(m.group(1)) == 5
                  else {"n": "\n", "q": '"'}.get(m.group(1), m.group(1)), s)


def _texts() -> dict[str, str]:
    """Key → decoded text of every Case of PerfxlText.Msg."""
    out, key = {}, None
    for line in _source("PerfxlText").splitlines():
        if m := re.match(r'\s+Case "(\w+)": s = "(.*)"$', line):
            out[m.group(1)] = m.group(2)
        elif m := re.match(r'\s+Case "(\w+)"$', line):
            key = m.group(1)
        elif m := re.match(r'\s+s = "(.*)"$', line):
            out[key] = m.group(1)
        elif m := re.match(r'\s+s = s & "(.*)"$', line):
            out[key] += m.group(1)
    return {k: _u(v) for k, v in out.items()}


def _vba_syntax_errors(text: str) -> list[str]:
    """Syntax errors of a VBA module, by the VBA grammar of antlr4-vba (no Excel needed)."""
    from antlr4 import CommonTokenStream, InputStream
    from antlr4.error.ErrorListener import ErrorListener
    from antlr4_vba.vbaLexer import vbaLexer
    from antlr4_vba.vbaParser import vbaParser

    class Collect(ErrorListener):
        def __init__(self):
            self.errors: list[str] = []

        def syntaxError(self, recognizer, symbol, line, column, msg, e):
            self.errors.append(f"{line}:{column} {msg[:120]}")

    errors = Collect()
    lexer = vbaLexer(InputStream(text.replace("\r\n", "\n")))
    parser = vbaParser(CommonTokenStream(lexer))
    for r in (lexer, parser):
        r.removeErrorListeners()
        r.addErrorListener(errors)
    parser.startRule()
    return errors.errors


@pytest.mark.slow
@pytest.mark.parametrize("module", sorted(p.stem for p in MACROS.glob("*.bas")) + ["server-only PerfxlLocal"])
def test_vba_modules_parse(module):
    text = addin.SERVER_ONLY_LOCAL if module.startswith("server-only") else _source(module)
    assert _vba_syntax_errors(text) == []


def test_the_vba_grammar_check_finds_errors():
    assert _vba_syntax_errors('Attribute VB_Name = "M"\nSub A()\n    If 1 Then\n        Beep\nEnd Sub\n')


def test_every_message_the_vba_shows_exists_and_is_chinese():
    texts = _texts()
    used = {k for name in ("PerfxlRibbon", "PerfxlServer") for k in re.findall(r'Msg\("(\w+)"\)', _source(name))}
    used |= set(re.findall(r'Msg\("(\w+)"\)', addin.SERVER_ONLY_LOCAL))
    for keys in re.findall(r"keys = Array\(([^)]*)\)", _source("PerfxlServer")):  # looked up in a loop
        used |= set(re.findall(r'"(\w+)"', keys))
    assert used - texts.keys() == set()
    assert texts.keys() - used == set(), "unused texts"
    for key in used - {"COLON"}:
        assert re.search(r"[\u4e00-\u9fff]", texts[key]), key
    assert "Python" in texts["NOPY"] and "设置" in texts["NOPY"]  # "could not start Python", in Chinese
    assert texts["ERR"] == "错误" and texts["FINDINGS"] == "校验结果"


def test_the_vba_applies_every_edit_with_the_fields_in_their_order():
    server = _source("PerfxlServer")
    cases = dict(re.findall(r'Case "(\w+)"(?:  \' ([\w, ]+))?\n', server))
    for cls in (edits.SetCell, edits.DefineName, edits.EnsureSheet, edits.ClearSheet, edits.DeleteSheet,
                edits.ResizeTable, edits.Hyperlink, edits.MarkCell, edits.ClearMarks):
        assert cls.__name__ in cases, cls.__name__
        fields = [f.name for f in dataclasses.fields(cls)]
        if len(fields) > 1:  # the comment beside the Case names the fields, as the wire orders them
            assert cases[cls.__name__].split(", ") == fields, cls.__name__


def test_the_vba_calls_the_service_api():
    server = _source("PerfxlServer")
    for route in ('"/api/check?format=lines"', '"/api/report"', '"/api/submissions"'):
        assert route in server
    assert 'CreateObject("MSXML2.ServerXMLHTTP.6.0")' in server
    assert "SaveCopyAs" in server and '"Authorization", "Bearer "' in server
    assert "#perfxl-edits" in server and '"#msg"' in server


def _olevba(path: Path) -> tuple[set[str], set[str]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from oletools.olevba import VBA_Parser

    parser = VBA_Parser(str(path))
    try:
        modules = {Path(n).stem for _, _, n, _ in parser.extract_macros()}
        flagged = {k for t, k, _ in parser.analyze_macros() if t == "Suspicious"}
    finally:
        parser.close()
    return modules, flagged


def test_server_only_build_has_nothing_the_scanners_flag_in_xlwings(tmp_path):
    modules, flagged = _olevba(addin.build(tmp_path / "s.xlam", server="http://10.1.2.3:8000", server_only=True))
    assert {"PerfxlRibbon", "PerfxlServer", "PerfxlText", "PerfxlLocal"} <= modules
    assert not modules & {"xlwings", "Dictionary"}
    assert not flagged & set(FLAGGED), flagged
    full_modules, full_flagged = _olevba(addin.build(tmp_path / "f.xlam"))
    assert "xlwings" in full_modules and full_flagged & set(FLAGGED)  # the check can fail


def test_server_address_goes_into_the_conf_sheet(tmp_path):
    xlam = addin.build(tmp_path / "a.xlam", server="http://10.1.2.3:8000/")
    with zipfile.ZipFile(xlam) as z:
        strings = [si.findtext("{*}t") for si in ET.fromstring(z.read("xl/sharedStrings.xml"))]
    assert addin.SERVER_KEY in strings and "http://10.1.2.3:8000" in strings
    with pytest.raises(PerfxlError, match="http://"):
        addin.build(tmp_path / "b.xlam", server="10.1.2.3")
    with pytest.raises(PerfxlError, match="--server"):
        addin.build(tmp_path / "c.xlam", server_only=True)


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    from serverkit import DEPT_A, Server

    s = Server(tmp_path_factory.mktemp("addin-srv") / "data")
    s.token = s.user("clerk", "clerk", DEPT_A)
    s.start()
    yield s
    s.stop()


def test_the_service_answers_the_vba_in_the_line_format_it_parses(service):
    """What PerfxlServer.CheckBook asks for: the header it checks, a #msg line per button, a count
    of edit lines that matches, and only edits the VBA's ApplyEdit handles."""
    from serverkit import SAMPLE_XLSX

    from perfxl.server import editwire

    with service.client(service.token) as c:
        r = c.post("/api/check?format=lines", files={"file": (SAMPLE_XLSX.name, SAMPLE_XLSX.read_bytes())})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    lines = r.text.replace("\r", "").split("\n")
    head = lines[0].split("\t")
    assert head[0] == "#perfxl-edits" and head[1] == "1"
    body = [ln for ln in lines[1:] if ln and not ln.startswith("#")]
    assert int(head[2]) == len(body) == len(editwire.parse_lines(r.text))
    said = editwire.line_messages(r.text)
    assert said["score"] == "计算完成：总分 98.31 分，等级 优。公式已写回工作簿。"
    assert said["check"].startswith("校验完成：错误 ") and "错误浅红" in said["check"]
    handled = set(re.findall(r'^        Case "(\w+)"', _source("PerfxlServer"), re.M))
    assert {ln.split("\t")[0] for ln in body} <= handled
    assert any(ln.startswith("MarkCell\t") for ln in body) and any(ln.startswith("SetCell\t") for ln in body)


def test_the_service_hosts_an_excel_addin_with_its_address(service):
    with service.client() as c:
        r = c.get("/addins/perfxl.xlam?server-only=1")
    assert r.status_code == 200 and r.content[:2] == b"PK"
    with zipfile.ZipFile(__import__("io").BytesIO(r.content)) as z:
        strings = [si.findtext("{*}t") for si in ET.fromstring(z.read("xl/sharedStrings.xml"))]
    assert service.url in strings
