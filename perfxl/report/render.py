"""Context + Word template → report bytes (the only module that imports docxtpl).

Templates may come from a bureau (``--template``), so rendering is sandboxed: a
:class:`jinja2.sandbox.ImmutableSandboxedEnvironment` (:class:`ReportSandbox`) with
``autoescape=True`` and strict undefined values.  Clerk text therefore comes out literally (``&``, ``<``, ``{{ }}`` included) and a
template cannot reach Python internals (``{{ ''.__class__.__mro__ }}`` → :class:`TemplateError`).
Before anything is rendered, the template's variables are checked against the context keys, so a
template that asks for names the data does not have fails with one Chinese sentence naming them.
"""
from __future__ import annotations

import functools
import hashlib
import io
import zipfile
from pathlib import Path
from typing import Any, Mapping

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ..errors import TemplateError
from .docx_template import DEFAULT_PATH, MERGE_MARK

CHART_WIDTH_MM = 150


MAX_REPEAT = 10_000   # longest string/list a template may build with *
MAX_POWER = 64        # largest exponent a template may use with **


class ReportSandbox(ImmutableSandboxedEnvironment):
    """Jinja's sandbox (no private attributes, no mutation of the context's lists and dicts)
    plus limits on ``*`` and ``**``, so a template cannot exhaust memory or CPU with
    ``{{ 'x' * 10**9 }}`` or ``{{ 2**10**8 }}`` (Jinja already caps ``range``)."""

    intercepted_binops = frozenset(["*", "**"])

    def __init__(self, **options):
        super().__init__(**options)
        self._compiled: dict[str, jinja2.Template] = {}

    def call_binop(self, context, operator, left, right):
        if operator == "**" and (
                (isinstance(right, (int, float)) and abs(right) > MAX_POWER)
                or (isinstance(left, (int, float)) and abs(left) > 10 ** 100)):
            raise SecurityError(f"power too large (at most {MAX_POWER} on numbers up to 1e100)")
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(n, int) and len(seq) * n > MAX_REPEAT:
                    raise SecurityError(f"repetition builds more than {MAX_REPEAT} items")
        return super().call_binop(context, operator, left, right)

    def from_string(self, source, globals=None, template_class=None):  # noqa: A002 (Jinja's name)
        """Compiled templates are kept by source text: the same template XML is compiled once
        per process (compiling the report's XML is most of a render)."""
        if globals is not None or template_class is not None or not isinstance(source, str):
            return super().from_string(source, globals, template_class)
        tpl = self._compiled.get(source)
        if tpl is None:
            tpl = super().from_string(source)
            _bounded_put(self._compiled, source, tpl)
        return tpl


_CACHE_SIZE = 16


def _bounded_put(cache: dict, key, value) -> None:
    if len(cache) >= _CACHE_SIZE:
        cache.pop(next(iter(cache)))
    cache[key] = value


_ENV: ReportSandbox | None = None


def environment() -> ReportSandbox:
    """The Jinja environment every template is rendered in (sandboxed, autoescaped, strict);
    one per process, so its compiled templates are reused."""
    global _ENV
    if _ENV is None:
        _ENV = ReportSandbox(autoescape=True, undefined=jinja2.StrictUndefined)
    return _ENV


_PATCHED: dict[str, str] = {}
_NEEDED: dict[bytes, frozenset] = {}


@functools.lru_cache(maxsize=1)
def _template_class():
    """docxtpl's DocxTemplate with its XML clean-up (``patch_xml``, pure) memoised."""
    from docxtpl import DocxTemplate

    class CachedDocxTemplate(DocxTemplate):
        def patch_xml(self, src_xml):
            hit = _PATCHED.get(src_xml)
            if hit is None:
                hit = super().patch_xml(src_xml)
                _bounded_put(_PATCHED, src_xml, hit)
            return hit

    return CachedDocxTemplate


def _load(path: Path) -> bytes:
    """The template's bytes (read once: what is checked is what is rendered)."""
    name = path.name
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise TemplateError(f"模板文件“{name}”不存在。") from None
    except IsADirectoryError:
        raise TemplateError(f"模板“{name}”是一个文件夹，请指定 .docx 文件。") from None
    except OSError as e:
        raise TemplateError(f"模板“{name}”无法读取（{e.strerror}）。") from None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            if "word/document.xml" not in z.namelist():
                raise TemplateError(f"模板“{name}”不是 Word 文档（.docx）。")
    except zipfile.BadZipFile:
        raise TemplateError(f"模板“{name}”不是 Word .docx 文件（可能是 .doc 旧格式或已损坏），"
                            "请在 Word/WPS 中另存为 .docx 后再试。") from None
    return data


def _needed(data: bytes, name: str) -> frozenset:
    """Every variable the template uses (cached by the template's content)."""
    key = hashlib.sha256(data).digest()
    needed = _NEEDED.get(key)
    if needed is None:
        try:
            needed = frozenset(_template_class()(io.BytesIO(data)).get_undeclared_template_variables(environment()))
        except jinja2.TemplateSyntaxError as e:
            raise TemplateError(f"模板“{name}”中的标记有语法错误：{e.message}。"
                                "请检查 {{ }} 和 {% %} 是否成对、拼写是否正确。") from None
        _bounded_put(_NEEDED, key, needed)
    return needed


def undeclared(template: str | Path | None, context: Mapping[str, Any]) -> set[str]:
    """Names the template uses that ``context`` does not provide."""
    path = Path(template) if template else DEFAULT_PATH
    return set(_needed(_load(path), path.name) - set(context))


def render_bytes(context: Mapping[str, Any], template: str | Path | None = None,
                 images: Mapping[str, bytes] | None = None) -> bytes:
    """Render ``context`` into the template (the default one when ``template`` is None).

    ``images``: context key → PNG bytes, placed as inline pictures 150 mm wide.
    Raises :class:`TemplateError` (Chinese, naming the template) for a missing or broken
    template, names the data lacks, unsafe expressions and any other rendering failure.
    """
    from docx.shared import Mm
    from docxtpl import InlineImage
    from lxml import etree

    path = Path(template) if template else DEFAULT_PATH
    name = path.name
    data = _load(path)
    missing = set(_needed(data, name) - set(context))
    if missing:
        raise TemplateError(f"模板“{name}”使用了报告数据中没有的名称：{'、'.join(sorted(missing))}。"
                            f"请改正模板中的拼写，或删除这些标记。")
    tpl = _template_class()(io.BytesIO(data))
    ctx = dict(context)
    for key, png in (images or {}).items():
        ctx[key] = InlineImage(tpl, io.BytesIO(png), width=Mm(CHART_WIDTH_MM))
    try:
        tpl.render(ctx, environment(), autoescape=True)
    except SecurityError as e:
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
    except (ArithmeticError, TypeError, ValueError, LookupError, AttributeError, MemoryError) as e:
        # raised by the template's own expressions ({{ 1/0 }}, range(10**9)…)
        raise TemplateError(f"模板“{name}”中的表达式无法计算（{type(e).__name__}: {e}）。") from e
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
