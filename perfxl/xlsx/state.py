"""What flagging added to a workbook, kept in a custom XML part so that clearing restores it."""
from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree


@dataclass
class SheetMarkState:
    comments_created: bool = False
    vml_created: bool = False
    shapetype_added: bool = False


@dataclass
class FormatRecord:
    """Cell formats appended to styles.xml: per list (fonts, fills, cellXfs) its length and
    ``count`` before, and how many were appended; ``ids``: format key → xf index."""

    bases: dict[str, int] = field(default_factory=dict)
    counts: dict[str, str | None] = field(default_factory=dict)
    added: dict[str, int] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)


@dataclass
class MarkState:
    dxf_base: int | None = None
    dxf_count_attr: str | None = None
    dxfs_created: bool = False
    dxf_ids: dict[str, int] = field(default_factory=dict)
    vml_default_added: bool = False
    sheets: dict[str, SheetMarkState] = field(default_factory=dict)  # by sheet name (stable across saves)
    formats: FormatRecord = field(default_factory=FormatRecord)

    def empty(self) -> bool:
        return not self.dxf_ids and not self.sheets and not self.vml_default_added and not self.formats.ids


def load_state(root: etree._Element, ns: str) -> MarkState:
    S = f"{{{ns}}}"
    st = MarkState()
    sty = root.find(S + "styles")
    if sty is not None:
        if sty.get("dxfBase") is not None:
            st.dxf_base = int(sty.get("dxfBase"))
        st.dxf_count_attr = sty.get("dxfCount")
        st.dxfs_created = sty.get("dxfsCreated") == "1"
        for d in sty.iterchildren(S + "dxf"):
            st.dxf_ids[d.get("severity")] = int(d.get("id"))
    fm = root.find(S + "formats")
    if fm is not None:
        rec = st.formats
        for lst in fm.iterchildren(S + "list"):
            name = lst.get("name")
            rec.bases[name] = int(lst.get("base"))
            rec.counts[name] = lst.get("count")
            rec.added[name] = int(lst.get("added"))
        for xf in fm.iterchildren(S + "xf"):
            rec.ids[xf.get("key")] = int(xf.get("id"))
    ct = root.find(S + "contentTypes")
    if ct is not None:
        st.vml_default_added = ct.get("vmlDefaultAdded") == "1"
    for sh in root.iterchildren(S + "sheet"):
        st.sheets[sh.get("name")] = SheetMarkState(
            comments_created=sh.get("commentsCreated") == "1",
            vml_created=sh.get("vmlCreated") == "1",
            shapetype_added=sh.get("shapetypeAdded") == "1",
        )
    return st


def dump_state(st: MarkState, ns: str) -> etree._Element:
    S = f"{{{ns}}}"
    root = etree.Element(S + "marks", {"version": "1"}, nsmap={None: ns})
    if st.dxf_ids:
        sty = etree.SubElement(root, S + "styles", {"dxfBase": str(st.dxf_base), "dxfsCreated": "1" if st.dxfs_created else "0"})
        if st.dxf_count_attr is not None:
            sty.set("dxfCount", st.dxf_count_attr)
        for code, i in st.dxf_ids.items():
            etree.SubElement(sty, S + "dxf", {"severity": code, "id": str(i)})
    if st.formats.ids:
        fm = etree.SubElement(root, S + "formats")
        rec = st.formats
        for name, n in rec.added.items():
            lst = etree.SubElement(fm, S + "list", {"name": name, "base": str(rec.bases[name]), "added": str(n)})
            if rec.counts.get(name) is not None:
                lst.set("count", rec.counts[name])
        for key, i in rec.ids.items():
            etree.SubElement(fm, S + "xf", {"key": key, "id": str(i)})
    if st.vml_default_added:
        etree.SubElement(root, S + "contentTypes", {"vmlDefaultAdded": "1"})
    for name, sst in st.sheets.items():
        etree.SubElement(
            root,
            S + "sheet",
            {
                "name": name,
                "commentsCreated": "1" if sst.comments_created else "0",
                "vmlCreated": "1" if sst.vml_created else "0",
                "shapetypeAdded": "1" if sst.shapetype_added else "0",
            },
        )
    return root
