"""One LibreOffice kept alive per process: .docx bytes in, PDF bytes out.

Starting LibreOffice (and creating its profile) is most of the cost of a one-off
``soffice --convert-to pdf``.  A :class:`Converter` starts one headless LibreOffice with its own
profile and keeps it, driving it over UNO through :mod:`.lo_bridge`, a small script run by a
Python that has LibreOffice's ``uno`` module (Debian's ``/usr/bin/python3`` with
``python3-uno``; the LibreOffice's own ``program/python`` elsewhere) and talked to over its
stdin/stdout.  The fonts mapping is the one of :mod:`.pdf` (``FONTCONFIG_FILE``).

* Each conversion has a time limit (:data:`TIMEOUT_S`, ``$PERFXL_PDF_TIMEOUT``): past it the
  driver and its LibreOffice are killed (the whole process group, a stopped process included)
  and the next conversion starts a fresh one.  A LibreOffice that died is restarted the same way.
* Every failure is a :class:`~perfxl.errors.PerfxlError` with a Chinese sentence; the caller
  keeps its .docx.
* After :data:`RECYCLE_AFTER` conversions a LibreOffice is replaced by a fresh one.
* Without a ``uno`` module (or with ``$PERFXL_UNO_PYTHON`` set to ``none``) each conversion is
  a one-off ``soffice --convert-to pdf`` reusing the converter's profile: slower, same PDF.
* A process's first conversion is a one-off ``soffice --convert-to pdf`` (fastest for one
  document) unless the converter was made with ``keep=True`` (the batch workers' is).
* A profile that started and shut down cleanly is kept as a template in the user's cache
  folder, so the next process starts LibreOffice without creating a profile (about a second).

:func:`shared` is the per-process converter that :func:`perfxl.report.pdf.docx_to_pdf_bytes`,
the batch workers and the server's PDF workers use; it is closed when the process exits.
"""
from __future__ import annotations

import hashlib
import json
import os
import selectors
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import IO

from ..errors import PerfxlError
from ..oserrors import describe
from .soffice import environment, find_soffice

TIMEOUT_S = 120.0        # one conversion (the reports take well under a second)
START_TIMEOUT_S = 90.0   # LibreOffice starting, a fresh profile included
CLOSE_WAIT_S = 3.0
RECYCLE_AFTER = 300      # conversions by one LibreOffice before a fresh one (bounds slow leaks)
BRIDGE = Path(__file__).with_name("lo_bridge.py")
NO_SOFFICE = ("未找到 LibreOffice（soffice），无法生成 PDF。请安装 LibreOffice，"
              "或不加 --pdf 只生成 Word 报告。")


def _env_float(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, ""))
    except ValueError:
        return default
    return value if value > 0 else default


def uno_python_candidates(soffice: str) -> list[str]:
    """Pythons that may have LibreOffice's ``uno`` module, best first (none on Windows, where
    each conversion is a one-off call: the driver needs POSIX pipes and process groups)."""
    if os.name == "nt":
        return []
    env = os.environ.get("PERFXL_UNO_PYTHON")
    if env is not None:
        return [] if env.strip().lower() in ("", "none", "0", "off") else [env]
    program = Path(os.path.realpath(soffice)).parent
    found = [str(p) for p in (program / "python", program / "python.exe") if p.is_file()]
    return found + [p for p in ("/usr/bin/python3", shutil.which("python3")) if p and Path(p).is_file()]


