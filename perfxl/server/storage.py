"""Stored files, named by the SHA-256 of their content (never by an uploaded name).

``DIR/files/ab/abcdef…``: written atomically and fsynced, so a restart or a crash never leaves
half a file; identical uploads are stored once.  Nothing here is reachable over HTTP directly:
routes look a hash up in the database (after the access check) and stream its bytes.
"""
from __future__ import annotations

import hashlib
import os
import re
import time
from pathlib import Path

from ..fileio import atomic_write_bytes

_HEX = re.compile(r"[0-9a-f]{64}")


class Storage:
    """Files by content hash under ``root``.  ``max_age`` (seconds): a store of drafts, whose
    files older than that are removed (checked at most every ten minutes)."""

    def __init__(self, root: Path, max_age: float | None = None):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.max_age = max_age
        self._pruned = 0.0

    def prune(self, force: bool = False) -> int:
        """Remove files older than ``max_age``; the number removed."""
        now = time.time()
        if self.max_age is None or (not force and now - self._pruned < 600):
            return 0
        self._pruned = now
        gone = 0
        for p in self.root.glob("??/*"):
            try:
                if now - p.stat().st_mtime > self.max_age:
                    p.unlink()
                    gone += 1
            except OSError:
                pass
        return gone

    def _path(self, sha: str) -> Path:
        if not _HEX.fullmatch(sha or ""):
            raise ValueError("not a content hash")
        return self.root / sha[:2] / sha

    def put(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        path = self._path(sha)
        if not path.exists():
            path.parent.mkdir(exist_ok=True)
            atomic_write_bytes(path, data, fsync=self.max_age is None)
            self.prune()
        elif self.max_age is not None:
            os.utime(path)  # a draft uploaded again lives on
            self.prune()
        return sha

    def get(self, sha: str) -> bytes:
        return self._path(sha).read_bytes()
