"""Flags: a cell highlighted by a conditional format and explained in its note, and their removal.

A flag's fill is a conditional format (a ``dxf`` appended to styles.xml) whose formula carries
the scheme's marker (``"perfxl-error"<>""``), so the cell's own XML, including its style, is
never changed. What is needed to undo the flags exactly (which dxfs were appended, which parts
and content types were created) is kept in a custom XML part in the scheme's namespace, which
Excel keeps on save. Clearing without that part (another program dropped it) still removes
every recognisable flag (marker formulas, the scheme's author, header runs), leaving at most an
unused dxf behind.
"""
from __future__ import annotations

import re
from typing import Callable

from lxml import etree

from .errors import InvalidEditError
from .ns import CT_CUSTOM_XML_PROPS, CT_XML, NS_DS, RT_COMMENTS, RT_CUSTOM_XML, RT_CUSTOM_XML_PROPS, RT_WORKSHEET, STYLE_ORDER, WS_ORDER, M
from .notes import Notes
from .ops import CellFormat
from .package import Package
from .scheme import FlagScheme
from .sheet import Sheet
from .state import FormatRecord, MarkState, SheetMarkState, dump_state, load_state
from .styles import add_format, remove_formats, solid_fill_dxf, styles_part
from .workbook import Workbook
from .xmlutil import ascii_compatible, c14n, cell_ref, child, graft, insert_ordered, local, parse_cell


_STYLE_ATTR = re.compile(rb'\s(?:s|style)="([0-9]+)"')


def _is_custom_item(name: str) -> bool:
    """customXml/itemN.xml (not its itemProps or rels)."""
    return name.startswith("customXml/item") and name.endswith(".xml") and name[len("customXml/item"):-4].isdigit()


