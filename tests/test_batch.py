"""`perfxl batch`: a folder in, every output and the reviewer's summary out.

Real files, a real process pool; the tiny folder is built in code from the sample data.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest

from conftest import ROOT, rewrite_zip
from perfxl import batch, summary
from perfxl.rulepack import load as load_rules
from perfxl.template import build_workbook

GOOD = "乐昌市民政局 2023年度.xlsx"
BAD = "有错误的 工作簿.xlsx"
TRUNCATED = "下载 未完成.xlsx"
EMPTY = "空文件.xlsx"
SUB = "下属 单位/仁化县 教育局.xlsm"


def as_xlsm(body: bytes) -> bytes:
    """The same workbook declared macro-enabled (no VBA project: Excel opens it as .xlsm)."""
    return rewrite_zip(body, lambda n, d: d.replace(b"spreadsheetml.sheet.main+xml",
                                                    b"ms-excel.sheet.macroEnabled.main+xml")
                       if n == "[Content_Types].xml" else d)


def make_folder(root: Path, sample: dict) -> Path:
    """good, erroneous, two unreadable, one .xlsm in a subfolder, plus files batch must skip."""
    import copy

    src = root / "输入 文件夹"
    (src / "下属 单位").mkdir(parents=True)
    good = build_workbook(sample)
    (src / GOOD).write_bytes(good)
    bad = copy.deepcopy(sample)
    bad["fields"]["dept_name"] = "=乐昌市财政局"  # formula-looking text must stay text everywhere
    bad["fields"]["exp_public"] = -58.26          # negative-value: an error
    (src / BAD).write_bytes(build_workbook(bad))
    (src / TRUNCATED).write_bytes(good[: len(good) // 2])
    (src / EMPTY).write_bytes(b"")
    sub = copy.deepcopy(sample)
    sub["fields"]["dept_name"] = "仁化县教育局"
    sub["fields"]["issued_project"] = 9000.0
    (src / SUB).write_bytes(as_xlsm(build_workbook(sub)))
    (src / ("~$" + GOOD)).write_bytes(b"lock")      # Excel's lock file
    (src / ".隐藏.xlsx").write_bytes(good)           # hidden
    (src / "说明.txt").write_text("不是工作簿", "utf-8")
    return src


def snapshot(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()} | {
        p.relative_to(folder).as_posix() + "/": p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_dir()}


@pytest.fixture(scope="module")
def pack():
    return load_rules()


@pytest.fixture(scope="module")
def ran(tmp_path_factory, pack):
    """One recursive batch over the folder, shared by the read-only tests below."""
    import copy

    sample = json.loads((ROOT / "samples" / "lechang-2023.json").read_text("utf-8"))
    root = tmp_path_factory.mktemp("batch")
    src = make_folder(root, copy.deepcopy(sample))
    before = snapshot(src)
    out = root / "输出"
    result = batch.run(src, out, pack=pack, jobs=2, recursive=True, progress=False)
    return src, out, result, before


def read_summary(out: Path) -> list[dict]:
    ws = openpyxl.load_workbook(out / "汇总表.xlsx")["汇总"]
    rows = list(ws.iter_rows(values_only=True))
    return [dict(zip(rows[0], r)) for r in rows[1:]]


def test_every_output_written(ran):
    src, out, result, _ = ran
    expected = {
        "乐昌市民政局 2023年度-已评分.xlsx", "乐昌市民政局 2023年度-自评报告.docx", "乐昌市民政局 2023年度-校验结果.json",
        "有错误的 工作簿-已评分.xlsx", "有错误的 工作簿-自评报告.docx", "有错误的 工作簿-校验结果.json",
        "下载 未完成-校验结果.json", "空文件-校验结果.json",
        "下属 单位/仁化县 教育局-已评分.xlsm", "下属 单位/仁化县 教育局-自评报告.docx",
        "下属 单位/仁化县 教育局-校验结果.json",
        "汇总表.xlsx", "汇总表.csv", "汇总表.json", ".perfxl-cache.json",
    }
    got = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert got == expected
    for p in out.rglob("*"):
        if p.suffix in (".xlsx", ".xlsm", ".docx"):
            assert zipfile.ZipFile(p).testzip() is None
    # the .xlsm stays macro-enabled
    ct = zipfile.ZipFile(out / "下属 单位/仁化县 教育局-已评分.xlsm").read("[Content_Types].xml")
    assert b"macroEnabled" in ct


def test_input_folder_unchanged(ran):
    src, _, _, before = ran
    assert snapshot(src) == before


def test_statuses_and_exit_code(ran):
    _, out, result, _ = ran
    status = {r["文件"]: r["状态"] for r in result.rows}
    assert status == {GOOD: "成功", BAD: "有错误", TRUNCATED: "无法读取", EMPTY: "无法读取", SUB: "成功"}
    assert result.exit_code == 1  # the batch ran to its end; the unreadable files are rows with reasons
    assert result.processed == 5 and result.skipped == 0 and not result.interrupted
    reasons = {r["文件"]: r["原因"] for r in result.rows}
    assert "损坏" in reasons[TRUNCATED] and "空的" in reasons[EMPTY] and "数值为负" in reasons[BAD]


def test_summary_equals_scoring_each_file(ran, pack):
    """The 汇总表 read back: one row per workbook, scores equal to scoring the file alone."""
    from perfxl.pipeline import analyse, load

    src, out, _, _ = ran
    rows = {r["文件"]: r for r in read_summary(out)}
    assert set(rows) == {GOOD, BAD, TRUNCATED, EMPTY, SUB}
    for file in (GOOD, BAD, SUB):
        a = analyse(load(src / file), pack)
        r = rows[file]
        assert r["部门名称"] == a.model.get("dept_name")
        assert r["年度"] == 2023
        assert r["总分"] == pytest.approx(a.scores.score_total)
        assert r["基础得分"] == pytest.approx(a.scores.score_base)
        assert r["加减分"] == pytest.approx(a.scores.score_bonus)
        assert r["等级"] == a.scores.grade
        assert r["错误数"] == a.errors and r["警告数"] == a.warnings
        level1 = [r[name] for name in summary.level1_names(pack)]
        assert sum(level1) == pytest.approx(r["基础得分"], abs=0.011)
    assert rows[GOOD]["总分"] == pytest.approx(98.31)
    assert rows[GOOD]["预算编制情况"] == pytest.approx(28)
    assert rows[GOOD]["预算执行情况"] == pytest.approx(36.81)
    assert rows[GOOD]["资金使用效益"] == pytest.approx(30)
    assert rows[GOOD]["支出进度"] == pytest.approx(0.7712, abs=1e-4)
    assert rows[TRUNCATED]["总分"] is None and rows[TRUNCATED]["状态"] == "无法读取"


def test_scored_workbook_holds_scores(ran):
    _, out, _, _ = ran
    wb = openpyxl.load_workbook(out / "乐昌市民政局 2023年度-已评分.xlsx", data_only=True)
    dn = wb.defined_names["score_total"]
    (sheet, ref), = dn.destinations
    assert wb[sheet][ref.replace("$", "")].value == pytest.approx(98.31)


def test_summary_workbook_shape(ran):
    _, out, _, _ = ran
    wb = openpyxl.load_workbook(out / "汇总表.xlsx")
    assert wb.sheetnames == ["汇总", "抽查建议", "得分分布", "说明"]
    ws = wb["汇总"]
    assert ws.freeze_panes == "B2"
    assert "tbl_summary" in ws.tables and ws.tables["tbl_summary"].ref == f"A1:{ws.cell(1, ws.max_column).column_letter}6"
    head = [c.value for c in ws[1]]
    assert head[:6] == ["部门名称", "年度", "文件", "状态", "原因", "评分规则包"]
    assert head[6:9] == ["预算编制情况", "预算执行情况", "资金使用效益"]
    col = {h: i + 1 for i, h in enumerate(head)}
    good_row = next(r for r in range(2, 7) if ws.cell(r, col["文件"]).value == GOOD)
    assert ws.cell(good_row, col["支出进度"]).number_format == "0.00%"
    assert ws.cell(good_row, col["总分"]).number_format == "0.00"
    bad_row = next(r for r in range(2, 7) if ws.cell(r, col["文件"]).value == BAD)
    assert ws.cell(bad_row, col["部门名称"]).data_type == "s"  # "=乐昌市财政局" is text, not a formula
    names = zipfile.ZipFile(out / "汇总表.xlsx").namelist()
    assert sum(1 for n in names if re.fullmatch(r"xl/charts/chart\d+\.xml", n)) == 2


def test_review_sheet_ranks_risks(ran):
    _, out, _, _ = ran
    ws = openpyxl.load_workbook(out / "汇总表.xlsx")["抽查建议"]
    rows = [dict(zip([c.value for c in ws[1]][:8], r[:8])) for r in ws.iter_rows(min_row=2, max_row=6, values_only=True)]
    assert [r["排名"] for r in rows] == [1, 2, 3, 4, 5]
    assert {rows[0]["文件"], rows[1]["文件"]} == {TRUNCATED, EMPTY} and rows[0]["风险分"] == 100
    points = [r["风险分"] for r in rows]
    assert points == sorted(points, reverse=True)
    good = next(r for r in rows if r["文件"] == GOOD)
    assert "支出进度" in good["抽查理由"] and "不一致" in good["抽查理由"]  # 98.31 with 77.12 %; 43 vs 42 staff
    rules = [ws.cell(r, 10).value for r in range(3, 3 + len(summary.RISK_RULES))]
    assert rules == [r[0] for r in summary.RISK_RULES]  # the point system is printed on the sheet


def test_csv_and_json(ran, pack):
    _, out, _, _ = ran
    raw = (out / "汇总表.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [r["文件"] for r in rows] == sorted([GOOD, BAD, TRUNCATED, EMPTY, SUB])
    assert tuple(rows[0]) == summary.columns(pack) + ("风险分", "抽查理由")
    bad = next(r for r in rows if r["文件"] == BAD)
    assert bad["部门名称"] == "'=乐昌市财政局"
    good = next(r for r in rows if r["文件"] == GOOD)
    assert good["支出进度"] == "77.12%" and int(good["风险分"]) > 0 and "支出进度" in good["抽查理由"]
    doc = json.loads((out / "汇总表.json").read_text("utf-8"))
    assert doc["meta"]["统计"] == {"成功": 2, "有错误": 1, "无法读取": 2, "处理失败": 0}
    assert {r["文件"]: r["状态"] for r in doc["rows"]}[BAD] == "有错误"
    assert doc["抽查建议"][0]["风险分"] == 100
    jgood = next(r for r in doc["rows"] if r["文件"] == GOOD)
    assert jgood["支出进度"] == "77.12%" and jgood["风险分"] == int(good["风险分"])


def test_findings_json(ran):
    _, out, _, _ = ran
    doc = json.loads((out / "有错误的 工作簿-校验结果.json").read_text("utf-8"))
    assert doc["状态"] == "有错误" and doc["错误数"] >= 1
    assert any(f["code"] == "negative-value" and f["cell"] for f in doc["校验结果"])
    doc = json.loads((out / "空文件-校验结果.json").read_text("utf-8"))
    assert doc["状态"] == "无法读取" and "空的" in doc["原因"] and doc["校验结果"] == []


def test_non_recursive_skips_subfolders(ran, tmp_path, pack):
    src, _, _, _ = ran
    result = batch.run(src, tmp_path / "out", pack=pack, jobs=1, progress=False)
    assert sorted(r["文件"] for r in result.rows) == sorted([GOOD, BAD, TRUNCATED, EMPTY])
    assert not (tmp_path / "out" / "下属 单位").exists()


def test_progress_bar_and_final_line(ran, tmp_path, pack, capsys):
    src, _, _, _ = ran
    batch.run(src, tmp_path / "out", pack=pack, jobs=2, recursive=True)
    err = capsys.readouterr().err
    assert "评分中" in err
    assert re.search(r"共 5 个工作簿：成功 2，有错误 1，无法读取 2，用时 [\d.]+ 秒", err)


def test_incremental(ran, tmp_path, pack, sample_data):
    import copy
    import shutil

    src0, _, _, _ = ran
    src = tmp_path / "in"
    shutil.copytree(src0, src)
    out = tmp_path / "out"
    first = batch.run(src, out, pack=pack, jobs=2, recursive=True, progress=False)
    assert first.processed == 5
    again = batch.run(src, out, pack=pack, jobs=2, recursive=True, progress=False)
    assert (again.processed, again.skipped) == (0, 5)
    assert again.rows == first.rows and again.exit_code == 1
    # new content in one file: only it is redone
    changed = copy.deepcopy(sample_data)
    changed["fields"]["dept_name"] = "乐昌市民政局（更正）"
    (src / GOOD).write_bytes(build_workbook(changed))
    third = batch.run(src, out, pack=pack, jobs=2, recursive=True, progress=False)
    assert (third.processed, third.skipped) == (1, 4)
    assert {r["文件"]: r["部门名称"] for r in third.rows}[GOOD] == "乐昌市民政局（更正）"
    # a deleted output: that workbook is redone
    (out / "下属 单位" / "仁化县 教育局-自评报告.docx").unlink()
    fourth = batch.run(src, out, pack=pack, jobs=2, recursive=True, progress=False)
    assert (fourth.processed, fourth.skipped) == (1, 4)
    assert (out / "下属 单位" / "仁化县 教育局-自评报告.docx").exists()
    # a workbook that became unreadable loses its stale outputs
    (src / GOOD).write_bytes(b"")
    fifth = batch.run(src, out, pack=pack, jobs=2, recursive=True, progress=False)
    assert fifth.processed == 1
    assert not (out / "乐昌市民政局 2023年度-已评分.xlsx").exists()
    assert not (out / "乐昌市民政局 2023年度-自评报告.docx").exists()


def test_all_good_exit_code_zero(tmp_path, pack, sample_data):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.xlsx").write_bytes(build_workbook(sample_data))
    assert batch.run(src, tmp_path / "out", pack=pack, jobs=1, progress=False).exit_code == 0


@pytest.mark.parametrize("where", ["inside", "same", "missing-input", "empty-input"])
def test_batch_cannot_run(tmp_path, where):
    """Exit code 2 with a Chinese message; nothing written into the input folder."""
    from perfxl.cli import main

    src = tmp_path / "in"
    src.mkdir()
    (src / "a.xlsx").write_bytes(b"")
    out = {"inside": src / "out", "same": src, "missing-input": tmp_path / "o", "empty-input": tmp_path / "o"}[where]
    if where == "missing-input":
        src = tmp_path / "nope"
    if where == "empty-input":
        (src / "a.xlsx").unlink()
    with pytest.raises(batch.BatchError):
        batch.run(src, out, progress=False)
    assert main(["batch", str(src), "-o", str(out), "--quiet"]) == 2
    if src.exists():
        assert [p.name for p in src.iterdir()] == ([] if where == "empty-input" else ["a.xlsx"])


def test_worker_exception_becomes_failed_row(monkeypatch, pack, sample_data):
    import perfxl.scoring
    from perfxl.template import build_workbook

    data = build_workbook(sample_data)

    def boom(*a, **k):
        raise RuntimeError("模拟故障")

    monkeypatch.setattr(perfxl.scoring, "score", boom)
    out = batch.work(data, "子/甲.xlsx", pack)
    assert out.row["状态"] == "处理失败" and "模拟故障" in out.row["原因"]
    assert set(out.files) == {"findings"}


def test_find_workbooks_skips_lock_and_hidden(tmp_path):
    for name in ("a.xlsx", "B.XLSM", "~$a.xlsx", ".h.xlsx", "c.xls", "d.csv", ".git/e.xlsx", "子/f.xlsx"):
        p = tmp_path / name
        p.parent.mkdir(exist_ok=True)
        p.write_bytes(b"")
    assert [p.as_posix() for p in batch.find_workbooks(tmp_path)] == ["B.XLSM", "a.xlsx"]
    assert [p.as_posix() for p in batch.find_workbooks(tmp_path, recursive=True)] == ["B.XLSM", "a.xlsx", "子/f.xlsx"]


def test_output_names_keep_suffix_and_avoid_clashes():
    from pathlib import Path as P

    assert batch.output_names(P("子/甲.xlsm"))["workbook"] == "子/甲-已评分.xlsm"
    assert batch.output_names(P("甲.XLSX"))["report"] == "甲-自评报告.docx"
    assert batch.output_names(P("甲.xlsm"), clash=True)["findings"] == "甲.xlsm-校验结果.json"


@pytest.mark.parametrize("row, points, words", [
    ({"状态": "无法读取", "原因": "空的"}, 100, ["无法读取"]),
    ({"状态": "成功", "总分": 95.0, "支出进度": 0.7}, 30, ["支出进度"]),
    ({"状态": "成功", "总分": 95.0, "支出进度": 0.85}, 0, []),
    ({"状态": "成功", "人工指标数": 3, "人工满分数": 3, "人工满分无说明数": 3}, 20, ["均无评价说明"]),
    ({"状态": "成功", "人工指标数": 3, "人工满分数": 3, "人工满分无说明数": 1}, 10, ["1 项无评价说明"]),
    ({"状态": "成功", "人工指标数": 3, "人工满分数": 2, "人工满分无说明数": 2}, 0, []),
    ({"状态": "成功", "一致性问题数": 5}, 30, ["不一致 5 处"]),
    ({"状态": "有错误", "错误数": 2, "警告数": 20}, 30, ["错误 2 条", "警告 20 条"]),
    ({"状态": "成功", "一致性问题数": 2, "警告数": 3}, 22, ["不一致 2 处", "警告 1 条"]),
], ids=["unreadable", "high-score-low-spending", "spending-ok", "manual-all-unexplained",
        "manual-some-unexplained", "manual-not-all-full", "consistency-capped", "errors-and-warnings",
        "consistency-not-counted-twice"])
def test_review_risk_points(row, points, words):
    got, reasons = summary.review_risk(row)
    assert got == points
    text = "；".join(reasons)
    assert all(w in text for w in words)


@pytest.mark.parametrize("text, safe", [("=1+1", "'=1+1"), ("+86", "'+86"), ("-3", "'-3"), ("@x", "'@x"),
                                        ("乐昌", "乐昌"), (-3.5, -3.5)])
def test_csv_formula_guard(text, safe):
    assert summary.csv_safe(text) == safe


def _valid_outputs(out: Path) -> None:
    leftovers = [p for p in out.rglob(".~perfxl-*")]
    assert leftovers == []
    for p in out.rglob("*"):
        if p.suffix in (".xlsx", ".xlsm", ".docx"):
            with zipfile.ZipFile(p) as z:
                assert z.testzip() is None, p
        elif p.suffix == ".json":
            json.loads(p.read_text("utf-8"))


def _generated(n: int, folder: Path, seed: int) -> Path:
    """``n`` varied workbooks (a few broken) from the benchmark's generator, in ``folder``."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from gen_workbooks import generate
    finally:
        sys.path.pop(0)
    generate(n, folder, seed=seed)
    return folder


