"""Helpers for the LibreOffice converter tests: skips, today's one-off conversion, PDF facts,
and finding the soffice.bin processes this test started."""
from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from perfxl.report import pdf


@functools.lru_cache(maxsize=None)
def uno_python() -> str | None:
    from perfxl.report.converter import uno_python_candidates

    soffice = pdf.find_soffice()
    for py in uno_python_candidates(soffice) if soffice else []:
        if subprocess.run([py, "-c", "import uno"], capture_output=True).returncode == 0:
            return py
    return None


needs_soffice = pytest.mark.skipif(pdf.find_soffice() is None, reason="LibreOffice (soffice) not installed")
needs_uno = pytest.mark.skipif(uno_python() is None, reason="no Python with LibreOffice's uno module (python3-uno)")
needs_poppler = pytest.mark.skipif(not (shutil.which("pdftotext") and shutil.which("pdfinfo")),
                                   reason="poppler-utils not installed")


def one_off_pdf(docx: bytes) -> bytes:
    """The PDF as perfxl made it before the converter: one soffice per file, fresh profile."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "r.docx").write_bytes(docx)
        cmd = [pdf.find_soffice(), f"-env:UserInstallation={(work / 'profile').as_uri()}", "--headless",
               "--norestore", "--nologo", "--nodefault", "--nolockcheck", "--convert-to", "pdf", "--outdir",
               str(work / "out"), str(work / "r.docx")]
        subprocess.run(cmd, env=pdf.environment(work), capture_output=True, timeout=300, check=True)
        return (work / "out" / "r.pdf").read_bytes()


def facts(body: bytes) -> tuple[int, str, frozenset]:
    """(pages, pdftotext text, font names without subset prefix) of a PDF."""
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(body)
        f.flush()
        info = subprocess.run(["pdfinfo", f.name], capture_output=True, text=True, check=True).stdout
        text = subprocess.run(["pdftotext", "-layout", f.name, "-"], capture_output=True, text=True, check=True).stdout
        fonts = subprocess.run(["pdffonts", f.name], capture_output=True, text=True, check=True).stdout
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    names = frozenset(line.split()[0].split("+")[-1] for line in fonts.splitlines()[2:] if line.strip())
    return pages, text, names


def our_offices(root_pid: int | None = None) -> list:
    """The soffice.bin processes under ``root_pid`` (default: this process)."""
    import psutil

    try:
        procs = psutil.Process(root_pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    out = []
    for p in procs:
        try:
            if p.name() == "soffice.bin" and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
        except psutil.NoSuchProcess:
            pass
    return out


def wait_for(cond, timeout: float = 60.0, step: float = 0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = cond()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout} s waiting for {cond}")
