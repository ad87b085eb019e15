"""The report as PDF through LibreOffice: it converts, renders to PNG pages, and keeps its faces."""
from __future__ import annotations

import re
import shutil
import subprocess
from xml.etree import ElementTree as ET

import pytest

from perfxl import reader, rulepack, scoring
from perfxl.report import pdf, render_report
from perfxl.template import build_workbook

needs_soffice = pytest.mark.skipif(pdf.find_soffice() is None, reason="LibreOffice (soffice) not installed")
needs_poppler = pytest.mark.skipif(not (shutil.which("pdftoppm") and shutil.which("pdffonts")),
                                   reason="poppler-utils (pdftoppm, pdffonts) not installed")


def test_fonts_conf_is_valid_fontconfig():
    root = ET.fromstring(pdf.fonts_conf().split("\n", 2)[2])  # after the XML declaration and DOCTYPE
    assert root.tag == "fontconfig"
    aliases = {a.find("family").text: [f.text for f in a.find("prefer")] for a in root.iter("alias")}
    assert aliases["仿宋_GB2312"][-1] == "Noto Serif CJK SC"
    assert "AR PL UKai CN" in aliases["楷体_GB2312"]
    assert "Noto Sans CJK SC" in aliases["黑体"]
    assert all(a.get("binding") == "same" for a in root.iter("alias"))
    assert root.find("include").text == pdf.SYSTEM_FONTS_CONF


def test_missing_libreoffice_is_one_chinese_sentence(monkeypatch):
    from perfxl.errors import PerfxlError

    pdf.close_shared()  # this process's converter found LibreOffice before: start afresh
    monkeypatch.setenv("PERFXL_SOFFICE", "/nonexistent/soffice")
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(PerfxlError, match="未找到 LibreOffice"):
        pdf.docx_to_pdf_bytes(b"PK")
    pdf.close_shared()


@pytest.fixture(scope="module")
def sample_pdf(tmp_path_factory, sample_data):
    tmp = tmp_path_factory.mktemp("pdf")
    pack = rulepack.load()
    wb = tmp / "wb.xlsx"
    wb.write_bytes(build_workbook(sample_data, pack=pack))
    model = reader.read(wb)
    out = render_report(model, scoring.score(model, pack), tmp / "报告.docx", pdf=True, pack=pack)
    return out, out.with_suffix(".pdf")


@needs_soffice
def test_pdf_beside_the_docx(sample_pdf):
    docx, pdf_path = sample_pdf
    assert docx.exists() and pdf_path.read_bytes().startswith(b"%PDF")
    assert sorted(p.name for p in docx.parent.iterdir()) == ["wb.xlsx", "报告.docx", "报告.pdf"]  # no temp files


@needs_soffice
@needs_poppler
def test_pdf_renders_to_png_pages(sample_pdf, tmp_path):
    _, pdf_path = sample_pdf
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf_path), str(tmp_path / "page")], check=True,
                   capture_output=True, timeout=120)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 15  # the sample report runs to about 25 A4 pages
    with open(pages[0], "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


@needs_soffice
@needs_poppler
def test_pdf_keeps_several_cjk_faces(sample_pdf):
    """The aliases work: 仿宋, 小标宋, 黑体 and 楷体 come out as different installed faces, and
    no Chinese text fell back to a Latin-only font (which would print tofu boxes)."""
    _, pdf_path = sample_pdf
    out = subprocess.run(["pdffonts", str(pdf_path)], check=True, capture_output=True, text=True,
                         timeout=60).stdout
    names = [line.split()[0].split("+")[-1] for line in out.splitlines()[2:] if line.strip()]
    families = {re.sub(r"(-(Regular|Bold|VKana)|jp|cn)+$", "", n, flags=re.I).lower() for n in names}
    cjk = {f for f in families if re.search(r"cjk|uming|ukai|wenquanyi|zenhei|fang|kai|hei|song", f)}
    assert len(cjk) >= 2, names
    assert not [n for n in names if "DejaVu" in n], names


@needs_soffice
def test_pdf_only_output(tmp_path, sample_data):
    pack = rulepack.load()
    wb = tmp_path / "wb.xlsx"
    wb.write_bytes(build_workbook(sample_data, pack=pack))
    model = reader.read(wb)
    out = render_report(model, scoring.score(model, pack), tmp_path / "out" / "r.pdf", pack=pack)
    assert out == tmp_path / "out" / "r.pdf" and out.read_bytes().startswith(b"%PDF")
    assert [p.name for p in out.parent.iterdir()] == ["r.pdf"]


def test_run_pdf_without_libreoffice_keeps_the_report(monkeypatch, tmp_path, sample_copy):
    """`perfxl run --pdf` when no PDF can be made: every other output is written, and the
    Chinese reason is printed; the workbook's status is not changed by it."""
    from perfxl.runone import run_one

    pdf.close_shared()
    monkeypatch.setenv("PERFXL_SOFFICE", "/nonexistent/soffice")
    monkeypatch.setenv("PATH", "/nonexistent")
    try:
        result = run_one(sample_copy, tmp_path / "out", pdf=True)
    finally:
        pdf.close_shared()
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert any(n.endswith("-自评报告.docx") for n in names) and not any(n.endswith(".pdf") for n in names)
    assert result.result.ok and "注意：未能生成 PDF：未找到 LibreOffice" in result.summary


def test_report_pdf_without_libreoffice(monkeypatch, tmp_path, sample_copy, capsys):
    """`perfxl report --pdf`: the .docx is written and the reason printed; `-o x.pdf` (the PDF
    alone was asked for) fails with the reason and writes nothing."""
    from perfxl import cli

    pdf.close_shared()
    monkeypatch.setenv("PERFXL_SOFFICE", "/nonexistent/soffice")
    monkeypatch.setenv("PATH", "/nonexistent")
    try:
        cli.main(["report", str(sample_copy), "-o", str(tmp_path / "r.docx"), "--pdf"])
        said = capsys.readouterr().out
        assert (tmp_path / "r.docx").stat().st_size > 0 and not (tmp_path / "r.pdf").exists()
        assert "注意：未能生成 PDF：未找到 LibreOffice" in said and "及 r.pdf" not in said
        code = cli.main(["report", str(sample_copy), "-o", str(tmp_path / "only.pdf")])
        captured = capsys.readouterr()
        assert code == 2 and not (tmp_path / "only.pdf").exists()
        assert "未能生成 PDF：未找到 LibreOffice" in captured.out + captured.err
    finally:
        pdf.close_shared()
