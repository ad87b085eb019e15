"""Small lxml helpers and the text forms SpreadsheetML uses (cell references, numbers, strings)."""
from __future__ import annotations

import copy
import decimal
import math
import numbers
import re
from typing import Sequence

from lxml import etree

from perfxl.cellref import col_to_index, index_to_col, split_cell, split_range

from .errors import InvalidEditError
from .ns import MAX_COL, MAX_ROW, M, NS_MAIN, XML_SPACE

PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True, remove_blank_text=False)
ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_XSTRING_ESCAPE = re.compile(r"_(x[0-9A-Fa-f]{4}_)")


def parse_cell(ref: str) -> tuple[int, int]:
    """'H12' → (12, 8) = (row, col), 1-based."""
    try:
        col, row = split_cell(ref)
    except (ValueError, AttributeError):
        raise InvalidEditError(f"单元格地址无效：{ref!r}（应为 A1 形式，如 H12）") from None
    if row < 1:
        raise InvalidEditError(f"单元格地址无效：{ref!r}（应为 A1 形式，如 H12）")
    c = col_to_index(col)
    if row > MAX_ROW or c > MAX_COL:
        raise InvalidEditError(f"单元格地址超出 Excel 范围：{ref!r}")
    return row, c


def ref_col(ref: str) -> int:
    """Column of an A1 reference as written in a cell's ``r`` (0 if it is none)."""
    try:
        return col_to_index(split_cell(ref)[0])
    except ValueError:
        return 0


def parse_range(ref: str) -> tuple[int, int, int, int]:
    """'A4:I31' → (r1, c1, r2, c2), normalised so r1<=r2, c1<=c2."""
    try:
        (a, r1), (b, r2) = split_range(ref.strip())
    except (ValueError, AttributeError):
        raise InvalidEditError(f"区域地址无效：{ref!r}（应为 A1:B2 形式）") from None
    if min(r1, r2) < 1:
        raise InvalidEditError(f"区域地址无效：{ref!r}（应为 A1:B2 形式）")
    c1, c2 = col_to_index(a), col_to_index(b)
    if max(r1, r2) > MAX_ROW or max(c1, c2) > MAX_COL:
        raise InvalidEditError(f"区域地址超出 Excel 范围：{ref!r}")
    return min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)


def cell_ref(row: int, col: int) -> str:
    return f"{index_to_col(col)}{row}"


def range_ref(r1: int, c1: int, r2: int, c2: int) -> str:
    a, b = cell_ref(r1, c1), cell_ref(r2, c2)
    return a if a == b else f"{a}:{b}"


def local(el: etree._Element) -> str:
    tag = el.tag
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2]


def xstring(text: str) -> str:
    """Escape text for an OOXML string (ST_Xstring): literal ``_xHHHH_`` and illegal chars."""
    if "_x" in text:
        text = _XSTRING_ESCAPE.sub(r"_x005F_\1", text)
    if ILLEGAL_XML.search(text):
        text = ILLEGAL_XML.sub(lambda m: "_x%04X_" % ord(m.group(0)), text)
    return text


def needs_preserve(text: str) -> bool:
    """Whether ``text`` needs ``xml:space="preserve"`` to survive as it is."""
    return bool(text) and (text[0].isspace() or text[-1].isspace() or "\n" in text)


def set_text(el: etree._Element, text: str) -> None:
    el.text = text
    if needs_preserve(text):
        el.set(XML_SPACE, "preserve")


def child(parent: etree._Element, name: str, ns: str = NS_MAIN) -> etree._Element | None:
    """First child element ``{ns}name`` (as ``parent.find``, without parsing a path each call)."""
    tag = M + name if ns is NS_MAIN else f"{{{ns}}}{name}"
    for ch in parent:
        if ch.tag == tag:
            return ch
    return None


