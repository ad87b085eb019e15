"""Applying a list of operations to a package, in order, each where it belongs."""
from __future__ import annotations

from typing import Any, Callable, Sequence

from lxml import etree

from perfxl.errors import WorkbookError

from .errors import InvalidEditError, SheetNotFoundError
from .flags import Flagger
from .ns import CONTENT_TYPES, CT_TABLE, MAX_COL, NS_MAIN, R_ID, WS_ORDER, M
from .layout import layout_sheet
from .ops import (ClearFlags, ClearSheet, DefineName, DeleteSheet, EnsureSheet, FlagCell, FormatCells, Hyperlink,
                  LayoutSheet, Op, ResizeTable, SetCell)
from .package import Package
from .scheme import FlagScheme
from .sheet import Sheet, cell_content, formula_text
from .state import FormatRecord
from .styles import add_format, styles_part
from .workbook import Workbook
from .xmlutil import (ILLEGAL_XML, PARSER, cell_ref, child, insert_ordered, local, needs_preserve, parse_cell,
                      parse_range, range_ref, xml_attr, xml_text)


class Patcher:
    """One apply run over one package: the parsed parts and what each edit learnt about them."""

    def __init__(self, data: bytes, scheme: FlagScheme | None = None):
        self.pkg = Package(data)
        self.wb = Workbook(self.pkg)
        self.scheme = scheme
        self._sheets: dict[str, Sheet] = {}
        self.needs_recalc = False
        self._flagger: Flagger | None = None
        # by sheet part: (<hyperlinks>, its <hyperlink>s by ref, r:id → how many use it)
        self._hyperlinks: dict[str, tuple[etree._Element, dict[str, list[etree._Element]], dict[str, int]]] = {}
        self._sheet_by_name: dict[str, Sheet] = {}  # valid for one wb.generation
        self._sheet_gen = self.wb.generation
        self._formats = FormatRecord()  # formats appended without a scheme (not recorded)

    def sheet(self, name: str) -> Sheet:
        if self._sheet_gen != self.wb.generation:
            self._sheet_by_name.clear()
            self._sheet_gen = self.wb.generation
        try:
            sh = self._sheet_by_name.get(name)
        except TypeError:
            sh = None
        if sh is not None:
            return sh
        part = self.wb.worksheet_part(name)
        sh = self._sheets.get(part)
        if sh is None:
            sh = self._sheets[part] = Sheet(self.pkg, part)
        if isinstance(name, str):
            self._sheet_by_name[name] = sh
        return sh

    def flagger(self) -> Flagger:
        if self._flagger is None:
            if self.scheme is None:
                raise InvalidEditError("标记单元格需要给出标记方案（FlagScheme）")
            self._flagger = Flagger(self.pkg, self.wb, self.sheet, self._sheets, self.scheme)
        return self._flagger

    # -- dispatch -------------------------------------------------------------------------------
    def apply(self, edits: Sequence[Op]) -> bytes:
        handlers: dict[type, Callable[[Any], None]] = {
            SetCell: self.set_cell,
            DefineName: self.define_name,
            EnsureSheet: self.ensure_sheet,
            ClearSheet: self.clear_sheet,
            DeleteSheet: self.delete_sheet,
            ResizeTable: self.resize_table,
            Hyperlink: self.hyperlink,
            FlagCell: self.flag_cell,
            ClearFlags: self.clear_flags,
            FormatCells: self.format_cells,
            LayoutSheet: self.layout_sheet,
        }
        i, n = 0, len(edits)
        while i < n:
            edit = edits[i]
            h = handlers.get(type(edit))
            if h is None:
                raise InvalidEditError(f"未知的编辑操作：{edit!r}")
            if type(edit) is SetCell and i + 1 < n and type(edits[i + 1]) is SetCell:
                done = self._append_cells(edits, i)
                if done:
                    i += done
                    continue
            try:
                h(edit)
            except WorkbookError as exc:
                where = where_of(edit)
                if where and where not in str(exc):
                    raise type(exc)(f"{where}：{exc}") from exc
                raise
            i += 1
        for sh in self._sheets.values():
            if self.pkg.exists(sh.part):
                sh.finish()
        if self.needs_recalc:
            self.wb.force_recalc()
        if self._flagger is not None and self._flagger.dirty:
            self._flagger.save()
        return self.pkg.to_bytes()

    # -- SetCell --------------------------------------------------------------------------------
    def set_cell(self, e: SetCell) -> None:
        sh = self.sheet(e.sheet)
        rownum, col = parse_cell(e.cell)
        style = None
        if e.style_from is not None:
            sr, sc = parse_cell(e.style_from)
            style = sh.style_of(sr, sc)
        formula = e.formula
        if formula is not None:
            formula = formula_text(e)
        value = e.value
        if formula is None and value is None:
            c = sh.get_cell(rownum, col, create=False)
            if c is None and e.style_from is None:
                return
        sh.leave_arrays(rownum, col)
        c = sh.get_cell(rownum, col, create=True)
        sh.write_cell(c, cell_content(value, formula, f"{e.sheet}!{e.cell}", self.wb.date1904()))
        if e.style_from is not None:
            if style is None or style == "0":
                c.attrib.pop("s", None)
            else:
                c.set("s", style)
        sh.grow(rownum, col)
        sh.touch()
        self.needs_recalc = True

    def _append_cells(self, edits: Sequence[Op], start: int) -> int:
        """Apply the run of SetCells from ``edits[start]`` that only add new cells after the last
        row of their sheet (such as the rows of a sheet just created or cleared), building their
        rows as one XML text parsed at once; return how many edits were applied (0: none).

        The rows are exactly what :meth:`set_cell` would build cell by cell. The run stops at the
        first edit that is anything else (another sheet, ``style_from``, an existing or earlier
        cell, an empty text, an invalid edit), and that edit takes the ordinary path.
        """
        first = edits[start]
        if not isinstance(first, SetCell):
            return 0
        try:
            sh = self.sheet(first.sheet)
            if parse_cell(first.cell)[0] <= sh.last_row() or not sh.appendable():
                return 0
        except WorkbookError:
            return 0
        last = (sh.last_row(), MAX_COL)  # new cells must come after this position
        rows: list[tuple[int, list[str]]] = []
        bounds: list[int] | None = None
        count = 0
        for e in edits[start:]:
            if not isinstance(e, SetCell) or e.sheet != first.sheet or e.style_from is not None:
                break
            try:
                rownum, col = parse_cell(e.cell)
                formula = e.formula if e.formula is None else formula_text(e)
                t_attr, f_text, v_text, inline = cell_content(e.value, formula, f"{e.sheet}!{e.cell}", self.wb.date1904())
            except WorkbookError:
                break
            if (rownum, col) <= last or f_text == "" or v_text == "":
                break
            count += 1
            if f_text is None and v_text is None:  # set_cell finds no cell there and does nothing
                continue
            last = (rownum, col)
            ref = cell_ref(rownum, col)
            if not rows or rows[-1][0] != rownum:
                rows.append((rownum, []))
            xml = f'<c r="{ref}"'
            style = sh.col_style(col)
            if style is not None:
                xml += f' s="{xml_attr(style)}"'
            if t_attr is not None:
                xml += f' t="{t_attr}"'
            xml += ">"
            if f_text is not None:
                xml += f"<f>{xml_text(f_text)}</f>"
            if v_text is not None:
                space = ' xml:space="preserve"' if needs_preserve(v_text) else ""
                if inline:
                    xml += f"<is><t{space}>{xml_text(v_text)}</t></is>"
                else:
                    xml += f"<v{space}>{xml_text(v_text)}</v>"
            rows[-1][1].append(xml + "</c>")
            if bounds is None:
                bounds = [rownum, col, rownum, col]
            else:
                bounds[1], bounds[2], bounds[3] = min(bounds[1], col), rownum, max(bounds[3], col)
        if count < 2:
            return 0
        if rows and bounds is not None:  # bounds are set with the first row
            text = "".join(f'<row r="{r}">{"".join(cells)}</row>' for r, cells in rows)
            holder = etree.fromstring(f'<sheetData xmlns="{NS_MAIN}">{text}</sheetData>'.encode(), PARSER)
            sh.append_rows([r for r, _ in rows], list(holder))
            sh.grow(bounds[0], bounds[1])
            sh.grow(bounds[2], bounds[3])
            sh.touch()
            self.needs_recalc = True
        return count

    # -- workbook -------------------------------------------------------------------------------
    def define_name(self, e: DefineName) -> None:
        self.wb.define_name(e.name, e.ref)

    def ensure_sheet(self, e: EnsureSheet) -> None:
        if self.wb.find(e.sheet, required=False) is None:
            self.wb.add_sheet(e.sheet, e.hidden, e.position)

    def delete_sheet(self, e: DeleteSheet) -> None:
        ref = self.wb.remove_sheet(e.sheet)
        if ref.part is not None:
            self._sheets.pop(ref.part, None)
            if self._flagger is not None:
                self._flagger.forget_sheet(ref.name)
        self.needs_recalc = True

    def clear_sheet(self, e: ClearSheet) -> None:
        self.sheet(e.sheet).clear()
        self.needs_recalc = True

    # -- ResizeTable ----------------------------------------------------------------------------
    def resize_table(self, e: ResizeTable) -> None:
        pkg = self.pkg
        r1, c1, r2, c2 = parse_range(e.ref)
        key = e.table.casefold()
        ct = pkg.xml(CONTENT_TYPES)
        parts = [
            (el.get("PartName") or "").lstrip("/")
            for el in ct
            if local(el) == "Override" and el.get("ContentType") == CT_TABLE
        ]
        for part in parts:
            if not pkg.exists(part):
                continue
            root = pkg.xml(part)
            if (root.get("name") or "").casefold() != key and (root.get("displayName") or "").casefold() != key:
                continue
            cols = child(root, "tableColumns")
            n_cols = len(cols.findall(M + "tableColumn")) if cols is not None else c2 - c1 + 1
            if n_cols != c2 - c1 + 1:
                raise InvalidEditError(
                    f"表格 {e.table} 有 {n_cols} 列，新区域 {e.ref} 有 {c2 - c1 + 1} 列：只能增减行，不能改变列数"
                )
            header = int(root.get("headerRowCount") or "1")
            totals = int(root.get("totalsRowCount") or "0")
            if r2 - r1 + 1 < header + totals + 1:
                raise InvalidEditError(f"表格 {e.table} 的新区域 {e.ref} 太小：至少要有标题行和一行数据")
            root.set("ref", range_ref(r1, c1, r2, c2))
            af = child(root, "autoFilter")
            if af is not None:
                af.set("ref", range_ref(r1, c1, r2 - totals, c2))
            ss = child(root, "sortState")
            if ss is not None:
                ss.set("ref", range_ref(r1 + header, c1, r2 - totals, c2))
            pkg.touch(part)
            return
        raise SheetNotFoundError(f"工作簿中找不到表格“{e.table}”")

    # -- Hyperlink ------------------------------------------------------------------------------
    def hyperlink(self, e: Hyperlink) -> None:
        sh = self.sheet(e.sheet)
        rownum, col = parse_cell(e.cell)
        ref = cell_ref(rownum, col)
        loc = (e.location or "").strip().lstrip("#")
        if not loc or ILLEGAL_XML.search(loc):
            raise InvalidEditError(f"超链接目标无效：{e.location!r}")
        hls = child(sh.root, "hyperlinks")
        if hls is None:
            hls = insert_ordered(sh.root, "hyperlinks", WS_ORDER)
        got = self._hyperlinks.get(sh.part)
        if got is None or got[0] is not hls:
            # ref -> its <hyperlink>s in document order; r:id -> how many children of hls use it
            by_ref: dict[str, list[etree._Element]] = {}
            for hl in hls.iterchildren(M + "hyperlink"):
                by_ref.setdefault((hl.get("ref") or "").upper(), []).append(hl)
            rids: dict[str, int] = {}
            for h in hls:
                r = h.get(R_ID)
                if r is not None:
                    rids[r] = rids.get(r, 0) + 1
            got = self._hyperlinks[sh.part] = (hls, by_ref, rids)
        _, by_ref, rids = got
        for hl in by_ref.pop(ref, ()):
            rid = hl.get(R_ID)
            hls.remove(hl)
            if rid is not None:
                rids[rid] -= 1
                if rid and not rids[rid]:  # no other hyperlink uses the relationship
                    self.pkg.remove_rel(sh.part, rid)
        by_ref[ref] = [etree.SubElement(hls, M + "hyperlink", {"ref": ref, "location": loc})]
        sh.touch()

    # -- FormatCells / LayoutSheet --------------------------------------------------------------
    def format_cells(self, e: FormatCells) -> None:
        sh = self.sheet(e.sheet)
        r1, c1, r2, c2 = parse_range(e.ref)
        if self.scheme is not None:  # recorded with the flags: clearing them takes it out again
            xf = self.flagger().format_id(e.fmt)
        else:
            part, root = styles_part(self.pkg, self.wb)
            xf = add_format(root, e.fmt, self._formats)
            self.pkg.touch(part)
        for c in sh.cells_in(r1, c1, r2, c2):
            c.set("s", str(xf))
        sh.touch()

    def layout_sheet(self, e: LayoutSheet) -> None:
        layout_sheet(self.sheet(e.sheet), self.wb, e)

    # -- Flags ----------------------------------------------------------------------------------
    def flag_cell(self, e: FlagCell) -> None:
        self.flagger().flag_cell(e.sheet, e.cell, e.kind, e.note)

    def clear_flags(self, e: ClearFlags) -> None:
        self.flagger().clear()


def where_of(edit: Op) -> str:
    """Where an edit applies, for error messages: 评分表!H5, 评分表, tbl_scores, score_total."""
    sheet, cell = getattr(edit, "sheet", None), getattr(edit, "cell", None)
    if sheet and cell:
        return f"{sheet}!{cell}"
    return str(sheet or getattr(edit, "table", None) or getattr(edit, "name", None) or "")
