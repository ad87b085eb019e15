"""The Excel add-in's VBA run for real (LibreOffice's VBA-compatible Basic, see tests/vbakit.py):
its Chinese texts decode, its UTF-8 both ways is right, and it splits the service's edit lines into
exactly the fields the reference decoder (perfxl.server.editwire) gives, choosing the same edits
for 校验数据 and 计算得分 as the WPS add-in does."""
from __future__ import annotations

import socket

import pytest

import vbakit
from pdfkit import needs_soffice, needs_uno, uno_python
from test_addin_server import _texts

from perfxl import pipeline
from perfxl.edits import MarkCell, SetCell
from perfxl.report import pdf
from perfxl.server import editwire

pytestmark = [pytest.mark.libreoffice, pytest.mark.slow, needs_soffice, needs_uno]

NASTY = "制表\t换行\n回车\r反斜杠\\n 😀 =1+1 'x \"q\""
JSON = '{"id":7,"error":"工作簿“乐昌”有误：\\"x\\"\\n第二行\\u4e2d","version":2,"total":98.31,"grade":"优","pdf":null}'
MARKING = {"ClearMarks", "MarkCell", "Hyperlink"}
FINDINGS_SHEET_OPS = {"SetCell", "EnsureSheet", "ClearSheet", "DeleteSheet"}

HARNESS = '''Option Explicit

Function Hexes(ByVal s As String) As String
    Dim i As Long, out As String
    For i = 1 To Len(s)
        out = out & Hex(AscW(Mid$(s, i, 1)) And &HFFFF&) & " "
    Next i
    Hexes = out
End Function

Function Text(ByVal path As String) As String
    Text = Utf8Text(ReadBytes(path))
End Function

Sub Main
    Dim f As Integer, i As Long, j As Long, k As Variant, b() As Byte, s As String
    Dim lines() As String, fl() As String
    f = FreeFile
    Open "{dir}/out.txt" For Output As #f
    For Each k In Array({keys})
        Print #f, "MSG" & vbTab & k & vbTab & Hexes(PerfxlText.Msg(CStr(k)))
    Next k
    b = Utf8Bytes(Text("{dir}/text.txt"))
    s = ""
    For i = LBound(b) To UBound(b)
        s = s & Hex(b(i)) & " "
    Next i
    Print #f, "UTF8" & vbTab & s
    lines = Split(Replace(Text("{dir}/answer.txt"), vbCr, ""), vbLf)
    For i = 0 To UBound(lines)
        If Len(lines(i)) > 0 Then
            fl = Split(lines(i), vbTab)
            s = ""
            For j = 0 To UBound(fl)
                fl(j) = Unescape(fl(j))
                s = s & Hexes(fl(j)) & ";"
            Next j
            If Left$(lines(i), 1) <> "#" Then
                s = s & vbTab & IIf(Wanted(fl, "check"), "1", "0") & IIf(Wanted(fl, "score"), "1", "0")
            End If
            Print #f, "LINE" & vbTab & s
        End If
    Next i
    s = Text("{dir}/json.txt")
    For Each k In Array("id", "error", "version", "total", "grade", "pdf", "absent")
        Print #f, "JSON" & vbTab & k & vbTab & Hexes(JsonField(s, CStr(k)))
    Next k
    Close #f
End Sub
'''


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _unhex(text: str) -> str:
    return "".join(chr(int(h, 16)) for h in text.split())


def _utf16(s: str) -> str:
    """``s`` as VBA holds it (UTF-16 code units), for comparing with what AscW gives."""
    raw = s.encode("utf-16-le")
    return "".join(chr(int.from_bytes(raw[i:i + 2], "little")) for i in range(0, len(raw), 2))


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    from conftest import SAMPLE_XLSX

    work = tmp_path_factory.mktemp("vba")
    analysis = pipeline.analyse(pipeline.load(SAMPLE_XLSX.name, SAMPLE_XLSX.read_bytes()))
    edits = pipeline.workbook_edits(analysis, analysis.pack, score=True, mark=True)
    edits += [SetCell("校验结果", "A99", NASTY), MarkCell("预算执行", "C7", NASTY, "提示")]
    answer = editwire.edits_lines(edits, {"check": "校验完成：\t第一行\n第二行", "score": "总分 98.31 分"})
    (work / "answer.txt").write_bytes(answer.encode("utf-8"))
    (work / "text.txt").write_bytes(NASTY.encode("utf-8"))
    (work / "json.txt").write_bytes(JSON.encode("utf-8"))
    keys = sorted(_texts())
    server = vbakit.extract("PerfxlServer", ["ByteCount", "Concat", "Utf8Bytes", "Utf8Text", "ReadBytes",
                                             "Unescape", "JsonField", "Field", "Wanted"])
    harness = HARNESS.replace("{dir}", work.as_posix()).replace("{keys}", ", ".join(f'"{k}"' for k in keys))
    vbakit.run(pdf.find_soffice(), uno_python(), work,
               {"PerfxlText": vbakit.module_source("PerfxlText"), "Harness": harness + "\n" + server}, _free_port())
    out = (work / "out.txt").read_text("ascii").splitlines()
    return {"answer": answer, "out": [line.split("\t") for line in out], "keys": keys}


def test_every_chinese_text_decodes_in_basic_as_in_python(ran):
    got = {row[1]: _unhex(row[2]) for row in ran["out"] if row[0] == "MSG"}
    assert got.keys() == set(ran["keys"])
    assert got == {k: _utf16(v) for k, v in _texts().items()}


def test_utf8_encoding_matches_python(ran):
    [row] = [r for r in ran["out"] if r[0] == "UTF8"]
    assert bytes(int(h, 16) for h in row[1].split()) == NASTY.encode("utf-8")


def test_the_vba_splits_the_service_answer_like_the_reference_decoder(ran):
    rows = [r for r in ran["out"] if r[0] == "LINE"]
    want = [ln for ln in ran["answer"].split("\n") if ln]
    assert len(rows) == len(want) > 50
    findings = _texts()["FINDINGS"]
    for row, line in zip(rows, want):
        fields = [_unhex(h) for h in row[1].split(";")[:-1]]
        assert fields == [_utf16(editwire._unesc(f)) for f in line.split("\t")], line[:80]
        if not line.startswith("#"):
            op, first = fields[0], (fields[1] if len(fields) > 1 else "")
            marking = op in MARKING or (op in FINDINGS_SHEET_OPS and first == findings)
            assert row[2] == ("10" if marking else "01"), line[:80]
    assert any(_utf16(NASTY) in f for r in rows for f in [_unhex(h) for h in r[1].split(";")[:-1]])
    msgs = {r[1].split(";")[1]: r for r in rows if _unhex(r[1].split(";")[0]) == "#msg"}
    assert len(msgs) == 2


def test_json_fields_as_the_service_writes_them(ran):
    got = {r[1]: _unhex(r[2]) for r in ran["out"] if r[0] == "JSON"}
    assert got == {"id": "7", "error": _utf16("工作簿“乐昌”有误：\"x\"\n第二行中"), "version": "2", "total": "98.31",
                   "grade": "优", "pdf": "", "absent": ""}