class Flagger:
    """Adds and clears one scheme's flags during one apply run."""

    def __init__(self, pkg: Package, wb: Workbook, sheet: Callable[[str], Sheet], parsed: dict[str, Sheet],
                 scheme: FlagScheme):
        self.pkg, self.wb, self.sheet, self.scheme = pkg, wb, sheet, scheme
        self._parsed = parsed  # sheet part -> Sheet, for the sheets this run has parsed
        self.notes = Notes(pkg, scheme)
        self._marks: MarkState | None = None
        self._marks_part: str | None = None
        self.dirty = False  # the state changed: save() must run
        self._pending_formats: FormatRecord | None = None  # formats cleared while a sheet still used them

    def _dxf(self, code: str) -> etree._Element:
        kind = self.scheme.kind(code)
        return solid_fill_dxf(kind.fill if kind is not None else "00000000")

    def forget_sheet(self, name: str) -> None:
        """A sheet was deleted: its state goes too."""
        if self._marks is not None:
            self._marks.sheets.pop(name, None)
            self.dirty = True

    def state(self) -> MarkState:
        """The recorded state: from the state part the workbook refers to, else from one it no
        longer refers to (LibreOffice keeps customXml parts on save but drops the workbook's
        relationship to them), else empty."""
        if self._marks is None:
            self._marks = MarkState()
            related = [rel.part for rel in self.wb.related(RT_CUSTOM_XML)]
            orphans = sorted(n for n in self.pkg.names() if _is_custom_item(n) and n not in related)
            for part in related + orphans:
                if not self.pkg.exists(part) or self.scheme.state_ns.encode() not in self.pkg.read(part):
                    continue
                self._marks_part = part
                self._marks = load_state(self.pkg.xml(part), self.scheme.state_ns)
                break
        return self._marks

    def _dxf_id(self, code: str) -> int:
        """Index of the dxf of kind ``code``, appended to styles.xml on first use."""
        st = self.state()
        if code in st.dxf_ids:
            return st.dxf_ids[code]
        part, root = styles_part(self.pkg, self.wb)
        dxfs = child(root, "dxfs")
        if dxfs is None:
            dxfs = insert_ordered(root, "dxfs", STYLE_ORDER, {"count": "0"})
            if st.dxf_base is None:
                st.dxfs_created = True
        if st.dxf_base is None:
            st.dxf_base = len(dxfs.findall(M + "dxf"))
            st.dxf_count_attr = dxfs.get("count")
        graft(dxfs, self._dxf(code))
        n = len(dxfs.findall(M + "dxf"))
        dxfs.set("count", str(n))
        st.dxf_ids[code] = n - 1
        self.pkg.touch(part)
        self.dirty = True
        return n - 1

    def format_id(self, fmt: CellFormat) -> int:
        """xf index of cell format ``fmt``, appended to styles.xml and recorded, so that
        :meth:`clear` takes it out again once no cell uses it."""
        st = self.state()
        part, root = styles_part(self.pkg, self.wb)
        n = len(st.formats.ids)
        xf = add_format(root, fmt, st.formats)
        if len(st.formats.ids) != n:
            self.pkg.touch(part)
            self.dirty = True
        return xf

    def flag_cell(self, sheet: str, cell: str, code: str, note: str) -> None:
        """Fill a cell with kind ``code``'s colour (the highest rank wins) and add ``note`` under
        the kind's header to the cell's note."""
        kind = self.scheme.kind(code)
        if kind is None:
            codes = "、".join(k.code for k in self.scheme.kinds)
            raise InvalidEditError(f"标记级别无效：{code!r}（应为 {codes}）")
        if not isinstance(note, str):
            raise InvalidEditError(f"批注内容必须是文本：{note!r}")
        sh = self.sheet(sheet)
        rownum, col = parse_cell(cell)
        ref = cell_ref(rownum, col)
        st = self.state()
        sst = st.sheets.setdefault(self.wb.find(sheet).name, SheetMarkState())
        self.dirty = True
        self._fill(sh, ref, code)
        self.notes.add(sh, sst, st, rownum, col, kind.header, note)

    def _our_cf(self, sh: Sheet) -> dict[str, tuple[etree._Element, etree._Element]]:
        """Our conditionalFormatting blocks of a sheet: code -> (block, rule)."""
        out: dict[str, tuple[etree._Element, etree._Element]] = {}
        prefix, kinds = self.scheme.formula_prefix, self.scheme.by_code
        for cf in sh.root.iterchildren(M + "conditionalFormatting"):
            for rule in cf.iterchildren(M + "cfRule"):
                f = child(rule, "formula")
                if f is not None and (f.text or "").startswith(prefix):
                    code = f.text[len(prefix) :].split('"', 1)[0]
                    if code in kinds:
                        out[code] = (cf, rule)
        return out

    def _fill(self, sh: Sheet, ref: str, code: str) -> None:
        ours = self._our_cf(sh)
        current = None
        for c, (cf, _) in ours.items():
            if ref in (cf.get("sqref") or "").split():
                current = c
        kinds = self.scheme.by_code
        if current is not None and kinds[current].rank >= kinds[code].rank:
            return
        if current is not None:
            cf = ours[current][0]
            refs = [r for r in (cf.get("sqref") or "").split() if r != ref]
            if refs:
                cf.set("sqref", " ".join(refs))
            else:
                sh.root.remove(cf)
        if code in ours:
            cf = ours[code][0]
            cf.set("sqref", ((cf.get("sqref") or "") + " " + ref).strip())
        else:
            prio = 0  # ours come last in precedence: after the clerk's rules (incl. x14 ones in extLst)
            for block in sh.root:
                if local(block) not in ("conditionalFormatting", "extLst"):
                    continue
                for rule in block.iter("{*}cfRule"):
                    p = rule.get("priority")
                    if p and p.lstrip("-").isdigit():
                        prio = max(prio, int(p))
            cf = insert_ordered(sh.root, "conditionalFormatting", WS_ORDER, {"sqref": ref})
            rule = etree.SubElement(
                cf, M + "cfRule", {"type": "expression", "dxfId": str(self._dxf_id(code)), "priority": str(prio + 1)}
            )
            etree.SubElement(rule, M + "formula").text = f'{self.scheme.formula_prefix}{code}"<>""'
        sh.touch()

    def clear(self) -> None:
        """Remove every flag and note of this scheme, restoring what the state part recorded."""
        pkg, wb = self.pkg, self.wb
        self.notes.forget()
        st = self.state()
        for ref in wb.sheets():
            if ref.rtype != RT_WORKSHEET or not ref.part or not pkg.exists(ref.part):
                continue
            sst = st.sheets.get(ref.name)
            if sst is None and self._surely_unmarked(ref.part):
                continue
            self._clear_sheet(self.sheet(ref.name), sst or SheetMarkState())
        # Styles: drop the dxfs we appended (they are last, unless someone re-saved the file).
        if st.dxf_ids and st.dxf_base is not None:
            part, root = styles_part(pkg, wb)
            dxfs = child(root, "dxfs")
            if dxfs is not None:
                items = dxfs.findall(M + "dxf")
                ours = {i: code for code, i in st.dxf_ids.items()}
                if len(items) == st.dxf_base + len(st.dxf_ids) and all(
                    c14n(items[i], True) == c14n(self._dxf(ours.get(i, "")), True) for i in range(st.dxf_base, len(items))
                ):
                    for d in items[st.dxf_base :]:
                        dxfs.remove(d)
                    if st.dxfs_created and st.dxf_base == 0:
                        root.remove(dxfs)
                    elif st.dxf_count_attr is None:
                        dxfs.attrib.pop("count", None)
                    else:
                        dxfs.set("count", st.dxf_count_attr)
                    pkg.touch(part)
        if st.formats.ids:
            if self._formats_in_use(min(st.formats.ids.values())):
                self._pending_formats = st.formats  # a sheet still uses them: try again at save()
            else:
                self._remove_formats(st.formats)
        if st.vml_default_added and not any(n.lower().endswith(".vml") for n in pkg.names()):
            pkg.remove_default("vml")
        # The state part goes too, so marks added later in this batch recreate every part in
        # the same order as on an unmarked workbook (ClearMarks + marks == marks alone).
        self._marks = MarkState()
        self._drop_state_part()
        self.dirty = True

    def _remove_formats(self, rec: FormatRecord) -> None:
        part, root = styles_part(self.pkg, self.wb)
        if remove_formats(root, rec):
            self.pkg.touch(part)

    def _formats_in_use(self, first: int) -> bool:
        """Whether a cell, row or column of any worksheet uses an xf index from ``first`` on
        (the formats were the worklist sheet's; clearing comes after that sheet is deleted)."""
        for ref in self.wb.sheets():
            if ref.rtype != RT_WORKSHEET or not ref.part or not self.pkg.exists(ref.part):
                continue
            for m in _STYLE_ATTR.finditer(self.pkg.read(ref.part)):
                if int(m.group(1)) >= first:
                    return True
        return False

    def _surely_unmarked(self, part: str) -> bool:
        """True when a sheet without recorded mark state certainly has nothing for
        :meth:`_clear_sheet` to do, decided from raw bytes without parsing anything.

        Without recorded state a sheet part can only hold flags as cfRules whose formula starts
        with the marker (the bare author name is common in instruction text), and its notes only
        in a comments part that contains the author's name. Only FlagCell adds cfRules or notes, and it
        records state, so a sheet parsed in this run still has its source bytes' cfRules. A
        parsed sheet with any comments part takes the full path (it drops an empty one).
        """
        pkg = self.pkg
        parsed = part in self._parsed
        if parsed:  # until now always scanned: decide only where the bytes tell for sure
            raw = pkg.raw.get(part)
            if raw is None or not ascii_compatible(raw) or b"&#" in raw:
                return False
            if self.scheme.token in raw:
                return False
        elif pkg.contains(part, self.scheme.token):
            return False
        rn = pkg.name(pkg.rels_name(part))
        if rn is None:
            return True
        if rn not in pkg.trees:
            rels_raw = pkg.read(rn)
            # A comments relationship's Type spells "comments", unless written with character
            # references (then there is an "&").
            if ascii_compatible(rels_raw) and b"comments" not in rels_raw and b"&" not in rels_raw:
                return True
        for r in pkg.rels(part):
            if r.type == RT_COMMENTS and r.target and pkg.exists(r.target):
                if parsed:
                    return False
                if self.scheme.author.encode() in pkg.read(r.target):
                    return False
        return True

    def _drop_state_part(self) -> None:
        part = self._marks_part
        if part is not None and self.pkg.exists(part):
            for r in self.pkg.rels(part):
                if r.target:
                    self.pkg.delete(r.target)
            self.pkg.drop_related(self.wb.part, part)
        self._marks_part = None

    def _clear_sheet(self, sh: Sheet, sst: SheetMarkState) -> None:
        prefix = self.scheme.formula_prefix
        for cf in list(sh.root.iterchildren(M + "conditionalFormatting")):
            rules = list(cf.iterchildren(M + "cfRule"))
            ours = [r for r in rules if (getattr(child(r, "formula"), "text", None) or "").startswith(prefix)]
            if not ours:
                continue
            if len(ours) == len(rules):
                sh.root.remove(cf)
            else:
                for r in ours:
                    cf.remove(r)
            sh.touch()
        self.notes.clear_sheet(sh, sst)

    def save(self) -> None:
        """Write (or drop) the state part after the edits."""
        pkg, wb = self.pkg, self.wb
        pending, self._pending_formats = self._pending_formats, None
        if pending is not None and not self.state().formats.ids \
                and not self._formats_in_use(min(pending.ids.values())):
            self._remove_formats(pending)  # the sheet using them was deleted after the clearing
        st = self._marks if self._marks is not None else MarkState()
        part = self._marks_part
        if st.empty():
            self._drop_state_part()
            return
        root = dump_state(st, self.scheme.state_ns)
        if part is None or not pkg.exists(part):
            n = 1
            while pkg.exists(f"customXml/item{n}.xml") or pkg.exists(f"customXml/itemProps{n}.xml"):
                n += 1
            part, props = f"customXml/item{n}.xml", f"customXml/itemProps{n}.xml"
            guid = self.scheme.state_guid
            proot = etree.fromstring(
                (
                    f'<ds:datastoreItem ds:itemID="{guid}" xmlns:ds="{NS_DS}">'
                    f'<ds:schemaRefs><ds:schemaRef ds:uri="{self.scheme.state_ns}"/></ds:schemaRefs></ds:datastoreItem>'
                ).encode()
            )
            pkg.create_xml(part, root)
            pkg.create_xml(props, proot)
            pkg.set_override(props, CT_CUSTOM_XML_PROPS)
            if not pkg.has_default("xml"):
                pkg.set_override(part, CT_XML)
            pkg.add_rel(part, RT_CUSTOM_XML_PROPS, props)
            pkg.add_rel(wb.part, RT_CUSTOM_XML, part)
            self._marks_part = part
        else:
            old = pkg.xml(part)
            if c14n(old) != c14n(root):
                pkg.create_xml(part, root)
