"""workbook.xml: the sheet list, defined names and calculation settings (and app.xml's titles)."""
from __future__ import annotations

import bisect
import posixpath
import re
from dataclasses import dataclass
from typing import Literal, overload

from lxml import etree

from perfxl.errors import WorkbookError

from .errors import InvalidEditError, SheetNotFoundError
from .ns import (CT_WORKSHEET, NS_EP, NS_MAIN, NS_R, NS_VT, R_ID, RT_CALC_CHAIN, RT_EXT_PROPS, RT_OFFICE_DOC,
                 RT_STRICT_OFFICE_DOC, RT_WORKSHEET, WB_ORDER, M)
from . import views
from .package import Package, Rel
from .xmlutil import ILLEGAL_XML, child, insert_ordered, sub

_WORKSHEET_LABELS = frozenset(
    {"worksheets", "工作表", "arbeitsblätter", "feuilles de calcul", "hojas de cálculo", "ワークシート"}
)
_NAME_RE = re.compile(r"^[^\W\d]|^\\")
_NAME_CHARS = re.compile(r"^[\w.\\?]+$")
_CELLISH_NAME = re.compile(r"^([A-Za-z]{1,3}[0-9]+|[RrCc]([0-9]+)?|[Rr][0-9]*[Cc][0-9]*)$")
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


class NameIndex:
    """The ``definedName`` children of ``<definedNames>``, indexed once per apply.

    ``keys``/``els``: every definedName (local ones too) in document order with its casefolded
    name; ``scope``: casefolded name → the first workbook-scope element of that name.
    """

    def __init__(self, dns: etree._Element):
        self.dns = dns
        self.els = list(dns.iterchildren(M + "definedName"))
        self.keys = [(dn.get("name") or "").casefold() for dn in self.els]
        self.scope: dict[str, etree._Element] = {}
        for k, dn in zip(self.keys, self.els):
            if dn.get("localSheetId") is None:
                self.scope.setdefault(k, dn)
        self.ordered = all(a <= b for a, b in zip(self.keys, self.keys[1:]))

    def insert(self, key: str, new: etree._Element) -> None:
        """Place ``new`` (just appended to ``dns``) before the first name sorting after ``key``."""
        keys = self.keys
        if self.ordered:
            i = bisect.bisect_right(keys, key)
        else:
            i = next((j for j, k in enumerate(keys) if k > key), len(keys))
        if i < len(keys):
            self.els[i].addprevious(new)
        keys.insert(i, key)
        self.els.insert(i, new)
        self.scope[key] = new


@dataclass
class SheetRef:
    name: str
    el: etree._Element
    index: int
    rid: str
    part: str | None
    rtype: str


