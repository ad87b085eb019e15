"""`perfxl batch`: a folder of workbooks in, every output and a reviewer's summary out.

The work unit is :func:`perfxl.pipeline.process_bytes` on one file's bytes, run by
:func:`work` in a worker process (``concurrent.futures``) or on a dask.distributed cluster
(``scheduler=``): the worker gets bytes and returns bytes, so no shared disk is needed.  The
main process alone writes, each file atomically, under ``outdir`` mirroring the input folders;
the input folder is only ever read.  A cache in ``outdir`` (:data:`CACHE_NAME`) lets a re-run
skip workbooks whose content, rule pack, perfxl version and options are unchanged.

Exit codes (:attr:`BatchResult.exit_code`): 0 every workbook succeeded; 1 some have errors,
could not be read or failed (each is its own row of the 汇总 with its reason); 2 not a single
workbook could be processed; 130 interrupted (Ctrl-C; the summary covers
what finished).  When the batch itself cannot run (folder missing, output folder inside the
input folder, no workbooks) :func:`run` raises :class:`BatchError` — exit code 2 as well.
"""
from __future__ import annotations

import hashlib
import multiprocessing.context
import json
import os
import signal
import stat
import sys
import threading
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path, PurePosixPath
from concurrent.futures import Executor, Future
from typing import Any, Callable, Iterator

from . import __version__
from . import summary as sm
from .errors import PerfxlError
from .errors import WorkbookError
from .batchcache import CACHE_NAME, Flusher, load_cache
from .fileio import atomic_write_bytes, read_workbook_bytes
from .oserrors import describe
from .pipeline import Status
from .runone import findings_document, output_names
from .rulepack import RulePack
from .rulepack import load as load_rules
from .rulepack import shipped

SUFFIXES = (".xlsx", ".xlsm")
EXIT_OK, EXIT_SOME_ERRORS, EXIT_FAILED, EXIT_INTERRUPTED = 0, 1, 2, 130


class BatchError(PerfxlError):
    """The batch as a whole cannot run (the CLI maps it to exit code 2)."""


# ---------------------------------------------------------------------------------------------
# The work unit (runs in a worker process or on a dask worker)

@dataclass(frozen=True)
class Outcome:
    """What one workbook produced: its summary row and its output files as bytes.

    ``files`` maps an output kind (``workbook``, ``report``, ``pdf``, ``findings``) to bytes;
    ``timings`` holds seconds per pipeline stage (read, check_score, writeback, report; wall
    clock) and ``cpu``, the worker's CPU seconds for the whole workbook.
    """

    file: str
    row: dict
    files: dict
    timings: dict = field(default_factory=dict)


def work(data: bytes, file: str, pack: RulePack | None, pdf: bool = False, charts: bool = True,
         forced: bool = True) -> Outcome:
    """Process one workbook given as bytes (:func:`perfxl.pipeline.process`); never raises.
    ``forced``: ``pack`` scores every workbook (the bureau's --rules); otherwise each workbook
    is scored by the pack it records (:mod:`perfxl.packchoice`), ``pack`` when it records none.
    ``pack`` None: the pack this worker process was started with (:func:`_init_worker`)."""
    from .pipeline import process

    if pack is None:
        pack = _WORKER_PACK
        assert pack is not None, "work(pack=None) outside a batch worker"
    name = PurePosixPath(file).name
    cpu = time.process_time()
    if pdf:  # this worker converts many reports: one LibreOffice kept alive from the first on
        from .report.converter import shared

        shared().keep = True
    # the pack's parameters are authoritative: edited 评分参数 cells are reported, not used
    p = process(data, name, pack if forced else None, explicit=True, score=True, mark=True, report=True,
                pdf=pdf, charts=charts)
    row = sm.row_for(file, p, pack)
    files = {kind: body for kind in ("workbook", "report", "pdf") if p.ok and (body := getattr(p, kind))}
    files["findings"] = findings_document(file, row, list(p.findings))
    return Outcome(file, row, files, {**p.timings, "cpu": time.process_time() - cpu})


