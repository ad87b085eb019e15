"""styles.xml: the part itself (added when a workbook has none), differential formats, and cell
formats appended (and taken out again)."""
from __future__ import annotations

from lxml import etree

from .ns import CT_STYLES, NS_MAIN, RT_STYLES, STYLE_ORDER, M
from .ops import CellFormat
from .package import Package
from .state import FormatRecord
from .workbook import Workbook
from .xmlutil import child, graft, insert_ordered

# The smallest styles part Excel accepts.
_MINIMAL_STYLES = (
    f'<styleSheet xmlns="{NS_MAIN}">'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
).encode()


def styles_part(pkg: Package, wb: Workbook) -> tuple[str, etree._Element]:
    """(part name, root) of the workbook's styles, created if the workbook has none.

    The styles part is optional (minimal writers leave it out, and Excel opens such a file);
    fills need one, so the smallest one Excel accepts is added.
    """
    rels = wb.related(RT_STYLES)
    if rels and pkg.exists(rels[0].part):
        return rels[0].part, pkg.xml(rels[0].part)
    part = rels[0].part if rels else "xl/styles.xml"
    root = etree.fromstring(_MINIMAL_STYLES)
    pkg.create_xml(part, root)
    pkg.set_override(part, CT_STYLES)
    if not rels:
        pkg.add_rel(wb.part, RT_STYLES, part)
    return part, root


def solid_fill_dxf(rgb: str) -> etree._Element:
    """A differential format that is a solid ``rgb`` (ARGB) fill and nothing else."""
    dxf = etree.Element(M + "dxf", nsmap={None: NS_MAIN})
    pf = etree.SubElement(etree.SubElement(dxf, M + "fill"), M + "patternFill", {"patternType": "solid"})
    etree.SubElement(pf, M + "fgColor", {"rgb": rgb})
    etree.SubElement(pf, M + "bgColor", {"rgb": rgb})
    return dxf


_LISTS = ("fonts", "fills", "cellXfs")


def add_format(root: etree._Element, fmt: CellFormat, rec: FormatRecord) -> int:
    """Index in ``<cellXfs>`` of an xf with format ``fmt`` (a :class:`~.ops.CellFormat`), appended
    (with its font and fill) unless ``rec`` (a :class:`~.state.FormatRecord`) already has it.

    What is appended is recorded in ``rec`` so that :func:`remove_formats` can take it out again.
    """
    key = fmt.key()
    if key in rec.ids:
        return rec.ids[key]
    lists = {}
    for name in _LISTS:
        el = child(root, name)
        if el is None:
            el = insert_ordered(root, name, STYLE_ORDER, {"count": "0"})
        lists[name] = el
        if name not in rec.bases:
            rec.bases[name] = len(el)
            rec.counts[name] = el.get("count")

    def append(name: str, el: etree._Element) -> int:
        lst = lists[name]
        graft(lst, el)
        lst.set("count", str(len(lst)))
        rec.added[name] = rec.added.get(name, 0) + 1
        return len(lst) - 1

    font_id = fill_id = 0
    if fmt.bold:
        base = lists["fonts"][0] if len(lists["fonts"]) else etree.Element(M + "font")
        font = etree.Element(M + "font", nsmap={None: NS_MAIN})
        etree.SubElement(font, M + "b")
        for ch in base:
            if isinstance(ch.tag, str) and ch.tag != M + "b":
                graft(font, ch)
        font_id = append("fonts", font)
    if fmt.fill:
        fill = etree.Element(M + "fill", nsmap={None: NS_MAIN})
        pf = etree.SubElement(fill, M + "patternFill", {"patternType": "solid"})
        etree.SubElement(pf, M + "fgColor", {"rgb": fmt.fill})
        etree.SubElement(pf, M + "bgColor", {"indexed": "64"})
        fill_id = append("fills", fill)
    xf = etree.Element(M + "xf", {"numFmtId": "0", "fontId": str(font_id), "fillId": str(fill_id), "borderId": "0",
                                  "xfId": "0"}, nsmap={None: NS_MAIN})
    if fmt.bold:
        xf.set("applyFont", "1")
    if fmt.fill:
        xf.set("applyFill", "1")
    if fmt.wrap or fmt.vertical:
        xf.set("applyAlignment", "1")
        al = etree.SubElement(xf, M + "alignment")
        if fmt.vertical:
            al.set("vertical", fmt.vertical)
        if fmt.wrap:
            al.set("wrapText", "1")
    rec.ids[key] = append("cellXfs", xf)
    return rec.ids[key]


def remove_formats(root: etree._Element, rec: FormatRecord) -> bool:
    """Take out what :func:`add_format` appended, if the lists still end with exactly that many
    entries; True when it did."""
    lists: dict[str, etree._Element] = {}
    for name, n in rec.added.items():
        el = child(root, name) if name in _LISTS else None
        if el is None or len(el) != rec.bases[name] + n:
            return False
        lists[name] = el
    for name, n in rec.added.items():
        el = lists[name]
        for item in list(el)[rec.bases[name]:]:
            el.remove(item)
        if rec.counts.get(name) is None:
            el.attrib.pop("count", None)
        else:
            el.set("count", rec.counts[name])
    return True
