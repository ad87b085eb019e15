"""Output paths: never one of the inputs, always the kind of file the command writes, always a
name the file system accepts, and a backup never replaces an earlier backup.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Iterable

from .errors import WorkbookError

# Longest file name (one path component) in bytes on the usual file systems (ext4, xfs, btrfs;
# NTFS and exFAT count 255 UTF-16 units, which a Chinese name in UTF-8 bytes reaches first).
NAME_MAX = 255


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """True when ``a`` and ``b`` are the same file: the same path once symlinks and ``..`` are
    resolved, or two names (hard links, case-insensitive file systems) of one existing file."""
    try:
        if os.path.samefile(a, b):
            return True
    except OSError:
        pass
    return os.path.realpath(a) == os.path.realpath(b)


_KINDS = {".xlsx": "Excel 工作簿", ".xlsm": "启用宏的 Excel 工作簿", ".docx": "Word 文档", ".pdf": "PDF 文件",
          ".xlam": "Excel 加载项", ".zip": "压缩包", ".json": "JSON 文件"}


def _kinds(suffixes: Iterable[str]) -> str:
    return "、".join(f"{s}（{_KINDS.get(s, s)}）" for s in suffixes)


def check_output(dst: str | os.PathLike, suffixes: Iterable[str], inputs: Iterable[str | os.PathLike | None] = (),
                 option: str = "-o", hint: str = "请换一个输出文件名。") -> Path:
    """Refuse an output that would destroy an input or hold the wrong kind of content.

    ``suffixes``: the extensions the command writes (lower case, with the dot); ``inputs``:
    every file the command reads (workbook, template, rule pack; None entries ignored).
    Returns ``dst`` as a Path; raises :class:`~perfxl.errors.WorkbookError` in Chinese otherwise.
    """
    dst = Path(dst)
    suffixes = tuple(suffixes)
    for src in inputs:
        if src is not None and same_file(src, dst):
            raise WorkbookError(f"{option} {dst} 与输入文件 {Path(src).name} 是同一个文件：perfxl 不会用输出覆盖输入。{hint}")
    if dst.is_dir():
        raise WorkbookError(f"无法写入 {dst}：该位置已有同名的文件夹。请换一个输出位置。")
    if dst.suffix.lower() not in suffixes:
        raise WorkbookError(f"{option} {dst.name}：这个命令写出的是 {_kinds(suffixes)}，输出文件名应以 "
                          f"{' 或 '.join(suffixes)} 结尾（否则会用错误的内容覆盖同名文件，或无法打开）。")
    return dst


WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")


def check_workbook_input(src: str | os.PathLike) -> Path:
    """Refuse an existing input that is not named as a workbook before any output name is
    derived from it: ``perfxl score 报告.docx`` is told its input is a Word document, not that
    ``报告-已评分.docx`` has the wrong extension.  The content decides what is said (the reader
    names .ods, .docx, .xls, CSV …); a real workbook under another extension is asked to be
    renamed.  A missing file, or one named .xlsx/.xlsm, is left to the reader."""
    src = Path(src)
    if src.suffix.lower() in WORKBOOK_SUFFIXES or not src.is_file():
        return src
    from .reader import read

    read(src)  # raises WorkbookError saying what the file is
    raise WorkbookError(f"{src.name}：内容是 Excel 工作簿，但扩展名不是 .xlsx。请把文件改名为"
                        f"“{src.stem}.xlsx”再试（perfxl 按扩展名决定输出文件的类型）。")


def fit_stem(stem: str, longest_tail: str, limit: int = NAME_MAX) -> str:
    """``stem`` shortened so that ``stem + longest_tail`` fits in ``limit`` bytes (UTF-8).

    A stem that fits is returned unchanged.  A longer one is cut at a character boundary and
    ends in ``~`` and 8 hex digits of the full stem's sha256, so two long names that share
    their beginning still get different outputs.
    """
    room = limit - len(longest_tail.encode("utf-8"))
    raw = stem.encode("utf-8")
    if len(raw) <= room:
        return stem
    tag = "~" + hashlib.sha256(raw).hexdigest()[:8]
    keep = raw[: max(0, room - len(tag))].decode("utf-8", errors="ignore")
    return keep + tag


def backup_path(src: str | os.PathLike) -> Path:
    """Where ``--in-place`` keeps the original: ``<name>.bak``, or when that exists (an earlier
    run's backup, the true original) the first free ``<name>.2.bak``, ``<name>.3.bak`` …"""
    src = Path(src)
    stem = fit_stem(src.name, ".99999.bak")
    n = 1
    while True:
        p = src.with_name(f"{stem}.bak" if n == 1 else f"{stem}.{n}.bak")
        if not os.path.lexists(p):
            return p
        n += 1
