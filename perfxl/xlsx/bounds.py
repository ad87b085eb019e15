"""What a package may hold before anything parses it: inflated sizes and a sheet's cell range.

A small file can describe a huge workbook: a 1 MB part that inflates to 1 GiB, or one cell at
XFD1048576 that makes a reader allocate the whole 1,048,576 × 16,384 range. Both are refused
here with one Chinese sentence, before lxml or calamine spend the memory.
"""
from __future__ import annotations

import posixpath
import re
import zipfile
import zlib

from perfxl.cellref import col_to_index
from perfxl.errors import WorkbookError

from .zipio import raw_entry

# What one XML part of a package may inflate to, and all of them together (media and other
# binary parts are never parsed and do not count). The standard workbook's largest part is
# ~50 KB and all its XML < 1 MB; a workbook with ten thousand rows needs a few MB. Parsing costs
# up to ~27 times the XML's size (a 31 MiB part of tiny elements: 865 MB peak for `score`), so
# 20 MiB in all keeps any input near 550 MB at worst. Without the bound a 1 MB file whose sheet
# inflates to 1 GiB took 5 GB and 43 s in `score`.
MAX_PART_BYTES = 10 * 1024 * 1024
MAX_PACKAGE_BYTES = 20 * 1024 * 1024
_PARSED_SUFFIXES = (".xml", ".rels", ".vml")
_DEFLATE_MAX_RATIO = 1032  # deflate never expands a stream by more than this (RFC 1951 length codes)


def oversized_part(data: bytes | memoryview, infos: list[zipfile.ZipInfo], part_limit: int = MAX_PART_BYTES,
                   total_limit: int = MAX_PACKAGE_BYTES) -> tuple[str, int] | None:
    """(name, bytes it inflates to, at least) of the first XML entry beyond ``part_limit``, or of
    the one that takes the total beyond ``total_limit``; None when all is within bounds.

    Declared sizes are believed only where the compressed size cannot inflate to more than the
    limit; any other entry is inflated once, in small pieces, counting bytes up to the limit
    (memory stays at one piece whatever the entry holds). Entries zip cannot read are left to
    the readers, which report them as damaged.
    """
    total = 0
    for info in infos:
        if not info.filename.lower().endswith(_PARSED_SUFFIXES):
            continue
        size = info.file_size
        if size <= part_limit and info.compress_type == zipfile.ZIP_DEFLATED \
                and info.compress_size * _DEFLATE_MAX_RATIO > part_limit:
            size = max(size, _inflated_size(data, info, part_limit + 1))
        total += size
        if size > part_limit or total > total_limit:
            return info.filename, size
    return None


def check_part_sizes(data: bytes | memoryview, zf: zipfile.ZipFile, filename: str | None = None) -> None:
    """Raise :class:`WorkbookError` (one Chinese sentence naming the sheet when the part is a
    worksheet) if a part of the package would inflate beyond the bounds above."""
    found = oversized_part(data, zf.infolist())
    if found is None:
        return
    part, size = found
    what = _sheet_label(data, zf, part) or f"部件 {part} "
    mb = MAX_PART_BYTES >> 20
    if size > MAX_PART_BYTES:
        why = f"{what}解压后超过 {mb} MB（压缩前只有 {_mb(zf.getinfo(part).compress_size)}）"
    else:
        why = f"各 XML 部件解压后合计超过 {MAX_PACKAGE_BYTES >> 20} MB"
    prefix = f"{filename}：" if filename else ""
    raise WorkbookError(f"{prefix}{why}，不是正常的绩效自评工作簿（标准工作簿解压后不到 1 MB），可能是被构造的"
                        "“压缩炸弹”，未读取。")


def _mb(n: int) -> str:
    return f"{n / (1 << 20):.1f} MB" if n >= 1 << 20 else f"{max(1, n >> 10)} KB"