def _terminate_as_interrupt() -> Callable[[], object]:
    """SIGTERM (``kill``, a service manager stopping the job) stops the batch the way Ctrl-C
    does: pending work cancelled, workers stopped, the partial summary written.  Returns the
    function that puts the previous handler back.  Only in the main thread (signals cannot be
    set elsewhere)."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    return lambda: signal.signal(signal.SIGTERM, previous)


_WORKER_PACK: RulePack | None = None


def _init_worker(pdf_settings: dict | None = None, pack: RulePack | None = None) -> None:
    # Ctrl-C in a terminal reaches the whole process group: only the parent handles it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The pack comes once per worker, not pickled with every workbook (0.14 ms of the parent's
    # CPU and 0.2 ms of the worker's a workbook: benchmarks/bench_batch.py's pack, 11.6 KB).
    global _WORKER_PACK
    _WORKER_PACK = pack
    if pdf_settings is not None:  # the parent's LibreOffice settings (the forkserver may predate
        from .report.converter import apply_settings  # them); LibreOffice starts on the first PDF

        apply_settings(pdf_settings)



# ---------------------------------------------------------------------------------------------
# Files and names

def find_workbooks(indir: Path, recursive: bool = False) -> list[Path]:
    """Workbook files under ``indir`` as paths relative to it, sorted; skips Office lock files
    (``~$*``), hidden files and hidden folders."""
    found = []
    if recursive:
        for root, dirs, files in os.walk(indir):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for f in files:
                found.append(Path(root, f).relative_to(indir))
    else:
        found = [Path(e.name) for e in os.scandir(indir) if e.is_file()]
    return sorted((p for p in found if p.suffix.lower() in SUFFIXES and not p.name.startswith(("~$", "."))
                   and _regular(indir / p)), key=lambda p: p.as_posix())


def _regular(path: Path) -> bool:
    """A regular file (through symlinks): never a FIFO, a device or a socket, which reading
    could block on or never finish."""
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except OSError:
        return False


def _inside(path: Path, folder: Path) -> bool:
    return path.is_relative_to(folder)


def pack_hash(pack: RulePack) -> str:
    """sha256 of the rule pack file's content (of the pack's fields when it has no file)."""
    data = None
    src = Path(pack.source) if pack.source else None
    if src is not None and src.is_file():
        data = src.read_bytes()
    elif pack.source and "/" not in pack.source and "\\" not in pack.source:
        try:
            data = resources.files("perfxl.rules").joinpath(pack.source).read_bytes()
        except (FileNotFoundError, OSError):
            data = None
    if data is None:
        data = repr(pack).encode("utf-8")
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------------------------------------
# Result

@dataclass
class BatchResult:
    """What a batch did.  ``rows``: the summary rows (finished and reused), sorted by file."""

    indir: Path
    outdir: Path
    rows: list = field(default_factory=list)
    processed: int = 0          # workbooks run through the pipeline in this run
    skipped: int = 0            # unchanged workbooks whose cached outputs were reused
    total: int = 0              # workbooks found
    elapsed: float = 0.0        # seconds, end to end
    interrupted: bool = False
    timings: dict = field(default_factory=dict)  # stage → summed seconds over processed workbooks
    stage_counts: dict = field(default_factory=dict)  # stage → workbooks that reached it
    summary_files: list = field(default_factory=list)
    year: int | None = None     # the 年度 under review (--year); rows of another year are 年度不符

    @property
    def off_year(self) -> int:
        """Workbooks whose 年度 is not :attr:`year` (0 without a year)."""
        return sum(1 for row in self.rows if sm.year_mismatch(row, self.year))

    @property
    def counts(self) -> dict[str, int]:
        return sm.counts(self.rows)

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return EXIT_INTERRUPTED
        # A batch that ran to its end exits 1 when any workbook has errors, could not be read or
        # failed (the 汇总 lists each with its reason); 2 only when no workbook at all could be
        # processed — then the batch did nothing useful, as `perfxl run` on that file would say.
        codes = [Status(row["状态"]).exit_code for row in self.rows]
        if self.off_year:  # a workbook of another year is not what the bureau asked for
            codes.append(EXIT_SOME_ERRORS)
        if len(self.rows) < self.total:
            codes.append(EXIT_FAILED)
        if codes and all(c == EXIT_FAILED for c in codes):
            return EXIT_FAILED
        return min(max(codes, default=EXIT_OK), 1)

    @property
    def line(self) -> str:
        """The final line, e.g. 共 12 个工作簿：成功 9，有错误 2，无法读取 1，用时 3.4 秒."""
        c = self.counts
        parts = [f"成功 {c[sm.OK]}", f"有错误 {c[sm.HAS_ERRORS]}", f"无法读取 {c[sm.UNREADABLE]}"]
        if c[sm.FAILED]:
            parts.append(f"处理失败 {c[sm.FAILED]}")
        if self.off_year:
            parts.append(f"年度不符 {self.off_year}（应为 {self.year} 年度，未参与抽查排名）")
        text = f"共 {self.total} 个工作簿：" + "，".join(parts) + f"，用时 {self.elapsed:.1f} 秒"
        if self.skipped:
            text += f"（{self.skipped} 个未变化，沿用上次结果）"
        if self.interrupted:
            text += f"。已中断：{self.total - len(self.rows)} 个未处理，汇总表只含已完成的工作簿"
        return text


# ---------------------------------------------------------------------------------------------
# Executors: one loop over any concurrent.futures.Executor

WORKERS_DIE = ("处理进程反复意外退出，批量处理已停止。可能的原因：内存不足；或在自己的 Python 脚本中调用 "
               "perfxl.batch.run 时没有放在 if __name__ == \"__main__\": 之下。")


class _Pool:
    """The executor the batch runs on.  ``make``: builds a fresh one (the local process pool,
    which may break); ``executor``: one the caller owns (dask's ``Client.get_executor()``, a
    thread pool), used as is and never shut down here."""

    def __init__(self, make: Callable[[], Executor] | None = None, executor: Executor | None = None):
        self._make, self._executor, self.owned = make, executor, make is not None

    def submit(self, fn: Callable[..., Outcome], *args: Any) -> Future:
        from concurrent.futures import BrokenExecutor

        if self._executor is None and self._make is not None:
            self._executor = self._make()
        assert self._executor is not None
        try:
            return self._executor.submit(fn, *args)
        except BrokenExecutor as e:  # the pool broke before this submit: handled as any loss
            fut: Future = Future()
            fut.set_exception(e)
            return fut

    def renew(self) -> None:
        """Drop a broken pool: the next submit starts a fresh one."""
        if self.owned and self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def shutdown(self, cancel: bool = False) -> None:
        if self.owned and self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=cancel)
            self._executor = None


def _context() -> multiprocessing.context.BaseContext:
    """The multiprocessing context of the local pool.  forkserver: safe when the parent runs
    threads (tqdm, dask); the preload makes every worker start with perfxl imported and its
    caches warm (perfxl.warm)."""
    import multiprocessing as mp

    ctx = mp.get_context("forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn")
    if ctx.get_start_method() == "forkserver":
        ctx.set_forkserver_preload(["perfxl.warm"])
    return ctx


def _start_forkserver() -> None:
    """Start the forkserver now, without waiting for it: it imports and warms perfxl (about
    half a second) while this process lists the input folder, instead of after."""
    if _context().get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


def _process_pool(jobs: int, pack: RulePack) -> Executor:
    from concurrent.futures import ProcessPoolExecutor

    from .report.converter import settings

    return ProcessPoolExecutor(jobs, mp_context=_context(), initializer=_init_worker, initargs=(settings(), pack))


_IN_WORKER = object()  # _Engine's pack_arg: the workers hold the pack already (_init_worker)


class _Engine:
    """At most ``window`` workbooks in flight on a :class:`_Pool`; results as they finish.

    Broken-pool retry (local process pool only): if a worker process dies (killed, out of
    memory) the pool breaks and every pending workbook fails with it; those are re-run one at a
    time in a fresh pool, so only the workbook that kills its worker again is 处理失败."""

    def __init__(self, pool: _Pool, window: int, pack_arg: Any = None):
        self.pool, self.window, self.pack_arg = pool, window, pack_arg
        self._futures: dict[Future, tuple[bytes, str, RulePack, tuple]] = {}

    def _submit(self, data: bytes, file: str, pack: RulePack, opts: tuple) -> Future:
        arg = pack if self.pack_arg is None else None if self.pack_arg is _IN_WORKER else self.pack_arg
        return self.pool.submit(work, data, file, arg, *opts)

    def submit(self, data: bytes, file: str, pack: RulePack, opts: tuple) -> None:
        self._futures[self._submit(data, file, pack, opts)] = (data, file, pack, opts)

    def pending(self) -> int:
        return len(self._futures)

    def next_done(self) -> Iterator[Outcome]:
        from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, wait

        done, _ = wait(list(self._futures), return_when=FIRST_COMPLETED)
        suspects = []
        for fut in done:
            data, file, pack, opts = self._futures.pop(fut)
            try:
                yield fut.result()
            except BrokenExecutor:
                suspects.append((data, file, pack, opts))
            except Exception as e:  # a result that cannot be pickled, a lost dask worker …
                yield _failed(file, pack, f"{type(e).__name__}: {e}")
        if suspects:
            yield from self._isolate(suspects)

    def _isolate(self, suspects: list) -> Iterator[Outcome]:
        from concurrent.futures import BrokenExecutor, wait

        wait(list(self._futures))  # the rest of a broken pool fails too
        suspects += list(self._futures.values())
        self._futures.clear()
        if not self.pool.owned:
            for _, file, pack, _ in suspects:
                yield _failed(file, pack, "处理进程意外退出")
            return
        self.pool.renew()
        in_a_row = 0
        for data, file, pack, opts in suspects:
            try:
                out = self._submit(data, file, pack, opts).result()
                in_a_row = 0
                yield out
            except BrokenExecutor:
                self.pool.renew()
                in_a_row += 1
                if in_a_row >= 2:  # not one bad workbook: the workers cannot run at all
                    raise BatchError(WORKERS_DIE) from None
                yield _failed(file, pack, "处理该文件时处理进程意外退出")

    def harvest(self) -> Iterator[Outcome]:
        """After :meth:`cancel`: the results that had finished all the same."""
        for fut in list(self._futures):
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                yield fut.result()
        self._futures.clear()

    def cancel(self) -> None:
        """Cancel what has not started, let the running tasks finish, stop the workers."""
        for fut in self._futures:
            fut.cancel()
        self.pool.shutdown(cancel=True)

    def close(self) -> None:
        self.pool.shutdown()


def _engine(jobs: int | None, scheduler: Any, executor: Executor | None, timeout: float,
            pack: RulePack) -> tuple[_Engine, Callable[[], None]]:
    """The engine for ``run``'s arguments, and what closes what it opened."""
    if executor is not None:
        return _Engine(_Pool(executor=executor), max(1, jobs or 1) * 3), lambda: None
    if not scheduler:
        n = max(1, jobs or os.cpu_count() or 1)
        return _Engine(_Pool(make=lambda: _process_pool(n, pack)), n * 3, _IN_WORKER), lambda: None
    try:
        from distributed import Client
    except ImportError:
        raise BatchError("使用 --scheduler 需要安装 dask.distributed：pip install \"dask[distributed]\"。") from None
    if isinstance(scheduler, Client):
        client, close = scheduler, (lambda: None)
    else:
        try:
            client = Client(scheduler, timeout=f"{timeout}s")
        except (OSError, TimeoutError) as e:
            raise BatchError(f"无法连接 dask 调度器 {scheduler}：{e}") from None
        close = client.close
    threads = sum(client.nthreads().values()) or 1
    # the pack goes to every worker once, not with every workbook
    pack_arg = client.scatter(pack, broadcast=True, hash=False)
    return _Engine(_Pool(executor=client.get_executor(pure=False)), max(1, jobs or threads) * 3, pack_arg), close


