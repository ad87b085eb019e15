"""Which tab a workbook opens on: ``workbookView/@activeTab`` and each sheet's
``sheetView/@tabSelected``, set together so that exactly one tab is active and selected.

Activating a sheet remembers the view it replaces in a hidden name local to that sheet
(:data:`RECORD`); deleting the sheet gives that view back, so a sheet added, activated and
removed again leaves the workbook opening where it did before.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Literal, overload

from lxml import etree

from .errors import InvalidEditError
from .ns import WB_ORDER, WS_ORDER, M
from .xmlutil import child, insert_ordered

if TYPE_CHECKING:
    from .workbook import SheetRef, Workbook

# Hidden, local to the activated sheet: '"<activeTab given: 1|0>:<active sheet>:<firstSheet's sheet>:<selected>/…"'
RECORD = "_PriorView"
_SEP, _LIST = ":", "/"  # neither may appear in a sheet name


@overload
def _view(root: etree._Element, create: Literal[True]) -> etree._Element: ...


@overload
def _view(root: etree._Element, create: bool) -> etree._Element | None: ...


def _view(root: etree._Element, create: bool) -> etree._Element | None:
    """The first sheetView of a worksheet or chartsheet root (created when asked)."""
    views = child(root, "sheetViews")
    if views is None:
        if not create:
            return None
        views = insert_ordered(root, "sheetViews", WS_ORDER)
    view = child(views, "sheetView")
    if view is None and create:
        view = etree.SubElement(views, M + "sheetView", {"workbookViewId": "0"})
    return view


@overload
def _book_view(wb: Workbook, create: Literal[True]) -> etree._Element: ...


@overload
def _book_view(wb: Workbook, create: bool) -> etree._Element | None: ...


def _book_view(wb: Workbook, create: bool) -> etree._Element | None:
    bv = child(wb.root, "bookViews")
    if bv is None:
        if not create:
            return None
        bv = insert_ordered(wb.root, "bookViews", WB_ORDER)
    v = child(bv, "workbookView")
    if v is None and create:
        v = etree.SubElement(bv, M + "workbookView")
    return v


def _selected(wb: Workbook) -> list[SheetRef]:
    """The sheets whose first sheetView is tabSelected (parts without the word are not parsed)."""
    return [ref for ref in wb.sheets() if is_selected(wb, ref)]


def _set_selected(wb: Workbook, ref: SheetRef, on: bool) -> None:
    if ref.part is None or not wb.pkg.exists(ref.part):
        return
    view = _view(wb.pkg.xml(ref.part), create=on)
    if view is None:
        return
    if on:
        view.set("tabSelected", "1")
    elif "tabSelected" in view.attrib:
        del view.attrib["tabSelected"]
    wb.pkg.touch(ref.part)


def activate(wb: Workbook, name: str) -> None:
    """Make sheet ``name`` the active tab and the only selected one, remembering the view it
    replaces (unless this sheet is already the one remembered for)."""
    ref = wb.find(name)
    if (ref.el.get("state") or "visible") != "visible":
        raise InvalidEditError(f"工作表“{ref.name}”是隐藏的，不能设为打开时显示的工作表")
    view = _book_view(wb, create=True)
    sheets = wb.sheets()
    selected = _selected(wb)
    at = view.get("activeTab")
    current = sheets[int(at)].name if at is not None and at.isdigit() and int(at) < len(sheets) else sheets[0].name
    if current != ref.name or [s.name for s in selected] != [ref.name]:
        fs = view.get("firstSheet")
        first = sheets[int(fs)].name if fs is not None and fs.isdigit() and int(fs) < len(sheets) else ""
        record = _SEP.join(("1" if at is not None else "0", current, first,
                            _LIST.join(s.name for s in selected)))
        wb.define_local_name(RECORD, '"' + record.replace('"', '""') + '"', ref.index, hidden=True)
    for s in selected:
        if s.name != ref.name:
            _set_selected(wb, s, False)
    _set_selected(wb, ref, True)
    view.set("activeTab", str(ref.index))
    first = view.get("firstSheet")
    if first is not None and first.isdigit() and int(first) > ref.index:
        view.set("firstSheet", str(ref.index))
    wb.touch(sheets=False)


def prior_view(wb: Workbook, index: int) -> str | None:
    """The view remembered by the sheet at ``index`` (the text of its :data:`RECORD`), or None."""
    dns = child(wb.root, "definedNames")
    if dns is None:
        return None
    for dn in dns.iterchildren(M + "definedName"):
        if dn.get("name") == RECORD and dn.get("localSheetId") == str(index) and dn.text:
            text = dn.text.strip()
            if len(text) >= 2 and text[0] == text[-1] == '"':
                return text[1:-1].replace('""', '"')
    return None


def restore(wb: Workbook, record: str | None, removed_selected: bool) -> None:
    """After a sheet was removed: give back the view it remembered (``record``), or, when it
    remembered none but was selected, select the tab that is now active."""
    view = _book_view(wb, create=False)
    sheets = wb.sheets()
    if not sheets:
        return
    if record is not None and record.count(_SEP) >= 3:
        present, active, first, chosen = record.split(_SEP, 3)
        by_name = {s.name: s for s in sheets}
        target = by_name.get(active)
        if target is None or (target.el.get("state") or "visible") != "visible":
            return restore(wb, None, removed_selected)
        if view is None:
            view = _book_view(wb, create=True)
        if present == "1" or target.index:
            view.set("activeTab", str(target.index))
        elif "activeTab" in view.attrib:
            del view.attrib["activeTab"]
        if first in by_name:
            view.set("firstSheet", str(by_name[first].index))
        elif "firstSheet" in view.attrib:
            del view.attrib["firstSheet"]
        for name in chosen.split(_LIST) if chosen else ():
            if name in by_name:
                _set_selected(wb, by_name[name], True)
        wb.touch(sheets=False)
        return
    if removed_selected:
        at = view.get("activeTab") if view is not None else None
        idx = int(at) if at is not None and at.isdigit() and int(at) < len(sheets) else 0
        if not _selected(wb):
            _set_selected(wb, sheets[idx], True)


def is_selected(wb: Workbook, ref: SheetRef) -> bool:
    """Whether sheet ``ref``'s first sheetView is tabSelected."""
    if ref.part is None or not wb.pkg.exists(ref.part) or not wb.pkg.contains(ref.part, b"tabSelected"):
        return False
    view = _view(wb.pkg.xml(ref.part), create=False)
    return view is not None and view.get("tabSelected") in ("1", "true")
