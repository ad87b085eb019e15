"""Workbook → :class:`~perfxl.model.WorkbookModel`.

One parser (:func:`parse`) over two sources: :class:`FileSource` reads an .xlsx/.xlsm file
(python-calamine for values, the package XML for defined names and tables); the Excel add-in
supplies a source backed by an open book (``perfxl.excel``).  Fields are found by defined name
and tables by table name, so clerks may insert rows and move blocks freely.
"""
from __future__ import annotations

import contextlib
import io
import os
import posixpath
import re
import sys
import threading
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol
from xml.etree import ElementTree as ET

from . import coerce, schema
from .cellref import col_to_index, index_to_col, parse_sheet_ref, split_cell, split_range
from .errors import WorkbookError
from .fileio import inflate_member, read_workbook_bytes, rewrite_zip
from .model import Row, Table, Value, WorkbookModel
from .xlsx.bounds import check_part_sizes, check_sheet_range

_NS = {
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "pr": "http://schemas.openxmlformats.org/package/2006/relationships",
}
_RID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


@dataclass(frozen=True)
class TableRef:
    """Where an Excel table sits: sheet, whole range incl. header row, header texts."""

    sheet: str
    ref: str
    headers: tuple[str, ...]


class GridSource(Protocol):
    """What :func:`parse` needs from a workbook, whatever holds it."""

    path: str

    def sheet_names(self) -> list[str]: ...

    def defined_names(self) -> dict[str, str]:
        """Workbook-scope defined names → reference text such as ``'预算执行'!$C$7``."""

    def tables(self) -> dict[str, TableRef]: ...

    def grid(self, sheet: str) -> list[list[Any]]:
        """Cell values of a sheet as rows of values, starting at A1 (None or '' when empty)."""


def _open_zip(path: str, data: bytes) -> zipfile.ZipFile:
    """Open the package, turning every way a file can be unreadable into one Chinese sentence."""
    name = os.path.basename(path)
    head = data[:8]
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        if "EncryptedPackage".encode("utf-16-le") in data or b"EncryptedPackage" in data:
            raise WorkbookError(f"{name}：工作簿设置了打开密码，请在 Excel 中取消密码后另存为 .xlsx 再试。")
        raise WorkbookError(f"{name}：这是旧版 Excel 97-2003 格式（.xls），请在 Excel 或 WPS 中另存为 .xlsx 再试。")
    if not head.startswith(b"PK"):
        if not head:
            raise WorkbookError(f"{name}：文件是空的（0 字节），不是 Excel 工作簿。")
        raise WorkbookError(f"{name}：不是 Excel 工作簿（文件内容不是 .xlsx/.xlsm 格式，可能是改了扩展名的 CSV 或文本文件）。")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))  # no testzip(): reading the parts detects damage
    except zipfile.BadZipFile:
        raise WorkbookError(f"{name}：文件已损坏或不完整（可能下载或复制未完成），请重新获取该文件。") from None
    other = _other_format(zf)
    if other:
        raise WorkbookError(f"{name}：{other}")
    if "xl/workbook.xml" not in zf.namelist():
        raise WorkbookError(f"{name}：压缩包中没有 Excel 工作簿内容，不是 .xlsx/.xlsm 文件。")
    check_part_sizes(data, zf, name)  # before anything inflates a part: memory stays bounded
    return zf


_SAVE_AS = "请在 Excel 中“文件 → 另存为”，保存类型选“Excel 工作簿(*.xlsx)”；或在 WPS 表格中另存为“Microsoft Excel 文件(*.xlsx)”，再用另存的文件重试。"