class Workbook:
    """workbook.xml: the sheet list, defined names, calculation settings, and app.xml's titles."""

    def __init__(self, pkg: Package):
        self.pkg = pkg
        part = None
        if pkg.exists("_rels/.rels"):
            for r in pkg.rels(""):
                if r.type == RT_OFFICE_DOC and not r.external:
                    part = r.target
                    break
                if r.type == RT_STRICT_OFFICE_DOC:
                    raise WorkbookError("不支持 Strict Open XML 格式的工作簿，请在 Excel 中另存为普通的 .xlsx")
        if part is None and pkg.exists("xl/workbook.xml"):
            part = pkg.name("xl/workbook.xml")
        real = None if part is None else pkg.name(part)
        if real is None:
            raise WorkbookError("文件不是 Excel 工作簿（.xlsx/.xlsm）：找不到 workbook 部件（.xlsb 二进制格式不受支持）")
        self.part: str = real
        self.root = pkg.xml(self.part)
        if self.root.tag != M + "workbook":
            raise WorkbookError("不支持此工作簿格式（workbook.xml 的命名空间不是标准 SpreadsheetML，可能是 Strict Open XML）")
        self._sheet_cache: list[SheetRef] | None = None
        self._by_name: dict[str, SheetRef] = {}
        self.generation = 0  # bumped whenever the sheet list may have changed
        self._date1904: bool | None = None
        self._names: NameIndex | None = None  # workbook-scope defined names, built on first use
        sheets_el = child(self.root, "sheets")
        if sheets_el is None:
            raise WorkbookError("工作簿没有任何工作表，文件可能已损坏")
        self.sheets_el: etree._Element = sheets_el

    def sheets(self) -> list[SheetRef]:
        if self._sheet_cache is not None:
            return self._sheet_cache
        rels = {r.id: r for r in self.pkg.rels(self.part)}
        out = []
        for i, el in enumerate(self.sheets_el.iterchildren(M + "sheet")):
            rid = el.get(R_ID) or ""
            rel = rels.get(rid)
            out.append(
                SheetRef(el.get("name") or "", el, i, rid, rel.target if rel and not rel.external else None, rel.type if rel else "")
            )
        self._sheet_cache = out
        by_name: dict[str, SheetRef] = {}
        for s in out:
            by_name.setdefault(s.name, s)
        self._by_name = by_name
        return out

    @overload
    def find(self, name: str, *, required: Literal[True] = ...) -> SheetRef: ...

    @overload
    def find(self, name: str, *, required: bool) -> SheetRef | None: ...

    def find(self, name: str, *, required: bool = True) -> SheetRef | None:
        sheets = self.sheets()
        try:
            got = self._by_name.get(name)
        except TypeError:  # unhashable: no sheet has that name
            got = None
        if got is not None:
            return got
        folded = name.casefold() if isinstance(name, str) else name
        for s in sheets:
            if s.name.casefold() == folded:
                return s
        if not required:
            return None
        names = "、".join(f"“{s.name}”" for s in sheets)
        raise SheetNotFoundError(f"工作簿中找不到工作表“{name}”（现有工作表：{names}）")

    def worksheet_part(self, name: str) -> str:
        ref = self.find(name)
        if ref.rtype != RT_WORKSHEET or ref.part is None or not self.pkg.exists(ref.part):
            raise InvalidEditError(f"“{name}”不是普通工作表（可能是图表工作表），无法写入单元格")
        return ref.part

    def date1904(self) -> bool:
        if self._date1904 is None:  # no edit changes workbookPr
            pr = child(self.root, "workbookPr")
            self._date1904 = pr is not None and (pr.get("date1904") or "").lower() in ("1", "true")
        return self._date1904

    def related(self, rtype: str) -> list[Rel]:
        return [r for r in self.pkg.rels(self.part) if r.type == rtype and not r.external]

    def touch(self, sheets: bool = True) -> None:
        """Mark workbook.xml changed; ``sheets``: the sheet list may have changed too."""
        self.pkg.touch(self.part)
        if sheets:
            self._sheet_cache = None
            self.generation += 1

    def force_recalc(self) -> None:
        """Drop calcChain.xml and ask every application to recalculate on open."""
        for rel in self.related(RT_CALC_CHAIN):
            self.pkg.delete(rel.part)
            self.pkg.remove_rel(self.part, rel.id)
        calc = child(self.root, "calcPr")
        if calc is None:
            calc = insert_ordered(self.root, "calcPr", WB_ORDER)
        if calc.get("fullCalcOnLoad") != "1":
            calc.set("fullCalcOnLoad", "1")
            self.touch(sheets=False)

    def define_name(self, given_name: str, given_ref: str) -> None:
        """Add or replace the workbook-scope name ``given_name`` referring to ``given_ref``."""
        name = given_name.strip() if isinstance(given_name, str) else ""
        if (
            not name
            or len(name) > 255
            or not _NAME_RE.match(name)
            or not _NAME_CHARS.match(name)
            or _CELLISH_NAME.match(name)
        ):
            raise InvalidEditError(f"定义名称无效：{given_name!r}（须以字母、汉字或下划线开头，不能含空格，也不能像单元格地址）")
        ref = given_ref.strip() if isinstance(given_ref, str) else ""
        if ref.startswith("="):
            ref = ref[1:]
        if not ref or ILLEGAL_XML.search(ref):
            raise InvalidEditError(f"定义名称 {name} 的引用无效：{given_ref!r}")
        idx = self._names
        if idx is None:
            root = self.root
            dns = child(root, "definedNames")
            if dns is None:
                dns = insert_ordered(root, "definedNames", WB_ORDER)
            idx = self._names = NameIndex(dns)
        key = name.casefold()
        dn = idx.scope.get(key)
        if dn is not None:
            if dn.text != ref:
                dn.text = ref
                self.touch(sheets=False)
            return
        new = etree.SubElement(idx.dns, M + "definedName", {"name": name})
        new.text = ref
        idx.insert(key, new)
        self.touch(sheets=False)

    def define_local_name(self, name: str, ref: str, sheet_index: int, hidden: bool = False) -> None:
        """Add or replace a name local to the sheet at ``sheet_index`` (print titles, filters)."""
        root = self.root
        dns = child(root, "definedNames")
        if dns is None:
            dns = insert_ordered(root, "definedNames", WB_ORDER)
        for dn in dns.iterchildren(M + "definedName"):
            if dn.get("name") == name and dn.get("localSheetId") == str(sheet_index):
                dns.remove(dn)
        attrs = {"name": name, "localSheetId": str(sheet_index)}
        if hidden:
            attrs["hidden"] = "1"
        etree.SubElement(dns, M + "definedName", attrs).text = ref
        self._names = None  # the index of workbook-scope names is rebuilt on next use
        self.touch(sheets=False)

    def add_sheet(self, name: str, hidden: bool = False, position: int | None = None) -> None:
        """A new empty worksheet, appended last or inserted at 0-based ``position``."""
        check_sheet_name(name)
        pkg, wb = self.pkg, self
        sheets = wb.sheets()
        pos = len(sheets) if position is None else max(0, min(int(position), len(sheets)))
        wb_dir = posixpath.dirname(wb.part)
        part = pkg.unique_name(posixpath.join(wb_dir, "worksheets", "sheet{n}.xml"))
        root = etree.fromstring(
            (
                f'<worksheet xmlns="{NS_MAIN}" xmlns:r="{NS_R}"><dimension ref="A1"/>'
                '<sheetViews><sheetView workbookViewId="0"/></sheetViews><sheetFormatPr defaultRowHeight="15"/>'
                '<sheetData/><pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
                "</worksheet>"
            ).encode()
        )
        pkg.create_xml(part, root)
        pkg.set_override(part, CT_WORKSHEET)
        rid = pkg.add_rel(wb.part, RT_WORKSHEET, part)
        ids = [int(s.el.get("sheetId") or 0) for s in sheets]
        attrs = {"name": name, "sheetId": str(max(ids, default=0) + 1)}
        if hidden:
            attrs["state"] = "hidden"
        attrs[R_ID] = rid
        el = sub(wb.sheets_el, M + "sheet", attrs, {"r": NS_R})
        if pos < len(sheets):
            sheets[pos].el.addprevious(el)
        self._shift_sheet_indexes(pos, +1)
        wb.touch()
        n_ws_before = sum(1 for s in sheets[:pos] if s.rtype == RT_WORKSHEET)
        self._app_titles_insert(name, n_ws_before, len([s for s in sheets if s.rtype == RT_WORKSHEET]))

    def _shift_sheet_indexes(self, pos: int, delta: int) -> None:
        """Keep localSheetId and bookViews indexes in step after inserting (+1)/removing (-1)."""
        root = self.root
        dns = child(root, "definedNames")
        if dns is not None:
            for dn in dns.iterchildren(M + "definedName"):
                lid = dn.get("localSheetId")
                if lid is not None and lid.isdigit() and int(lid) >= pos and not (delta < 0 and int(lid) == pos):
                    dn.set("localSheetId", str(int(lid) + delta))
        bv = child(root, "bookViews")
        if bv is not None:
            for v in bv.iterchildren(M + "workbookView"):
                for attr in ("activeTab", "firstSheet"):
                    val = v.get(attr)
                    if val is not None and val.isdigit() and (int(val) >= pos + (1 if delta < 0 else 0)):
                        v.set(attr, str(max(0, int(val) + delta)))

    def remove_sheet(self, name: str) -> SheetRef:
        """Remove a sheet and everything only it used (see ``DeleteSheet``); returns what it was."""
        pkg, wb = self.pkg, self
        ref = wb.find(name)
        sheets = wb.sheets()
        visible = [s for s in sheets if s is not ref and (s.el.get("state") or "visible") == "visible"]
        if not visible:
            raise InvalidEditError(f"不能删除工作表“{ref.name}”：工作簿至少要保留一张可见的工作表")
        idx = ref.index
        prior, was_selected = views.prior_view(self, idx), views.is_selected(self, ref)
        # Names local to the sheet go; other references to it become #REF!.
        self._names = None
        dns = child(wb.root, "definedNames")
        if dns is not None:
            pat = sheet_ref_pattern(ref.name)
            for dn in list(dns.iterchildren(M + "definedName")):
                if dn.get("localSheetId") == str(idx):
                    dns.remove(dn)
                elif dn.text and pat.search(dn.text):
                    dn.text = pat.sub("#REF!", dn.text)
            if len(dns) == 0:
                wb.root.remove(dns)
        self._shift_sheet_indexes(idx, -1)
        # Active tab must stay on an existing, visible sheet.
        remaining = [s for s in sheets if s is not ref]
        bv = child(wb.root, "bookViews")
        if bv is not None:
            for v in bv.iterchildren(M + "workbookView"):
                at = v.get("activeTab")
                if at is not None and at.isdigit():
                    a = min(int(at), len(remaining) - 1)
                    if (remaining[a].el.get("state") or "visible") != "visible":
                        a = next(i for i, s in enumerate(remaining) if (s.el.get("state") or "visible") == "visible")
                    v.set("activeTab", str(a))
                fs = v.get("firstSheet")
                if fs is not None and fs.isdigit() and int(fs) > len(remaining) - 1:
                    v.set("firstSheet", str(len(remaining) - 1))
        wb.sheets_el.remove(ref.el)
        pkg.remove_rel(wb.part, ref.rid)
        if ref.part is not None:
            pkg.delete_subtree(ref.part)
        for rel in wb.related(RT_CALC_CHAIN):
            pkg.delete(rel.part)
            pkg.remove_rel(wb.part, rel.id)
        wb.touch()
        self._app_titles_remove(ref.name)
        views.restore(self, prior, was_selected)  # the tab it took over when activated, or the new active one
        return ref

    def _app_vectors(self) -> tuple[str, etree._Element, etree._Element,
                                    list[tuple[etree._Element, etree._Element, str, etree._Element]]] | None:
        part = None
        for r in self.pkg.rels(""):
            if r.type == RT_EXT_PROPS and r.target:
                part = r.target
        if part is None or not self.pkg.exists(part):
            return None
        root = self.pkg.xml(part)
        hp = root.find(f"{{{NS_EP}}}HeadingPairs/{{{NS_VT}}}vector")
        tp = root.find(f"{{{NS_EP}}}TitlesOfParts/{{{NS_VT}}}vector")
        if hp is None or tp is None:
            return None
        pairs = []
        variants = list(hp)
        for i in range(0, len(variants) - 1, 2):
            label = variants[i].find(f"{{{NS_VT}}}lpstr")
            count = variants[i + 1].find(f"{{{NS_VT}}}i4")
            if label is None or count is None or not (count.text or "").strip().lstrip("-").isdigit():
                return None
            pairs.append((variants[i], variants[i + 1], label.text or "", count))
        return part, hp, tp, pairs

    def _app_titles_insert(self, name: str, n_before: int, n_ws: int) -> None:
        got = self._app_vectors()
        if got is None:
            return
        part, hp, tp, pairs = got
        offset, target = 0, None
        for i, (_, _, label, count) in enumerate(pairs):
            if label.strip().casefold() in _WORKSHEET_LABELS or (target is None and i == 0 and int(count.text) == n_ws):
                target = (offset, count)
                break
            offset += int(count.text)
        if target is None:
            return
        offset, count = target
        titles = list(tp)
        new = etree.SubElement(tp, f"{{{NS_VT}}}lpstr")
        new.text = name
        at = offset + n_before
        if at < len(titles):
            titles[at].addprevious(new)
        count.text = str(int(count.text) + 1)
        tp.set("size", str(len(tp)))
        self.pkg.touch(part)

    def _app_titles_remove(self, name: str) -> None:
        got = self._app_vectors()
        if got is None:
            return
        part, hp, tp, pairs = got
        titles = list(tp)
        offset = 0
        for label_v, count_v, label, count in pairs:
            n = int(count.text)
            for t in titles[offset : offset + n]:
                if t.text == name:
                    tp.remove(t)
                    tp.set("size", str(len(tp)))
                    if n - 1 > 0:
                        count.text = str(n - 1)
                    else:
                        hp.remove(label_v)
                        hp.remove(count_v)
                        hp.set("size", str(len(hp)))
                    self.pkg.touch(part)
                    return
            offset += n


def check_sheet_name(name: str) -> None:
    if (
        not isinstance(name, str)
        or not name.strip()
        or len(name) > 31
        or _BAD_SHEET_CHARS.search(name)
        or name.startswith("'")
        or name.endswith("'")
        or name.casefold() == "history"
        or ILLEGAL_XML.search(name)
    ):
        raise InvalidEditError(
            f"工作表名称无效：{name!r}（1～31 个字符，不能含 [ ] : * ? / \\，不能以单引号开头或结尾，不能是 History）"
        )


def sheet_ref_pattern(name: str) -> re.Pattern:
    pats = [re.escape("'" + name.replace("'", "''") + "'") + "!"]
    if re.fullmatch(r"[^\W\d][\w.]*", name):
        pats.append(r"(?<![\w.'\]])" + re.escape(name) + "!")
    return re.compile("|".join(pats), re.IGNORECASE)


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------
