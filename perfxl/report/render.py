"""Context + Word template → report bytes (the only module that imports docxtpl).

Templates may come from a bureau (``--template``), so rendering is sandboxed: a
:class:`jinja2.sandbox.SandboxedEnvironment` with ``autoescape=True`` and strict undefined
values.  Clerk text therefore comes out literally (``&``, ``<``, ``{{ }}`` included) and a
template cannot reach Python internals (``{{ ''.__class__.__mro__ }}`` → :class:`TemplateError`).
Before anything is rendered, the template's variables are checked against the context keys, so a
template that asks for names the data does not have fails with one Chinese sentence naming them.
"""
from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any, Mapping

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from ..errors import TemplateError
from .docx_template import DEFAULT_PATH, MERGE_MARK

CHART_WIDTH_MM = 150


def environment() -> SandboxedEnvironment:
    """The Jinja environment every template is rendered in."""
    return SandboxedEnvironment(autoescape=True, undefined=jinja2.StrictUndefined)


def _check_file(path: Path) -> None:
    name = path.name
    if not path.exists():
        raise TemplateError(f"模板文件“{name}”不存在。")
    if path.is_dir():
        raise TemplateError(f"模板“{name}”是一个文件夹，请指定 .docx 文件。")
    try:
        with zipfile.ZipFile(path) as z:
            if "word/document.xml" not in z.namelist():
                raise TemplateError(f"模板“{name}”不是 Word 文档（.docx）。")
    except zipfile.BadZipFile:
        raise TemplateError(f"模板“{name}”不是 Word .docx 文件（可能是 .doc 旧格式或已损坏），"
                            "请在 Word/WPS 中另存为 .docx 后再试。") from None


def undeclared(template: str | Path | None, context: Mapping[str, Any]) -> set[str]:
    """Names the template uses that ``context`` does not provide."""
    from docxtpl import DocxTemplate

    path = Path(template) if template else DEFAULT_PATH
    _check_file(path)
    try:
        return set(DocxTemplate(str(path)).get_undeclared_template_variables(environment(), dict(context)))
    except jinja2.TemplateSyntaxError as e:
        raise TemplateError(f"模板“{path.name}”中的标记有语法错误：{e.message}。"
                            "请检查 {{ }} 和 {% %} 是否成对、拼写是否正确。") from None


def render_bytes(context: Mapping[str, Any], template: str | Path | None = None,
                 images: Mapping[str, bytes] | None = None) -> bytes:
    """Render ``context`` into the template (the default one when ``template`` is None).

    ``images``: context key → PNG bytes, placed as inline pictures 150 mm wide.
    Raises :class:`TemplateError` (Chinese, naming the template) for a missing or broken
    template, names the data lacks, unsafe expressions and any other rendering failure.
    """
    from docx.shared import Mm
    from docxtpl import DocxTemplate, InlineImage
    from lxml import etree

    path = Path(template) if template else DEFAULT_PATH
    name = path.name
    missing = undeclared(path, context)
    if missing:
        raise TemplateError(f"模板“{name}”使用了报告数据中没有的名称：{'、'.join(sorted(missing))}。"
                            f"请改正模板中的拼写，或删除这些标记。")
    tpl = DocxTemplate(str(path))
    ctx = dict(context)
    for key, png in (images or {}).items():
        ctx[key] = InlineImage(tpl, io.BytesIO(png), width=Mm(CHART_WIDTH_MM))
    try:
        tpl.render(ctx, environment(), autoescape=True)
    except jinja2.exceptions.SecurityError as e:
        raise TemplateError(f"模板“{name}”包含不允许的表达式（{e}），已拒绝生成报告。") from None
    except jinja2.UndefinedError as e:
        raise TemplateError(f"模板“{name}”引用了不存在的数据（{e.message}）。") from None
    except jinja2.TemplateSyntaxError as e:
        raise TemplateError(f"模板“{name}”中的标记有语法错误：{e.message}。") from None
    except jinja2.TemplateError as e:
        raise TemplateError(f"模板“{name}”无法生成报告：{e}。") from None
    except etree.XMLSyntaxError as e:
        raise TemplateError(f"模板“{name}”生成的内容不是有效的 Word 文档（{e}），"
                            "请检查模板标记是否放在了表格或段落的正确位置。") from None
    merge_marked_tables(tpl.docx)
    buf = io.BytesIO()
    tpl.save(buf)
    return buf.getvalue()


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_TCPR_BEFORE_VMERGE = {f"{_W}cnfStyle", f"{_W}tcW", f"{_W}gridSpan", f"{_W}hMerge"}


def merge_marked_tables(document) -> int:
    """Merge, in every table whose description (alt text) holds ``perfxl:merge-first-column``,
    each empty first-column cell into the non-empty cell above it — so 表2's 指标类型 shows once
    per group, as one tall cell.  Returns the number of cells merged."""
    merged = 0
    for tbl in document.element.body.iter(f"{_W}tbl"):
        desc = tbl.find(f"{_W}tblPr/{_W}tblDescription")
        if desc is None or MERGE_MARK not in (desc.get(f"{_W}val") or ""):
            continue
        start = None
        for tr in tbl.findall(f"{_W}tr"):
            if tr.find(f"{_W}trPr/{_W}tblHeader") is not None:
                start = None
                continue
            tc = tr.find(f"{_W}tc")
            if tc is None:
                continue
            text = "".join(t.text or "" for t in tc.iter(f"{_W}t")).strip()
            if text or start is None:
                start = tc
                continue
            _set_vmerge(start, "restart")
            _set_vmerge(tc, None)
            merged += 1
    return merged


def _set_vmerge(tc, val: str | None) -> None:
    from lxml import etree

    tcPr = tc.find(f"{_W}tcPr")
    if tcPr is None:
        tcPr = etree.SubElement(tc, f"{_W}tcPr")
        tc.insert(0, tcPr)
    vm = tcPr.find(f"{_W}vMerge")
    if vm is None:
        vm = etree.Element(f"{_W}vMerge")
        idx = 0
        for i, child in enumerate(tcPr):
            if child.tag in _TCPR_BEFORE_VMERGE:
                idx = i + 1
        tcPr.insert(idx, vm)
    if val:
        vm.set(f"{_W}val", val)
    elif f"{_W}val" in vm.attrib:
        del vm.attrib[f"{_W}val"]