@pytest.mark.slow
def test_sigint_then_rerun(tmp_path):
    """Ctrl-C mid-run: exit 130, a summary of what finished, no partial file; a re-run completes."""
    src = _generated(30, tmp_path / "in", seed=7)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    cmd = [sys.executable, "-m", "perfxl", "batch", str(src), "-o", str(out), "--jobs", "1"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(out.glob("*-自评报告.docx"))) < 5:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err.decode()
    assert "已中断" in err.decode()
    done = json.loads((out / "汇总表.json").read_text("utf-8"))["rows"]
    assert 5 <= len(done) < 30
    _valid_outputs(out)

    rerun = subprocess.run(cmd, env=env, capture_output=True, timeout=300)
    assert rerun.returncode == 1, rerun.stderr.decode()  # the generated set holds broken files
    rows = json.loads((out / "汇总表.json").read_text("utf-8"))["rows"]
    assert len(rows) == 30
    assert f"{len(done)} 个未变化" in rerun.stderr.decode()
    _valid_outputs(out)
    for p in src.glob("*.xlsx"):
        stem = p.stem
        assert (out / f"{stem}-校验结果.json").exists()


@pytest.mark.slow
def test_kill_9_then_rerun(tmp_path):
    """kill -9 of the whole batch (parent, forkserver, workers) mid-run: every output already
    there is whole; the re-run removes any temporary file the kill left and completes."""
    src = _generated(30, tmp_path / "in", seed=11)
    before = {p.name: p.read_bytes() for p in src.iterdir()}
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    cmd = [sys.executable, "-m", "perfxl", "batch", str(src), "-o", str(out), "--jobs", "2"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(out.glob("*-自评报告.docx"))) < 8:
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    assert 8 <= len(list(out.glob("*-自评报告.docx"))) < 30  # stopped mid-run
    for p in out.rglob("*"):  # what the kill left: whole files (and maybe temporary ones)
        if p.is_file() and not p.name.startswith(".~perfxl-"):
            if p.suffix in (".xlsx", ".docx"):
                with zipfile.ZipFile(p) as z:
                    assert z.testzip() is None, p
            elif p.suffix == ".json":
                json.loads(p.read_text("utf-8"))

    rerun = subprocess.run(cmd, env=env, capture_output=True, timeout=300)
    assert rerun.returncode == 1, rerun.stderr.decode()  # the generated set holds broken files
    rows = json.loads((out / "汇总表.json").read_text("utf-8"))["rows"]
    assert len(rows) == 30
    _valid_outputs(out)
    assert {p.name: p.read_bytes() for p in src.iterdir()} == before