def _failed(file: str, pack: RulePack, why: str) -> Outcome:
    row = sm.empty_row(pack, file, sm.FAILED, f"{PurePosixPath(file).name}：处理失败（{why}）。")
    return Outcome(file, row, {"findings": findings_document(file, row, [])})


# ---------------------------------------------------------------------------------------------
# The batch

def _check_dirs(indir: str | os.PathLike, outdir: str | os.PathLike) -> tuple[Path, Path]:
    src = Path(indir).expanduser()
    if not src.exists():
        raise BatchError(f"输入文件夹不存在：{src}")
    if not src.is_dir():
        raise BatchError(f"{src} 不是文件夹；处理单个工作簿请用 perfxl run。")
    src = src.resolve()
    dst = Path(outdir).expanduser().resolve()
    if _inside(dst, src):
        raise BatchError(f"输出文件夹 {dst} 位于输入文件夹 {src} 之内（或与之相同）。"
                         "为保证原始工作簿不被改动，请把输出放到输入文件夹之外。")
    if dst.exists() and not dst.is_dir():
        raise BatchError(f"输出位置 {dst} 已存在且不是文件夹。")
    return src, dst


def _plan(src: Path, dst: Path, recursive: bool) -> tuple[list[Path], dict[str, dict[str, str]]]:
    """The workbooks to process and their output names; refuses outputs inside the input."""
    try:
        files = find_workbooks(src, recursive)
    except OSError as e:
        raise BatchError(f"无法读取输入文件夹 {src}：{describe(e)}") from None
    if not files:
        hint = "" if recursive else "（子文件夹中的工作簿需加 --recursive）"
        raise BatchError(f"输入文件夹 {src} 中没有 .xlsx/.xlsm 工作簿{hint}。")
    stems: dict[tuple[str, str], int] = {}
    for rel in files:
        k = (rel.parent.as_posix(), rel.stem.lower())
        stems[k] = stems.get(k, 0) + 1
    names = {rel.as_posix(): output_names(rel, stems[(rel.parent.as_posix(), rel.stem.lower())] > 1)
             for rel in files}
    folders: dict[str, Path] = {}  # each output folder resolved once (1,000 workbooks: 0.3 s less)
    for outs in names.values():  # e.g. outdir = the input's parent and a subfolder named like it
        for p in outs.values():
            head, _, tail = p.rpartition("/")
            if head not in folders:
                folders[head] = (dst / head).resolve()
            target = folders[head] / tail
            if target.is_symlink():  # an output written through a link lands at its target
                target = target.resolve()
            if _inside(target, src):
                raise BatchError(f"输出文件 {dst / p} 会写入输入文件夹 {src}，已停止。请换一个输出文件夹。")
    return files, names


