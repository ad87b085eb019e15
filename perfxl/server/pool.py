"""Process pools that keep CPU-bound and slow work off the event loop.

``Workers.run(fn, *args)`` awaits ``fn(*args)`` in a worker process with a time limit.  A job
that overruns is not left running: its pool's processes are terminated and a fresh pool takes
over (the other jobs then in that pool get :class:`Busy` and the client may retry), so a
hostile workbook cannot pin a CPU.  Workers fork from a warmed forkserver (``perfxl.warm``) and
run with an address-space limit, so one upload cannot exhaust the machine's memory.
"""
from __future__ import annotations

import asyncio
import multiprocessing as mp
import signal
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable


class TimeLimit(Exception):
    """The job ran longer than the time limit (its worker was stopped)."""


class Busy(Exception):
    """The job's worker went away (another job was stopped, or the worker ran out of memory)."""


def _init(memory_limit: int | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if memory_limit:
        import resource

        try:
            resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
        except (ValueError, OSError):
            pass


class Workers:
    def __init__(self, size: int, time_limit: float, memory_limit: int | None = None):
        self.size, self.time_limit, self.memory_limit = size, time_limit, memory_limit
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            ctx = mp.get_context("forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn")
            if ctx.get_start_method() == "forkserver":
                ctx.set_forkserver_preload(["perfxl.warm"])
            self._pool = ProcessPoolExecutor(self.size, mp_context=ctx, initializer=_init,
                                             initargs=(self.memory_limit,))
        return self._pool

    def start(self) -> None:
        """Start the worker processes now (the first request then finds them warm)."""
        pool = self._executor()
        for f in [pool.submit(int, 0) for _ in range(self.size)]:
            f.result()

    def _reset(self, pool: ProcessPoolExecutor) -> None:
        if self._pool is pool:
            self._pool = None
        for proc in list((getattr(pool, "_processes", None) or {}).values()):
            try:
                proc.terminate()
            except Exception:  # noqa: BLE001 - already gone
                pass
        pool.shutdown(wait=False, cancel_futures=True)

    async def run(self, fn: Callable[..., Any], *args: Any, time_limit: float | None = None) -> Any:
        pool = self._executor()
        try:
            fut = pool.submit(fn, *args)
        except (BrokenProcessPool, RuntimeError):
            self._reset(pool)
            pool = self._executor()
            fut = pool.submit(fn, *args)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(fut), time_limit or self.time_limit)
        except asyncio.TimeoutError:
            self._reset(pool)
            raise TimeLimit() from None
        except BrokenProcessPool:
            self._reset(pool)
            raise Busy() from None

    def close(self, grace: float = 10.0) -> None:
        """Let the workers exit normally (their exit handlers close a kept-alive LibreOffice),
        then terminate what is still running after ``grace`` seconds."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        import threading

        procs = list((getattr(pool, "_processes", None) or {}).values())
        closer = threading.Thread(target=pool.shutdown, kwargs={"wait": True, "cancel_futures": True}, daemon=True)
        closer.start()
        closer.join(grace)
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
