"""The draft gate: a report made from a workbook with 错误 findings can never look final.

:func:`mark_draft` takes a rendered report (any template, the default or a bureau's) and
returns it marked as a draft: every header of every section (first page, odd and even pages)
carries :data:`DRAFT_MARK` in red, the title gains "（草稿）", and an appendix lists each
error with its ``sheet!cell`` and message.  A report is final only when the workbook has no
错误 finding (:func:`is_draft`): no option turns a draft into a final report, so a sealed
report cannot carry a figure that validation rejected.
"""
from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any, Iterable

if TYPE_CHECKING:
    from docx.document import Document as DocxDocument
    from docx.section import _Header

DRAFT_MARK = "草稿 — 校验未通过"
APPENDIX_TITLE = "附：校验未通过的错误清单"
_RED = "C00000"


def errors_of(findings: Iterable[Any] | None) -> list[Any]:
    """The findings of severity 错误, in their given order."""
    from ..findings import Severity

    return [f for f in (findings or ()) if getattr(f, "severity", None) == Severity.ERROR]


def is_draft(findings: Iterable[Any] | None) -> bool:
    """A report from these findings is a draft: at least one 错误."""
    return bool(errors_of(findings))


def _header_text(n: int) -> str:
    return f"{DRAFT_MARK}（工作簿有 {n} 个错误，见文末清单；改正后重新生成才是正式报告，不得盖章报送）"


def _fill_header(header: _Header, text: str) -> None:
    """Put ``text`` (red, bold, centred) as the first paragraph of ``header``; what the
    template had there (e.g. its own header text) stays below it."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt, RGBColor

    header.is_linked_to_previous = False
    paras = header.paragraphs
    p = paras[0].insert_paragraph_before() if paras and paras[0].text.strip() else (
        paras[0] if paras else header.add_paragraph())
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = p.add_run(text)
    run.bold = True
    run.font.size = Pt(12)
    run.font.color.rgb = RGBColor.from_string(_RED)
    run.font.name = "黑体"
    rpr = run._r.get_or_add_rPr()
    from docx.oxml.ns import qn

    fonts = rpr.find(qn("w:rFonts"))
    if fonts is not None:
        fonts.set(qn("w:eastAsia"), "黑体")


def _appendix(doc: DocxDocument, errors: list[Any]) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt, RGBColor

    brk = doc.add_paragraph()
    brk.add_run().add_break(WD_BREAK.PAGE)
    title = doc.add_paragraph()
    r = title.add_run(APPENDIX_TITLE)
    r.bold = True
    r.font.color.rgb = RGBColor.from_string(_RED)
    doc.add_paragraph(f"本报告由有 {len(errors)} 个错误的工作簿生成，仅供核对，不是正式报告。"
                      "请在工作簿中逐条改正下列错误，校验通过后重新生成报告。")
    table = doc.add_table(rows=1, cols=3)
    try:
        table.style = "Table Grid"
    except (KeyError, ValueError):  # a bureau template without the style: plain table
        pass
    for cell, text in zip(table.rows[0].cells, ("序号", "位置", "问题")):
        cell.text = text
    for i, f in enumerate(errors, 1):
        cells = table.add_row().cells
        cells[0].text = str(i)
        cells[1].text = f.ref
        cells[2].text = f.message + (f" 建议：{f.hint}" if getattr(f, "hint", "") else "")
    table.autofit = False
    widths = (Mm(12), Mm(36), Mm(108))  # 序号, 位置, 问题: the text block is 156 mm wide
    for col, width in zip(table.columns, widths):
        col.width = width  # the grid (what LibreOffice and WPS lay out by)
    for row in table.rows:
        for cell, width in zip(row.cells, widths):
            cell.width = width
            for p in cell.paragraphs:
                fmt = p.paragraph_format  # the body style indents and spaces for prose, not cells
                fmt.first_line_indent = Pt(0)
                fmt.left_indent = Pt(0)
                fmt.line_spacing = 1.0
                fmt.space_before = fmt.space_after = Pt(0)
                p.alignment = WD_ALIGN_PARAGRAPH.LEFT
                ppr = p._p.get_or_add_pPr()  # off the page's line grid: single-spaced cells
                snap = OxmlElement("w:snapToGrid")
                snap.set(qn("w:val"), "0")
                ppr.insert(0, snap)
                for run in p.runs:
                    run.font.size = Pt(10.5)


def mark_draft(docx: bytes, findings: Iterable[Any]) -> bytes:
    """``docx`` marked as a draft for the 错误 among ``findings`` (unchanged when none)."""
    errors = errors_of(findings)
    if not errors:
        return docx
    from docx import Document

    doc = Document(io.BytesIO(docx))
    text = _header_text(len(errors))
    for section in doc.sections:
        _fill_header(section.header, text)
        _fill_header(section.even_page_header, text)
        if section.different_first_page_header_footer:
            _fill_header(section.first_page_header, text)
    props = doc.core_properties  # core properties hold at most 255 characters each
    props.title = f"（草稿）{props.title or ''}"[:255]
    props.keywords = f"{DRAFT_MARK}；{props.keywords or ''}".rstrip("；")[:255]
    _appendix(doc, errors)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def draft_state(docx: bytes) -> dict:
    """What a reader sees of the gate in ``docx`` (tests and the server read it back):
    ``{"draft": bool, "headers": [header texts per section], "appendix": [(位置, 问题), …]}``."""
    from docx import Document

    doc = Document(io.BytesIO(docx))
    headers = []
    for s in doc.sections:
        parts = [s.header]
        if doc.settings.odd_and_even_pages_header_footer:
            parts.append(s.even_page_header)
        if s.different_first_page_header_footer:
            parts.append(s.first_page_header)
        headers.append(["\n".join(p.text for p in part.paragraphs) for part in parts])
    rows: list[tuple[str, str]] = []
    seen = False
    for block in doc.element.body.iterchildren():
        tag = block.tag.rsplit("}", 1)[-1]
        if tag == "p" and APPENDIX_TITLE in "".join(block.itertext()):
            seen = True
        elif seen and tag == "tbl":
            from docx.table import Table

            t = Table(block, doc)
            rows = [(r.cells[1].text, r.cells[2].text) for r in t.rows[1:]]
            break
    marked = bool(headers) and all(DRAFT_MARK in h for hs in headers for h in hs)
    return {"draft": marked, "headers": headers, "appendix": rows}
