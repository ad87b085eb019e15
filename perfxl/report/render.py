"""Context + Word template → report bytes (the only module that imports docxtpl).

Templates may come from a bureau (``--template``), so rendering is sandboxed: a
:class:`jinja2.sandbox.ImmutableSandboxedEnvironment` (:class:`ReportSandbox`) with
``autoescape=True`` and strict undefined values.  Clerk text therefore comes out literally (``&``, ``<``, ``{{ }}`` included) and a
template cannot reach Python internals (``{{ ''.__class__.__mro__ }}`` → :class:`TemplateError`).
Before anything is rendered, the template's variables are checked against the context keys, so a
template that asks for names the data does not have fails with one Chinese sentence naming them.

Speed (a batch renders the same template a thousand times).  Everything that depends only on
the template is done once per template content (:class:`Prepared`, keyed by the SHA-256 of its
bytes, a bounded cache): docxtpl's XML clean-up of body, headers and footers, their compiled
Jinja templates, the undeclared-variable set, and every package part the rendering does not
change — serialised and deflated once (so are headers and footers without Jinja markup).  A
render then only runs the Jinja templates, does docxtpl's post-processing (the same functions),
and writes the zip from the cached parts plus the few new ones (document.xml, the
headers/footers, core.xml, pictures and the rels and content types that name them).  The
result is the package python-docx would save, part for part (``tests/test_report.py`` compares
the two); templates with features this path does not model (footnotes, one header part used
twice) go through docxtpl's own ``render`` and ``save``.

document.xml is parsed, numbered, merged and serialised as docxtpl does (the tree path).
A string-splicing shortcut that skipped the parse was removed (issue 11): it saved about 3 ms
of CPU a report for ~380 lines leaning on docxtpl's and python-docx's private behaviour.
"""
from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import io
import re
import struct
import threading
import time
import zipfile
import zlib
from pathlib import Path
from typing import Any, Mapping

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ..errors import TemplateError
from ..oserrors import describe
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
            _bounded_put(self._compiled, source, tpl, 64)
        return tpl


_CACHE_SIZE = 16


def _bounded_put(cache: dict, key, value, size: int = _CACHE_SIZE) -> None:
    if len(cache) >= size:
        cache.pop(next(iter(cache)), None)
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


# ---------------------------------------------------------------- loading and preparing

def _read(path: Path) -> bytes:
    name = path.name
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise TemplateError(f"模板文件“{name}”不存在。") from None
    except IsADirectoryError:
        raise TemplateError(f"模板“{name}”是一个文件夹，请指定 .docx 文件。") from None
    except OSError as e:
        raise TemplateError(f"模板“{name}”无法读取（{describe(e)}）。") from None


def _check_zip(data: bytes, name: str) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            if "word/document.xml" not in z.namelist():
                raise TemplateError(f"模板“{name}”不是 Word 文档（.docx）。")
    except zipfile.BadZipFile:
        raise TemplateError(f"模板“{name}”不是 Word .docx 文件（可能是 .doc 旧格式或已损坏），"
                            "请在 Word/WPS 中另存为 .docx 后再试。") from None


def _load(path: Path) -> bytes:
    """The template's bytes (read once: what is checked is what is rendered)."""
    data = _read(path)
    _check_zip(data, path.name)
    return data


_PREPARED: dict[bytes, "Prepared"] = {}
_PREPARED_SIZE = 8
_LOCK = threading.Lock()


def prepared(template: str | Path | None = None) -> "Prepared":
    """The template's once-per-content work (cached by the SHA-256 of its bytes)."""
    path = Path(template) if template else DEFAULT_PATH
    data = _read(path)
    key = hashlib.sha256(data).digest()
    prep = _PREPARED.get(key)
    if prep is None:
        _check_zip(data, path.name)
        prep = Prepared(data, path.name)
        with _LOCK:
            _bounded_put(_PREPARED, key, prep, _PREPARED_SIZE)
    return prep


