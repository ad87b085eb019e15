"""The package: zip entries, parsed parts, relationships and content types.

Parts are parsed only when an edit needs them; every other entry is copied unchanged (same
compressed bytes, method, CRC and timestamp) when the package is written again.
"""
from __future__ import annotations

import io
import posixpath
import re
import zipfile
from dataclasses import dataclass
from urllib.parse import quote, unquote

from lxml import etree

from perfxl.errors import WorkbookError
from perfxl.fileio import inflate_member

from .ns import CONTENT_TYPES, NS_CT, NS_PKG_REL, XML_DECL
from .xmlutil import PARSER, local
from .bounds import check_part_sizes
from .zipio import ZipWriter, raw_entry

@dataclass
class Rel:
    el: etree._Element
    id: str
    type: str
    target: str | None  # absolute part name (no leading "/"), None for external
    external: bool

    @property
    def part(self) -> str:
        """The part an internal relationship points at (an external one has none)."""
        if self.target is None:
            raise ValueError(f"relationship {self.id} is external: it names no part of the package")
        return self.target


class Package:
    def __init__(self, data: bytes):
        self._src = memoryview(data)
        self._rels_cache: dict[str, list[Rel]] = {}
        try:
            self._zf = zipfile.ZipFile(io.BytesIO(data))
            infos = self._zf.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
            raise WorkbookError(
                "文件不是有效的 Excel 工作簿（.xlsx/.xlsm）：无法作为 zip 包读取，可能是 .xls 旧格式、已加密或已损坏"
            ) from exc
        check_part_sizes(self._src, self._zf)
        self._entries: dict[str, zipfile.ZipInfo | None] = {}
        for info in infos:
            self._entries[info.filename] = info
        self._lower = {n.lower(): n for n in self._entries}
        self._data: dict[str, bytes] = {}
        self.raw: dict[str, bytes] = {}  # decompressed bytes of source entries read so far
        self.trees: dict[str, etree._Element] = {}
        self.decl: dict[str, bytes | None] = {}
        self.dirty: set[str] = set()
        self._override_index: tuple[etree._Element, dict[str, list[etree._Element]]] | None = None

    # -- entries ------------------------------------------------------------------------------
    def name(self, part: str) -> str | None:
        if part in self._entries:
            return part
        return self._lower.get(part.lower())

    def exists(self, part: str) -> bool:
        return self.name(part) is not None

    def names(self) -> list[str]:
        return list(self._entries)

    def read(self, part: str) -> bytes:
        real = self.name(part)
        if real is None:
            raise WorkbookError(f"工作簿缺少部件 {part}，文件可能已损坏")
        if real in self.trees and real in self.dirty:
            return self._serialize(real)
        if real in self._data:
            return self._data[real]
        got = self.raw.get(real)
        if got is not None:
            return got
        info = self._entries[real]
        if info is None:  # pragma: no cover - created parts always have a tree or data
            raise WorkbookError(f"工作簿缺少部件 {part}，文件可能已损坏")
        got = self._inflate(info)
        if got is None:
            try:
                got = self._zf.read(info)
            except (RuntimeError, zipfile.BadZipFile, NotImplementedError, OSError, EOFError) as exc:
                raise WorkbookError(f"无法读取工作簿部件 {real}：{exc}") from exc
        self.raw[real] = got
        return got

    def contains(self, part: str, token: bytes) -> bool:
        """Whether ``token`` occurs in the bytes of ``part`` (as read by :meth:`read`)."""
        return token in self.read(part)

    def _inflate(self, info: zipfile.ZipInfo) -> bytes | None:
        return inflate_member(self._src, info)

    def xml(self, part: str) -> etree._Element:
        real = self.name(part)
        if real is None:
            raise WorkbookError(f"工作簿缺少部件 {part}，文件可能已损坏")
        root = self.trees.get(real)
        if root is None:
            raw = self.read(real)
            try:
                root = etree.fromstring(raw, PARSER)
            except etree.XMLSyntaxError as exc:
                raise WorkbookError(f"工作簿部件 {real} 不是有效的 XML：{exc}") from exc
            self.decl[real] = declaration(raw)
            self.trees[real] = root
        return root

    def touch(self, part: str) -> None:
        real = part if part in self.trees else self.name(part)
        assert real is not None and real in self.trees, part
        self.dirty.add(real)
        if real.endswith(".rels"):
            self._rels_cache.pop(real, None)

    def create_xml(self, part: str, root: etree._Element, decl: bytes | None = XML_DECL) -> None:
        real = self.name(part) or part
        if real not in self._entries:
            self._entries[real] = None
            self._lower[real.lower()] = real
        self._data.pop(real, None)
        self.raw.pop(real, None)
        self.trees[real] = root
        self.decl[real] = decl
        self.dirty.add(real)
        self._rels_cache.pop(real, None)

    def delete(self, part: str) -> None:
        real = self.name(part)
        if real is None:
            return
        del self._entries[real]
        self._lower.pop(real.lower(), None)
        self._data.pop(real, None)
        self.raw.pop(real, None)
        self.trees.pop(real, None)
        self.dirty.discard(real)
        self._rels_cache.pop(real, None)
        self.remove_override(real)

    def unique_name(self, pattern: str) -> str:
        """First free name for ``pattern`` (with ``{n}``), n = 1, 2, …"""
        n = 1
        while self.exists(pattern.format(n=n)):
            n += 1
        return pattern.format(n=n)

    def _serialize(self, real: str) -> bytes:
        body = etree.tostring(self.trees[real], encoding="UTF-8", xml_declaration=False)
        decl = self.decl.get(real)
        return (decl or b"") + body

    def to_bytes(self) -> bytes:
        """The new package. Untouched entries are copied with their compressed bytes as they are."""
        w = ZipWriter()
        for real, info in self._entries.items():
            if real in self.dirty:
                payload = self._serialize(real)
                if info is not None and self.raw.get(real) == payload:
                    # Touched but serialised to the very same bytes: keep the entry as it was.
                    w.copy_raw(info, self._raw_entry(info))
                    continue
            elif real in self._data:
                payload = self._data[real]
            elif info is not None:
                w.copy_raw(info, self._raw_entry(info))
                continue
            else:  # pragma: no cover - created parts are always dirty or have data
                payload = b""
            w.add(real, payload, info)
        return w.finish()

    def _raw_entry(self, info: zipfile.ZipInfo) -> bytes | memoryview:
        return raw_entry(self._src, info)

    # -- relationships ------------------------------------------------------------------------
    @staticmethod
    def rels_name(part: str) -> str:
        d, b = posixpath.split(part)
        return posixpath.join(d, "_rels", b + ".rels")

    def rels(self, part: str) -> list[Rel]:
        rn = self.rels_name(part)
        got = self._rels_cache.get(rn)
        if got is not None:
            return got
        if not self.exists(rn):
            return []
        root = self.xml(rn)
        base = posixpath.dirname(part)
        out = [self._rel(el, base) for el in root if local(el) == "Relationship"]
        self._rels_cache[rn] = out
        return out

    def _rel(self, el: etree._Element, base: str) -> Rel:
        """A ``<Relationship>`` of the part in folder ``base``, its target resolved."""
        ext = (el.get("TargetMode") or "").lower() == "external"
        target = None
        if not ext:
            t = unquote(el.get("Target") or "")
            if t.startswith("/"):
                target = posixpath.normpath(t[1:])
            else:
                target = posixpath.normpath(posixpath.join(base, t))
            target = self.name(target) or target
        return Rel(el, el.get("Id") or "", el.get("Type") or "", target, ext)

    def rel_by_id(self, part: str, rid: str) -> Rel | None:
        for r in self.rels(part):
            if r.id == rid:
                return r
        return None

    def add_rel(self, part: str, rtype: str, target: str) -> str:
        rn = self.rels_name(part)
        if not self.exists(rn):
            root = etree.Element(f"{{{NS_PKG_REL}}}Relationships", nsmap={None: NS_PKG_REL})
            self.create_xml(rn, root)
        root = self.xml(rn)
        used = {el.get("Id") for el in root}
        n = 1
        while f"rId{n}" in used:
            n += 1
        rid = f"rId{n}"
        rel_target = quote(relpath(target, posixpath.dirname(part) or "."), safe="/._-~")
        el = etree.SubElement(root, f"{{{NS_PKG_REL}}}Relationship", {"Id": rid, "Type": rtype, "Target": rel_target})
        cached = self._rels_cache.get(rn)
        self.touch(rn)
        if cached is not None:  # keep the parsed list: the new element is the last one
            cached.append(self._rel(el, posixpath.dirname(part)))
            self._rels_cache[rn] = cached
        return rid

    def remove_rel(self, part: str, rid: str) -> None:
        rn = self.rels_name(part)
        if not self.exists(rn):
            return
        root = self.xml(rn)
        for el in list(root):
            if el.get("Id") == rid:
                root.remove(el)
                self.touch(rn)
        if len(root) == 0:
            self.delete(rn)

    # -- content types ------------------------------------------------------------------------
    def _ct(self) -> etree._Element:
        return self.xml(CONTENT_TYPES)

    def _overrides(self) -> dict[str, list[etree._Element]]:
        """Lower-cased "/part/name" → its ``Override`` elements in document order, built once
        per parsed ``[Content_Types].xml`` and kept up to date by the methods below (the only
        ones that add or remove an Override)."""
        root = self._ct()
        got = self._override_index
        if got is None or got[0] is not root:
            index: dict[str, list[etree._Element]] = {}
            for el in root:
                if local(el) == "Override":
                    index.setdefault((el.get("PartName") or "").lower(), []).append(el)
            got = self._override_index = (root, index)
        return got[1]

    def override(self, part: str) -> str | None:
        els = self._overrides().get("/" + part.lower())
        return els[0].get("ContentType") if els else None

    def set_override(self, part: str, ctype: str) -> None:
        index = self._overrides()
        pn = "/" + part
        els = index.get(pn.lower())
        if els:
            el = els[0]
            if el.get("ContentType") != ctype:
                el.set("ContentType", ctype)
                self.touch(CONTENT_TYPES)
            return
        el = etree.SubElement(self._ct(), f"{{{NS_CT}}}Override", {"PartName": pn, "ContentType": ctype})
        index[pn.lower()] = [el]
        self.touch(CONTENT_TYPES)

    def remove_override(self, part: str) -> None:
        if not self.exists(CONTENT_TYPES) or part == CONTENT_TYPES:
            return
        root = self._ct()
        for el in self._overrides().pop("/" + part.lower(), ()):
            root.remove(el)
            self.touch(CONTENT_TYPES)

    def has_default(self, ext: str) -> bool:
        ext = ext.lower()
        return any(local(el) == "Default" and (el.get("Extension") or "").lower() == ext for el in self._ct())

    def add_default(self, ext: str, ctype: str) -> None:
        root = self._ct()
        el = etree.SubElement(root, f"{{{NS_CT}}}Default", {"Extension": ext, "ContentType": ctype})
        # Defaults conventionally precede Overrides.
        for sib in root:
            if local(sib) == "Override":
                sib.addprevious(el)
                break
        self.touch(CONTENT_TYPES)

    def remove_default(self, ext: str) -> None:
        root = self._ct()
        for el in list(root):
            if local(el) == "Default" and (el.get("Extension") or "").lower() == ext.lower():
                root.remove(el)
                self.touch(CONTENT_TYPES)

    # -- removing parts -------------------------------------------------------------------------
    def delete_subtree(self, part: str) -> None:
        """Delete ``part`` and every part reachable from it that nothing else refers to."""
        pkg = self
        incoming: dict[str, set[str]] = {}
        for n in pkg.names():
            if n.endswith(".rels") and "/_rels/" in "/" + n:
                d, b = posixpath.split(n)
                src = posixpath.join(posixpath.dirname(d), b[: -len(".rels")])
                for r in pkg.rels(src):
                    if r.target:
                        incoming.setdefault(r.target, set()).add(src)
        doomed = {part}
        stack = [part]
        while stack:
            p = stack.pop()
            for r in pkg.rels(p):
                t = r.target
                if t and t not in doomed and pkg.exists(t):
                    if incoming.get(t, set()) <= doomed | {p}:
                        doomed.add(t)
                        stack.append(t)
        # A second pass: something reached early may be shared with a later-doomed part only.
        changed = True
        while changed:
            changed = False
            for t in list(doomed - {part}):
                if not incoming.get(t, set()) <= doomed:
                    doomed.discard(t)
                    changed = True
        for p in doomed:
            rn = pkg.rels_name(p)
            pkg.delete(p)
            pkg.delete(rn)

    def drop_related(self, owner: str, part: str) -> None:
        """Remove ``part`` (and its relationships) and every relationship of ``owner`` to it."""
        for r in self.rels(owner):
            if r.target == part:
                self.remove_rel(owner, r.id)
        self.delete(self.rels_name(part))
        self.delete(part)