def test_stale_temporary_files_are_removed(tmp_path, sample_data):
    """A temporary file a killed run left in the output folder is gone after the next run."""
    from perfxl.template import build_workbook

    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    (src / "a.xlsx").write_bytes(build_workbook(sample_data))
    (src / "sub" / "b.xlsx").write_bytes(build_workbook(sample_data))
    out = tmp_path / "out"
    (out / "sub").mkdir(parents=True)
    (out / "别人的").mkdir()
    for stale in (out / ".~perfxl-abc.docx", out / "sub" / ".~perfxl-x.json"):
        stale.write_bytes(b"half")
    theirs = out / "别人的" / ".~perfxl-y.xlsx"  # not a folder batches write to: not ours to delete
    theirs.write_bytes(b"someone else's")
    batch.run(src, out, jobs=1, progress=False, recursive=True)
    assert list(out.rglob(".~perfxl-*")) == [theirs]


def test_script_without_main_guard_stops_with_a_clear_error(ran, tmp_path):
    """Worker processes re-import the caller's script; without the __main__ guard every worker
    dies at start.  The batch stops with one Chinese sentence instead of failing file by file."""
    src, _, _, _ = ran
    script = tmp_path / "unguarded.py"
    script.write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from perfxl import batch\n"
        "try:\n"
        f"    batch.run({str(src)!r}, {str(tmp_path / 'out')!r}, jobs=2, progress=False)\n"
        "except batch.BatchError as e:\n"
        "    print('BatchError:', e)\n"
        "    sys.exit(2)\n", "utf-8")
    r = subprocess.run([sys.executable, str(script)], capture_output=True, timeout=300)
    out = r.stdout.decode()
    assert r.returncode == 2, out + r.stderr.decode()
    assert "处理进程反复意外退出" in out and "__main__" in out


def test_pdf_reports(tmp_path, pack, sample_data):
    """--pdf: a PDF beside each report (LibreOffice, one private profile per conversion)."""
    import copy
    import shutil

    if not shutil.which("soffice"):
        pytest.skip("LibreOffice missing")  # scripts/setup.sh installs it
    src = tmp_path / "in"
    src.mkdir()
    other = copy.deepcopy(sample_data)
    other["fields"]["dept_name"] = "仁化县民政局"
    (src / "甲 局.xlsx").write_bytes(build_workbook(sample_data))
    (src / "乙 局.xlsx").write_bytes(build_workbook(other))
    result = batch.run(src, tmp_path / "out", pack=pack, pdf=True, jobs=2, progress=False)
    assert [r["状态"] for r in result.rows] == ["成功", "成功"]
    for stem in ("甲 局", "乙 局"):
        assert (tmp_path / "out" / f"{stem}-自评报告.pdf").read_bytes().startswith(b"%PDF")
    # the PDF option is part of the cache key: without it the reports are redone
    again = batch.run(src, tmp_path / "out", pack=pack, jobs=2, progress=False)
    assert again.processed == 2
    assert not (tmp_path / "out" / "甲 局-自评报告.pdf").exists()
