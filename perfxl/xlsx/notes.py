"""Cell notes: the comments part, the VML shapes Excel draws them with, and our runs in them."""
from __future__ import annotations

import bisect
import copy
import posixpath
import re

from lxml import etree

from perfxl.errors import WorkbookError

from .errors import InvalidEditError
from .ns import (CT_COMMENTS, CT_VML, NS_MAIN, NS_O, NS_R, NS_V, NS_X, R_ID, RT_COMMENTS, RT_VML, WS_ORDER, M)
from .package import Package, declaration
from .scheme import FlagScheme, NoteFont
from .sheet import Sheet
from .state import MarkState, SheetMarkState
from .xmlutil import (PARSER, cell_ref, child, insert_ordered, local, main_ns_default, parse_cell, set_text, sub,
                      xstring)


class Notes:
    """The notes of one apply run, with what it learnt about each comments and VML part."""

    def __init__(self, pkg: Package, scheme: FlagScheme):
        self.pkg = pkg
        self.scheme = scheme
        # comments part -> ((row, col) -> first comment element of that cell, the keys sorted)
        self._comment_index: dict[str, tuple[dict[tuple[int, int], etree._Element], list[tuple[int, int]]]] = {}
        self._vml_top: dict[str, int] = {}
        self._shapetype_ok: dict[str, object] = {}  # VML part -> its tree, known to hold our shapetype
        self._idmap_cache: dict[str, tuple[object, bool, int]] = {}
        self._runs_tpl = {bold: _run_template(scheme.font, bold) for bold in (False, True)}

    def forget(self) -> None:
        """Drop what was learnt about the parts (before they are changed by clearing)."""
        self._comment_index.clear()
        self._vml_top.clear()
        self._shapetype_ok.clear()

    def parts(self, sh: Sheet) -> tuple[str | None, str | None, str | None]:
        """(comments part, vml part, vml rel id) of a sheet."""
        comments = None
        for r in self.pkg.rels(sh.part):
            if r.type == RT_COMMENTS and r.target and self.pkg.exists(r.target):
                comments = r.target
        vml = vml_rid = None
        ld = child(sh.root, "legacyDrawing")
        if ld is not None and ld.get(R_ID):
            rel = self.pkg.rel_by_id(sh.part, ld.get(R_ID))
            if rel is not None and rel.target and self.pkg.exists(rel.target):
                vml, vml_rid = rel.target, rel.id
        return comments, vml, vml_rid

    def add(self, sh: Sheet, sst: SheetMarkState, st: MarkState, rownum: int, col: int, header: str, note: str) -> None:
        """Attach ``header`` (bold) and ``note`` to a cell: a new note by our author, or two runs
        appended to the note the cell already has."""
        ref = cell_ref(rownum, col)
        pkg = self.pkg
        comments, vml, _ = self.parts(sh)
        if comments is None:
            comments = pkg.unique_name(posixpath.join(posixpath.dirname(posixpath.dirname(sh.part)), "comments{n}.xml"))
            root = etree.fromstring(f'<comments xmlns="{NS_MAIN}"><authors/><commentList/></comments>'.encode())
            pkg.create_xml(comments, root)
            pkg.set_override(comments, CT_COMMENTS)
            pkg.add_rel(sh.part, RT_COMMENTS, comments)
            sst.comments_created = True
        croot = pkg.xml(comments)
        authors = child(croot, "authors")
        if authors is None:
            authors = etree.SubElement(croot, M + "authors")
            croot.insert(0, authors)
        clist = child(croot, "commentList")
        if clist is None:
            clist = etree.SubElement(croot, M + "commentList")
        names = [a.text or "" for a in authors.iterchildren(M + "author")]
        if self.scheme.author in names:
            aid = names.index(self.scheme.author)
        else:
            etree.SubElement(authors, M + "author").text = self.scheme.author
            aid = len(names)
        got = self._comment_index.get(comments)
        if got is None:  # (row, col) keys in document order, and the elements by key
            idx: dict[tuple[int, int], etree._Element] = {}
            for cm in clist.iterchildren(M + "comment"):
                try:
                    idx.setdefault(parse_cell(cm.get("ref") or ""), cm)
                except InvalidEditError:
                    continue
            got = self._comment_index[comments] = (idx, sorted(idx))
        idx, keys = got
        key = (rownum, col)
        existing = idx.get(key)
        if existing is None:
            cm = etree.SubElement(clist, M + "comment", {"ref": ref, "authorId": str(aid), "shapeId": "0"})
            i = bisect.bisect_right(keys, key)
            if i < len(keys):  # before the comment of the next cell in (row, col) order
                idx[keys[i]].addprevious(cm)
            keys.insert(i, key)
            idx[key] = cm
            text = etree.SubElement(cm, M + "text")
            self._runs(text, header, note, first=True)
            self._add_shape(sh, sst, st, vml, rownum, col)
        else:
            text = child(existing, "text")
            if text is None:
                text = etree.SubElement(existing, M + "text")
            bare = child(text, "t")
            if bare is not None:  # plain text → one run, so our runs can follow
                r = etree.SubElement(text, M + "r")
                bare.addprevious(r)
                r.append(bare)
            # A note left empty (a clerk's emptied note, or one another program kept after
            # clearing) takes the runs as a new note would: no blank first line.
            self._runs(text, header, note, first=not _note_text(existing).strip())
        pkg.touch(comments)

    def _runs(self, text: etree._Element, header: str, note: str, first: bool) -> None:
        """Append a bold ``header`` run and a ``note`` run to a comment's ``<text>``."""
        anchor = None
        for ch in text:
            if local(ch) in ("rPh", "phoneticPr"):
                anchor = ch
                break
        plain = main_ns_default(text)
        font = self.scheme.font

        def run(s: str, bold: bool) -> None:
            if plain:  # a copy of the template, whose namespace declaration is dropped on insert
                r = copy.deepcopy(self._runs_tpl[bold])
                set_text(r[1], xstring(s))
                if anchor is not None:
                    anchor.addprevious(r)
                else:
                    text.append(r)
                return
            r = etree.SubElement(text, M + "r")
            if anchor is not None:
                anchor.addprevious(r)
            set_text(_fill_run(r, font, bold), xstring(s))

        run(("" if first else "\n") + header, True)
        run("\n" + note, False)

    def _add_shape(self, sh: Sheet, sst: SheetMarkState, st: MarkState, vml: str | None, rownum: int, col: int) -> None:
        pkg = self.pkg
        if vml is None:
            vml = pkg.unique_name(posixpath.join(posixpath.dirname(posixpath.dirname(sh.part)), "drawings", "vmlDrawing{n}.vml"))
            idmap = self._next_idmap()
            root = etree.fromstring(
                (
                    f'<xml xmlns:v="{NS_V}" xmlns:o="{NS_O}" xmlns:x="{NS_X}">'
                    f'<o:shapelayout v:ext="edit"><o:idmap v:ext="edit" data="{idmap}"/></o:shapelayout>'
                    "</xml>"
                ).encode()
            )
            pkg.create_xml(vml, root, decl=None)
            if not pkg.has_default("vml"):
                pkg.add_default("vml", CT_VML)
                st.vml_default_added = True
            rid = pkg.add_rel(sh.part, RT_VML, vml)
            insert_ordered(sh.root, "legacyDrawing", WS_ORDER, {R_ID: rid}, {"r": NS_R})
            sh.touch()
            sst.vml_created = True
        root = parse_vml(pkg, vml)
        if self._shapetype_ok.get(vml) is root:  # checked (or added) by an earlier mark
            pass
        elif not any(t.get("id") == "_x0000_t202" for t in root.iter(f"{{{NS_V}}}shapetype")):
            stype = sub(
                root,
                f"{{{NS_V}}}shapetype",
                {"id": "_x0000_t202", "coordsize": "21600,21600", f"{{{NS_O}}}spt": "202", "path": "m,l,21600r21600,l21600,xe"},
                {"v": NS_V, "o": NS_O},
            )
            etree.SubElement(stype, f"{{{NS_V}}}stroke", {"joinstyle": "miter"})
            etree.SubElement(stype, f"{{{NS_V}}}path", {"gradientshapeok": "t", f"{{{NS_O}}}connecttype": "rect"})
            first_shape = next(root.iter(f"{{{NS_V}}}shape"), None)
            if first_shape is not None and first_shape.getparent() is root:
                first_shape.addprevious(stype)
            if not sst.vml_created:
                sst.shapetype_added = True
        self._shapetype_ok[vml] = root
        # Shape id: next free number in this drawing (idmap block × 1024 + n).
        top = self._vml_top.get(vml, 0)
        if not top:
            for shp in root.iter(f"{{{NS_V}}}shape"):
                for attr in ("id", f"{{{NS_O}}}spid"):
                    m = re.match(r"_x0000_s(\d+)$", shp.get(attr) or "")
                    if m:
                        top = max(top, int(m.group(1)))
            if top == 0:
                idm = root.find(f".//{{{NS_O}}}idmap")
                data = ((idm.get("data") if idm is not None else "") or "1").split(",")[0].strip()
                top = (int(data) if data.isdigit() else 1) * 1024
        self._vml_top[vml] = top + 1
        r0, c0 = rownum - 1, col - 1
        top_row = max(r0 - 1, 0)
        anchor = f"{c0 + 1}, 15, {top_row}, 10, {c0 + 4}, 15, {top_row + 5}, 4"
        if standard_vml_prefixes(root):
            # The same shape as below, copied from a template: the copy's namespace declarations
            # are dropped on append, as the root declares the very same prefixes.
            shape = copy.deepcopy(NOTE_SHAPE)
            shape.set("id", f"_x0000_s{top + 1}")
            cd = shape[4]
            cd[2].text, cd[4].text, cd[5].text = anchor, str(r0), str(c0)
            root.append(shape)
            pkg.touch(vml)
            return
        shape = sub(
            root,
            f"{{{NS_V}}}shape",
            {
                "id": f"_x0000_s{top + 1}",
                "type": "#_x0000_t202",
                "style": "position:absolute;margin-left:59.25pt;margin-top:1.5pt;width:180pt;height:72pt;"
                "z-index:1;visibility:hidden",
                "fillcolor": "#ffffe1",
                f"{{{NS_O}}}insetmode": "auto",
            },
            {"v": NS_V, "o": NS_O, "x": NS_X},
        )
        etree.SubElement(shape, f"{{{NS_V}}}fill", {"color2": "#ffffe1"})
        etree.SubElement(shape, f"{{{NS_V}}}shadow", {"on": "t", "color": "black", "obscured": "t"})
        etree.SubElement(shape, f"{{{NS_V}}}path", {f"{{{NS_O}}}connecttype": "none"})
        tb = etree.SubElement(shape, f"{{{NS_V}}}textbox", {"style": "mso-direction-alt:auto"})
        etree.SubElement(tb, "div", {"style": "text-align:left"})
        cd = etree.SubElement(shape, f"{{{NS_X}}}ClientData", {"ObjectType": "Note"})
        etree.SubElement(cd, f"{{{NS_X}}}MoveWithCells")
        etree.SubElement(cd, f"{{{NS_X}}}SizeWithCells")
        etree.SubElement(cd, f"{{{NS_X}}}Anchor").text = anchor
        etree.SubElement(cd, f"{{{NS_X}}}AutoFill").text = "False"
        etree.SubElement(cd, f"{{{NS_X}}}Row").text = str(r0)
        etree.SubElement(cd, f"{{{NS_X}}}Column").text = str(c0)
        pkg.touch(vml)

    def _next_idmap(self) -> int:
        top = 0
        for n in self.pkg.names():
            if n.lower().endswith(".vml"):
                top = max(top, self._idmap_top(n))
        return top + 1

    def _idmap_top(self, part: str) -> int:
        """Highest idmap block of a VML part. Edits never change idmaps, so the value is kept
        per parsed tree (a dirty part would otherwise be serialised on every call)."""
        tree = self.pkg.trees.get(part)
        dirty = part in self.pkg.dirty  # raw bytes before, serialised tree after the first change
        got = self._idmap_cache.get(part)
        if got is not None and tree is not None and got[0] is tree and got[1] == dirty:
            return got[2]
        top = 0
        for m in re.finditer(rb'idmap[^>]*?data="([0-9, ]+)"', self.pkg.read(part)):
            for x in m.group(1).split(b","):
                if x.strip().isdigit():
                    top = max(top, int(x))
        if tree is not None:
            self._idmap_cache[part] = (tree, dirty, top)
        return top

    def clear_sheet(self, sh: Sheet, sst: SheetMarkState) -> None:
        """Remove our notes and runs from a sheet's comments, their shapes, and the parts we
        created once they are empty."""
        pkg = self.pkg
        comments, vml, vml_rid = self.parts(sh)
        removed_cells: set[tuple[int, int]] = set()
        if comments is not None:
            croot = pkg.xml(comments)
            authors = child(croot, "authors")
            clist = child(croot, "commentList")
            names = [a.text or "" for a in authors.iterchildren(M + "author")] if authors is not None else []
            aid = str(names.index(self.scheme.author)) if self.scheme.author in names else None
            changed = False
            if clist is not None:
                for cm in list(clist.iterchildren(M + "comment")):
                    ref = (cm.get("ref") or "").upper()
                    if aid is None or cm.get("authorId") != aid:
                        if not strip_note_runs(cm, self.scheme):  # a clerk's note we appended to
                            continue
                        changed = True
                        if _note_text(cm).strip():
                            continue
                        # nothing but marks: written through the add-in, or ours after a program
                        # that rewrites authors (LibreOffice saves every author as " ")
                        clist.remove(cm)
                        try:
                            removed_cells.add(parse_cell(ref))
                        except InvalidEditError:
                            pass
                    else:
                        clist.remove(cm)
                        try:
                            removed_cells.add(parse_cell(ref))
                        except InvalidEditError:
                            pass
                        changed = True
            if aid is not None and authors is not None:
                used = {cm.get("authorId") for cm in clist.iterchildren(M + "comment")} if clist is not None else set()
                if aid not in used:
                    authors.remove(authors.findall(M + "author")[int(aid)])
                    if clist is not None:
                        for cm in clist.iterchildren(M + "comment"):
                            a = cm.get("authorId")
                            if a and a.isdigit() and int(a) > int(aid):
                                cm.set("authorId", str(int(a) - 1))
                    changed = True
            if changed:
                pkg.touch(comments)
            if clist is None or len(clist.findall(M + "comment")) == 0:
                if sst.comments_created or clist is None or len(clist) == 0:
                    pkg.drop_related(sh.part, comments)
        if vml is not None and (removed_cells or sst.shapetype_added or sst.vml_created):
            root = parse_vml(pkg, vml)
            for shp in list(root.iter(f"{{{NS_V}}}shape")):
                cd = shp.find(f"{{{NS_X}}}ClientData")
                if cd is None or cd.get("ObjectType") != "Note":
                    continue
                try:
                    rc = (int(cd.findtext(f"{{{NS_X}}}Row")) + 1, int(cd.findtext(f"{{{NS_X}}}Column")) + 1)
                except (TypeError, ValueError):
                    continue
                if rc in removed_cells:
                    shp.getparent().remove(shp)
            if sst.shapetype_added:
                for t in list(root.iter(f"{{{NS_V}}}shapetype")):
                    if t.get("id") == "_x0000_t202":
                        t.getparent().remove(t)
            pkg.touch(vml)
            comments_left = comments is not None and pkg.exists(comments)
            if next(root.iter(f"{{{NS_V}}}shape"), None) is None and (sst.vml_created or not comments_left):
                ld = child(sh.root, "legacyDrawing")
                if ld is not None:
                    sh.root.remove(ld)
                    sh.touch()
                pkg.drop_related(sh.part, vml)


