"""Stored files, named by the SHA-256 of their content (never by an uploaded name).

``DIR/files/ab/abcdef…``: written atomically and fsynced, so a restart or a crash never leaves
half a file; identical uploads are stored once.  Nothing here is reachable over HTTP directly:
routes look a hash up in the database (after the access check) and stream its bytes.
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

from ..fileio import atomic_write_bytes

_HEX = re.compile(r"[0-9a-f]{64}")


class Storage:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, sha: str) -> Path:
        if not _HEX.fullmatch(sha or ""):
            raise ValueError("not a content hash")
        return self.root / sha[:2] / sha

    def put(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        path = self._path(sha)
        if not path.exists():
            path.parent.mkdir(exist_ok=True)
            atomic_write_bytes(path, data)
        return sha

    def get(self, sha: str) -> bytes:
        return self._path(sha).read_bytes()
