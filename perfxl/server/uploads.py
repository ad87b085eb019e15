"""Uploaded files: read within the size limit, bounded as zips, sorted into "not a workbook".

The pipeline's reader explains every unreadable workbook (empty, CSV renamed, .xls, encrypted,
truncated, no standard names) in one Chinese sentence: those are 400s.  What is plainly not a
spreadsheet (a Word/PDF/image file, a zip without a workbook inside) is a 415 before any
parsing, and a zip that would inflate beyond the limits is a 413.
"""
from __future__ import annotations

import io
import os
import zipfile

from .settings import MB, Settings


class UploadError(Exception):
    """A refused upload: HTTP ``status`` and the Chinese ``message`` for the client."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


# A name with one of these endings may still be a workbook (or a renamed CSV: the reader says so).
WORKBOOK_EXT = {"", ".xlsx", ".xlsm", ".xls", ".xltx", ".xltm", ".tmp"}
_MAGIC = {b"%PDF": "PDF 文件", b"\x89PNG": "PNG 图片", b"\xff\xd8\xff": "JPEG 图片", b"GIF8": "GIF 图片",
          b"Rar!": "RAR 压缩包", b"7z\xbc\xaf": "7z 压缩包", b"MZ": "可执行程序"}


def safe_name(name: str | None) -> str:
    """The uploaded file's base name (no folders, no control characters), for messages only."""
    base = os.path.basename((name or "").replace("\\", "/")) or "工作簿.xlsx"
    base = "".join(ch for ch in base if ch.isprintable())[:120]
    return base or "工作簿.xlsx"


def limit_text(n: int) -> str:
    return f"{n / MB:g} MB"


def inspect(data: bytes, name: str, settings: Settings) -> None:
    """Raise :class:`UploadError` for oversize, zip bombs and files that are not workbooks."""
    if len(data) > settings.max_upload:
        raise UploadError(413, f"{name}：文件大小 {len(data) / MB:.1f} MB，超过上限 {limit_text(settings.max_upload)}。")
    ext = os.path.splitext(name)[1].lower()
    for magic, kind in _MAGIC.items():
        if data.startswith(magic):
            raise UploadError(415, f"{name}：这是{kind}，不是 Excel 工作簿，请上传 .xlsx 标准工作簿。")
    if data[:4] != b"PK\x03\x04":
        if ext not in WORKBOOK_EXT:
            raise UploadError(415, f"{name}：{ext} 文件不是 Excel 工作簿，请上传 .xlsx 标准工作簿。")
        return  # text, CSV, .xls, encrypted, empty: the reader explains (400)
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return  # truncated: the reader explains
    if len(infos) > settings.max_members:
        raise UploadError(413, f"{name}：压缩包内有 {len(infos)} 个部件，超过上限 {settings.max_members} 个，不是正常的工作簿。")
    total = sum(i.file_size for i in infos)
    if total > settings.max_uncompressed:
        raise UploadError(413, f"{name}：解压后大小 {total / MB:.0f} MB，超过上限 {limit_text(settings.max_uncompressed)}。")
    for i in infos:
        if i.compress_size and i.file_size > 1 * MB and i.file_size / i.compress_size > settings.max_ratio:
            raise UploadError(413, f"{name}：部件 {i.filename[:60]} 压缩比异常（{i.file_size // i.compress_size} 倍），拒绝处理。")
    names = {i.filename for i in infos}
    if "xl/workbook.xml" not in names and not any(n.startswith("xl/") for n in names):
        kind = "Word 文档" if "word/document.xml" in names else "PowerPoint 演示文稿" if "ppt/presentation.xml" in names else "普通压缩包"
        raise UploadError(415, f"{name}：这是{kind}，不是 Excel 工作簿，请上传 .xlsx 标准工作簿。")