def _other_format(zf: zipfile.ZipFile) -> str | None:
    """What a zip package that is not a standard (transitional) workbook is, and how to save it
    as one — or None.  Strict Open XML keeps the .xlsx extension but uses other namespaces,
    which no part of perfxl (nor most tools) reads; an OpenDocument spreadsheet is WPS's and
    LibreOffice's own format."""
    names = set(zf.namelist())
    if "mimetype" in names and "xl/workbook.xml" not in names:
        try:
            mime = zf.read("mimetype")[:100]
        except (zipfile.BadZipFile, KeyError, OSError, RuntimeError):
            mime = b""
        if b"opendocument.spreadsheet" in mime:
            return ("这是 OpenDocument 电子表格（.ods，WPS 或 LibreOffice 的格式），不是 Excel 工作簿。"
                    "请在 WPS 表格或 LibreOffice 中另存为“Excel 2007-365 工作簿(*.xlsx)”，再用另存的文件重试。")
        if b"opendocument" in mime:
            return "这是 OpenDocument 文档（如 .odt 文字文档），不是 Excel 工作簿。"
    if "xl/workbook.xml" in names:
        try:
            with zf.open("xl/workbook.xml") as f:
                head = f.read(4096)
        except (zipfile.BadZipFile, OSError, RuntimeError, EOFError):
            return None
        if b"purl.oclc.org/ooxml/spreadsheetml" in head:
            return "这是“Strict Open XML 电子表格”格式的 .xlsx，perfxl 只能读取标准的 Excel 工作簿格式。" + _SAVE_AS
    if "word/document.xml" in names:
        return "这是 Word 文档（.docx），不是 Excel 工作簿。"
    return None


# A batch reads hundreds of workbooks made from one template: their relationship parts are
# byte for byte the same, and so are many table parts (same writer, same rows), so what is
# parsed from them is cached by those bytes (an exact key: a changed part is parsed anew).

@lru_cache(maxsize=512)  # saves 0.23 ms CPU a workbook (0.7%) (benchmarks/bench_memos.py: CPU its function spends with the memo off)
def _parse_rels(raw: bytes, folder: str) -> tuple[tuple[str, str], ...]:
    """(Id, part path) of each internal relationship in a ``.rels`` part of ``folder``."""
    out = []
    for rel in ET.fromstring(raw).findall("pr:Relationship", _NS):
        if rel.get("TargetMode") == "External":
            continue
        target = rel.get("Target", "")
        full = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
        out.append((rel.get("Id"), full))
    return tuple(out)


@lru_cache(maxsize=512)  # saves 0.28 ms CPU a workbook (0.9%) (benchmarks/bench_memos.py: CPU its function spends with the memo off)
def _parse_table(raw: bytes) -> tuple[str | None, str | None, tuple[str, ...]]:
    """A table part → (name, range incl. header row but without a totals row, header texts)."""
    t = ET.fromstring(raw)
    headers = tuple((c.get("name") or "").strip() for c in t.findall("m:tableColumns/m:tableColumn", _NS))
    totals = t.get("totalsRowCount")
    ref = without_totals_row(t.get("ref"), int(totals or 0))
    if t.get("headerRowCount") == "0":  # Table Design → Header Row off: every row is data
        ref = with_header_row(ref)
    return t.get("displayName") or t.get("name"), ref, headers


def with_header_row(ref: str | None) -> str | None:
    """The range of a table whose header row is turned off (``headerRowCount="0"``: Excel's
    Table Design → Header Row, kept by LibreOffice), as if the row above were its header:
    "B21:H27" → "B20:H27".  Every consumer of a table's range takes its first row as the
    header, and the column names are still in the table part, so the first data row is read,
    summed and scored like the others.  A table starting in row 1 has no row above: unchanged."""
    if not ref or ":" not in ref:
        return ref
    try:
        (c1, r1), (c2, r2) = split_range(ref)
    except ValueError:
        return ref
    return f"{c1}{r1 - 1}:{c2}{r2}" if r1 > 1 else ref