_VML_PREFIXES = {"v": NS_V, "o": NS_O, "x": NS_X}

# A note's VML shape as Notes._add_shape builds it; id, Anchor, Row and Column are set
# on each copy.
NOTE_SHAPE = etree.fromstring(
    (
        f'<v:shape xmlns:v="{NS_V}" xmlns:o="{NS_O}" xmlns:x="{NS_X}" id="" type="#_x0000_t202" '
        'style="position:absolute;margin-left:59.25pt;margin-top:1.5pt;width:180pt;height:72pt;z-index:1;'
        'visibility:hidden" fillcolor="#ffffe1" o:insetmode="auto"><v:fill color2="#ffffe1"/>'
        '<v:shadow on="t" color="black" obscured="t"/><v:path o:connecttype="none"/>'
        '<v:textbox style="mso-direction-alt:auto"><div style="text-align:left"/></v:textbox>'
        '<x:ClientData ObjectType="Note"><x:MoveWithCells/><x:SizeWithCells/><x:Anchor/>'
        "<x:AutoFill>False</x:AutoFill><x:Row/><x:Column/></x:ClientData></v:shape>"
    ).encode()
)


def standard_vml_prefixes(root: etree._Element) -> bool:
    """Whether the VML namespaces are in scope at ``root`` as v, o and x, each under no other
    prefix: then a copy of a template declaring those three prefixes, appended to ``root``,
    serialises exactly as the same elements created under ``root`` one by one."""
    nsmap = root.nsmap
    return all(nsmap.get(p) == ns for p, ns in _VML_PREFIXES.items()) and sum(
        1 for ns in nsmap.values() if ns in (NS_V, NS_O, NS_X)
    ) == 3