def _nsmap_for(parent: etree._Element, wanted: dict[str, str]) -> dict[str, str] | None:
    """The subset of ``wanted`` prefix→namespace declarations not already in scope at ``parent``."""
    scope = parent.nsmap
    missing = {p: ns for p, ns in wanted.items() if ns not in scope.values()}
    return missing or None


def sub(parent: etree._Element, tag: str, attrib: dict[str, str] | None = None, nsmap: dict[str, str] | None = None) -> etree._Element:
    """SubElement that declares ``nsmap`` prefixes only where they are not yet in scope."""
    return etree.SubElement(parent, tag, attrib or {}, nsmap=_nsmap_for(parent, nsmap) if nsmap else None)


def insert_ordered(parent: etree._Element, name: str, order: Sequence[str], attrib: dict[str, str] | None = None,
                   nsmap: dict[str, str] | None = None) -> etree._Element:
    """Create child ``name`` (main namespace) in its schema position and return it.

    The element is created with SubElement so it reuses the parent's namespace declarations,
    then moved before the first sibling that must follow it.
    """
    el = sub(parent, M + name, attrib, nsmap)
    later = set(order[order.index(name) + 1 :])
    for sib in parent:
        if sib is el:
            break
        if local(sib) in later and sib.tag.startswith(M):
            sib.addprevious(el)
            break
    return el


def graft(parent: etree._Element, src: etree._Element, before: etree._Element | None = None) -> etree._Element:
    """Copy element ``src`` (recursively) under ``parent`` reusing the parent's namespaces."""
    el = etree.SubElement(parent, src.tag, dict(src.attrib))
    el.text = src.text
    el.tail = src.tail
    for ch in src:
        if isinstance(ch.tag, str):
            graft(el, ch)
        else:  # comment / PI
            el.append(copy.copy(ch))
    if before is not None:
        before.addprevious(el)
    return el


def c14n(el: etree._Element, exclusive: bool = False) -> bytes:
    return etree.tostring(el, method="c14n", exclusive=exclusive)


def main_ns_default(el: etree._Element) -> bool:
    """Whether the main namespace is the default namespace in scope at ``el`` and bound to no
    prefix there: then main-namespace elements moved under ``el`` from a tree that declares it
    as default namespace serialise exactly as elements created under ``el`` do."""
    nsmap = el.nsmap
    return nsmap.get(None) == NS_MAIN and sum(1 for ns in nsmap.values() if ns == NS_MAIN) == 1


def num_text(value: float | numbers.Real | decimal.Decimal) -> str:
    """A number as a cell's ``<v>`` holds it."""
    if type(value) is int:
        return str(value)
    if type(value) is float:
        f = value
    elif isinstance(value, numbers.Integral):
        return str(int(value))
    else:
        f = float(value)
    if math.isnan(f) or math.isinf(f):
        raise InvalidEditError(f"数值无效（NaN 或无穷大不能写入 Excel）：{value!r}")
    if f.is_integer() and abs(f) < 1e15:
        return str(int(f))
    return repr(f)


_TEXT_ESCAPES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("\r", "&#13;"))
_ATTR_ESCAPES = _TEXT_ESCAPES + (('"', "&quot;"), ("\n", "&#10;"), ("\t", "&#9;"))


def xml_text(text: str) -> str:
    """``text`` escaped for element content so that parsing gives back exactly ``text``."""
    for ch, ent in _TEXT_ESCAPES:
        if ch in text:
            text = text.replace(ch, ent)
    return text


def xml_attr(text: str) -> str:
    """``text`` escaped for a double-quoted attribute value, parsing back to exactly ``text``."""
    for ch, ent in _ATTR_ESCAPES:
        if ch in text:
            text = text.replace(ch, ent)
    return text


def ascii_compatible(raw: bytes) -> bool:
    """Whether ASCII text shows as itself in ``raw`` (not UTF-16/32), so a byte search finds it."""
    return not raw.startswith((b"\xff\xfe", b"\xfe\xff")) and b"\x00" not in raw[:64]
