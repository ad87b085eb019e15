"""Build the default report template (``templates/default.docx``) in code, with python-docx.

The template is an ordinary Word document a bureau may restyle in Word or WPS and pass back
with ``--template``: styles, page setup and footers live here; the report's words live in
:mod:`.context` and reach the document through docxtpl tags (``{{ … }}``, ``{%p … %}``,
``{%tr … %}``).

Layout follows GB/T 9704-2012 (党政机关公文格式): A4, margins 37/35/28/26 mm (text block 156 ×
225 mm), 22 lines of 28 characters (line grid 579 twips, −0.25 pt character spacing), body
仿宋_GB2312 三号, title 方正小标宋简体 二号, 一、 黑体, （一） 楷体_GB2312, 1. and （1） 仿宋,
page numbers "— N —" 宋体 四号 (odd pages right, even pages left, one character in).  East
Asian font names are written to ``w:eastAsia`` in docDefaults, every style and every run, theme
font attributes are removed, and the font table carries ``w:altName`` fallbacks (仿宋_GB2312 →
仿宋 …) for machines without the GB2312 faces.

``python -m perfxl.report.docx_template`` rewrites the committed file; a test fails when the
committed file is not what :func:`build` produces.
"""
from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from docx import Document
from docx.enum.section import WD_SECTION
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm
from docx.styles.style import ParagraphStyle

from ..fileio import normalize_zip

if TYPE_CHECKING:
    from docx.document import Document as DocxDocument
    from docx.oxml.xmlchemy import BaseOxmlElement
    from docx.section import Section
    from docx.styles.style import BaseStyle
    from docx.table import Table, _Cell, _Row
    from docx.text.paragraph import Paragraph
    from docx.text.run import Run

DEFAULT_PATH = Path(__file__).resolve().parent / "templates" / "default.docx"

FANGSONG = "仿宋_GB2312"
XIAOBIAOSONG = "方正小标宋简体"
HEITI = "黑体"
KAITI = "楷体_GB2312"
SONGTI = "宋体"

BODY_PT = 16          # 三号
TITLE_PT = 22         # 二号
PAGE_NO_PT = 14       # 四号
CAPTION_PT = 14       # 四号
TABLE_PT = 12         # 小四
TABLE_SMALL_PT = 10.5  # 五号
LINE_PITCH = 579      # twips: 225 mm / 22 lines
TABLE_LINE = 288      # 1.2 lines in table cells (CJK faces need air between lines)
CHAR_SPACING = -5     # twentieths of a point: −0.25 pt → 28 characters on 156 mm
TEXT_WIDTH_MM = 156
MERGE_MARK = "perfxl:merge-first-column"  # table description: merge equal first-column cells

# font → (altName for Word's fallback, charset, family, panose)
FONT_TABLE = {
    FANGSONG: ("仿宋", "86", "modern", "02010609030101010101"),
    KAITI: ("楷体", "86", "modern", "02010609030101010101"),
    XIAOBIAOSONG: ("宋体", "86", "auto", "02000000000000000000"),
    HEITI: ("SimHei", "86", "modern", "02010609060101010101"),
    SONGTI: ("SimSun", "86", "auto", "02010600030101010101"),
}

_FIXED_DATE = "2024-01-01T00:00:00Z"


# ---------------------------------------------------------------- low-level XML helpers

def _el(tag: str, **attrs: str) -> BaseOxmlElement:
    e = OxmlElement(tag)
    for k, v in attrs.items():
        e.set(qn(k), str(v))
    return e


def _child(parent: BaseOxmlElement, tag: str, **attrs: str) -> BaseOxmlElement:
    """The first ``tag`` child of ``parent`` (created and appended when absent), attrs set."""
    e = parent.find(qn(tag))
    if e is None:
        e = _el(tag)
        _insert_ordered(parent, e)
    for k, v in attrs.items():
        e.set(qn(k), str(v))
    return e


