"""How a sheet shows and prints: column widths, row heights, frozen panes, autofilter, page setup,
and whether the workbook opens on it."""
from __future__ import annotations

from lxml import etree

from perfxl.cellref import col_to_index, index_to_col

from .errors import SheetNotFoundError
from .ns import WS_ORDER, M
from .ops import LayoutSheet
from .sheet import Sheet
from .views import activate
from .workbook import Workbook
from .xmlutil import child, insert_ordered, parse_cell, parse_range, range_ref


def layout_sheet(sh: Sheet, wb: Workbook, e: LayoutSheet) -> None:
    """Apply a :class:`~.ops.LayoutSheet` to sheet ``sh`` (named ``e.sheet`` in ``wb``)."""
    root = sh.root
    if e.widths:
        _set_widths(root, {col_to_index(c): w for c, w in e.widths})
    for rownum, height in e.heights:
        row = sh.get_row(rownum, create=True)
        row.set("ht", f"{height:g}")
        row.set("customHeight", "1")
    if e.freeze:
        _freeze(root, e.freeze)
    ref = wb.find(e.sheet)
    if ref is None:  # the caller found the sheet part by this name; the workbook must list it
        raise SheetNotFoundError(f"工作簿中没有工作表“{e.sheet}”")
    index = ref.index
    quoted = "'" + ref.name.replace("'", "''") + "'"
    if e.autofilter:
        r1, c1, r2, c2 = parse_range(e.autofilter)
        af = child(root, "autoFilter")
        if af is None:
            af = insert_ordered(root, "autoFilter", WS_ORDER)
        af.set("ref", range_ref(r1, c1, r2, c2))
        wb.define_local_name("_xlnm._FilterDatabase", f"{quoted}!{_absolute(r1, c1, r2, c2)}", index, hidden=True)
    if e.paper or e.landscape or e.fit_width:
        ps = child(root, "pageSetup")
        if ps is None:
            ps = insert_ordered(root, "pageSetup", WS_ORDER)
        if e.paper:
            ps.set("paperSize", str(e.paper))
        if e.landscape:
            ps.set("orientation", "landscape")
        if e.fit_width:
            ps.set("fitToWidth", "1")
            ps.set("fitToHeight", "0")
            pr = child(root, "sheetPr")
            if pr is None:
                pr = insert_ordered(root, "sheetPr", WS_ORDER)
            psp = child(pr, "pageSetUpPr")
            if psp is None:  # the last child of CT_SheetPr
                psp = etree.SubElement(pr, M + "pageSetUpPr")
            psp.set("fitToPage", "1")
    if e.print_titles:
        wb.define_local_name("_xlnm.Print_Titles", f"{quoted}!{e.print_titles}", index)
    if e.active:
        activate(wb, ref.name)
    sh.touch()


def _absolute(r1: int, c1: int, r2: int, c2: int) -> str:
    return f"${index_to_col(c1)}${r1}:${index_to_col(c2)}${r2}"


def _set_widths(root: etree._Element, widths: dict[int, float]) -> None:
    cols = child(root, "cols")
    if cols is None:
        cols = insert_ordered(root, "cols", WS_ORDER)
    kept = [c for c in cols.iterchildren(M + "col")
            if not any(int(c.get("min") or 0) <= n <= int(c.get("max") or 0) for n in widths)]
    new = [etree.SubElement(cols, M + "col", {"min": str(n), "max": str(n), "width": f"{w:g}", "customWidth": "1"})
           for n, w in widths.items()]
    for c in sorted(kept + new, key=lambda c: int(c.get("min") or 0)):
        cols.append(c)  # moves it: the children end up in column order


def _freeze(root: etree._Element, top_left: str) -> None:
    """Freeze the rows above and the columns left of ``top_left``."""
    row, col = parse_cell(top_left)
    views = child(root, "sheetViews")
    if views is None:
        views = insert_ordered(root, "sheetViews", WS_ORDER)
    view = child(views, "sheetView")
    if view is None:
        view = etree.SubElement(views, M + "sheetView", {"workbookViewId": "0"})
    for old in list(view):
        if old.tag in (M + "pane", M + "selection"):
            view.remove(old)
    pane = {"bottomLeft" if col == 1 else ("topRight" if row == 1 else "bottomRight")}.pop()
    attrs = {}
    if col > 1:
        attrs["xSplit"] = str(col - 1)
    if row > 1:
        attrs["ySplit"] = str(row - 1)
    attrs.update({"topLeftCell": top_left, "activePane": pane, "state": "frozen"})
    sel = etree.SubElement(view, M + "selection", {"pane": pane, "activeCell": top_left, "sqref": top_left})
    view.insert(0, sel)
    view.insert(0, etree.SubElement(view, M + "pane", attrs))