def without_totals_row(ref: str | None, totals: int) -> str | None:
    """A table's range without its totals row(s) ("B20:H27", 1 → "B20:H26"): a totals row
    (合计, SUBTOTAL formulas) is not data, and the formulas perfxl writes must not sum it."""
    if not ref or totals <= 0 or ":" not in ref:
        return ref
    try:
        (c1, r1), (c2, r2) = split_range(ref)
    except ValueError:
        return ref
    return f"{c1}{r1}:{c2}{max(r1, r2 - totals)}"


class FileSource:
    """A workbook file (.xlsx / .xlsm), read without openpyxl.

    Values come from python-calamine (cached results of formula cells included; a formula
    without a cached value reads as '').  ``data`` lets a batch worker pass bytes.
    """

    def __init__(self, path: str | os.PathLike, data: bytes | None = None):
        self.path = os.fspath(path)
        # the whole file once (a workbook is tens of KB): the package XML and calamine both
        # read from these bytes, and the file is opened a single time
        self._data = data if data is not None else read_workbook_bytes(self.path)
        self._zip = _open_zip(self.path, self._data)
        self._parts = set(self._zip.namelist())
        self._grids: dict[str, list[list[Any]]] = {}
        self._inflated: dict[str, bytes] = {}
        try:
            self._read_structure()
        except (KeyError, ET.ParseError, zipfile.BadZipFile, EOFError, OSError, ValueError):
            raise WorkbookError(f"{os.path.basename(self.path)}：文件已损坏或不完整，无法读取工作簿结构。") from None
        self._calamine = None

    def _part(self, part: str) -> bytes:
        """A part's bytes, inflated once (each sheet is read twice: its range bound, its error
        cells)."""
        raw = self._inflated.get(part)
        if raw is None:
            raw = inflate_member(self._data, self._zip.getinfo(part))
            if raw is None:
                raw = self._zip.read(part)
            self._inflated[part] = raw
        return raw

    def _rels(self, part: str) -> dict[str, str]:
        folder, base = posixpath.split(part)
        rels_part = posixpath.join(folder, "_rels", base + ".rels")
        if rels_part not in self._parts:
            return {}
        return dict(_parse_rels(self._part(rels_part), folder))

    def _read_structure(self) -> None:
        wb = ET.fromstring(self._part("xl/workbook.xml"))
        rels = self._rels("xl/workbook.xml")
        self._sheets: dict[str, str] = {}
        for s in wb.findall("m:sheets/m:sheet", _NS):
            self._sheets[s.get("name")] = rels.get(s.get(_RID), "")
        self._names: dict[str, str] = {}
        local: dict[str, list[tuple[str, str]]] = {}
        order = list(self._sheets)
        for dn in wb.findall("m:definedNames/m:definedName", _NS):
            if not dn.text:
                continue
            scope = dn.get("localSheetId")
            if scope is None:
                self._names[dn.get("name")] = dn.text
            elif scope.isdigit() and int(scope) < len(order):
                local.setdefault(dn.get("name"), []).append((order[int(scope)], dn.text))
        # A name defined for one sheet only (a sheet copied between workbooks, some editors'
        # "scope" setting): formulas on that sheet see it, so it is read as the workbook's own,
        # and write-back defines it workbook-wide so every written formula sees the same cell.
        self.scoped_only = frozenset(n for n in local if n not in self._names and n in _CONTRACT_NAMES)
        for n in self.scoped_only:
            refs = local[n]
            own = [text for sheet, text in refs if _locate(text) and _locate(text)[0] == sheet]
            self._names[n] = own[0] if own else refs[0][1]
        self._tables: dict[str, TableRef] = {}
        for sheet, part in self._sheets.items():
            if not part:
                continue
            for tpart in self._rels(part).values():
                if "/tables/" not in tpart or tpart not in self._parts:
                    continue
                name, ref, headers = _parse_table(self._part(tpart))
                self._tables[name] = TableRef(sheet, ref, headers)

    def sheet_names(self) -> list[str]:
        return list(self._sheets)

    def defined_names(self) -> dict[str, str]:
        return dict(self._names)

    def tables(self) -> dict[str, TableRef]:
        return dict(self._tables)

    def grid(self, sheet: str) -> list[list[Any]]:
        """The sheet's values (python-calamine) with each error value (``#N/A``, ``#REF!`` …)
        as a :class:`~perfxl.formulas.XlError`: calamine reads those cells as empty, and a
        cell showing #N/A is not a blank one."""
        if sheet not in self._grids:
            grid = self._values(sheet)
            part = self._sheets.get(sheet)
            if part and part in self._parts:
                raw = self._part(part)
                if b't="e"' in raw:
                    _put_errors(grid, raw)
            self._grids[sheet] = grid
        return self._grids[sheet]

    def _values(self, sheet: str) -> list[list[Any]]:
        if sheet not in self._grids:
            part = self._sheets.get(sheet)
            if part in self._parts:  # calamine lays the used range out densely: bound it first
                check_sheet_range(self._part(part), sheet, os.path.basename(self.path))
            if self._calamine is None:
                self._calamine = self._open_calamine(self._data)
            try:
                self._grids[sheet] = _sheet_values(self._calamine, sheet)
            except BaseException as e:  # a Rust panic in calamine derives from BaseException
                if not isinstance(e, Exception) and not _is_panic(e):
                    raise
                if _is_panic(e):
                    # calamine panics on a date-formatted cell holding a number no date can be
                    # (-1E+12): read the sheet again as if no cell had a date format.  Its dates
                    # then arrive as serial numbers, which the date parser accepts, and the
                    # impossible one is reported at its cell like any other unreadable date.
                    try:
                        book = self._open_calamine(_without_date_formats(self._data))
                        self._grids[sheet] = _sheet_values(book, sheet)
                        return self._grids[sheet]
                    except BaseException as again:
                        if not isinstance(again, Exception) and not _is_panic(again):
                            raise
                raise WorkbookError(f"{os.path.basename(self.path)}：工作表“{sheet}”已损坏，无法读取（{type(e).__name__}）。") from None
        return self._grids[sheet]

    def _open_calamine(self, data: bytes):
        import python_calamine

        try:
            return python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        except Exception as e:  # calamine raises its own error types for damaged parts
            raise WorkbookError(f"{os.path.basename(self.path)}：文件已损坏，无法读取单元格内容（{type(e).__name__}）。") from None