def _syntax_error(name: str, e: jinja2.TemplateSyntaxError) -> TemplateError:
    return TemplateError(f"模板“{name}”中的标记有语法错误：{e.message}。"
                         "请检查 {{ }} 和 {% %} 是否成对、拼写是否正确。")


_HF = ("http://schemas.openxmlformats.org/officeDocument/2006/relationships/header",
       "http://schemas.openxmlformats.org/officeDocument/2006/relationships/footer")
_FOOTNOTES_CT = "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"
_RT_IMAGE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/image"
# the core properties docxtpl renders as templates (docxtpl.DocxTemplate.render_properties)
_CORE_PROPS = ("author", "comments", "identifier", "language", "subject", "title")


def _src(patched: str) -> str:
    """Patched XML as docxtpl hands it to Jinja (``render_xml_part``: one paragraph a line)."""
    return re.sub(r"<w:p([ >])", r"\n<w:p\1", patched)


class Prepared:
    """Everything about one template that does not depend on the data.

    Built from docxtpl's own functions on a python-docx ``Document`` opened once; that document
    is only read afterwards.  ``needed``: every variable the template uses (body, headers and
    footers, as docxtpl's ``get_undeclared_template_variables``).  ``fast``: whether
    :func:`render_bytes` may write the package itself (otherwise docxtpl renders and saves).
    """

    def __init__(self, data: bytes, name: str):
        from docx.opc.oxml import serialize_part_xml
        from docx.oxml.parser import parse_xml

        self.data = data
        cls = _template_class()
        self.tools = cls(None)   # docxtpl's XML functions, for _Render (no document of its own)
        tpl = cls(io.BytesIO(data))
        try:
            doc = tpl.get_docx()
        except Exception as e:  # noqa: BLE001 — python-docx raises many kinds on a broken package
            raise TemplateError(f"模板“{name}”无法作为 Word 文档打开（{type(e).__name__}: {e}）。") from None
        part = doc.part
        package = part.package

        # body, then headers and footers in docxtpl's order (HEADER rels, then FOOTER rels)
        raw_body = tpl.xml_to_string(doc.element.body)
        body_xml = tpl.patch_xml(raw_body)
        self.body_src = _src(body_xml)
        # docxtpl's fix_tables only repairs tables whose column count a {%tc %} loop changed;
        # it costs ~3 ms a report, so skip it for templates without such tags.
        self.column_tags = bool(re.search(r"\{%-?\s*tc\b", re.sub(r"<[^>]+>", "", raw_body)))
        self.hf: list[tuple[str, str, str]] = []   # (partname, Jinja source, encoding)
        hf_parts, all_xml = [], body_xml
        for uri in _HF:
            for rel in part.rels.values():
                if rel.reltype == uri and rel.target_part.blob:
                    p = rel.target_part
                    xml = tpl.get_part_xml(p)
                    encoding = tpl.get_headers_footers_encoding(xml)
                    patched = tpl.patch_xml(xml)
                    all_xml += patched
                    hf_parts.append(p)
                    self.hf.append((p.partname, _src(patched), encoding))
        try:
            parsed = environment().parse(all_xml)
        except jinja2.TemplateSyntaxError as e:
            raise _syntax_error(name, e) from None
        from jinja2 import meta

        self.needed = frozenset(meta.find_undeclared_variables(parsed))
        self.compiled: dict[str, jinja2.Template] = {}

        parts = list(package.iter_parts())
        self.fast = (not any(p.content_type == _FOOTNOTES_CT for p in parts)
                     and len({id(p) for p in hf_parts}) == len(hf_parts))
        if not self.fast:
            return

        core = doc.core_properties   # python-docx adds a default core part when there is none
        core_part = package._core_properties_part
        parts = list(package.iter_parts())
        self.core = core._element
        self.doc_partname = part.partname
        body_tag = doc.element.body.tag
        shell = copy.deepcopy(doc.element)
        old = shell.find(body_tag)
        shell.replace(old, shell.makeelement(body_tag))
        self.shell, self.body_tag = shell, body_tag

        # pictures: what python-docx would consult when one is added
        self.image_parts = {}
        for p in package.image_parts:
            self.image_parts.setdefault(p.sha1, p.partname)
        self.image_numbers = [p.partname.idx for p in package.image_parts]
        self.next_id = {part.partname: part.next_id, **{p.partname: p.next_id for p in hf_parts}}
        self.rels = {p.partname: [(r.rId, r.reltype, r.target_ref, r.is_external,
                                   None if r.is_external else r.target_part.partname)
                                  for r in p.rels.values()] for p in [part, *hf_parts]}
        self.base_uri = {p.partname: p.partname.baseURI for p in [part, *hf_parts]}

        # the package as python-docx writes it: content types, package rels, then each part in
        # a depth-first walk over the rels, followed by its rels.  Per part: its member (a
        # cached _Entry, or None when rendered) and its rels member (cached _Entry or None).
        self.core_partname = core_part.partname
        dynamic = {part.partname, core_part.partname, *(p.partname for p in hf_parts)}
        self.parts = [(p.partname, p.content_type) for p in parts]
        self.pkg_rels = _Entry.of(package.rels.xml)
        self.roots = [r.target_part.partname for r in package.rels.values() if not r.is_external]
        self.targets = {p.partname: [r.target_part.partname for r in p.rels.values() if not r.is_external]
                        for p in parts}
        self.members = {p.partname: None if p.partname in dynamic else _Entry.of(p.blob) for p in parts}
        self.rels_members = {p.partname: _Entry.of(p.rels.xml) if len(p.rels) else None for p in parts}
        self.order = _walk(self.roots, self.targets)
        if self.order != [p.partname for p in parts]:  # not the package python-docx would write
            self.fast = False
            return
        self.content_types = {(): _Entry.of(_content_types(self.parts))}
        self._serialize = serialize_part_xml
        self._parse = parse_xml

        # Headers/footers without Jinja markup render to the same part every time: made once.
        # Whatever fails here is left to each rendering, which reports it as before.
        self.static_entries: dict = {}
        for partname, source, encoding in self.hf:
            if _is_static(source):
                with contextlib.suppress(Exception):
                    blob = _Render(self).header_footer(partname, source, encoding, {})
                    self.static_entries[partname] = _Entry.of(blob)
        # core properties: the ones without Jinja markup are set once, here
        from docx.opc.coreprops import CoreProperties

        self.core_props = [p for p in _CORE_PROPS if not _is_static(getattr(CoreProperties(self.core), p))]
        self.core_base = copy.deepcopy(self.core)
        try:
            props = CoreProperties(self.core_base)
            for prop in _CORE_PROPS:
                if prop not in self.core_props:
                    setattr(props, prop, environment().from_string(getattr(props, prop)).render({}))
        except Exception:  # noqa: BLE001 — e.g. a value over 255 characters: each rendering reports it
            self.core_props, self.core_base = list(_CORE_PROPS), copy.deepcopy(self.core)
        if not self.core_props:
            self.static_entries[self.core_partname] = _Entry.of(serialize_part_xml(self.core_base))

    def template(self, source: str) -> jinja2.Template:
        """``source`` compiled in the report sandbox (once per template)."""
        tpl = self.compiled.get(source)
        if tpl is None:
            tpl = self.compiled[source] = environment().from_string(source)
        return tpl