def relpath(target: str, start: str) -> str:
    """``posixpath.relpath`` for package part names, without its two ``os.getcwd()`` calls."""
    t = [x for x in target.split("/") if x and x != "."]
    s = [x for x in start.split("/") if x and x != "."]
    if target.startswith("/") or start.startswith("/") or ".." in t or ".." in s:
        return posixpath.relpath(target, start)
    i = 0
    while i < len(t) and i < len(s) and t[i] == s[i]:
        i += 1
    rel = [".."] * (len(s) - i) + t[i:]
    return "/".join(rel) if rel else "."


def declaration(raw: bytes) -> bytes | None:
    start = raw[:3] == b"\xef\xbb\xbf" and 3 or 0
    if raw[start : start + 5] != b"<?xml":
        return None
    end = raw.find(b"?>", start)
    if end < 0:
        return None
    end += 2
    decl = raw[start:end]
    if b"encoding" in decl and not re.search(rb"encoding\s*=\s*[\"']utf-?8[\"']", decl, re.I):
        return XML_DECL  # we always write UTF-8
    while end < len(raw) and raw[end : end + 1] in b"\r\n\t ":
        end += 1
    return raw[start:end]


# Parts perfxl rewrote are deflated at zlib's fastest level: on a typical scored+marked workbook
