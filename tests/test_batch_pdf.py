"""`perfxl batch --pdf` with each worker's LibreOffice killed or hung in the middle of the batch:
the batch finishes, every other PDF is there, the failure is a Chinese reason in the 汇总, and
a re-run redoes only what failed."""
from __future__ import annotations

import copy
import csv
import os
import signal
import threading
import time

import psutil
import pytest

from pdfkit import needs_soffice, needs_uno, our_offices
from perfxl import batch
from perfxl.rulepack import load as load_rules
from perfxl.template import build_workbook

pytestmark = [pytest.mark.libreoffice, pytest.mark.slow, needs_soffice, needs_uno]
N = 8


@pytest.fixture(autouse=True)
def no_office_of_our_own():
    """Only the workers' LibreOffices run under this process (an earlier test may have left
    this process's own converter running)."""
    from perfxl.report.converter import close_shared

    close_shared()


@pytest.fixture(scope="module")
def pack():
    return load_rules()


@pytest.fixture
def folder(tmp_path, sample_data):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(N):
        d = copy.deepcopy(sample_data)
        d["fields"]["dept_name"] = f"第{i + 1}局"
        (src / f"局{i + 1}.xlsx").write_bytes(build_workbook(d))
    return src


class Saboteur(threading.Thread):
    """Once the first PDF is written, stops one worker's LibreOffice (SIGSTOP) so that its next
    file is surely mid-conversion, then, with ``kill``, kills it after ``hold`` seconds."""

    def __init__(self, out, kill: bool, hold: float = 3.0):
        super().__init__(daemon=True)
        self.out, self.kill, self.hold = out, kill, hold
        self.victim = None
        self.done = threading.Event()

    def run(self):
        end = time.monotonic() + 300
        while time.monotonic() < end and not self.done.is_set():
            offices = our_offices()
            if offices and self.out.exists() and any(self.out.glob("*.pdf")):
                self.victim = offices[0]
                os.kill(self.victim.pid, signal.SIGSTOP)
                if self.kill:
                    time.sleep(self.hold)
                    os.kill(self.victim.pid, signal.SIGKILL)
                return
            time.sleep(0.05)


def _dead(proc) -> bool:
    """Killed: gone, or a zombie its parent has not reaped yet (psutil calls a zombie running)."""
    try:
        return not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _check(result, out, reason: str):
    rows = {r["文件"]: r for r in result.rows}
    assert all(r["状态"] == "成功" for r in rows.values())
    missing = [f for f in rows if not (out / f.replace(".xlsx", "-自评报告.pdf")).exists()]
    assert len(missing) == 1, missing  # the file in LibreOffice at the time, and only that one
    for f in rows:  # every report is there, the failed PDF's too
        assert (out / f.replace(".xlsx", "-自评报告.docx")).stat().st_size > 0
    why = rows[missing[0]]["原因"]
    assert why.startswith("未能生成 PDF：") and reason in why, why
    with open(out / "汇总表.csv", encoding="utf-8-sig") as f:
        summary = {r["文件"]: r["原因"] for r in csv.DictReader(f)}
    assert summary[missing[0]] == why
    return missing[0]


def _rerun_redoes_only_the_failed(folder, out, pack, failed):
    again = batch.run(folder, out, pack=pack, pdf=True, jobs=2, progress=False)
    assert again.processed == 1 and again.skipped == N - 1
    assert (out / failed.replace(".xlsx", "-自评报告.pdf")).read_bytes()[:5] == b"%PDF-"
    assert all(r["原因"] == "" for r in again.rows)


def test_libreoffice_killed_mid_batch(folder, tmp_path, pack):
    out = tmp_path / "out"
    sab = Saboteur(out, kill=True)
    sab.start()
    try:
        result = batch.run(folder, out, pack=pack, pdf=True, jobs=2, progress=False)
    finally:
        sab.done.set()
        sab.join()
    assert sab.victim is not None and _dead(sab.victim)
    failed = _check(result, out, "LibreOffice 在转换时意外退出")
    assert not our_offices()  # the workers' LibreOffices ended with them
    _rerun_redoes_only_the_failed(folder, out, pack, failed)


def test_libreoffice_hung_mid_batch(folder, tmp_path, pack, monkeypatch):
    monkeypatch.setenv("PERFXL_PDF_TIMEOUT", "6")  # handed to the workers by the batch
    out = tmp_path / "out"
    sab = Saboteur(out, kill=False)
    sab.start()
    t = time.monotonic()
    try:
        result = batch.run(folder, out, pack=pack, pdf=True, jobs=2, progress=False)
    finally:
        sab.done.set()
        sab.join()
    assert time.monotonic() - t < 120
    assert sab.victim is not None
    sab.victim.wait(10)  # the stopped LibreOffice was killed, not left behind
    failed = _check(result, out, "LibreOffice 转换 PDF 时超时（超过 6 秒）")
    assert not our_offices()
    _rerun_redoes_only_the_failed(folder, out, pack, failed)