# The names a sheet-scoped definition may stand in for: the contract's inputs (never Excel's
# own per-sheet names such as _xlnm.Print_Titles, nor a clerk's).
_CONTRACT_NAMES = frozenset(f.name for f in schema.FIELDS)

_ERROR_CELL = re.compile(rb'<(?:\w+:)?c\b([^>]*?)\bt="e"([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)', re.S)
_CELL_REF = re.compile(rb'\br="([A-Z]{1,3}[0-9]+)"')
_CACHED = re.compile(rb"<(?:\w+:)?v>([^<]*)</(?:\w+:)?v>")


def _put_errors(grid: list[list[Any]], sheet_xml: bytes) -> None:
    """Overlay the sheet's error cells (``t="e"``) on ``grid`` as XlError values."""
    from .formulas import XlError

    for m in _ERROR_CELL.finditer(sheet_xml):
        ref = _CELL_REF.search(m.group(1) + b" " + m.group(2))
        v = _CACHED.search(m.group(3) or b"")
        if ref is None or v is None or not v.group(1).startswith(b"#"):
            continue
        r, c = _cell_index(ref.group(1).decode())
        while len(grid) <= r:
            grid.append([])
        row = grid[r]
        if len(row) <= c:
            row.extend([None] * (c + 1 - len(row)))
        row[c] = XlError(v.group(1).decode("utf-8", "replace"))


def _sheet_values(book, sheet: str) -> list[list[Any]]:
    """The sheet's cell values; the Rust panic message calamine would print goes nowhere."""
    with _quiet_stderr():
        return book.get_sheet_by_name(sheet).to_python(skip_empty_area=False)


