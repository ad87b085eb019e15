"""Atomic file writes: a clerk's file is never left half-written."""
from __future__ import annotations

import io
import os
import re
import stat
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import Callable, Iterable

from .oserrors import describe


def _mode_for(path: Path) -> int:
    """Keep an existing file's permissions; a new file gets the usual 0666 minus umask
    (mkstemp would leave it owner-only)."""
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        return 0o666 & ~_umask()


def _umask() -> int:
    """The process's umask.  Linux shows it in /proc; elsewhere it can only be read by setting
    it, which briefly gives other threads (the batch's flusher, the server's) a umask of 0."""
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    umask = os.umask(0)
    os.umask(umask)
    return umask


def atomic_write_bytes(path: str | os.PathLike, data: bytes, fsync: bool = True) -> Path:
    """Write ``data`` to a temporary file beside ``path``, then rename it into place.

    ``fsync=False`` skips the per-file flush to disk (a batch writes thousands of files and
    flushes them in bulk, :func:`flush_to_disk`, before it records them as done); the rename
    stays atomic.
    """
    path = Path(path)
    if path.is_symlink():  # write through a link: replacing it would leave its target stale
        path = Path(os.path.realpath(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".~perfxl-", suffix=path.suffix, dir=path.parent)
    try:
        os.chmod(tmp, _mode_for(path))
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def flush_to_disk(paths: Iterable[Path], folders: bool = True) -> set[Path]:
    """fsync each of ``paths`` and (POSIX) each folder holding one, so the files and their names
    survive a power cut.  A file gone since (replaced, deleted) is skipped.  Returns the
    folders; ``folders=False`` leaves them to a later :func:`flush_folders`."""
    held = {Path(p).parent for p in paths if _fsync(p, os.O_RDWR | getattr(os, "O_BINARY", 0))}
    if folders:
        flush_folders(held)
    return held


def flush_folders(folders: Iterable[Path]) -> None:
    """fsync each folder (POSIX; on Windows a folder cannot be opened for fsync and NTFS
    journals names), so the names of files flushed in it survive a power cut."""
    if os.name == "posix":
        for folder in folders:
            _fsync(folder, os.O_RDONLY)


def _fsync(path: str | os.PathLike, flags: int) -> bool:
    """fsync one file or folder; False when it cannot be opened (gone since)."""
    try:
        fd = os.open(path, flags)
    except OSError:
        return False
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return True


def write_output(path: str | os.PathLike, data: bytes) -> Path:
    """:func:`atomic_write_bytes` for an output the user named: a path that cannot be written
    is a :class:`~perfxl.errors.WorkbookError` in one Chinese sentence, not an OSError."""
    from .errors import WorkbookError

    try:
        return atomic_write_bytes(path, data)
    except IsADirectoryError:
        why = "该位置已有同名的文件夹"
    except (FileExistsError, NotADirectoryError):
        why = "路径中的某一级是文件而不是文件夹"
    except PermissionError:
        why = "没有写入权限，或该文件正在 Excel/WPS 中打开"
    except OSError as e:
        why = describe(e)
    raise WorkbookError(f"无法写入 {path}：{why}。请换一个输出位置。")


def rewrite_zip(data: bytes, fn: Callable[[str, bytes], bytes | None], fixed_dates: bool = False) -> bytes:
    """A package re-zipped member by member: ``fn(name, body)`` returns the new body, or None
    to drop the member.  ``fixed_dates``: every entry dated 1980-01-01 with the same
    attributes (reproducible bytes); otherwise each keeps its own entry header."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = fn(info.filename, src.read(info.filename))
            if body is None:
                continue
            if fixed_dates:
                info = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o600 << 16
            dst.writestr(info, body)
    return out.getvalue()


def normalize_zip(data: bytes, stamp: str = "2024-01-01T00:00:00Z") -> bytes:
    """Same content → same bytes: an OOXML package re-zipped with fixed entry timestamps and
    fixed document dates (generated files are committed and tested to be current)."""
    def fix_dates(name: str, body: bytes) -> bytes:
        if name == "docProps/core.xml":
            return re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*", rb"\g<1>" + stamp.encode(), body)
        return body

    return rewrite_zip(data, fix_dates, fixed_dates=True)


def inflate_member(data: bytes | memoryview, info: zipfile.ZipInfo) -> bytes | None:
    """A zip entry's bytes taken straight from the package bytes (``bytes`` or ``memoryview``) —
    what ``ZipFile.read`` returns, without its per-entry file objects.  None whenever anything
    is unusual (encryption, another compression method, a header or CRC that does not match):
    the caller then falls back to ``ZipFile.read``, which handles and reports it as before."""
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) or info.flag_bits & ~0x80E:
        return None
    off = info.header_offset
    hdr = data[off : off + 30]
    if len(hdr) < 30 or hdr[:4] != b"PK\x03\x04":
        return None
    n = int.from_bytes(hdr[26:28], "little")
    m = int.from_bytes(hdr[28:30], "little")
    try:
        name = bytes(data[off + 30 : off + 30 + n]).decode("utf-8" if (hdr[6] | hdr[7] << 8) & 0x800 else "cp437")
    except UnicodeDecodeError:
        return None
    if name != info.orig_filename:
        return None
    start = off + 30 + n + m
    body = data[start : start + info.compress_size]
    if len(body) != info.compress_size:
        return None
    if info.compress_type == zipfile.ZIP_DEFLATED:
        try:  # never more than the declared size plus one byte, whatever the entry holds
            body = zlib.decompressobj(-15).decompress(body, info.file_size + 1)
        except zlib.error:
            return None
    else:
        body = bytes(body)
    if len(body) != info.file_size or zlib.crc32(body) != info.CRC:
        return None
    return body


# The largest workbook file perfxl reads.  A standard workbook is tens of KB, a few MB with
# pictures; anything far larger is not one, and reading it whole (a sparse 30 GB file) would
# exhaust memory before any check could say so.
MAX_WORKBOOK_BYTES = 100 * 1024 * 1024


def read_workbook_bytes(path: str | os.PathLike, limit: int = MAX_WORKBOOK_BYTES) -> bytes:
    """A workbook file's bytes, or a :class:`~perfxl.errors.WorkbookError` in one Chinese
    sentence naming the file (missing, a folder, not a regular file, larger than ``limit``
    bytes, unreadable).  A FIFO or a device is never read (it could block or never end)."""
    from .errors import WorkbookError

    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise WorkbookError(f"{path.name}：文件不存在。") from None
    except IsADirectoryError:
        raise WorkbookError(f"{path.name}：这是一个文件夹，不是工作簿文件（批量处理请用 perfxl batch）。") from None
    except OSError as e:
        raise WorkbookError(f"{path.name}：无法打开文件（{describe(e)}）。") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise WorkbookError(f"{path.name}：这是一个文件夹，不是工作簿文件（批量处理请用 perfxl batch）。")
        if not stat.S_ISREG(st.st_mode):
            raise WorkbookError(f"{path.name}：不是普通文件（是管道、设备或套接字），不是 Excel 工作簿，未读取。")
        if st.st_size > limit:
            raise WorkbookError(f"{path.name}：文件大小 {_size(st.st_size)}，超过 {_size(limit)} 的上限，"
                                "不是正常的绩效自评工作簿（标准工作簿通常不到 1 MB），未读取。")
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(limit + 1)
        if len(data) > limit:  # grew while being read
            raise WorkbookError(f"{path.name}：文件超过 {_size(limit)} 的上限，未读取。")
        return data
    except OSError as e:
        raise WorkbookError(f"{path.name}：无法读取文件（{describe(e)}）。") from None
    finally:
        os.close(fd)


def _size(n: int) -> str:
    """A byte count for people: 30 GB, 120 MB, 800 KB."""
    for unit, k in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= k:
            return f"{n / k:.3g} {unit}"
    return f"{n} 字节"