def _walk(roots: list, targets: dict) -> list:
    """Partnames in python-docx's order (``OpcPackage.iter_parts``: depth first over the rels,
    each part once)."""
    seen, order = set(), []

    def visit(names):
        for name in names:
            if name not in seen:
                seen.add(name)
                order.append(name)
                visit(targets.get(name, ()))

    visit(roots)
    return order


def _content_types(parts) -> bytes:
    from docx.opc.pkgwriter import _ContentTypesItem

    class P:
        def __init__(self, partname, content_type):
            self.partname, self.content_type = partname, content_type

    return _ContentTypesItem.from_parts([P(n, ct) for n, ct in parts]).blob


def undeclared(template: str | Path | None, context: Mapping[str, Any]) -> set[str]:
    """Names the template uses that ``context`` does not provide."""
    return set(prepared(template).needed - set(context))


# ---------------------------------------------------------------- rendering

def render_bytes(context: Mapping[str, Any], template: str | Path | None = None,
                 images: Mapping[str, bytes] | None = None) -> bytes:
    """Render ``context`` into the template (the default one when ``template`` is None).

    ``images``: context key → PNG bytes, placed as inline pictures 150 mm wide.
    Raises :class:`TemplateError` (Chinese, naming the template) for a missing or broken
    template, names the data lacks, unsafe expressions and any other rendering failure.
    """
    path = Path(template) if template else DEFAULT_PATH
    name = path.name
    prep = prepared(path)
    missing = set(prep.needed - set(context))
    if missing:
        raise TemplateError(f"模板“{name}”使用了报告数据中没有的名称：{'、'.join(sorted(missing))}。"
                            f"请改正模板中的拼写，或删除这些标记。")
    if not prep.fast:
        return _render_docxtpl(prep, context, images, name)
    job = _Render(prep)
    ctx = dict(context)
    for key, png in (images or {}).items():
        ctx[key] = _Picture(job, png)
    with _template_errors(name):
        job.run(ctx)
    return job.package()