@contextlib.contextmanager
def _quiet_stderr():
    """File descriptor 2 to the null device for a moment: a Rust panic inside python-calamine
    prints an English message there before Python sees the exception, which perfxl turns into
    a Chinese finding or error.  Descriptor 2 belongs to the whole process, so this happens only
    while no other Python thread runs (the CLI, a batch worker): in a threaded process (the
    server, a progress bar) another thread's messages are never lost, at the price of the panic
    text reaching the log.  Where descriptor 2 cannot be redirected, nothing changes."""
    if threading.active_count() > 1:
        yield
        return
    try:
        sys.stderr.flush()
    except (AttributeError, OSError, ValueError):
        pass
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, 2)
        finally:
            os.close(null)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _is_panic(e: BaseException) -> bool:
    """A Rust panic inside python-calamine: pyo3's PanicException derives from BaseException."""
    return type(e).__name__ == "PanicException"


_XF_NUMFMT = re.compile(rb"(<(?:\w+:)?xf\b[^>]*?\bnumFmtId=\")\d+\"")


def _without_date_formats(data: bytes) -> bytes:
    """The package with every cell format's number format set to General (id 0)."""
    return rewrite_zip(data, lambda name, body: _XF_NUMFMT.sub(rb'\g<1>0"', body) if name == "xl/styles.xml" else body)


@lru_cache(maxsize=4096)  # saves 0.31 ms CPU a workbook (0.9%) (benchmarks/bench_memos.py: CPU its function spends with the memo off)
def _cell_index(cell: str) -> tuple[int, int]:
    """'C7' → (6, 2): 0-based row and column of a cell in a grid (cached: every workbook of a
    batch names the same cells)."""
    col, row = split_cell(cell)
    return row - 1, col_to_index(col) - 1


def _cell(grid: list[list[Any]], cell: str) -> Any:
    r, c = _cell_index(cell)
    if r < len(grid) and c < len(grid[r]):
        v = grid[r][c]
        return None if v == "" else v
    return None


_object_new = object.__new__


def _new_value(value: Any, sheet: str, cell: str, raw: Any, problem: str | None) -> Value:
    """``Value(value, sheet, cell, raw, problem)``, built without the frozen dataclass
    ``__init__`` (one ``object.__setattr__`` call per field): the same object at half the cost,
    and the reader makes hundreds per workbook."""
    v = _object_new(Value)
    d = v.__dict__
    d["value"] = value
    d["sheet"] = sheet
    d["cell"] = cell
    d["raw"] = raw
    d["problem"] = problem
    return v


def _value(kind: str, raw: Any, sheet: str, cell: str) -> Value:
    v, problem = coerce.parse(kind, raw)
    return _new_value(v, sheet, cell, raw, problem)


@lru_cache(maxsize=4096)  # saves 0.12 ms CPU a workbook (0.4%) (benchmarks/bench_memos.py: CPU its function spends with the memo off)
def _locate(text: str) -> tuple[str, str] | None:
    """A defined name's reference text → (sheet, first cell), or None (#REF!, no sheet: a
    constant or formula).  Cached: every workbook of a batch holds the same references."""
    if "#REF!" in text:
        return None
    try:
        sheet, cells = parse_sheet_ref(text)
    except ValueError:
        return None
    return sheet, cells.split(":")[0]