def _remove_stale_temp_files(dst: Path, src: Path, names: dict[str, dict[str, str]]) -> None:
    """Delete the temporary files (``.~perfxl-*``) a killed run (kill -9, power cut) left
    mid-write: they are never outputs, and the run about to start redoes their workbooks.
    Only what batches own: the output folder itself and the folders this run or the last one
    (its cache) writes outputs to — never elsewhere under ``-o`` (it may be the input's parent
    or a home folder, where a clerk's own perfxl may be writing), never inside the input.
    (One batch per output folder at a time: a second one running would lose its own.)"""
    outputs = [p for outs in names.values() for p in outs.values()]
    outputs += [p for e in load_cache(dst / CACHE_NAME).values() for p in e.get("outputs", ())
                if isinstance(p, str)]
    folders = {dst} | {(dst / p).parent for p in outputs}
    for folder in folders:
        try:
            if _inside(folder.resolve(), src) or not _inside(folder.resolve(), dst.resolve()):
                continue
            stale = [p for p in folder.glob(".~perfxl-*") if p.is_file() and not p.is_symlink()]
        except OSError:
            continue
        for p in stale:
            p.unlink(missing_ok=True)


class _Run:
    """The state of one batch: what is cached, what finished, where it goes."""

    def __init__(self, src: Path, dst: Path, files: list[Path], names: dict, pack: RulePack,
                 opts: tuple, progress: bool):
        self.src, self.dst, self.files, self.names, self.pack = src, dst, files, names, pack
        pdf, charts, forced = opts
        self.pdf, self.forced = pdf, forced
        options = {"pdf": pdf, "charts": charts, "mark": True, "report": True, "forced": forced}
        # without --rules a workbook may be scored by any shipped pack: each one's content counts
        packs = [pack_hash(pack)] + ([] if forced else [pack_hash(p) for _, p in shipped()])
        self.salt = hashlib.sha256(json.dumps([__version__, packs, options]).encode()).digest()
        self.cache_path = dst / CACHE_NAME
        # An entry's key covers the file's content, the rule pack, perfxl's version and the
        # options; an entry with another key still tells which outputs are ours to replace.
        self.old = load_cache(self.cache_path)
        self.cache: dict[str, dict] = {}
        self.keys: dict[str, str] = {}
        self.rows: dict[str, dict] = {}
        self.result = BatchResult(src, dst, total=len(files))
        self.bar = None
        if progress:
            from tqdm import tqdm

            self.bar = tqdm(total=len(files), desc="评分中", unit="个", file=sys.stderr, dynamic_ncols=True,
                            smoothing=0.1, bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} "
                                                      "[{elapsed}<{remaining}, {rate_fmt}]")
        self._saved = time.monotonic()
        self.flusher = Flusher(self.cache_path)

    def todo(self) -> Iterator[tuple[bytes, str]]:
        """(bytes, relative path) of each workbook that must be (re)done; records the rest."""
        for rel in self.files:
            file = rel.as_posix()
            try:  # bounded in size: a sparse 30 GB ".xlsx" is one unreadable row, not MemoryError
                data = read_workbook_bytes(self.src / rel)
            except WorkbookError as e:
                row = sm.empty_row(self.pack, file, sm.UNREADABLE, str(e))
                self.keys[file] = ""
                self.finish(Outcome(file, row, {"findings": findings_document(file, row, [])}))
                continue
            self.keys[file] = hashlib.sha256(self.salt + hashlib.sha256(data).digest()).hexdigest()
            entry = self.old.get(file)
            if (entry and entry.get("key") == self.keys[file] and isinstance(entry.get("row"), dict)
                    and all((self.dst / p).is_file() for p in entry.get("outputs", []))):
                self.rows[file] = entry["row"]
                self.cache[file] = entry
                self.result.skipped += 1
                self._tick()
                continue
            yield data, file

    def finish(self, out: Outcome) -> None:
        """Write one workbook's outputs (each atomically), then record it."""
        outs = self.names[out.file]
        written: list[str] = []
        for kind, body in out.files.items():
            path = self.dst / outs[kind]
            try:  # flushed to disk in bulk (flush_to_disk) before the cache records it as done
                atomic_write_bytes(path, body, fsync=False)
            except OSError as e:  # this workbook's outputs only: the others still run
                out = self._unwritable(out, path, e, written)
                break
            written.append(outs[kind])
        self.flusher.written([self.dst / w for w in written])
        prev = self.old.get(out.file) or {}
        for stale in set(prev.get("outputs", [])) - set(written):  # the report of a file now broken
            if stale in outs.values():
                (self.dst / stale).unlink(missing_ok=True)
        self.rows[out.file] = out.row
        if self.pdf and "report" in out.files and "pdf" not in out.files:
            self.keys[out.file] = ""  # the PDF failed (reason in the row): redone next run
        self.cache[out.file] = {"key": self.keys[out.file], "outputs": sorted(written), "row": out.row}
        r = self.result
        r.processed += 1
        for stage, secs in out.timings.items():
            r.timings[stage] = r.timings.get(stage, 0.0) + secs
            r.stage_counts[stage] = r.stage_counts.get(stage, 0) + 1
        self._tick()
        if time.monotonic() - self._saved > 5:  # a killed run keeps most of its cache
            self.flusher.save({**self.old, **self.cache})
            self._saved = time.monotonic()

    def _unwritable(self, out: Outcome, path: Path, e: OSError, written: list) -> Outcome:
        """``out`` as 处理失败 because ``path`` cannot be written (a folder of that name, a name
        too long, a full disk); its findings document is written if it can be."""
        name = PurePosixPath(out.file).name
        why = "该位置已有同名的文件夹" if isinstance(e, IsADirectoryError) else describe(e)
        row = {**out.row, "状态": sm.FAILED, "原因": f"{name}：无法写入输出文件 {path.name}（{why}）。"}
        self.keys[out.file] = ""  # not done: the next run tries again
        findings = self.names[out.file]["findings"]
        if findings not in written:
            try:
                atomic_write_bytes(self.dst / findings, findings_document(out.file, row, []), fsync=False)
                written.append(findings)
            except OSError:
                pass
        return Outcome(out.file, row, {}, out.timings)

    def _tick(self) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        """Save the cache and write the summary of everything finished or reused."""
        if self.bar is not None:
            self.bar.close()
        # Entries of workbooks not reached (interrupted) stay valid for the next run.
        kept = {k: v for k, v in self.old.items() if k not in self.cache and k in self.names}
        self.flusher.final({**kept, **self.cache})
        r = self.result
        r.rows = sm.with_year(sorted(self.rows.values(), key=lambda row: row["文件"]), r.year)
        used = (f"{self.pack.name}（{self.pack.id}，财政局指定）" if self.forced else
                f"各工作簿记录的规则包（未记录的按默认规则包 {self.pack.name}）")
        meta = {"perfxl 版本": __version__, "评分规则包": used,
                "输入文件夹": str(self.src), "工作簿总数": len(self.files), "本次处理": r.processed,
                "沿用上次结果": r.skipped, "已中断": "是" if r.interrupted else "否"}
        r.summary_files = sm.write_all(self.dst, r.rows, self.pack, meta, r.year)