@contextlib.contextmanager
def _template_errors(name: str):
    """Every failure while rendering → one Chinese :class:`TemplateError` naming the template."""
    from lxml import etree

    try:
        yield
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


class _Picture:
    """A chart in the context: renders as docxtpl's InlineImage does, exposes nothing to the
    template (no public attributes or methods for the sandbox to reach)."""

    __slots__ = ("_job", "_png")

    def __init__(self, job, png: bytes):
        self._job, self._png = job, png

    def __html__(self) -> str:
        return self._job.picture(self._png)

    __str__ = __html__


_SPECIAL = ("\t", "\a", "\n", "\f")


def _unescape_braces(xml: str) -> str:
    """docxtpl's ``{_{`` ``}_}`` ``{_%`` ``%_}`` → ``{{`` ``}}`` ``{%`` ``%}`` (render_xml_part)."""
    if "{_" in xml or "_}" in xml:
        xml = xml.replace("{_{", "{{").replace("}_}", "}}").replace("{_%", "{%").replace("%_}", "%}")
    return xml


def _needs_listing(xml: str) -> bool:
    """Whether docxtpl's ``resolve_listing`` could change ``xml``: a tab, \\a, newline or \\f
    inside some ``<w:t>`` text (it only rewrites those; the pictures' XML has newlines between
    tags, which it leaves alone)."""
    for ch in _SPECIAL:
        i = xml.find(ch)
        while i >= 0:
            opened = max(xml.rfind("<w:t>", 0, i), xml.rfind("<w:t ", 0, i))
            if opened > xml.rfind("</w:t>", 0, i):
                return True
            i = xml.find(ch, i + 1)
    return False


def _is_static(source: str) -> bool:
    """Whether ``source`` holds no Jinja markup at all (it renders to itself, whatever the data)."""
    try:
        return all(token == "data" for _, token, _ in environment().lex(source))
    except jinja2.TemplateSyntaxError:
        return False


def _tree(prep: Prepared, xml: str):
    """The rendered body parsed as docxtpl does and put into a copy of the document: (body, root)."""
    from docx.oxml.ns import nsmap
    from lxml import etree

    if prep.column_tags:
        tree = prep.tools.fix_tables(xml)
    else:
        tree = etree.fromstring(xml, parser=etree.XMLParser(recover=True))
    for n, elt in enumerate(tree.xpath("//wp:docPr", namespaces=nsmap), start=1001):
        elt.attrib["id"] = str(n)
    root = copy.deepcopy(prep.shell)
    root.replace(root.find(prep.body_tag), tree)
    return tree, root