def parse(source: GridSource) -> WorkbookModel:
    """Build the model from any :class:`GridSource`; never raises on bad *values*."""
    names = source.defined_names()
    sheets = source.sheet_names()
    tables = source.tables()
    sheet_set = set(sheets)
    locs = {n: loc for n, text in names.items()
            if text and (loc := _locate(text)) is not None and loc[0] in sheet_set}
    found = [f for f in schema.FIELDS if f.name in locs]
    if len(found) < len(schema.FIELDS) // 2 and not any(t in tables for t in schema.TABLE_BY_NAME):
        raise WorkbookError(
            f"{os.path.basename(source.path)}：不是标准绩效自评工作簿（找不到“dept_name”“fiscal_year”等标准名称和表格），"
            "请用 perfxl new 生成的模板填报。")
    missing: list[str] = []
    fields: dict[str, Value] = {}
    for f in schema.FIELDS:
        loc = locs.get(f.name)
        if loc is None:
            missing.append(f.name)
            continue
        sheet, cell = loc
        fields[f.name] = _value(f.kind, _cell(source.grid(sheet), cell), sheet, cell)
    for f in schema.DERIVED_FIELDS:  # a total without a cached value: compute it from its parts
        cur = fields.get(f.name)
        parts = [fields.get(p) for p in f.parts]
        if cur is not None and cur.empty and any(p is not None and p.value is not None for p in parts):
            total = round(sum(p.value for p in parts if p is not None and isinstance(p.value, (int, float))), 6)
            fields[f.name] = Value(total, cur.sheet, cur.cell, None, None)

    model_tables: dict[str, Table] = {}
    for tdef in schema.TABLES:
        tref = tables.get(tdef.name)
        if tref is None or tref.sheet not in sheet_set:
            missing.append(tdef.name)
            continue
        model_tables[tdef.name] = _read_table(source, tdef, tref)

    outputs: dict[str, Value] = {}
    for name, loc in locs.items():
        if name.startswith(_OUTPUT_PREFIXES) and name not in fields:
            raw = _cell(source.grid(loc[0]), loc[1])
            kind = "text" if name == "grade" or isinstance(raw, str) and name.startswith("p_") else "number"
            outputs[name] = _value(kind, raw, *loc)
    scoped = frozenset(getattr(source, "scoped_only", ())) & set(locs)
    pack_loc = locs.get(schema.RULE_PACK)
    rule_pack = _value("text", _cell(source.grid(pack_loc[0]), pack_loc[1]), *pack_loc) if pack_loc else None
    return WorkbookModel(source.path, fields, model_tables, locs, tuple(sheets), tuple(missing), outputs, scoped,
                         rule_pack)


_OUTPUT_PREFIXES = ("rate_", "score_", "grade", "p_")


def _read_table(source: GridSource, tdef: schema.TableDef, tref: TableRef) -> Table:
    (c1, r1), (c2, r2) = split_range(tref.ref)
    first = col_to_index(c1)
    columns = {h: index_to_col(first + i) for i, h in enumerate(tref.headers)}
    grid = source.grid(tref.sheet)
    wanted = [(c.header, c.kind, columns[c.header], col_to_index(columns[c.header]) - 1)
              for c in tdef.columns if c.header in columns]
    rows = []
    sheet, parse_raw, new_value = tref.sheet, coerce.parse, _new_value
    n_grid = len(grid)
    for r in range(r1 + 1, r2 + 1):
        line = grid[r - 1] if r - 1 < n_grid else ()
        n = len(line)
        rs = str(r)
        cells = {}
        for header, kind, col, ci in wanted:
            raw = line[ci] if ci < n else None
            if raw is None or raw == "":  # every kind parses an empty cell as (None, None)
                cells[header] = new_value(None, sheet, col + rs, None, None)
            else:
                v, problem = parse_raw(kind, raw)
                cells[header] = new_value(v, sheet, col + rs, raw, problem)
        rows.append(Row(cells, r))
    return Table(tdef.name, tref.sheet, tref.ref, columns, tuple(rows))


def read(path: str | os.PathLike, data: bytes | None = None) -> WorkbookModel:
    """Read a workbook file (or its bytes) into the model.

    Raises :class:`~perfxl.errors.WorkbookError` (one Chinese sentence naming the file) when the
    file cannot be read at all; problems with values become findings later, never exceptions.
    """
    return parse(FileSource(path, data))