def run(indir: str | os.PathLike, outdir: str | os.PathLike, pack: RulePack | str | os.PathLike | None = None,
        pdf: bool = False, jobs: int | None = None, recursive: bool = False, scheduler: Any = None,
        progress: bool = True, charts: bool = True, executor: Executor | None = None,
        scheduler_timeout: float = 10.0, year: int | None = None) -> BatchResult:
    """Check, score, write back and report every workbook of ``indir``; write the summary.

    ``pack``: a RulePack, a rule pack file or a shipped pack's name, scoring every workbook;
    None: each workbook by the pack it records (the default pack for those recording none; the
    summary's 评分规则包 column says which, and notes when the batch mixes packs).  ``jobs``: worker
    processes (default ``os.cpu_count()``); with ``scheduler``, workbooks running at once
    (default: the cluster's worker threads).  ``scheduler``: a dask.distributed scheduler
    address, or a ``Client`` (left open), to run on instead of local processes.  ``progress``:
    a tqdm bar on stderr and the final line with the totals (:attr:`BatchResult.line`).
    ``charts``: the report's charts (most of the report's time; part of the cache key).
    ``executor``: any ``concurrent.futures.Executor`` to run on instead (the caller owns it;
    ``jobs`` then sets how many workbooks are in flight).  ``scheduler_timeout``: seconds to
    wait for the dask scheduler.  ``year``: the 年度 under review: only workbooks of that year are
    ranked in 抽查建议; the others are listed apart as 年度不符 (the year found and the year
    expected, also in 原因) and make the exit code 1 (:func:`perfxl.summary.review_ranking`).

    Worker processes start with ``forkserver``: a script that calls this function must do so
    under ``if __name__ == "__main__":`` (as for any multiprocessing code).

    Outputs under ``outdir`` (subfolders mirrored): ``<stem>-已评分.xlsx|.xlsm``,
    ``<stem>-自评报告.docx`` (``.pdf`` with ``pdf=True``), ``<stem>-校验结果.json``; and
    汇总表.xlsx / 汇总表.csv / 汇总表.json.  Ctrl-C stops cleanly: pending work is cancelled, the
    summary of what finished is written and the result has ``exit_code`` 130.
    Raises :class:`BatchError` when the batch itself cannot run.
    """
    import multiprocessing as mp

    if getattr(mp.current_process(), "_inheriting", False):
        # A worker process re-importing a caller's script that lacks the __main__ guard.
        raise BatchError("不能在处理进程启动时调用 perfxl.batch.run：请把调用放在 if __name__ == \"__main__\": 之下。")
    t_start = time.perf_counter()
    src, dst = _check_dirs(indir, outdir)
    forced = pack is not None
    if not scheduler and executor is None:
        _start_forkserver()
    if not isinstance(pack, RulePack):
        pack = load_rules(pack)
    files, names = _plan(src, dst, recursive)
    if pdf and not scheduler:
        from .report.pdf import find_soffice

        if find_soffice() is None:
            raise BatchError("生成 PDF 需要 LibreOffice（soffice），本机未找到。请安装 LibreOffice，或去掉 --pdf。")
    try:
        dst.mkdir(parents=True, exist_ok=True)
        _remove_stale_temp_files(dst, src, names)
    except OSError as e:
        raise BatchError(f"无法创建输出文件夹 {dst}：{describe(e)}") from None
    engine, close_client = _engine(jobs, scheduler, executor, scheduler_timeout, pack)
    opts = (pdf, charts, forced)
    state = _Run(src, dst, files, names, pack, opts, progress)
    result = state.result
    result.year = year
    failed = False
    restore = _terminate_as_interrupt()
    try:
        try:
            for data, file in state.todo():
                engine.submit(data, file, pack, opts)
                while engine.pending() >= engine.window:
                    for out in engine.next_done():
                        state.finish(out)
            while engine.pending():
                for out in engine.next_done():
                    state.finish(out)
        except KeyboardInterrupt:
            result.interrupted = True
            engine.cancel()
            for out in engine.harvest():
                state.finish(out)
        finally:
            engine.close()
            close_client()
    except BaseException:
        failed = True
        raise
    finally:
        restore()
        try:
            state.close()
        except OSError as e:
            if not failed:
                raise BatchError(f"无法写入汇总表：{describe(e)}") from None
        if result.interrupted or failed:
            # Ctrl-C / SIGTERM is raised between any two bytecodes, also inside an atomic write
            # between creating its temporary file and the try that removes it: sweep them now
            # that nothing writes any more (seen once in a CI run of test_batch_hostile).
            try:
                _remove_stale_temp_files(dst, src, names)
            except OSError:
                pass
        result.elapsed = time.perf_counter() - t_start
        if progress:
            sys.stderr.write(result.line + "\n")
            sys.stderr.flush()
    return result
