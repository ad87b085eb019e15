"""A worksheet's cells: an index of rows and cells, and what a written cell holds."""
from __future__ import annotations

import bisect
import datetime as _dt
import decimal
import numbers
from typing import Iterator, Literal, overload

from lxml import etree

from perfxl.errors import WorkbookError

from .dates import to_serial
from .errors import InvalidEditError
from .ops import SetCell
from .ns import ERROR_LITERALS, NS_MAIN, TAG_F, TAG_IS, TAG_T, TAG_V, WS_ORDER, XML_SPACE, M
from .package import Package
from .xmlutil import (ILLEGAL_XML, cell_ref, child, insert_ordered, local, main_ns_default, num_text, parse_range,
                      range_ref, ref_col, set_text, xstring)


class Sheet:
    """A parsed worksheet with an index of rows and (lazily) cells."""

    def __init__(self, pkg: Package, part: str):
        self.pkg = pkg
        self.part = part
        self.root = pkg.xml(part)
        if self.root.tag != M + "worksheet":
            raise WorkbookError(f"工作表部件 {part} 格式无效")
        sd = child(self.root, "sheetData")
        if sd is None:
            sd = insert_ordered(self.root, "sheetData", WS_ORDER)
        self.sheet_data = sd
        self._rows: dict[int, etree._Element] | None = None
        self._row_keys: list[int] = []
        self._cells: dict[int, tuple[dict[int, etree._Element], list[int]]] = {}
        self._cols: list[tuple[int, int, str]] | None = None
        self._arrays: list | None = None  # (range, <f>) of array formulas, found on first write
        self.bounds: list[int] | None = None  # r1, c1, r2, c2 of written cells
        self.cleared = False
        self._dirty = pkg.dirty
        self._plain_ns: bool | None = None
        self._appendable: bool | None = None

    def touch(self) -> None:
        if self.part not in self._dirty:
            self.pkg.touch(self.part)

    # -- index ----------------------------------------------------------------------------------
    def _index(self) -> dict[int, etree._Element]:
        """The row elements by number (built on first use, numbering rows that lack ``r``)."""
        if self._rows is not None:
            return self._rows
        rows: dict[int, etree._Element] = {}
        prev = 0
        fixed = False
        for row in self.sheet_data.iterchildren(M + "row"):
            r = row.get("r")
            if r is None:
                n = prev + 1
                row.set("r", str(n))
                fixed = True
            else:
                n = int(r)
            rows[n] = row
            prev = n
        self._rows = rows
        self._row_keys = sorted(rows)
        if fixed:
            self.touch()
        return rows

    def _row_cells(self, rownum: int, row: etree._Element) -> tuple[dict[int, etree._Element], list[int]]:
        got = self._cells.get(rownum)
        if got is None:
            cells: dict[int, etree._Element] = {}
            prev = 0
            for c in row.iterchildren(M + "c"):
                r = c.get("r")
                if r is None:
                    col = prev + 1
                    c.set("r", cell_ref(rownum, col))
                    self.touch()
                else:
                    col = ref_col(r) or prev + 1  # 0: not an A1 reference
                cells[col] = c
                prev = col
            got = (cells, sorted(cells))
            self._cells[rownum] = got
        return got

    @overload
    def get_row(self, rownum: int, create: Literal[True]) -> etree._Element: ...

    @overload
    def get_row(self, rownum: int, create: bool) -> etree._Element | None: ...

    def get_row(self, rownum: int, create: bool) -> etree._Element | None:
        rows = self._index()
        row = rows.get(rownum)
        if row is None and create:
            row = etree.SubElement(self.sheet_data, M + "row", {"r": str(rownum)})
            i = bisect.bisect_right(self._row_keys, rownum)
            if i < len(self._row_keys):
                rows[self._row_keys[i]].addprevious(row)
            self._row_keys.insert(i, rownum)
            rows[rownum] = row
            self.touch()
        return row

    def cells_in(self, r1: int, c1: int, r2: int, c2: int) -> Iterator[etree._Element]:
        """The existing cell elements of a range, row by row."""
        rows = self._index()
        keys = self._row_keys
        for rownum in keys[bisect.bisect_left(keys, r1):bisect.bisect_right(keys, r2)]:
            cells, cols = self._row_cells(rownum, rows[rownum])
            for col in cols[bisect.bisect_left(cols, c1):bisect.bisect_right(cols, c2)]:
                yield cells[col]

    @overload
    def get_cell(self, rownum: int, col: int, create: Literal[True]) -> etree._Element: ...

    @overload
    def get_cell(self, rownum: int, col: int, create: bool) -> etree._Element | None: ...

    def get_cell(self, rownum: int, col: int, create: bool) -> etree._Element | None:
        row = self.get_row(rownum, create)
        if row is None:
            return None
        cells, keys = self._row_cells(rownum, row)
        c = cells.get(col)
        if c is None and create:
            c = etree.SubElement(row, M + "c", {"r": cell_ref(rownum, col)})
            i = bisect.bisect_right(keys, col)
            if i < len(keys):
                cells[keys[i]].addprevious(c)
            else:
                ext = child(row, "extLst")
                if ext is not None:
                    ext.addprevious(c)
            keys.insert(i, col)
            cells[col] = c
            s = self.default_style(row, col)
            if s is not None:
                c.set("s", s)
            self._widen_spans(row, col)
            self.touch()
        return c

    def unchanged(self, c: etree._Element, t_attr: str | None, f_text: str | None, v_text: str | None, inline: bool) -> bool:
        """True when cell ``c`` already is exactly what :meth:`write_cell` would build
        (same attributes in the same order, same children, texts, no tails), so it can stay."""
        if self._plain_ns is None:
            self._plain_ns = self._namespaces_plain()
        if not self._plain_ns or c.get("cm") is not None or c.get("vm") is not None:
            return False
        if t_attr is None:
            if c.get("t") is not None:
                return False
        elif c.get("t") != t_attr or c.keys()[-1] != "t":
            return False
        if len(c) != (f_text is not None) + (v_text is not None):
            return False
        i = 0
        if f_text is not None:
            f = c[0]
            if f.tag != TAG_F or f.text != f_text or f.tail is not None or len(f) or f.keys():
                return False
            i = 1
        if v_text is not None:
            if not v_text:
                return False
            el = c[i]
            if inline:
                if el.tag != TAG_IS or el.text is not None or el.tail is not None or len(el) != 1 or el.keys():
                    return False
                el = el[0]
                if el.tag != TAG_T:
                    return False
            elif el.tag != TAG_V:
                return False
            if el.text != v_text or el.tail is not None or len(el):
                return False
            if v_text[0].isspace() or v_text[-1].isspace() or "\n" in v_text:
                if el.keys() != [XML_SPACE] or el.get(XML_SPACE) != "preserve":
                    return False
            elif el.keys():
                return False
        return True

    def _namespaces_plain(self) -> bool:
        """No namespace declaration inside ``<sheetData>`` (rows, cells and their children), and
        one prefix for the main namespace on the root: then a new child of a cell gets the very
        prefix a parsed one has."""
        raw = self.pkg.raw.get(self.part)
        if raw is None:
            return False
        i, j = raw.find(b"sheetData"), raw.rfind(b"sheetData")  # start and end tag (or wider)
        if i < 0 or raw.find(b"xmlns", i, j) >= 0:
            return False
        return sum(1 for v in self.root.nsmap.values() if v == NS_MAIN) == 1

    def _widen_spans(self, row: etree._Element, col: int) -> None:
        spans = row.get("spans")
        if not spans:
            return
        try:
            nums = [int(x) for part in spans.split() for x in part.split(":")]
        except ValueError:
            del row.attrib["spans"]
            return
        lo, hi = min(nums), max(nums)
        if col < lo or col > hi:
            row.set("spans", f"{min(lo, col)}:{max(hi, col)}")

    def default_style(self, row: etree._Element, col: int) -> str | None:
        if (row.get("customFormat") or "").lower() in ("1", "true") and row.get("s"):
            return row.get("s")
        return self.col_style(col)

    def col_style(self, col: int) -> str | None:
        """The style a new cell of column ``col`` takes from ``<cols>`` (None: no style)."""
        if self._cols is None:
            self._cols = []
            cols = child(self.root, "cols")
            if cols is not None:
                for c in cols.iterchildren(M + "col"):
                    try:
                        self._cols.append((int(c.get("min")), int(c.get("max")), c.get("style") or ""))
                    except (TypeError, ValueError):
                        continue
        for lo, hi, style in self._cols:
            if lo <= col <= hi and style and style != "0":
                return style
        return None

    def style_of(self, rownum: int, col: int) -> str | None:
        c = self.get_cell(rownum, col, create=False)
        if c is not None:
            return c.get("s")
        row = self.get_row(rownum, create=False)
        if row is not None and (row.get("customFormat") or "").lower() in ("1", "true"):
            return row.get("s")
        return self.default_style(etree.Element("row"), col)

    def appendable(self) -> bool:
        """Whether rows parsed apart (in the main namespace as default namespace) can be moved
        to the end of ``<sheetData>`` and serialise exactly as rows created here would: the main
        namespace is the default one at ``<sheetData>`` and has no other prefix there."""
        if self._appendable is None:
            self._appendable = main_ns_default(self.sheet_data)
        return self._appendable

    def last_row(self) -> int:
        """Number of the last row in ``<sheetData>`` (0 if there is none)."""
        self._index()
        return self._row_keys[-1] if self._row_keys else 0

    def append_rows(self, rownums: list[int], rows: list[etree._Element]) -> None:
        """Move new row elements (numbered ``rownums``, after :meth:`last_row`) to the end."""
        sd = self.sheet_data
        index = self._index()
        for rownum, row in zip(rownums, rows):
            sd.append(row)
            index[rownum] = row
        self._row_keys += rownums

    def grow(self, rownum: int, col: int) -> None:
        b = self.bounds
        if b is None:
            self.bounds = [rownum, col, rownum, col]
            return
        if rownum < b[0]:
            b[0] = rownum
        elif rownum > b[2]:
            b[2] = rownum
        if col < b[1]:
            b[1] = col
        elif col > b[3]:
            b[3] = col

    def clear(self) -> None:
        for row in list(self.sheet_data):
            self.sheet_data.remove(row)
        self._rows, self._row_keys, self._cells = {}, [], {}
        self.cleared = True
        self.bounds = None
        self.touch()

    def finish(self) -> None:
        """Bring <dimension> in step with what was written."""
        dim = child(self.root, "dimension")
        if dim is None or (self.bounds is None and not self.cleared):
            return
        if self.cleared:
            old = None
        else:
            try:
                old = parse_range(dim.get("ref") or "")
            except InvalidEditError:
                old = None
        b = self.bounds
        if b is None:
            new = "A1"
        elif old is None:
            new = range_ref(*b)
        else:
            new = range_ref(min(old[0], b[0]), min(old[1], b[1]), max(old[2], b[2]), max(old[3], b[3]))
        if dim.get("ref") != new:
            dim.set("ref", new)
            self.touch()

    # -- array formulas -------------------------------------------------------------------------
    def leave_arrays(self, rownum: int, col: int) -> None:
        """Before cell (``rownum``, ``col``) is written: remove any array formula whose range
        covers it.  A spreadsheet computes every cell of an array range from the array's
        formula, so a formula written into one of them would be overwritten at the next
        recalculation (and its cached value would be wrong).  The array's cells keep their
        values as constants."""
        arrays = self._arrays
        if arrays is None:
            arrays = self._arrays = []
            for f in self.sheet_data.iter(M + "f"):
                if f.get("t") == "array" and f.get("ref"):
                    try:
                        arrays.append((parse_range(f.get("ref")), f))
                    except InvalidEditError:
                        continue
        if not arrays:
            return
        for i, ((r1, c1, r2, c2), f) in enumerate(arrays):
            if r1 <= rownum <= r2 and c1 <= col <= c2:
                c = f.getparent()
                c.remove(f)
                if c.get("t") == "str":  # a text result without its formula is a plain string
                    v = child(c, "v")
                    text = v.text if v is not None else ""
                    if v is not None:
                        c.remove(v)
                    set_text(etree.SubElement(etree.SubElement(c, TAG_IS), TAG_T), text or "")
                    c.set("t", "inlineStr")
                del arrays[i]
                self.touch()
                return self.leave_arrays(rownum, col)

    # -- shared formulas ------------------------------------------------------------------------
    def unshare(self, si: str, master_ref: str, master_formula: str) -> None:
        """Expand every dependent of shared formula ``si`` into its own formula."""
        try:
            from openpyxl.formula.translate import Translator
        except ImportError as exc:  # pragma: no cover - openpyxl is a project dependency
            raise WorkbookError("覆盖共享公式的主单元格需要 openpyxl") from exc
        for f in self.sheet_data.iter(M + "f"):
            if f.get("t") != "shared" or f.get("si") != si:
                continue
            c = f.getparent()
            ref = c.get("r")
            if ref == master_ref:
                continue
            text = Translator("=" + master_formula, origin=master_ref).translate_formula(ref)
            for a in ("t", "si", "ref"):
                f.attrib.pop(a, None)
            f.text = text[1:] if text.startswith("=") else text
        self.touch()

    def write_cell(self, c: etree._Element, content: tuple[str | None, str | None, str | None, bool]) -> None:
        """Give cell element ``c`` the ``content`` :func:`cell_content` made (other children and
        attributes stay)."""
        t_attr, f_text, v_text, inline = content
        first = None
        if len(c):
            if self.unchanged(c, t_attr, f_text, v_text, inline):
                return  # rewriting would rebuild exactly the XML the cell has
            old_f = child(c, "f")
            if old_f is not None and old_f.get("t") == "shared" and old_f.get("ref") and old_f.text:
                self.unshare(old_f.get("si"), c.get("r"), old_f.text)
            for ch in list(c):
                if local(ch) in ("f", "v", "is"):
                    c.remove(ch)
            first = c[0] if len(c) else None
        for a in ("t", "cm", "vm"):
            if c.get(a) is not None:
                del c.attrib[a]

        def add(tag: str) -> etree._Element:
            el = etree.SubElement(c, tag)
            if first is not None:
                first.addprevious(el)
            return el

        if f_text is not None:
            add(TAG_F).text = f_text
        if v_text is not None:
            set_text(etree.SubElement(add(TAG_IS), TAG_T) if inline else add(TAG_V), v_text)
        if t_attr is not None:
            c.set("t", t_attr)


