"""Content-addressed storage: names are hashes, writes are atomic, drafts expire."""
from __future__ import annotations

import hashlib
import os
import time

import pytest

from perfxl.server.storage import Storage


def test_files_are_named_by_content(tmp_path):
    st = Storage(tmp_path / "files")
    sha = st.put(b"abc")
    assert sha == hashlib.sha256(b"abc").hexdigest() and st.put(b"abc") == sha
    assert (tmp_path / "files" / sha[:2] / sha).read_bytes() == b"abc" and st.get(sha) == b"abc"
    assert [p.name for p in (tmp_path / "files").rglob("*") if p.is_file()] == [sha]
    for bad in ("../perfxl.db", "", sha.upper(), sha[:-1] + "/"):
        with pytest.raises(ValueError):
            st.get(bad)


def test_old_drafts_are_removed_and_submissions_never(tmp_path):
    drafts, kept = Storage(tmp_path / "drafts", max_age=3600), Storage(tmp_path / "files")
    old, new = drafts.put(b"old"), drafts.put(b"new")
    keep = kept.put(b"old")
    past = time.time() - 7200
    os.utime(drafts._path(old), (past, past))
    os.utime(kept._path(keep), (past, past))
    assert drafts.prune(force=True) == 1 and kept.prune(force=True) == 0
    with pytest.raises(FileNotFoundError):
        drafts.get(old)
    assert drafts.get(new) == b"new" and kept.get(keep) == b"old"
