"""The kept-alive LibreOffice (perfxl.report.converter): same PDFs as one soffice per file, one
start for many files, and recovery from a LibreOffice that hangs, dies or is orphaned."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from conftest import ROOT
from pdfkit import facts, needs_poppler, needs_soffice, needs_uno, one_off_pdf, our_offices, wait_for
from perfxl.errors import PerfxlError
from perfxl.report.converter import Converter

pytestmark = [pytest.mark.libreoffice, needs_soffice]


@pytest.fixture(scope="module")
def report_docx(sample_data) -> bytes:
    from perfxl.pipeline import process_bytes
    from perfxl.template import build_workbook

    return process_bytes(build_workbook(sample_data), "样例.xlsx", report=True, pdf=False).report


def _office(conv: Converter):
    """The soffice.bin of ``conv`` (a child of its driver)."""
    return wait_for(lambda: our_offices(conv._proc.pid))[0]


@needs_uno
@needs_poppler
def test_same_pdf_as_one_soffice_per_file(report_docx):
    """Page count, text and fonts (the four official faces mapped) equal today's one-off call."""
    with Converter(keep=True) as conv:
        kept = conv.convert(report_docx)
    pages, text, fonts = facts(kept)
    assert (pages, text, fonts) == facts(one_off_pdf(report_docx))
    assert pages >= 15 and "部门整体支出绩效自评报告" in text.replace(" ", "")


@needs_uno
def test_one_libreoffice_for_many_files_and_none_left(report_docx):
    conv = Converter(keep=True)
    try:
        first = conv.convert(report_docx)
        office = _office(conv)
        for _ in range(2):
            assert conv.convert(report_docx)[:5] == b"%PDF-"
        assert conv.starts == 1 and _office(conv).pid == office.pid
        assert abs(len(first) - len(conv.convert(report_docx))) < 256  # the same document again
    finally:
        conv.close()
    office.wait(10)  # gone with the converter
    assert not conv.alive


@needs_uno
def test_libreoffice_is_replaced_after_many_files(report_docx):
    with Converter(keep=True) as conv:
        conv.recycle_after = 2
        for _ in range(3):
            conv.convert(report_docx)
            office = _office(conv)
        assert conv.starts == 2
        conv.convert(report_docx)
        assert conv.starts == 2 and _office(conv).pid == office.pid


@needs_uno
def test_hung_libreoffice_times_out_and_is_replaced(report_docx):
    """A stopped LibreOffice (SIGSTOP): the conversion fails after its time limit with a Chinese
    reason, the stopped process is killed, and the next file gets a new LibreOffice."""
    with Converter(timeout=4, keep=True) as conv:
        conv.convert(report_docx)
        office = _office(conv)
        os.kill(office.pid, signal.SIGSTOP)
        t = time.monotonic()
        with pytest.raises(PerfxlError, match="LibreOffice 转换 PDF 时超时（超过 4 秒）"):
            conv.convert(report_docx)
        assert time.monotonic() - t < 15
        office.wait(10)  # killed although stopped
        assert conv.convert(report_docx)[:5] == b"%PDF-"
        assert conv.starts == 2 and _office(conv).pid != office.pid


@needs_uno
def test_libreoffice_killed_during_a_conversion(report_docx):
    """Killed in the middle of a file: that file fails with a Chinese reason, the next works."""
    with Converter(timeout=60, keep=True) as conv:
        conv.convert(report_docx)
        office = _office(conv)
        os.kill(office.pid, signal.SIGSTOP)  # hold it, so the kill surely lands mid-conversion
        errors: list = []

        def convert():
            try:
                conv.convert(report_docx)
            except PerfxlError as e:
                errors.append(str(e))

        th = threading.Thread(target=convert)
        th.start()
        time.sleep(1.0)
        os.kill(office.pid, signal.SIGKILL)
        th.join(60)
        assert not th.is_alive()
        assert len(errors) == 1 and "LibreOffice 在转换时意外退出" in errors[0]
        assert conv.convert(report_docx)[:5] == b"%PDF-" and conv.starts == 2


@needs_uno
def test_libreoffice_killed_while_idle_costs_no_file(report_docx):
    import psutil

    with Converter(keep=True) as conv:
        conv.convert(report_docx)
        office = _office(conv)
        office.kill()
        office.wait(10)
        # its launcher (oosplash) exits too; then the next request finds LibreOffice gone
        wait_for(lambda: psutil.Process(conv.office_pid).status() == psutil.STATUS_ZOMBIE, 20)
        assert conv.convert(report_docx)[:5] == b"%PDF-"  # restarted and converted, not failed
        assert conv.starts == 2


@needs_uno
def test_no_libreoffice_left_when_its_caller_is_killed(tmp_path, report_docx):
    """kill -9 of the process that owns the converter: the driver notices and ends LibreOffice."""
    import psutil

    (tmp_path / "r.docx").write_bytes(report_docx)
    script = tmp_path / "owner.py"
    script.write_text(textwrap.dedent(f"""
        import json, sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from perfxl.report.converter import Converter
        conv = Converter(keep=True)
        conv.convert(open({str(tmp_path / 'r.docx')!r}, "rb").read())
        print(json.dumps({{"driver": conv._proc.pid}}), flush=True)
        time.sleep(600)
    """), "utf-8")
    owner = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        driver = psutil.Process(json.loads(owner.stdout.readline())["driver"])
        office = wait_for(lambda: our_offices(driver.pid))[0]
    finally:
        owner.kill()
        owner.wait()
    gone, alive = psutil.wait_procs([office, driver], timeout=20)
    assert all(p.status() == psutil.STATUS_ZOMBIE for p in alive), alive


@pytest.mark.slow
@needs_poppler
def test_without_uno_each_file_is_a_one_off_call(monkeypatch, report_docx):
    """A Python without the uno module (here: perfxl's own): one soffice per file, same PDF."""
    monkeypatch.setenv("PERFXL_UNO_PYTHON", sys.executable)
    with Converter(keep=True) as conv:
        body = conv.convert(report_docx)
        assert conv._pythons == []
        conv.convert(report_docx)
        assert conv.starts == 3  # the driver that found no uno, then one soffice per file
    assert facts(body)[:2] == facts(one_off_pdf(report_docx))[:2]


def test_missing_libreoffice_is_one_chinese_sentence(monkeypatch):
    monkeypatch.setenv("PERFXL_SOFFICE", "/nonexistent/soffice")
    monkeypatch.setenv("PATH", "/nonexistent")
    with Converter() as conv, pytest.raises(PerfxlError, match="未找到 LibreOffice"):
        conv.convert(b"PK")


@needs_uno
def test_first_file_of_a_process_is_a_one_off_call(report_docx):
    """Default converter (``perfxl run --pdf``): the first document by a one-off call, the fastest
    for one; a second one starts the LibreOffice that is then kept."""
    with Converter() as conv:
        conv.convert(report_docx)
        assert conv.starts == 1 and not conv.alive
        conv.convert(report_docx)
        assert conv.starts == 2 and conv.alive
        conv.convert(report_docx)
        assert conv.starts == 2