class _Render:
    """One rendering of a prepared template (docxtpl's ``render`` without python-docx)."""

    def __init__(self, prep: Prepared):
        self.prep = prep
        self.current = prep.doc_partname
        self.media: list[tuple[str, str, bytes]] = []            # (partname, content type, blob)
        self.media_by_sha1: dict[str, str] = {}
        self.new_rels: dict[str, list[tuple[str, str]]] = {}    # part → [(rId, target partname)]
        self.blobs: dict[str, bytes] = {}

    # docxtpl's render_xml_part after Jinja
    def _render(self, source: str, ctx: dict) -> str:
        xml = self.prep.template(source).render(ctx)
        # re.sub(r"\n<w:p([ >])", r"<w:p\1", xml), without a regex match per paragraph
        xml = xml.replace("\n<w:p ", "<w:p ").replace("\n<w:p>", "<w:p>")
        xml = _unescape_braces(xml)
        if _needs_listing(xml):
            xml = self.prep.tools.resolve_listing(xml)
        return xml

    def run(self, ctx: dict) -> None:
        prep = self.prep
        self.body, self.root = _tree(prep, self._render(prep.body_src, ctx))
        for partname, source, encoding in prep.hf:
            if partname not in prep.static_entries:
                self.blobs[partname] = self.header_footer(partname, source, encoding, ctx)
        if prep.core_props:
            from docx.opc.coreprops import CoreProperties

            core = copy.deepcopy(prep.core_base)
            props = CoreProperties(core)
            for prop in prep.core_props:
                # Word keeps at most 255 characters in a core property (python-docx enforces it)
                setattr(props, prop, environment().from_string(getattr(props, prop)).render(ctx)[:255])
            self.blobs[prep.core_partname] = prep._serialize(core)

    def header_footer(self, partname: str, source: str, encoding: str, ctx: dict) -> bytes:
        """A header or footer part rendered (docxtpl's render_xml_part, python-docx's save)."""
        self.current = partname
        xml = self._render(source, ctx).encode(encoding)
        return self.prep._serialize(self.prep._parse(xml))

    def picture(self, png: bytes) -> str:
        """The run XML of a picture 150 mm wide, its part and relationship added as python-docx's
        ``new_pic_inline`` would add them to the part being rendered."""
        from docx.image.image import Image
        from docx.opc.packuri import PackURI
        from docx.shared import Mm

        prep = self.prep
        image = _png_image(png) or Image.from_blob(png)
        target = prep.image_parts.get(image.sha1) or self.media_by_sha1.get(image.sha1)
        if target is None:
            used = prep.image_numbers + [PackURI(n).idx for n, _, _ in self.media]
            n = next((i for i in range(1, len(used) + 1) if i not in used), len(used) + 1)
            target = PackURI(f"/word/media/image{n}.{image.ext}")
            self.media.append((target, image.content_type, png))
            self.media_by_sha1[image.sha1] = target
        part = self.current
        rels = prep.rels[part]
        new = self.new_rels.setdefault(part, [])
        rId = next((r[0] for r in rels if r[1] == _RT_IMAGE and not r[3] and r[4] == target), None) \
            or next((r for r, t in new if t == target), None)
        if rId is None:
            taken = {r[0] for r in rels} | {r for r, _ in new}
            rId = next(f"rId{i}" for i in range(1, len(taken) + 2) if f"rId{i}" not in taken)
            new.append((rId, target))
        cx, cy = image.scaled_dimensions(Mm(CHART_WIDTH_MM), None)
        pic = _inline_xml(prep.next_id[part], rId, image.filename, cx, cy)
        return ("</w:t></w:r><w:r><w:drawing>%s</w:drawing></w:r><w:r>"
                '<w:t xml:space="preserve">' % pic)

    def _rels_xml(self, partname) -> bytes:
        from docx.opc.oxml import CT_Relationships

        el = CT_Relationships.new()
        for rId, reltype, ref, external, _ in self.prep.rels[partname]:
            el.add_rel(rId, reltype, ref, external)
        for rId, target in self.new_rels[partname]:
            el.add_rel(rId, _RT_IMAGE, target.relative_ref(self.prep.base_uri[partname]), False)
        return el.xml

    def package(self) -> bytes:
        """The .docx: cached members plus this rendering's parts, as python-docx would write it."""
        prep = self.prep
        blobs = dict(self.blobs)
        merge_marked_body(self.body)
        blobs[prep.doc_partname] = prep._serialize(self.root)
        media = {n: (ct, blob) for n, ct, blob in self.media}
        key = tuple((n, ct) for n, ct, _ in self.media)
        types = prep.content_types.get(key)   # [Content_Types].xml, cached per set of new pictures
        if types is None:
            types = _Entry.of(_content_types(prep.parts + list(key)))
            _bounded_put(prep.content_types, key, types)
        order = prep.order
        if self.new_rels:
            targets = dict(prep.targets)
            for partname, new in self.new_rels.items():
                targets[partname] = targets[partname] + [t for _, t in new]
            order = _walk(prep.roots, targets)
        entries = [("[Content_Types].xml", types), ("_rels/.rels", prep.pkg_rels)]
        for name in order:
            if name in media:
                ct, blob = media[name]
                # PNG is deflated already: stored
                entries.append((name.membername, _Entry.of(blob, 0 if ct == "image/png" else 6)))
                continue
            member = prep.members[name] or prep.static_entries.get(name)
            if member is None:
                # document.xml is most of the zip's work: deflate level 1 (3× faster, 10% larger)
                member = _Entry.of(blobs[name], 1 if name == prep.doc_partname else 6)
            entries.append((name.membername, member))
            if self.new_rels.get(name):
                entries.append((name.rels_uri.membername, _Entry.of(self._rels_xml(name))))
            elif prep.rels_members[name] is not None:
                entries.append((name.rels_uri.membername, prep.rels_members[name]))
        return _zip(entries)


