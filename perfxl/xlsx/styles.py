"""styles.xml: the part itself (added when a workbook has none) and differential formats."""
from __future__ import annotations

from lxml import etree

from .ns import CT_STYLES, NS_MAIN, RT_STYLES, M
from .package import Package

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


def styles_part(pkg: Package, wb) -> tuple[str, object]:
    """(part name, root) of the workbook's styles, created if the workbook has none.

    The styles part is optional (minimal writers leave it out, and Excel opens such a file);
    fills need one, so the smallest one Excel accepts is added.
    """
    rels = wb.related(RT_STYLES)
    if rels and pkg.exists(rels[0].target):
        return rels[0].target, pkg.xml(rels[0].target)
    part = rels[0].target if rels else "xl/styles.xml"
    root = etree.fromstring(_MINIMAL_STYLES)
    pkg.create_xml(part, root)
    pkg.set_override(part, CT_STYLES)
    if not rels:
        pkg.add_rel(wb.part, RT_STYLES, part)
    return part, root


def solid_fill_dxf(rgb: str):
    """A differential format that is a solid ``rgb`` (ARGB) fill and nothing else."""
    dxf = etree.Element(M + "dxf", nsmap={None: NS_MAIN})
    pf = etree.SubElement(etree.SubElement(dxf, M + "fill"), M + "patternFill", {"patternType": "solid"})
    etree.SubElement(pf, M + "fgColor", {"rgb": rgb})
    etree.SubElement(pf, M + "bgColor", {"rgb": rgb})
    return dxf