def cell_content(value: object, formula: str | None, where: str, date1904: bool) -> tuple[str | None, str | None, str | None, bool]:
    """What a written cell holds: (``t`` attribute, ``<f>`` text, value text, inline) —
    ``inline``: the value text goes in ``<is><t>``, else in ``<v>``; None: no such part."""
    if formula is not None:
        if value is None:
            return None, formula, None, False
        if isinstance(value, bool):
            return "b", formula, "1" if value else "0", False
        if isinstance(value, str):
            if value in ERROR_LITERALS:
                return "e", formula, value, False
            return "str", formula, xstring(value), False
        if type(value) is float or type(value) is int:
            return None, formula, num_text(value), False
        if isinstance(value, (_dt.date, _dt.datetime)):
            return None, formula, num_text(_serial(value, date1904)), False
        if isinstance(value, (numbers.Real, decimal.Decimal)):
            return None, formula, num_text(value), False
        raise InvalidEditError(f"不支持的缓存值类型 {type(value).__name__}：{where}")
    if value is None:
        return None, None, None, False
    if isinstance(value, bool):
        return "b", None, "1" if value else "0", False
    if isinstance(value, str):
        if len(value) > 32767:
            raise InvalidEditError(f"文本超过 Excel 单元格上限 32767 个字符：{where}")
        return "inlineStr", None, xstring(value), True
    if type(value) is float or type(value) is int:
        return None, None, num_text(value), False
    if isinstance(value, (_dt.date, _dt.datetime)):
        return None, None, num_text(_serial(value, date1904)), False
    if isinstance(value, _dt.time):
        return None, None, num_text(to_serial(value)), False
    if isinstance(value, (numbers.Real, decimal.Decimal)):
        return None, None, num_text(value), False
    raise InvalidEditError(f"不支持的单元格值类型 {type(value).__name__}：{where}")


def _serial(value: _dt.date, date1904: bool) -> float:
    try:
        return to_serial(value, date1904)
    except ValueError:
        raise InvalidEditError(f"日期早于 Excel 支持的最早日期：{value!r}") from None


def formula_text(e: SetCell) -> str:
    """The formula of a SetCell as written in ``<f>``: stripped, without its leading ``=``."""
    formula = e.formula
    if not isinstance(formula, str):
        raise InvalidEditError(f"公式必须是文本：{e.cell} {formula!r}")
    formula = formula.strip()
    if formula.startswith("="):
        formula = formula[1:]
    if not formula:
        raise InvalidEditError(f"公式为空：{e.sheet}!{e.cell}")
    if ILLEGAL_XML.search(formula):
        raise InvalidEditError(f"公式含有非法控制字符：{e.sheet}!{e.cell}")
    return formula