# Element order inside rPr / pPr matters to Word (schema sequence); keep the known order.
_RPR_ORDER = ["w:rStyle", "w:rFonts", "w:b", "w:bCs", "w:i", "w:iCs", "w:caps", "w:smallCaps", "w:strike",
              "w:dstrike", "w:outline", "w:shadow", "w:emboss", "w:imprint", "w:noProof", "w:snapToGrid",
              "w:vanish", "w:webHidden", "w:color", "w:spacing", "w:w", "w:kern", "w:position", "w:sz",
              "w:szCs", "w:highlight", "w:u", "w:effect", "w:bdr", "w:shd", "w:fitText", "w:vertAlign",
              "w:rtl", "w:cs", "w:em", "w:lang", "w:eastAsianLayout", "w:specVanish", "w:oMath"]
_PPR_ORDER = ["w:pStyle", "w:keepNext", "w:keepLines", "w:pageBreakBefore", "w:framePr", "w:widowControl",
              "w:numPr", "w:suppressLineNumbers", "w:pBdr", "w:shd", "w:tabs", "w:suppressAutoHyphens",
              "w:kinsoku", "w:wordWrap", "w:overflowPunct", "w:topLinePunct", "w:autoSpaceDE", "w:autoSpaceDN",
              "w:bidi", "w:adjustRightInd", "w:snapToGrid", "w:spacing", "w:ind", "w:contextualSpacing",
              "w:mirrorIndents", "w:suppressOverlap", "w:jc", "w:textDirection", "w:textAlignment",
              "w:textboxTightWrap", "w:outlineLvl", "w:divId", "w:cnfStyle", "w:rPr", "w:sectPr", "w:pPrChange"]
_ORDERS = {qn("w:rPr"): [qn(t) for t in _RPR_ORDER], qn("w:pPr"): [qn(t) for t in _PPR_ORDER]}


def _insert_ordered(parent: BaseOxmlElement, e: BaseOxmlElement) -> None:
    order = _ORDERS.get(parent.tag)
    if order is None or e.tag not in order:
        parent.append(e)
        return
    rank = order.index(e.tag)
    for i, existing in enumerate(parent):
        if existing.tag in order and order.index(existing.tag) > rank:
            parent.insert(i, e)
            return
    parent.append(e)


def set_fonts(rpr: BaseOxmlElement, face: str) -> None:
    """Every script of ``rpr`` in ``face`` (w:eastAsia included), theme attributes removed."""
    old = rpr.find(qn("w:rFonts"))
    if old is not None:
        rpr.remove(old)
    _insert_ordered(rpr, _el("w:rFonts", **{"w:ascii": face, "w:hAnsi": face, "w:eastAsia": face,
                                             "w:cs": face, "w:hint": "eastAsia"}))


def run_props(rpr: BaseOxmlElement, face: str, size: float | None = None, bold: bool | None = None,
              spacing: int | None = None) -> None:
    set_fonts(rpr, face)
    for tag in ("w:b", "w:bCs"):
        e = rpr.find(qn(tag))
        if e is not None:
            rpr.remove(e)
        if bold is not None:
            _child(rpr, tag, **({} if bold else {"w:val": "0"}))
    for tag in ("w:i", "w:iCs", "w:color"):
        e = rpr.find(qn(tag))
        if e is not None:
            rpr.remove(e)
    if spacing is not None:
        _child(rpr, "w:spacing", **{"w:val": str(spacing)})
    if size is not None:
        _child(rpr, "w:sz", **{"w:val": str(int(size * 2))})
        _child(rpr, "w:szCs", **{"w:val": str(int(size * 2))})
    _child(rpr, "w:lang", **{"w:val": "en-US", "w:eastAsia": "zh-CN", "w:bidi": "ar-SA"})