def _sheet_label(data: bytes | memoryview, zf: zipfile.ZipFile, part: str) -> str | None:
    """'工作表“评分表”' when ``part`` is the worksheet of a sheet named in workbook.xml."""
    from lxml import etree

    try:
        wb, rels = zf.getinfo("xl/workbook.xml"), zf.getinfo("xl/_rels/workbook.xml.rels")
        if max(wb.file_size, rels.file_size) > MAX_PART_BYTES or wb.filename == part or rels.filename == part:
            return None
        parser = etree.XMLParser(resolve_entities=False, no_network=True)
        targets = {}
        for r in etree.fromstring(zf.read(rels), parser):
            t = r.get("Target") or ""
            targets[r.get("Id")] = posixpath.normpath(t[1:] if t.startswith("/") else posixpath.join("xl", t))
        for sheet in etree.fromstring(zf.read(wb), parser).iter("{*}sheet"):
            rid = next((v for k, v in sheet.attrib.items() if k.endswith("}id")), None)
            if targets.get(rid) == part:
                return f"工作表“{sheet.get('name')}”"
    except (KeyError, ValueError, zipfile.BadZipFile, etree.XMLSyntaxError, OSError, EOFError, RuntimeError):
        return None
    return None


def _inflated_size(data: bytes | memoryview, info: zipfile.ZipInfo, stop: int) -> int:
    """How many bytes a deflated entry inflates to, counting no further than ``stop``."""
    try:
        raw = raw_entry(data, info)
    except WorkbookError:
        return 0
    d = zlib.decompressobj(-15)
    n, pos, step = 0, 0, 64 * 1024
    chunk: bytes | memoryview
    try:
        while n < stop:
            if d.unconsumed_tail:
                chunk = d.unconsumed_tail
            elif pos < len(raw):
                chunk, pos = raw[pos : pos + step], pos + step
            else:
                break
            n += len(d.decompress(chunk, step))
    except zlib.error:
        return n
    return n


# Cells a reader may be asked to lay out densely for one sheet (rows × columns of its used
# range). The standard workbook's largest sheet is ~200 × 12; calamine keeps ~32 bytes a cell
# and the grid a pointer, so 4 million cells stay near 250 MB.
MAX_RANGE_CELLS = 4_000_000
_CELL_REF = re.compile(rb"<(?:\w+:)?c\b[^>]*?\sr=\"\$?([A-Za-z]{1,3})\$?([0-9]{1,7})\"")


def used_range(xml: bytes) -> tuple[int, int]:
    """(last row, last column) of the cells a worksheet part lists (by their references)."""
    rows = cols = 0
    for m in _CELL_REF.finditer(xml):
        rows = max(rows, int(m.group(2)))
        col = m.group(1)
        if len(col) > 2 or col_to_index(col.decode()) > cols:
            cols = max(cols, col_to_index(col.decode()))
    return rows, cols


# A range beyond MAX_RANGE_CELLS has a row past 2,000 or a column past BXX: some reference then
# has a row of 4+ digits or a 3-letter column. Looking for one first costs ~0.04 ms a sheet of
# the standard workbook, the full scan ~0.3 ms (CPU, this machine).
_FAR_REF = re.compile(rb' r="[A-Za-z]{3}[0-9]| r="[A-Za-z]{1,2}[0-9]{4}')


def check_sheet_range(xml: bytes, sheet: str, filename: str | None = None) -> None:
    """Raise :class:`WorkbookError` when laying out a sheet's cells densely would take more than
    :data:`MAX_RANGE_CELLS` cells."""
    if _FAR_REF.search(xml) is None:
        return
    rows, cols = used_range(xml)
    if rows * cols > MAX_RANGE_CELLS:
        prefix = f"{filename}：" if filename else ""
        raise WorkbookError(f"{prefix}工作表“{sheet}”的单元格范围过大（用到的单元格一直到第 {rows} 行、第 {cols} 列，"
                            f"共 {rows * cols:,} 个单元格，上限 {MAX_RANGE_CELLS:,}），不是正常的绩效自评工作簿，未读取。"
                            "请删除远处的单元格后再试。")