@functools.lru_cache(maxsize=64)  # saves 0.50 ms CPU a workbook (1.5%) (benchmarks/bench_memos.py: CPU its function spends with the memo off)
def _inline_xml(shape_id: int, rId: str, filename: str, cx: int, cy: int) -> str:
    """python-docx's ``CT_Inline.new_pic_inline(...).xml`` (the same few charts sizes and ids
    come back in every report: built once each)."""
    from docx.oxml.shape import CT_Inline

    return CT_Inline.new_pic_inline(shape_id, rId, filename, cx, cy).xml


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_image(png: bytes):
    """python-docx's ``Image.from_blob`` for a PNG, from its chunk headers alone (python-docx
    reads the same IHDR and pHYs fields through a stream reader); None for anything else, or
    a PNG whose chunks do not add up (``Image.from_blob`` then decides)."""
    from docx.image.image import Image
    from docx.image.png import Png, _PngParser

    if not png.startswith(_PNG_SIGNATURE):
        return None
    size, dpi, offset, end = None, None, 8, len(png)
    while True:
        if offset + 8 > end:
            return None
        length, kind = struct.unpack_from(">L4s", png, offset)
        data = offset + 8
        if kind == b"IHDR" and size is None:
            if data + 8 > end:
                return None
            size = struct.unpack_from(">LL", png, data)
        elif kind == b"pHYs" and dpi is None:
            if data + 9 > end:
                return None
            horz, vert, unit = struct.unpack_from(">LLB", png, data)
            dpi = (_PngParser._dpi(unit, horz), _PngParser._dpi(unit, vert))
        elif kind == b"IEND":
            break
        offset = data + length + 4
    if size is None:
        return None
    return Image(png, "image.png", Png(size[0], size[1], *(dpi or (72, 72))))


# ---------------------------------------------------------------- the zip

