"""The batch's cache and disk flushing: which workbooks a re-run can skip, and outputs made
durable before the cache vouches for them.

The cache (:data:`CACHE_NAME` in the output folder) maps each input's relative path to its key
(content, rule pack, perfxl version, options), its outputs and its 汇总 row.  :class:`Flusher`
fsyncs outputs in a background thread and saves the cache only after the files it records are
on disk, so a power cut never leaves an entry pointing at a lost file.
"""
from __future__ import annotations

import json
import threading
from pathlib import Path

from . import __version__
from .fileio import atomic_write_bytes, flush_folders, flush_to_disk

CACHE_NAME = ".perfxl-cache.json"
CACHE_FORMAT = 1



def load_cache(path: Path) -> dict:
    """relative path → {"key", "outputs", "row"}; an unreadable cache is an empty one."""
    try:
        doc = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(doc, dict) or doc.get("format") != CACHE_FORMAT:
        return {}
    entries = doc.get("entries")
    return {k: v for k, v in entries.items() if isinstance(v, dict)} if isinstance(entries, dict) else {}


def save_cache(path: Path, entries: dict, folders: set[Path]) -> None:
    """Record finished workbooks.  Their outputs were flushed to disk already (:class:`_Flusher`);
    the ``folders`` holding them are flushed first (not every file system: os.sync), so a cache
    entry never points at a file that a power cut could still lose."""
    flush_folders(folders)
    folders.clear()
    doc = {"format": CACHE_FORMAT, "perfxl": __version__, "entries": entries}
    atomic_write_bytes(path, json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


class Flusher:
    """Flushes the batch's outputs to disk in a background thread as they are written, and saves
    the cache (:meth:`save`) once everything written before it is flushed.  fsync takes ~4 ms a
    file on the 2-core test machine: done in the main thread every 5 s (600 files) it left the
    workers without work for seconds.  Requests run in order; an error is raised by the next
    :meth:`save` or by :meth:`final`."""

    def __init__(self, path: Path):
        import queue

        self.path = path
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._folders: set[Path] = set()  # folders of flushed files, flushed before each save
        self._error: BaseException | None = None
        self._pending: list[Path] = []
        self._thread = threading.Thread(target=self._loop, name="perfxl-flush", daemon=True)
        self._thread.start()

    def written(self, paths: list[Path]) -> None:
        """Flush these new outputs (handed over in groups: each hand-over wakes the thread, and
        the main thread then waits for the GIL)."""
        self._pending += paths
        if len(self._pending) >= 30:
            self._hand_over()

    def _hand_over(self) -> None:
        if self._pending:
            self._queue.put(("files", self._pending))
            self._pending = []

    def save(self, entries: dict) -> None:
        """Save the cache ``entries`` once the outputs written so far are flushed."""
        self._raise()
        self._hand_over()
        self._queue.put(("cache", entries))

    def _loop(self) -> None:
        while True:
            kind, arg = self._queue.get()
            if kind == "stop":
                return
            if self._error is not None:
                continue
            try:
                if kind == "files":
                    self._folders |= flush_to_disk(arg, folders=False)
                else:
                    save_cache(self.path, arg, self._folders)
            except BaseException as e:  # noqa: BLE001 - handed to the main thread
                self._error = e

    def _raise(self) -> None:
        error, self._error = self._error, None
        if error is not None:
            raise error

    def final(self, entries: dict) -> None:
        """Wait for the flushes asked for, then save ``entries`` in this thread."""
        self._hand_over()
        self._queue.put(("stop", None))
        self._thread.join()
        self._raise()
        save_cache(self.path, entries, self._folders)