def para_props(ppr: BaseOxmlElement, *, jc: str | None = None, first_chars: int | None = 200, left_chars: int | None = None,
               before: int = 0, after: int = 0, line: int = 240, snap: bool = True,
               keep_next: bool = False, outline: int | None = None) -> None:
    for tag in ("w:pBdr", "w:numPr", "w:contextualSpacing", "w:spacing", "w:ind", "w:outlineLvl"):
        e = ppr.find(qn(tag))
        if e is not None:
            ppr.remove(e)
    if keep_next:
        _child(ppr, "w:keepNext")
        _child(ppr, "w:keepLines")
    _child(ppr, "w:widowControl")
    if not snap:
        _child(ppr, "w:snapToGrid", **{"w:val": "0"})
    _child(ppr, "w:spacing", **{"w:before": str(before), "w:after": str(after), "w:line": str(line),
                                "w:lineRule": "auto"})
    # Explicit zeros: a style based on Normal would otherwise inherit its 2-character indent.
    first = first_chars or 0
    ind = {"w:firstLineChars": str(first), "w:firstLine": str(first // 100 * BODY_PT * 20)}
    if left_chars is not None:
        ind.update({"w:leftChars": str(left_chars), "w:left": str(left_chars // 100 * BODY_PT * 20)})
    _child(ppr, "w:ind", **ind)
    if jc:
        _child(ppr, "w:jc", **{"w:val": jc})
    if outline is not None:
        _child(ppr, "w:outlineLvl", **{"w:val": str(outline)})


# ---------------------------------------------------------------- styles

def _style(doc: DocxDocument, name: str, base: str | None = "Normal", kind: int = 1) -> BaseStyle:
    from docx.enum.style import WD_STYLE_TYPE

    try:
        st = doc.styles[name]
    except KeyError:
        st = doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH if kind == 1 else WD_STYLE_TYPE.CHARACTER)
    if base is not None and st.name != base:
        st.base_style = doc.styles[base]
    st.hidden = False
    st.quick_style = True
    st.element.get_or_add_pPr()
    st.element.get_or_add_rPr()
    return st


def _styles(doc: DocxDocument) -> None:
    styles = doc.styles.element
    # docDefaults: 仿宋_GB2312 三号, Chinese language, no spacing after paragraphs.
    rpr_default = styles.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    run_props(rpr_default, FANGSONG, BODY_PT)
    ppr_default = styles.find(qn("w:docDefaults")).find(qn("w:pPrDefault")).find(qn("w:pPr"))
    for e in list(ppr_default):
        ppr_default.remove(e)
    _child(ppr_default, "w:spacing", **{"w:after": "0", "w:line": "240", "w:lineRule": "auto"})

    # Every existing style: theme fonts out (they point East Asian text at a Japanese font).
    for rfonts in styles.iter(qn("w:rFonts")):
        for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
            if rfonts.get(qn(attr)) is not None:
                del rfonts.attrib[qn(attr)]
    for st in doc.styles:
        rpr = st.element.find(qn("w:rPr"))
        if rpr is not None and rpr.find(qn("w:rFonts")) is not None:
            set_fonts(rpr, FANGSONG)

    normal = _style(doc, "Normal", base=None)
    para_props(normal.element.pPr, jc="both")
    run_props(normal.element.rPr, FANGSONG, BODY_PT, spacing=CHAR_SPACING)

    for level, face in ((1, HEITI), (2, KAITI), (3, FANGSONG), (4, FANGSONG)):
        st = _style(doc, f"Heading {level}")
        if not isinstance(st, ParagraphStyle):  # kind 1: a paragraph style
            raise TypeError(f"{st.name} is not a paragraph style")
        st.next_paragraph_style = doc.styles["Normal"]
        para_props(st.element.pPr, jc="both", keep_next=True, outline=level - 1)
        run_props(st.element.rPr, face, BODY_PT, bold=False, spacing=CHAR_SPACING)
        for tag in ("w:color", "w:kern", "w:i"):
            e = st.element.rPr.find(qn(tag))
            if e is not None:
                st.element.rPr.remove(e)

    title = _style(doc, "Title")
    para_props(title.element.pPr, jc="center", first_chars=None, before=LINE_PITCH * 3, after=LINE_PITCH)
    run_props(title.element.rPr, XIAOBIAOSONG, TITLE_PT, bold=False, spacing=0)
    for tag in ("w:color", "w:kern"):
        e = title.element.rPr.find(qn(tag))
        if e is not None:
            title.element.rPr.remove(e)

    label = _style(doc, "附件标识")
    para_props(label.element.pPr, jc="left", first_chars=None)
    run_props(label.element.rPr, HEITI, BODY_PT)

    cover = _style(doc, "封面信息")
    para_props(cover.element.pPr, jc="left", first_chars=None, left_chars=400, line=360)
    run_props(cover.element.rPr, FANGSONG, BODY_PT)

    cap = _style(doc, "Caption")
    para_props(cap.element.pPr, jc="center", first_chars=None, keep_next=True)
    run_props(cap.element.rPr, HEITI, CAPTION_PT, bold=False, spacing=0)
    for tag in ("w:color",):
        e = cap.element.rPr.find(qn(tag))
        if e is not None:
            cap.element.rPr.remove(e)

    gap = _style(doc, "表后间隔")
    para_props(gap.element.pPr, first_chars=None, snap=False)
    run_props(gap.element.rPr, FANGSONG, 8, spacing=0)

    fig = _style(doc, "图片")
    para_props(fig.element.pPr, jc="center", first_chars=None, snap=False, keep_next=True)

    cell = _style(doc, "表格文字")
    para_props(cell.element.pPr, jc="both", first_chars=None, snap=False, line=TABLE_LINE)
    run_props(cell.element.rPr, FANGSONG, TABLE_PT, spacing=0)
    center = _style(doc, "表格居中", base="表格文字")
    para_props(center.element.pPr, jc="center", first_chars=None, snap=False, line=TABLE_LINE)
    head = _style(doc, "表头", base="表格居中")
    para_props(head.element.pPr, jc="center", first_chars=None, snap=False, keep_next=True, line=TABLE_LINE)
    run_props(head.element.rPr, HEITI, TABLE_PT, spacing=0)

    footer = _style(doc, "Footer")
    para_props(footer.element.pPr, first_chars=None, snap=False)
    run_props(footer.element.rPr, SONGTI, PAGE_NO_PT, spacing=0)
    for tag in ("w:tabs",):
        e = footer.element.pPr.find(qn(tag))
        if e is not None:
            footer.element.pPr.remove(e)


# ---------------------------------------------------------------- content helpers

_FACE_OF_STYLE = {"Normal": FANGSONG, "Heading 1": HEITI, "Heading 2": KAITI, "Heading 3": FANGSONG,
                  "Heading 4": FANGSONG, "Title": XIAOBIAOSONG, "附件标识": HEITI, "封面信息": FANGSONG,
                  "Caption": HEITI, "表格文字": FANGSONG, "表格居中": FANGSONG, "表头": HEITI,
                  "Footer": SONGTI, "图片": FANGSONG, "表后间隔": FANGSONG}


def _run(paragraph: Paragraph, text: str, style: str, *, size: float | None = None, bold: bool | None = None) -> Run:
    r = paragraph.add_run(text)
    run_props(r._r.get_or_add_rPr(), _FACE_OF_STYLE[style], size, bold)
    return r


def _p(container: DocxDocument | _Cell, text: str = "", style: str = "Normal", **kw: Any) -> Paragraph:
    p = container.add_paragraph(style=style)
    if text:
        _run(p, text, style, **kw)
    return p


def _tag(doc: DocxDocument, tag: str) -> None:
    """A paragraph holding only a docxtpl block tag ({%p … %}); docxtpl removes it."""
    _p(doc, tag)


def _table(doc: DocxDocument, widths_mm: Sequence[float], header: list[str] | None, *, description: str = "",
           size: float | None = None) -> Table:
    """A full-bordered table of fixed column widths; the header row repeats on every page."""
    rows = 1 if header else 0
    t = doc.add_table(rows=rows, cols=len(widths_mm))
    tbl = t._tbl
    tblPr = tbl.tblPr
    for e in list(tblPr):
        if e.tag in (qn("w:tblStyle"), qn("w:tblW"), qn("w:tblLook")):
            tblPr.remove(e)
    tblPr.append(_el("w:tblW", **{"w:w": str(round(sum(widths_mm) * 1440 / 25.4)), "w:type": "dxa"}))
    tblPr.append(_el("w:jc", **{"w:val": "center"}))
    borders = _el("w:tblBorders")
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        borders.append(_el(f"w:{side}", **{"w:val": "single", "w:sz": "4", "w:space": "0", "w:color": "000000"}))
    tblPr.append(borders)
    tblPr.append(_el("w:tblLayout", **{"w:type": "fixed"}))
    mar = _el("w:tblCellMar")
    mar.append(_el("w:top", **{"w:w": "28", "w:type": "dxa"}))
    mar.append(_el("w:left", **{"w:w": "85", "w:type": "dxa"}))
    mar.append(_el("w:bottom", **{"w:w": "28", "w:type": "dxa"}))
    mar.append(_el("w:right", **{"w:w": "85", "w:type": "dxa"}))
    tblPr.append(mar)
    if description:
        tblPr.append(_el("w:tblDescription", **{"w:val": description}))
    grid = tbl.tblGrid
    for gc, w in zip(grid.findall(qn("w:gridCol")), widths_mm):
        gc.set(qn("w:w"), str(round(w * 1440 / 25.4)))
    t.autofit = False
    for col, w in zip(t.columns, widths_mm):
        for c in col.cells:
            c.width = Mm(w)
    if header:
        row = t.rows[0]
        trPr = row._tr.get_or_add_trPr()
        trPr.append(_el("w:cantSplit"))
        trPr.append(_el("w:tblHeader"))
        for c, text in zip(row.cells, header):
            _cell_fill(c, text, "表头", size)
    return t


def _cell_fill(cell: _Cell, text: str, style: str, size: float | None = None) -> None:
    p = cell.paragraphs[0]
    p.style = style
    if text:
        _run(p, text, style, size=size)
    tcPr = cell._tc.get_or_add_tcPr()
    if tcPr.find(qn("w:vAlign")) is None:
        tcPr.append(_el("w:vAlign", **{"w:val": "center"}))


def _add_row(t: Table, texts: list[str], styles: list[str], size: float | None = None) -> _Row:
    row = t.add_row()
    row._tr.get_or_add_trPr().append(_el("w:cantSplit"))  # a short row never breaks across pages
    grid = t._tbl.tblGrid.findall(qn("w:gridCol"))
    for i, (c, text, st) in enumerate(zip(row.cells, texts, styles)):
        _cell_fill(c, text, st, size)
        c.width = int(grid[i].get(qn("w:w"))) * 635  # twips → EMU
    return row


def _loop_table(doc: DocxDocument, caption: str, widths: list[float], header: list[str], loop: str, cells: list[str],
                styles: list[str], *, size: float | None = None, description: str = "") -> None:
    _p(doc, caption, "Caption")
    t = _table(doc, widths, header, description=description, size=size)
    _add_row(t, [f"{{%tr for {loop} %}}"] + [""] * (len(widths) - 1), ["表格文字"] * len(widths), size)
    _add_row(t, cells, styles, size)
    _add_row(t, ["{%tr endfor %}"] + [""] * (len(widths) - 1), ["表格文字"] * len(widths), size)
    _p(doc, "", "表后间隔")


def _spending_table(doc: DocxDocument) -> None:
    _p(doc, "{{ captions.spending }}", "Caption")
    widths = [24, 16, 30, 34, 28, 24]
    t = _table(doc, widths, ["", "", "指标数", "已下达用款计划", "指标结余数", "支出进度"])
    head = t.rows[0].cells
    head[0].merge(head[1])
    for key, label in (("basic", "基本支出"), ("project", "项目支出"), ("total", "总预算")):
        s = f"spending.{key}"
        r1 = _add_row(t, [label, "金额", f"{{{{ {s}.quota }}}}", f"{{{{ {s}.issued }}}}", f"{{{{ {s}.balance }}}}",
                          f"{{{{ {s}.progress }}}}"], ["表格居中"] * 6)
        r2 = _add_row(t, ["", "占比", f"{{{{ {s}.quota_share }}}}", f"{{{{ {s}.issued_share }}}}",
                          f"{{{{ {s}.balance_share }}}}", "-"], ["表格居中"] * 6)
        r1.cells[0].merge(r2.cells[0])
    # the merged header cell keeps one empty paragraph
    _tidy_merged(t)
    _p(doc, "", "表后间隔")


def _tidy_merged(t: Table) -> None:
    """python-docx's merge() concatenates paragraphs; keep only the first of each cell."""
    for row in t.rows:
        for c in row.cells:
            ps = c._tc.findall(qn("w:p"))
            for extra in ps[1:]:
                if not "".join(extra.itertext()).strip():
                    c._tc.remove(extra)


# ---------------------------------------------------------------- sections, footers

def _page_setup(section: Section) -> None:
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    section.header_distance = Mm(15)
    section.footer_distance = Mm(23)  # puts the 一字线 about 7 mm below the text block
    sectPr = section._sectPr
    grid = sectPr.find(qn("w:docGrid"))
    if grid is None:
        grid = _el("w:docGrid")
        sectPr.append(grid)
    for a in list(grid.attrib):
        del grid.attrib[a]
    grid.set(qn("w:type"), "lines")
    grid.set(qn("w:linePitch"), str(LINE_PITCH))


def _page_number(paragraph: Paragraph, align: str) -> None:
    """'— N —' with a PAGE field; one character in from the outside edge."""
    paragraph.style = "Footer"
    ppr = paragraph._p.get_or_add_pPr()
    para_props(ppr, jc=align, first_chars=None, snap=False)
    ind_attr = ("w:rightChars", "w:right") if align == "right" else ("w:leftChars", "w:left")
    _child(ppr, "w:ind", **{ind_attr[0]: "100", ind_attr[1]: str(PAGE_NO_PT * 20)})

    def run(text: str | None = None, fld: str | None = None, instr: str | None = None) -> None:
        r = paragraph.add_run()
        run_props(r._r.get_or_add_rPr(), SONGTI, PAGE_NO_PT)
        if text is not None:
            r.text = text
        if fld is not None:
            r._r.append(_el("w:fldChar", **{"w:fldCharType": fld}))
        if instr is not None:
            it = _el("w:instrText")
            it.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
            it.text = instr
            r._r.append(it)

    run("— ")
    run(fld="begin")
    run(instr=" PAGE ")
    run(fld="separate")
    run("1")
    run(fld="end")
    run(" —")


def _footers(section: Section) -> None:
    section.footer.is_linked_to_previous = False
    section.even_page_footer.is_linked_to_previous = False
    _page_number(section.footer.paragraphs[0], "right")
    _page_number(section.even_page_footer.paragraphs[0], "left")
    pg = _el("w:pgNumType", **{"w:start": "1"})
    sectPr = section._sectPr
    cols = sectPr.find(qn("w:cols"))
    (cols.addprevious(pg) if cols is not None else sectPr.append(pg))


# ---------------------------------------------------------------- package parts

def _font_table(doc: DocxDocument) -> None:
    part = next(r.target_part for r in doc.part.rels.values() if r.reltype.endswith("/fontTable"))
    from lxml import etree

    root = etree.fromstring(part.blob)
    W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    for f in list(root):
        if f.get(f"{{{W}}}name") in ("ＭＳ 明朝", "ＭＳ ゴシック"):
            root.remove(f)
    for name, (alt, charset, family, panose) in FONT_TABLE.items():
        f = etree.SubElement(root, f"{{{W}}}font", {f"{{{W}}}name": name})
        etree.SubElement(f, f"{{{W}}}altName", {f"{{{W}}}val": alt})
        etree.SubElement(f, f"{{{W}}}panose1", {f"{{{W}}}val": panose})
        etree.SubElement(f, f"{{{W}}}charset", {f"{{{W}}}val": charset})
        etree.SubElement(f, f"{{{W}}}family", {f"{{{W}}}val": family})
        etree.SubElement(f, f"{{{W}}}pitch", {f"{{{W}}}val": "variable"})
    part._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _settings(doc: DocxDocument) -> None:
    doc.settings.odd_and_even_pages_header_footer = True
    s = doc.settings.element
    lang = s.find(qn("w:themeFontLang"))
    if lang is not None:
        lang.set(qn("w:eastAsia"), "zh-CN")
    rsids = s.find(qn("w:rsids"))
    if rsids is not None:
        s.remove(rsids)
    docid = s.find("{http://schemas.microsoft.com/office/word/2010/wordml}docId")
    if docid is not None:
        s.remove(docid)


def _drop_styles_with_effects(doc: DocxDocument) -> None:
    """Word 2010's stylesWithEffects part repeats the stock (theme-font) styles; drop it."""
    for rid, rel in list(doc.part.rels.items()):
        if rel.reltype.endswith("/stylesWithEffects"):
            doc.part.drop_rel(rid)


def _core(doc: DocxDocument) -> None:
    import datetime as dt

    cp = doc.core_properties
    cp.title = "{{ title }}"
    cp.subject = "部门整体支出绩效自评报告"
    cp.author = "{{ dept_name }}"
    cp.comments = "由 perfxl 生成；可在 Word/WPS 中修改样式后作为 --template 使用。"
    cp.keywords = "绩效自评"
    cp.last_modified_by = "perfxl"
    cp.revision = 1
    cp.created = cp.modified = dt.datetime(2024, 1, 1)


# ---------------------------------------------------------------- the document

def _cover(doc: DocxDocument) -> None:
    _p(doc, "{{ attachment_label }}", "附件标识")
    _p(doc, "{{ title }}", "Title")
    p = _p(doc, "部门名称：{{ dept_name }}（公章）", "封面信息")
    para_props(p._p.get_or_add_pPr(), jc="left", first_chars=None, left_chars=400, line=360, before=LINE_PITCH * 5)
    for label, var in (("单位负责人", "dept_head"), ("填报人", "preparer"), ("联系电话", "phone"),
                       ("填报日期", "report_date")):
        _p(doc, f"{label}：{{{{ {var} }}}}", "封面信息")


def _paras(doc: DocxDocument, loop_var: str, seq: str) -> None:
    _tag(doc, f"{{%p for {loop_var} in {seq} %}}")
    _p(doc, f"{{{{ {loop_var} }}}}")
    _tag(doc, "{%p endfor %}")


def _chart(doc: DocxDocument, var: str, caption: str) -> None:
    _tag(doc, f"{{%p if {var} %}}")
    _p(doc, f"{{{{ {var} }}}}", "图片")
    _p(doc, caption, "Caption")
    _tag(doc, "{%p endif %}")


def _body(doc: DocxDocument) -> None:
    _p(doc, "一、部门的基本情况", "Heading 1")
    _p(doc, "（一）部门整体概况", "Heading 2")
    _p(doc, "1.部门主要职责。", "Heading 3")
    _p(doc, "{{ duties_intro }}")
    _loop_table(doc, "{{ captions.duties }}", [18, 138], ["序号", "主要职责"], "d in duties",
                ["{{ d.no }}", "{{ d.text }}"], ["表格居中", "表格文字"])
    _p(doc, "2.纳入预算编制范围下属单位。", "Heading 3")
    _p(doc, "{{ units_text }}")
    _p(doc, "3.部门人员编制构成。", "Heading 3")
    _paras(doc, "p", "staff_paras")

    _p(doc, "（二）部门整体收支情况", "Heading 2")
    _p(doc, "1.部门整体收入。", "Heading 3")
    _p(doc, "{{ income_text }}")
    _p(doc, "2.部门整体支出情况。", "Heading 3")
    _paras(doc, "p", "expense_paras")
    _chart(doc, "chart_expense", "{{ captions.chart_expense }}")

    _p(doc, "（三）部门整体支出目标及任务", "Heading 2")
    _p(doc, "{{ goal_text }}")
    _loop_table(doc, "{{ captions.targets }}", [30, 82, 44], ["指标类型", "指标内容", "指标值"], "t in targets",
                ["{{ t.type }}", "{{ t.content }}", "{{ t.value }}"], ["表格居中", "表格文字", "表格居中"],
                description=MERGE_MARK)

    _p(doc, "二、自评结论", "Heading 1")
    _paras(doc, "p", "conclusion_paras")
    _chart(doc, "chart_scores", "{{ captions.chart_scores }}")

    _p(doc, "三、绩效分析", "Heading 1")
    _tag(doc, "{%p for g in groups %}")
    _p(doc, "{{ g.heading }}", "Heading 2")
    _tag(doc, "{%p for s in g.subgroups %}")
    _p(doc, "{{ s.heading }}", "Heading 3")
    _tag(doc, "{%p for i in s.indicators %}")
    _tag(doc, "{%p if i.heading %}")
    _p(doc, "{{ i.heading }}", "Heading 4")
    _tag(doc, "{%p endif %}")
    _paras(doc, "p", "i.before")
    _tag(doc, "{%p if i.table == 'spending' %}")
    _spending_table(doc)
    _tag(doc, "{%p endif %}")
    _tag(doc, "{%p if i.table == 'key_tasks' %}")
    _loop_table(doc, "{{ captions.key_tasks }}", [14, 42, 100], ["序号", "重点工作", "进展情况"], "k in key_tasks",
                ["{{ k.no }}", "{{ k.task }}", "{{ k.progress }}"], ["表格居中", "表格文字", "表格文字"],
                size=TABLE_SMALL_PT)
    _tag(doc, "{%p endif %}")
    _paras(doc, "p", "i.after")
    _tag(doc, "{%p endfor %}")
    _tag(doc, "{%p endfor %}")
    _tag(doc, "{%p endfor %}")
    _p(doc, "{{ awards_heading }}", "Heading 3")
    _tag(doc, "{%p if has_awards %}")
    _loop_table(doc, "{{ captions.awards }}", [11, 34, 22, 24, 46, 19],
                ["序号", "项目名称", "授奖机关", "授奖时间", "授奖依据", "自评得分"], "a in awards",
                ["{{ a.no }}", "{{ a.name }}", "{{ a.authority }}", "{{ a.date }}", "{{ a.basis }}", "{{ a.score }}"],
                ["表格居中", "表格文字", "表格居中", "表格居中", "表格文字", "表格居中"], size=TABLE_SMALL_PT)
    _tag(doc, "{%p endif %}")

    _tag(doc, "{%p for sec in narrative %}")
    _p(doc, "{{ sec.heading }}", "Heading 1")
    _tag(doc, "{%p for b in sec.blocks %}")
    _tag(doc, "{%p if b.heading %}")
    _p(doc, "{{ b.text }}", "Heading 3")
    _tag(doc, "{%p else %}")
    p = _p(doc, "{{ b.lead }}", bold=True)
    _run(p, "{{ b.text }}", "Normal")
    _tag(doc, "{%p endif %}")
    _tag(doc, "{%p endfor %}")
    _tag(doc, "{%p endfor %}")


def build_document() -> DocxDocument:
    """The default template as a python-docx Document."""
    doc = Document()
    _drop_styles_with_effects(doc)
    _styles(doc)
    _settings(doc)
    _font_table(doc)
    _core(doc)
    body = doc.element.body
    for e in list(body):
        if e.tag != qn("w:sectPr"):
            body.remove(e)
    _page_setup(doc.sections[0])
    _cover(doc)
    body_section = doc.add_section(WD_SECTION.NEW_PAGE)
    _page_setup(body_section)
    _footers(body_section)
    _body(doc)
    return doc


def build() -> bytes:
    """The default template's bytes (deterministic)."""
    buf = io.BytesIO()
    build_document().save(buf)
    return normalize_zip(buf.getvalue(), _FIXED_DATE)


def parts(data: bytes) -> dict[str, bytes]:
    """The package's parts by name (to compare templates independent of zip compression)."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: z.read(n) for n in sorted(z.namelist())}


def write(path: Path = DEFAULT_PATH) -> Path:
    """Rewrite the committed default template (``python -m perfxl.report.docx_template``)."""
    import os

    from ..fileio import atomic_write_bytes

    atomic_write_bytes(path, build())
    os.chmod(path, 0o644)  # a package data file, readable by all (mkstemp creates 0600)
    return path


if __name__ == "__main__":  # pragma: no cover
    print(write())