class _Entry:
    """A zip member's data, deflated (or stored) once: (data, crc, size, method)."""

    __slots__ = ("data", "crc", "size", "method")

    def __init__(self, data: bytes, crc: int, size: int, method: int):
        self.data, self.crc, self.size, self.method = data, crc, size, method

    @classmethod
    def of(cls, blob: bytes, level: int = 6) -> "_Entry":
        if level == 0:
            return cls(blob, zlib.crc32(blob), len(blob), zipfile.ZIP_STORED)
        c = zlib.compressobj(level, zlib.DEFLATED, -15)
        return cls(c.compress(blob) + c.flush(), zlib.crc32(blob), len(blob), zipfile.ZIP_DEFLATED)


def _zip(entries: list[tuple[str, _Entry]]) -> bytes:
    """A zip file of ``entries`` as :mod:`zipfile` writes it (no zip64: a report is small)."""
    t = time.localtime()
    dostime = t.tm_hour << 11 | t.tm_min << 5 | t.tm_sec // 2
    dosdate = (t.tm_year - 1980) << 9 | t.tm_mon << 5 | t.tm_mday
    out, central, offset = [], [], 0
    for name, e in entries:
        try:
            raw, flags = name.encode("ascii"), 0
        except UnicodeEncodeError:
            raw, flags = name.encode("utf-8"), 0x800
        version = 20  # as zipfile writes (2.0: deflate, folders)
        head = struct.pack("<4s2B4HL2L2H", b"PK\x03\x04", version, 0, flags, e.method, dostime, dosdate,
                           e.crc, len(e.data), e.size, len(raw), 0)
        central.append(struct.pack("<4s4B4HL2L5H2L", b"PK\x01\x02", version, 3, version, 0, flags, e.method,
                                   dostime, dosdate, e.crc, len(e.data), e.size, len(raw), 0, 0, 0, 0,
                                   0o600 << 16, offset) + raw)
        out += (head, raw, e.data)
        offset += len(head) + len(raw) + len(e.data)
    cd = b"".join(central)
    out += (cd, struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(cd), offset, 0))
    return b"".join(out)


# ---------------------------------------------------------------- docxtpl's own path

class _InlinePicture:
    """docxtpl's InlineImage behind a wall: the sandbox sees no attributes (``.tpl`` would
    hand a template the DocxTemplate, whose ``save`` writes files)."""

    __slots__ = ("_inline",)

    def __init__(self, inline):
        self._inline = inline

    def __html__(self) -> str:
        return self._inline._insert_image()

    __str__ = __html__


def _render_docxtpl(prep: Prepared, context: Mapping[str, Any], images, name: str) -> bytes:
    """Render with docxtpl's ``render`` and python-docx's ``save`` (templates the fast path
    does not model; and the reference the fast path is tested against)."""
    from docx.shared import Mm
    from docxtpl import InlineImage

    tpl = _template_class()(io.BytesIO(prep.data))
    ctx = dict(context)
    for key, png in (images or {}).items():
        ctx[key] = _InlinePicture(InlineImage(tpl, io.BytesIO(png), width=Mm(CHART_WIDTH_MM)))
    with _template_errors(name):
        tpl.render(ctx, environment(), autoescape=True)
    merge_marked_tables(tpl.docx)
    buf = io.BytesIO()
    tpl.save(buf)
    return buf.getvalue()


# ---------------------------------------------------------------- table merging

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_TCPR_BEFORE_VMERGE = {f"{_W}cnfStyle", f"{_W}tcW", f"{_W}gridSpan", f"{_W}hMerge"}


def merge_marked_tables(document) -> int:
    """Merge, in every table whose description (alt text) holds ``perfxl:merge-first-column``,
    each empty first-column cell into the non-empty cell above it — so 表2's 指标类型 shows once
    per group, as one tall cell.  Returns the number of cells merged."""
    return merge_marked_body(document.element.body)


def merge_marked_body(body) -> int:
    """:func:`merge_marked_tables` on a ``w:body`` element."""
    merged = 0
    for tbl in body.iter(f"{_W}tbl"):
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
