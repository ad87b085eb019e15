"""One error policy: the same fault, injected through every shell, gives the same outcome.

Shells: the CLI commands check / score / report / run, the batch, the Excel buttons
(:func:`perfxl.app.run_action`) and the library API (:mod:`perfxl`).  Faults: the scorer
raises, the report's rendering raises, an output cannot be written.  Every shell that reaches
the faulty stage ends as :attr:`Status.FAILED` (exit code 2), names the workbook or the
output, writes nothing partial and leaves the input alone; a shell that does not reach the
stage is unaffected.
"""
from __future__ import annotations

import hashlib
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from perfxl import app, batch, cli
from perfxl.pipeline import Status
from perfxl.reader import FileSource

FAULTS = ("scorer", "template", "unwritable")
SHELLS = ("check", "score", "report", "run", "batch", "app", "api")
# the stages each shell runs: a fault elsewhere leaves it unaffected (the sample has no 错误: 0)
REACHES = {"check": {"scorer", "unwritable"}, "score": {"scorer", "unwritable"}}


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _inject(fault: str, monkeypatch) -> None:
    if fault == "scorer":
        import perfxl.scoring

        def broken(*_a, **_k):
            raise RuntimeError("评分故障注入")

        monkeypatch.setattr(perfxl.scoring, "score", broken)
    elif fault == "template":
        import perfxl.report.render

        def broken(*_a, **_k):
            raise RuntimeError("模板故障注入")

        monkeypatch.setattr(perfxl.report.render, "render_bytes", broken)


def _blocked(path: Path, fault: str) -> Path:
    """With the unwritable fault, a folder sits where the output file must go."""
    if fault == "unwritable":
        path.mkdir(parents=True)
    return path


def _shell(shell: str, fault: str, src: Path, out: Path, capsys) -> tuple[int, str]:
    """Run ``shell`` on ``src``; (exit code, the message a user sees)."""
    stem = src.stem
    if shell in ("check", "score", "report", "run"):
        argv = {
            "check": ["check", str(src), "--mark", "-o", str(_blocked(out / "marked.xlsx", fault))],
            "score": ["score", str(src), "-o", str(_blocked(out / "scored.xlsx", fault))],
            "report": ["report", str(src), "-o", str(_blocked(out / "report.docx", fault))],
            "run": ["run", str(src), "-o", str(out)],
        }[shell]
        if shell == "run":
            _blocked(out / f"{stem}-已评分.xlsx", fault)
        code = cli.main(argv)
        return code, capsys.readouterr().err
    if shell == "batch":
        indir = out / "in"
        indir.mkdir(parents=True)
        shutil.copy(src, indir / src.name)
        _blocked(out / "out" / f"{stem}-已评分.xlsx", fault)
        with ThreadPoolExecutor(1) as pool:  # in-process, so the injected fault reaches it
            result = batch.run(indir, out / "out", executor=pool, progress=False)
        (row,) = result.rows
        return result.exit_code, f"{row['状态']} {row['原因']}"
    if shell == "app":
        book = out / src.name
        shutil.copy(src, book)
        _blocked(out / f"{stem}-自评报告.docx", fault)
        outcome = app.run_action("all", FileSource(book), str(book))
        assert outcome.status is not None and outcome.ok == (outcome.status.exit_code < 2)
        return outcome.status.exit_code, outcome.message
    if shell == "api":
        import perfxl

        _blocked(out / f"{stem}-已评分.xlsx", fault)
        result = perfxl.run(src, out)
        return result.exit_code, result.error or ""
    raise AssertionError(shell)


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("fault", FAULTS)
def test_same_fault_same_outcome(fault, shell, sample_copy, tmp_path, monkeypatch, capsys):
    _inject(fault, monkeypatch)
    before = _sha(sample_copy)
    out = tmp_path / "输出"
    out.mkdir()
    code, message = _shell(shell, fault, sample_copy, out, capsys)
    assert _sha(sample_copy) == before
    if fault not in REACHES.get(shell, set(FAULTS)):
        assert code == Status.OK.exit_code, message
        return
    assert code == Status.FAILED.exit_code == 2, message
    assert sample_copy.name in message or str(out) in message, message
    if fault == "unwritable":
        assert "无法写入" in message and "内部错误" not in message, message
    else:
        assert "内部错误" in message and "故障注入" in message, message
    leftovers = [p for p in out.rglob("*") if p.is_file() and p.suffix in (".xlsx", ".docx", ".pdf")
                 and p.parent.name != "in" and p.name != sample_copy.name]
    if shell != "batch":  # the batch writes its summary (汇总表.xlsx) of what failed
        assert leftovers == [], leftovers