def _profile_cache(soffice: str) -> Path | None:
    try:
        real = os.path.realpath(soffice)
        key = hashlib.sha256(f"{real}:{os.stat(real).st_mtime_ns}".encode()).hexdigest()[:16]
    except OSError:
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "perfxl" / f"lo-profile-{key}"


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL ``proc``'s process group (it was started in a session of its own)."""
    if os.name == "nt":
        proc.kill()
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class Converter:
    """A LibreOffice kept alive for many conversions; use as a context manager or close it.

    ``timeout``: seconds one conversion may take (default :data:`TIMEOUT_S`, or
    ``$PERFXL_PDF_TIMEOUT``).  ``keep``: True keeps LibreOffice from the first file on (a batch
    worker); None (default) makes the first file a one-off call, the fastest for a process that
    converts one document (``perfxl run --pdf``), and keeps LibreOffice from the second on.
    May be shared by threads: their calls take turns.
    """

    def __init__(self, timeout: float | None = None, start_timeout: float | None = None,
                 keep: bool | None = None):
        self.keep = keep
        self._cli_ok = False  # a one-off call finished normally: its profile is complete
        self.timeout = timeout or _env_float("PERFXL_PDF_TIMEOUT", TIMEOUT_S)
        self.start_timeout = start_timeout or _env_float("PERFXL_PDF_START_TIMEOUT", START_TIMEOUT_S)
        self._lock = threading.Lock()
        self._dir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._buf = b""
        self._pythons: list[str] | None = None  # None: not looked for yet; []: no uno → one-off calls
        self._soffice: str | None = None
        self._env: dict[str, str] = {}
        self.office_pid: int | None = None     # the started soffice (its soffice.bin is a child)
        self.starts = 0                        # LibreOffice starts so far (restarts included)
        self._seq = 0
        self._pending = False                  # a driver started, its "ready" not read yet
        self._served = 0                       # conversions by the running LibreOffice
        self.recycle_after = RECYCLE_AFTER
        self._owner = os.getpid()

    # -- public ---------------------------------------------------------------------------

    def convert(self, docx: bytes, timeout: float | None = None) -> bytes:
        """The PDF of ``docx`` (bytes).  Raises :class:`PerfxlError` (Chinese) on any failure."""
        limit = timeout or self.timeout
        with self._lock:
            try:
                work = self._workdir()
                self._seq += 1
                src, dst = work / "io" / f"{self._seq}.docx", work / "io" / f"{self._seq}.pdf"
                src.parent.mkdir(exist_ok=True)
                src.write_bytes(docx)
            except OSError as e:
                raise PerfxlError(f"无法写入临时文件夹，未生成 PDF（{e.strerror or e}）。") from None
            try:
                one_off = not self.keep and self._seq == 1 and not self._pending and not self.alive
                if not one_off and self._use_uno():
                    self._convert_uno(src, dst, limit)
                if one_off or not self._pythons:
                    self._convert_cli(src, dst, limit)
                if not dst.is_file() or dst.stat().st_size == 0:
                    raise PerfxlError("LibreOffice 未能把报告转换为 PDF（没有输出）。")
                return dst.read_bytes()
            finally:
                src.unlink(missing_ok=True)
                dst.unlink(missing_ok=True)

    def prestart(self) -> None:
        """With ``keep``: start LibreOffice now, without waiting; it starts while the caller does
        other work (scoring, rendering the report).  Quietly does nothing when it cannot."""
        with self._lock:
            try:
                self._workdir()
            except (PerfxlError, OSError):
                return
            if self.keep and not self._pending and not self.alive and self._use_uno():
                self._stop(graceful=False)
                self._spawn()

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def close(self) -> None:
        """Shut LibreOffice down (killed if it does not stop at once) and delete the profile."""
        if os.getpid() != self._owner:  # a forked child's copy: the parent's LibreOffice is not ours
            return
        with self._lock:
            cache = _profile_cache(self._soffice) if self._soffice else None
            # a clean shutdown only to keep its profile as the template; else killed at once
            # (its profile is deleted anyway)
            clean = self._stop(graceful=cache is not None and not cache.exists())
            if (clean or self._cli_ok) and self._dir is not None:
                self._save_profile_template()
            if self._dir is not None:
                shutil.rmtree(self._dir, ignore_errors=True)
                self._dir = None

    def __enter__(self) -> "Converter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the UNO driver -------------------------------------------------------------------

    def _workdir(self) -> Path:
        if self._dir is None:
            self._soffice = find_soffice()
            if self._soffice is None:
                raise PerfxlError(NO_SOFFICE)
            self._dir = Path(tempfile.mkdtemp(prefix="perfxl-lo-"))
            self._env = environment(self._dir)
            self._load_profile_template()
        return self._dir

    def _ready(self) -> tuple[Path, str]:
        """The work folder and the LibreOffice executable (found by :meth:`_workdir`)."""
        if self._dir is None or self._soffice is None:
            raise RuntimeError("Converter: _workdir() must run first")
        return self._dir, self._soffice

    def _driver(self) -> tuple[subprocess.Popen[bytes], IO[bytes], IO[bytes]]:
        """The running driver with its input and output pipes."""
        proc = self._proc
        if proc is None or proc.stdin is None or proc.stdout is None:
            raise RuntimeError("Converter: the LibreOffice driver is not running")
        return proc, proc.stdin, proc.stdout

    def _use_uno(self) -> bool:
        if self._pythons is None:
            self._pythons = uno_python_candidates(self._ready()[1])
        return bool(self._pythons)

    def _spawn(self) -> bool:
        """Start the driver (and so LibreOffice) without waiting; False when no Python is left."""
        work, soffice = self._ready()
        env = {k: v for k, v in self._env.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
        profile = (work / "profile").as_uri()
        while self._pythons:
            pipe = f"perfxl-{os.getpid()}-{uuid.uuid4().hex[:12]}"
            log = open(work / "bridge.log", "ab")
            try:
                self._proc = subprocess.Popen(
                    [self._pythons[0], str(BRIDGE), soffice, profile, pipe, str(self.start_timeout)],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, env=env, cwd=work,
                    start_new_session=True)  # its own process group: a time-out kills it all
            except OSError:
                self._pythons.pop(0)
                continue
            finally:
                log.close()
            self._buf = b""
            self._pending = True
            self.starts += 1
            return True
        return False

    def _start(self) -> None:
        """Wait until LibreOffice is ready (starting it unless :meth:`prestart` did)."""
        while self._pending or self._spawn():
            self._pending = False
            msg = self._reply(self.start_timeout + 10, starting=True)
            if msg.get("ready"):
                self.office_pid, self._served = msg.get("pid"), 0
                return
            self._stop(graceful=False)
            if msg.get("no_uno") and self._pythons:  # this Python has no uno: try the next, else one-off calls
                self._pythons.pop(0)
                continue
            raise PerfxlError(f"LibreOffice 无法启动，未生成 PDF（{msg.get('error', '原因不明')}）。")

    def _convert_uno(self, src: Path, dst: Path, limit: float, resent: bool = False) -> None:
        if self.alive and not self._pending and self._served >= self.recycle_after:
            self._stop(graceful=False)
        if self._pending or not self.alive:
            if not self._pending:
                self._stop(graceful=False)
            self._start()
            if not self._pythons:  # no uno after all: the caller converts with soffice --convert-to
                return
        _, stdin, _ = self._driver()
        try:
            stdin.write((json.dumps({"in": str(src), "out": str(dst)}) + "\n").encode())
            stdin.flush()
        except OSError:
            self._stop(graceful=False)
            raise PerfxlError("LibreOffice 意外退出，未生成 PDF；已重新启动 LibreOffice 处理其余文件。") from None
        msg = self._reply(limit)
        self._served += 1
        if not msg.get("ok"):
            if msg.get("resend") and not resent:  # LibreOffice died while idle: a new one, same file
                self._stop(graceful=False)
                return self._convert_uno(src, dst, limit, resent=True)
            if msg.get("fatal"):
                self._stop(graceful=False)
                raise PerfxlError("LibreOffice 在转换时意外退出，未生成 PDF；已重新启动 LibreOffice 处理其余文件。")
            raise PerfxlError(f"LibreOffice 未能把报告转换为 PDF（{msg.get('error', '原因不明')}）。")

    def _reply(self, limit: float, starting: bool = False) -> dict:
        """The driver's next JSON line; kills it and raises when it takes longer than ``limit``."""
        _, _, stdout = self._driver()
        deadline = time.monotonic() + limit
        fd = stdout.fileno()
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buf:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    self._stop(graceful=False)
                    what = "启动" if starting else "转换 PDF 时"
                    raise PerfxlError(f"LibreOffice {what}超时（超过 {limit:.0f} 秒），未生成 PDF；"
                                      "已结束该 LibreOffice，其余文件会用新启动的 LibreOffice 继续转换。")
                chunk = os.read(fd, 65536)
                if not chunk:  # the driver is gone (LibreOffice killed, crashed)
                    self._stop(graceful=False)
                    if starting:
                        raise PerfxlError(f"LibreOffice 无法启动，未生成 PDF（{self._log_tail() or '原因不明'}）。")
                    raise PerfxlError("LibreOffice 在转换时意外退出，未生成 PDF；已重新启动 LibreOffice 处理其余文件。")
                self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        try:
            return json.loads(line)
        except ValueError:
            return {"ok": False, "error": line.decode("utf-8", "replace")[:200]}

    def _log_tail(self) -> str:
        try:
            lines = (self._ready()[0] / "bridge.log").read_text("utf-8", "replace").strip().splitlines()
        except OSError:
            return ""
        return lines[-1][:200] if lines else ""

    def _stop(self, graceful: bool) -> bool:
        """End the driver and its LibreOffice; True when it shut down by itself."""
        proc, self._proc, self.office_pid, self._pending = self._proc, None, None, False
        if proc is None:
            return False
        clean = False
        if graceful and proc.poll() is None:
            try:
                if proc.stdin is not None:
                    proc.stdin.close()  # end of input: the driver terminates LibreOffice and exits
                proc.wait(CLOSE_WAIT_S)
                clean = proc.returncode == 0
            except (OSError, subprocess.TimeoutExpired):
                pass
        try:
            _kill_group(proc)  # stopped or hung members included
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait()
        for f in (proc.stdin, proc.stdout):
            try:
                if f is not None:
                    f.close()
            except OSError:
                pass
        return clean

    # -- one-off calls (no uno module) ----------------------------------------------------

    def _convert_cli(self, src: Path, dst: Path, limit: float) -> None:
        work, soffice = self._ready()
        cmd = [soffice, f"-env:UserInstallation={(work / 'profile').as_uri()}", "--headless",
               "--norestore", "--nologo", "--nodefault", "--nolockcheck", "--convert-to", "pdf",
               "--outdir", str(dst.parent), str(src)]
        try:
            proc = subprocess.Popen(cmd, env=self._env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, start_new_session=True)
        except OSError as e:
            raise PerfxlError(f"无法启动 LibreOffice（{describe(e)}），未生成 PDF。") from None
        self.starts += 1
        try:
            out, err = proc.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            proc.communicate()
            raise PerfxlError(f"LibreOffice 转换 PDF 超时（超过 {limit:.0f} 秒），未生成 PDF。") from None
        self._cli_ok = self._cli_ok or proc.returncode == 0
        if not dst.is_file() or dst.stat().st_size == 0:
            detail = (err or out or b"").decode("utf-8", "replace").strip().splitlines()[-1:]
            raise PerfxlError("LibreOffice 未能把报告转换为 PDF" + (f"（{detail[0]}）" if detail else "") + "。")

    # -- the profile template -------------------------------------------------------------

    def _load_profile_template(self) -> None:
        work, soffice = self._ready()
        cache = _profile_cache(soffice)
        if cache is not None and cache.is_dir():
            try:
                shutil.copytree(cache, work / "profile")
            except OSError:
                shutil.rmtree(work / "profile", ignore_errors=True)

    def _save_profile_template(self) -> None:
        work, soffice = self._ready()
        cache = _profile_cache(soffice)
        profile = work / "profile"
        if cache is None or cache.exists() or not (profile / "user").is_dir():
            return
        tmp = cache.with_name(f".{cache.name}-{uuid.uuid4().hex[:8]}")
        try:
            shutil.copytree(profile, tmp, ignore=shutil.ignore_patterns(".lock", "*.log", "crash"))
            os.replace(tmp, cache)  # atomic; a concurrent writer's copy is as good
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# The per-process converter

#: environment variables that configure conversions (a batch hands the parent's to its workers)
SETTINGS = ("PERFXL_SOFFICE", "PERFXL_UNO_PYTHON", "PERFXL_PDF_TIMEOUT", "PERFXL_PDF_START_TIMEOUT")


def settings() -> dict[str, str]:
    """This process's conversion settings, for :func:`apply_settings` in a worker process."""
    return {k: os.environ[k] for k in SETTINGS if k in os.environ}


def apply_settings(values: dict[str, str]) -> None:
    """Make a worker's conversions use ``values`` (from :func:`settings`): the worker may have
    been forked from a process started before they were set (multiprocessing's forkserver)."""
    for k in SETTINGS:
        if k in values:
            os.environ[k] = values[k]
        else:
            os.environ.pop(k, None)

_SHARED: Converter | None = None
_SHARED_LOCK = threading.Lock()


def shared() -> Converter:
    """This process's converter (created on first use, closed when the process exits; a forked
    child gets its own)."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None or _SHARED._owner != os.getpid():
            from multiprocessing import util

            _SHARED = Converter()
            # runs at interpreter exit and at the exit of a multiprocessing worker (no atexit there)
            util.Finalize(_SHARED, _SHARED.close, exitpriority=10)
        return _SHARED


def close_shared() -> None:
    """Close this process's converter now (a new one starts on the next use)."""
    global _SHARED
    with _SHARED_LOCK:
        conv, _SHARED = _SHARED, None
    if conv is not None:
        conv.close()