def _note_text(comment: etree._Element) -> str:
    """The text a note shows (its ``<text>``; not the anchor numbers of an ``mc:AlternateContent``)."""
    text = child(comment, "text")
    return "".join(text.itertext()) if text is not None else ""


def _fill_run(r: etree._Element, font: NoteFont, bold: bool) -> etree._Element:
    """Give a comment text run ``r`` its ``<rPr>`` (``font``, bold or not) and an empty ``<t>``;
    returns the ``<t>``."""
    pr = etree.SubElement(r, M + "rPr")
    if bold:
        etree.SubElement(pr, M + "b")
    etree.SubElement(pr, M + "sz", {"val": font.size})
    if font.color_indexed is not None:
        etree.SubElement(pr, M + "color", {"indexed": font.color_indexed})
    etree.SubElement(pr, M + "rFont", {"val": font.name})
    if font.charset is not None:
        etree.SubElement(pr, M + "charset", {"val": font.charset})
    return etree.SubElement(r, M + "t")


def _run_template(font: NoteFont, bold: bool) -> etree._Element:
    """A comment text run ``<r><rPr>…</rPr><t/></r>`` in the main namespace (prefix-less)."""
    r = etree.Element(M + "r", nsmap={None: NS_MAIN})
    _fill_run(r, font, bold)
    return r


