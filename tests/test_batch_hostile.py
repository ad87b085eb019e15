"""One bad file never stops a batch, and a batch destroys nothing it does not own.

Each folder is built in code and run through the real command (worker processes included):
a 部门名称 holding a control character, a legal 249-byte Chinese file name, a folder already
named like an output, a sparse 30 GB ".xlsx", a FIFO; SIGTERM mid-run; ``-o`` = the input's parent.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import openpyxl
import psutil
import pytest

from conftest import ROOT, rewrite_zip
from perfxl.template import build_workbook

LONG = "部门整体支出绩效自评" * 8 + "长" * 1  # 81 characters, 243 bytes
LONG_NAME = LONG + "x.xlsx"               # 249 bytes: legal, yet "<stem>-自评报告.docx" is not
CTRL = "控制字符.xlsx"


def _env():
    return {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _cmd(*args):
    return [sys.executable, "-m", "perfxl", "batch", *map(str, args)]


def _with_control_character(sample: dict) -> bytes:
    """A workbook whose 部门名称 cell holds _x000B_ (legal in .xlsx, refused by openpyxl)."""
    data = json.loads(json.dumps(sample))
    data["fields"]["dept_name"] = "ZZDEPTZZ"
    return rewrite_zip(build_workbook(data), lambda n, b: b.replace(b"ZZDEPTZZ", "民政_x000B_局".encode()))


def _peak_rss(proc: subprocess.Popen, stop: threading.Event, peak: list) -> None:
    """Largest RSS of the batch's whole process tree, sampled every 20 ms."""
    try:
        root = psutil.Process(proc.pid)
    except psutil.Error:
        return
    while not stop.is_set():
        try:
            total = sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])
            peak[0] = max(peak[0], total)
        except psutil.Error:
            pass
        time.sleep(0.02)


def test_every_bad_file_is_its_own_row_and_every_good_one_is_done(tmp_path, sample_data):
    src, out = tmp_path / "报送", tmp_path / "评审结果"
    (src / "下属单位").mkdir(parents=True)
    good = build_workbook(sample_data)
    goods = ["a-好.xlsx", "z0.xlsx", LONG_NAME, "下属单位/b-好.xlsx"]
    for name in goods:
        (src / name).write_bytes(good)
    assert len(LONG_NAME.encode()) == 249
    (src / CTRL).write_bytes(_with_control_character(sample_data))
    with open(src / "稀疏 30GB.xlsx", "wb") as f:
        f.truncate(30 * 1024 ** 3)
    os.mkfifo(src / "管道.xlsx")
    os.mkfifo(src / "下属单位" / "管道2.xlsm")
    (out / "z0-已评分.xlsx").mkdir(parents=True)  # a folder named like z0.xlsx's output

    proc = subprocess.Popen(_cmd(src, "-o", out, "--recursive", "--jobs", "2", "--quiet"), env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stop, peak = threading.Event(), [0]
    sampler = threading.Thread(target=_peak_rss, args=(proc, stop, peak))
    sampler.start()
    try:
        stdout, stderr = proc.communicate(timeout=300)
    finally:
        stop.set()
        sampler.join()
    # the batch finished: bad files are rows with reasons, every good workbook was done (exit 1)
    assert proc.returncode == 1, stderr
    assert "Traceback" not in stderr and "内部错误" not in stderr, stderr
    assert peak[0] < 1 << 30, f"peak RSS {peak[0] / 2**20:.0f} MiB"
    print(f"peak RSS of the batch's process tree: {peak[0] / 2**20:.0f} MiB")

    doc = json.loads((out / "汇总表.json").read_text("utf-8"))
    rows = {r["文件"]: r for r in doc["rows"]}
    assert doc["meta"]["已中断"] == "否"
    # FIFOs are not regular files: skipped, never read; every regular workbook has its row
    assert set(rows) == {*goods, CTRL, "稀疏 30GB.xlsx"}
    for name in ("a-好.xlsx", LONG_NAME, "下属单位/b-好.xlsx", CTRL):
        assert rows[name]["状态"] == "成功", rows[name]
        assert rows[name]["总分"] == pytest.approx(98.31)
    assert rows[CTRL]["部门名称"] == "民政\x0b局"  # the data is kept; only the summary .xlsx drops it
    big = rows["稀疏 30GB.xlsx"]
    assert big["状态"] == "无法读取" and "上限" in big["原因"] and "30 GB" in big["原因"]
    z0 = rows["z0.xlsx"]
    assert z0["状态"] == "处理失败" and "同名的文件夹" in z0["原因"] and "z0-已评分.xlsx" in z0["原因"]
    assert (out / "z0-已评分.xlsx").is_dir()

    # the long name's outputs exist, shortened within 255 bytes, and are found by their stem
    reports = [p for p in out.iterdir() if p.name.endswith("-自评报告.docx") and p.name.startswith(LONG[:40])]
    assert len(reports) == 1 and len(reports[0].name.encode()) <= 255
    for p in out.rglob("*"):
        assert len(p.name.encode()) <= 255
    assert (out / "下属单位" / "b-好-自评报告.docx").is_file()

    ws = openpyxl.load_workbook(out / "汇总表.xlsx")["汇总"]
    table = list(ws.iter_rows(values_only=True))
    assert len(table) == 1 + len(rows)
    by_file = {r[table[0].index("文件")]: r for r in table[1:]}
    assert by_file[CTRL][table[0].index("部门名称")] == "民政局"
    assert f"共 {len(rows)} 个工作簿" in stdout and "无法读取 1" in stdout and "处理失败 1" in stdout


def test_output_folder_above_the_input_leaves_its_temporary_files_alone(tmp_path, sample_data):
    """``-o <parent of input>``: a ``.~perfxl-*`` inside the input folder belongs to someone
    else (a clerk's perfxl writing there right now); the batch must not delete it."""
    src = tmp_path / "报送"
    src.mkdir()
    (src / "a.xlsx").write_bytes(build_workbook(sample_data))
    theirs = src / ".~perfxl-abc123.xlsx"
    theirs.write_bytes(b"being written by another perfxl")
    ours = tmp_path / ".~perfxl-stale.docx"  # left in the output folder by a killed run
    ours.write_bytes(b"half")
    p = subprocess.run(_cmd(src, "-o", tmp_path, "--quiet"), env=_env(), capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stderr
    assert theirs.read_bytes() == b"being written by another perfxl"
    assert not ours.exists()
    assert (tmp_path / "a-自评报告.docx").is_file()


def _generated(n: int, folder: Path, seed: int) -> Path:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from gen_workbooks import generate
    finally:
        sys.path.pop(0)
    generate(n, folder, seed=seed)
    return folder


def test_sigterm_stops_workers_and_writes_the_partial_summary(tmp_path):
    src = _generated(30, tmp_path / "in", seed=5)
    out = tmp_path / "out"
    proc = subprocess.Popen(_cmd(src, "-o", out, "--jobs", "2"), env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(out.glob("*-自评报告.docx"))) < 5:
        time.sleep(0.05)
    tree = psutil.Process(proc.pid).children(recursive=True)
    assert tree, "the batch runs worker processes"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err.decode()
    assert "已中断" in err.decode() and "Traceback" not in err.decode()
    doc = json.loads((out / "汇总表.json").read_text("utf-8"))
    assert doc["meta"]["已中断"] == "是" and 5 <= len(doc["rows"]) < 30
    _, alive = psutil.wait_procs(tree, timeout=10)
    assert not alive, f"worker processes left running: {[p.pid for p in alive]}"
    assert not list(out.rglob(".~perfxl-*"))