def strip_note_runs(comment: etree._Element, scheme: FlagScheme) -> bool:
    """Remove the runs ``scheme`` appended to someone else's note; True if anything changed.

    Our runs come in pairs: a bold header (e.g. "perfxl 错误：") and the note text. A note that was
    plain text before (``<text><t>…</t></text>``) and is a single plain run again is unwrapped.
    """
    text = child(comment, "text")
    if text is None:
        return False
    runs = list(text.iterchildren(M + "r"))
    changed = False
    i = 0
    while i < len(runs):
        if scheme.header_re.match(runs[i].findtext(M + "t") or ""):
            text.remove(runs[i])
            if i + 1 < len(runs):
                text.remove(runs[i + 1])
            changed = True
            i += 2
        else:
            i += 1
    if not changed:
        changed = cut_note_text(text, scheme)
    left = list(text.iterchildren(M + "r"))
    if changed and len(left) == 1 and child(left[0], "rPr") is None and child(text, "t") is None:
        t = child(left[0], "t")
        if t is not None:
            left[0].addprevious(t)
            text.remove(left[0])
    return changed


def cut_note_text(text: etree._Element, scheme: FlagScheme) -> bool:
    """Marks added in Excel through an add-in are plain text ("…\n<header>\n…"): cut there."""
    ts = [t for t in text.iter(M + "t") if t.getparent() is text or local(t.getparent()) == "r"]
    full = "".join(t.text or "" for t in ts)
    m = scheme.text_mark_re.search(full)
    if m is None:
        return False
    cut, pos = m.start(), 0
    for t in ts:
        n = len(t.text or "")
        if pos + n <= cut:
            pos += n
            continue
        keep = (t.text or "")[: max(0, cut - pos)]
        pos += n
        holder = t.getparent() if t.getparent() is not text else t
        if keep:
            t.text = keep
        else:
            text.remove(holder)
    return True


def parse_vml(pkg: Package, part: str) -> etree._Element:
    """A VML part's tree, also when old Excel versions left unclosed ``<br>`` tags in it."""
    real = pkg.name(part)
    if real is None:
        raise WorkbookError(f"工作簿缺少部件 {part}，文件可能已损坏")
    if real in pkg.trees:
        return pkg.trees[real]
    raw = pkg.read(real)
    try:
        return pkg.xml(real)
    except WorkbookError:
        # Old Excel versions wrote unclosed <br> tags into VML.
        fixed = re.sub(rb"<br\s*>", b"<br/>", raw)
        try:
            root = etree.fromstring(fixed, PARSER)
        except etree.XMLSyntaxError:
            root = etree.fromstring(fixed, etree.XMLParser(recover=True, resolve_entities=False, no_network=True))
        pkg.trees[real] = root
        pkg.decl[real] = declaration(raw)
        return root


