"""The Excel buttons (RunPython entry points): the only module that imports xlwings.

Each entry function takes the calling book, reads it through :class:`XlwingsSource`, calls one
function of :mod:`perfxl.app`, applies the returned edits to the open book and shows the Chinese
outcome.  Nothing here decides anything; nothing here saves the workbook.  xlwings is imported
inside the functions: importing it costs about a second (it pulls in pandas and matplotlib when
they are installed), and tests import this module without Excel.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

from .cellerrors import error_of
from .edits import (ClearMarks, ClearSheet, DefineName, DeleteSheet, Edit, EnsureSheet, FormatCells, Hyperlink,
                    LayoutSheet, MarkCell, ResizeTable, SetCell)
from .errors import PerfxlError
from .markstyle import SCHEME, SEVERITY_KINDS  # one look per severity, shared with the file writer
from .reader import TableRef, without_totals_row

if TYPE_CHECKING:  # pragma: no cover  (imported lazily at run time: it costs about a second)
    from xlwings import Book

TITLE = "绩效自评"
_MAX_MESSAGE = 900  # Excel's message box shows at most 1,024 characters


def check() -> None:
    """校验数据: mark findings on the cells and list them on 校验结果."""
    _run_action("check")


def score() -> None:
    """计算得分: write the scoring formulas back and show the total."""
    _run_action("score")


def report() -> None:
    """生成报告: write the Word report beside the workbook."""
    _run_action("report")


def run_all() -> None:
    """一键完成: check, score and report in one go."""
    _run_action("all")


def open_output_folder() -> None:
    """打开输出文件夹: open the workbook's folder in Explorer / Finder."""
    book = _caller()
    try:
        from . import app

        _reveal(app.output_dir(book.fullname))
    except Exception as e:  # every failure becomes a message box, never a traceback
        _fail(book, e)


def new_blank() -> None:
    """新建空白表: write a blank standard workbook and open it."""
    book = _caller()
    try:
        from . import app

        path = app.new_blank(book.fullname)
        book.app.books.open(str(path))
    except Exception as e:
        _fail(book, e)


def show_help() -> None:
    """使用说明: show what each button does."""
    book = _caller()
    try:
        from . import app

        _alert(book, app.help_text())
    except Exception as e:
        _fail(book, e)


def _run_action(action: str) -> None:
    book = _caller()
    try:
        from . import app

        _status(book, "绩效自评：正在处理，请稍候……")
        outcome = app.run_action(action, XlwingsSource(book), book.fullname)
        apply_edits(book, outcome.edits)
        _status(book, False)  # before the (modal) message box
        _alert(book, outcome.message, critical=not outcome.ok)
    except Exception as e:
        _fail(book, e)
    finally:
        _status(book, False)


class XlwingsSource:
    """An open xlwings Book seen as a :class:`perfxl.reader.GridSource`.

    Values are what Excel shows (formula results included), read one used range per sheet.
    Error cells are read as their literal (xlwings' ``err_to_str``; without it they would be
    None, a blank) and become the :class:`~perfxl.formulas.XlError` a file gives
    (:func:`perfxl.cellerrors.error_of`), so they are ``cell-error`` findings on this path too.
    """

    def __init__(self, book: Book):
        self.book = book
        self.path = book.fullname
        self._grids: dict[str, list[list[Any]]] = {}

    def sheet_names(self) -> list[str]:
        return [s.name for s in self.book.sheets]

    def defined_names(self) -> dict[str, str]:
        out = {}
        for n in self.book.names:
            if "!" in n.name:  # sheet-scoped ("Sheet1!Print_Area"); the contract uses workbook scope
                continue
            out[n.name] = (n.refers_to or "").lstrip("=")
        return out

    def tables(self) -> dict[str, TableRef]:
        out = {}
        for sheet in self.book.sheets:
            for t in sheet.tables:
                header = t.header_row_range
                headers = [] if header is None else header.value
                if not isinstance(headers, list):
                    headers = [headers]
                address = t.range.address.replace("$", "")
                ref = without_totals_row(address, 1 if getattr(t, "show_totals", False) else 0) or address
                out[t.name] = TableRef(sheet.name, ref, tuple("" if h is None else str(h).strip() for h in headers))
        return out

    def grid(self, sheet: str) -> list[list[Any]]:
        if sheet not in self._grids:
            sht = self.book.sheets[sheet]
            last = sht.used_range.last_cell
            rng = sht.range((1, 1), (last.row, last.column))
            values = rng.options(ndim=2, err_to_str=True).value
            self._grids[sheet] = [[_cell(v) for v in row] for row in values]
        return self._grids[sheet]


def _cell(v: Any) -> Any:
    """One value from xlwings; an error value (its literal, or a COM HRESULT should xlwings pass
    one through) as the file reader gives it."""
    if isinstance(v, (str, int)) and not isinstance(v, bool):
        err = error_of(v)
        if err is not None:
            return err
    return v



def apply_edits(book: Book, edits: Iterable[Edit]) -> None:
    """Apply :mod:`perfxl.edits` edits to an open xlwings Book (nothing is saved).

    Marks look as :mod:`perfxl.edits` makes them in a file, so that each side recognises
    the other's: the fill is a conditional format whose formula starts with ``"perfxl-``, the
    note text is ``perfxl 错误：`` and the message (appended after a clerk's own note).  The
    clerk's own fills and notes are never overwritten, and :class:`ClearMarks` removes only
    what carries those markers.
    """
    edits = list(edits)
    if not edits:
        return
    app = book.app
    updating = app.screen_updating
    app.screen_updating = False
    lifted = _lift_protection(book)
    try:
        marks: dict[tuple[str, str], list[MarkCell]] = {}
        for edit in edits:
            if isinstance(edit, MarkCell):  # several marks of one cell make one note, as in the file
                marks.setdefault((edit.sheet, edit.cell.replace("$", "").upper()), []).append(edit)
                continue
            _mark_cells(book, marks)
            marks = {}
            _apply(book, edit)
        _mark_cells(book, marks)
    finally:
        for api in lifted:  # as the standard workbook has it: formatting rows/columns allowed
            api.Protect(Contents=True, AllowFormattingColumns=True, AllowFormattingRows=True)
        app.screen_updating = updating


def _lift_protection(book: Book) -> list[Any]:
    """Unprotect the sheets protected without a password (the standard workbook's): Excel
    refuses to write a locked cell of a protected sheet, even from a macro.  Returns their COM
    objects, to protect again once the edits are applied."""
    lifted = []
    for sheet in book.sheets:
        api = getattr(sheet, "api", None)
        if api is None or not getattr(api, "ProtectContents", False):
            continue
        api.Unprotect()  # raises when a password is set: Excel's own message says why
        lifted.append(api)
    return lifted


def _sheet_names(book: Book) -> list[str]:
    return [s.name for s in book.sheets]


def _set_cell(book: Book, e: SetCell) -> None:
    sheet = book.sheets[e.sheet]
    rng = sheet.range(e.cell)
    if e.style_from:
        rng.number_format = sheet.range(e.style_from).number_format
    if e.formula is not None:
        # Excel computes the result itself; the file-format prefixes of newer functions
        # (_xlfn.IFS) are not part of what a formula is typed as.
        rng.formula = "=" + _FILE_PREFIX.sub("", e.formula.removeprefix("="))
    elif isinstance(e.value, str) and e.value:
        rng.value = "'" + e.value  # text stays text: never a formula, number or date
    else:
        rng.value = e.value


def _define_name(book: Book, e: DefineName) -> None:
    book.names.add(e.name, "=" + e.ref.removeprefix("="))  # replaces a name of the same scope


def _ensure_sheet(book: Book, e: EnsureSheet) -> None:
    if e.sheet in _sheet_names(book):
        return
    sheets = book.sheets
    if e.position is not None and e.position < len(sheets):
        new = sheets.add(e.sheet, before=sheets[e.position])
    else:
        new = sheets.add(e.sheet, after=sheets[len(sheets) - 1])
    if e.hidden:
        new.visible = False


def _clear_sheet(book: Book, e: ClearSheet) -> None:
    book.sheets[e.sheet].clear()


def _delete_sheet(book: Book, e: DeleteSheet) -> None:
    if e.sheet not in _sheet_names(book):
        return
    alerts = book.app.display_alerts
    book.app.display_alerts = False  # Excel asks "delete this sheet?" otherwise
    try:
        book.sheets[e.sheet].delete()
    finally:
        book.app.display_alerts = alerts


def _resize_table(book: Book, e: ResizeTable) -> None:
    for sheet in book.sheets:
        for t in sheet.tables:
            if t.name == e.table:
                t.resize(sheet.range(e.ref))
                return
    raise PerfxlError(f"工作簿中找不到表格“{e.table}”，无法调整其大小。")


def _hyperlink(book: Book, e: Hyperlink) -> None:
    rng = book.sheets[e.sheet].range(e.cell)
    shown = rng.value
    rng.add_hyperlink("#" + e.location, e.location if shown in (None, "") else str(shown),
                      f"转到 {e.location}")


def _mark_cells(book: Book, marks: dict[tuple[str, str], list[MarkCell]]) -> None:
    if not marks:
        return

    for (sheet, cell), group in marks.items():
        rng = book.sheets[sheet].range(cell)
        kind = max((SEVERITY_KINDS.get(m.severity, SEVERITY_KINDS["错误"]) for m in group), key=lambda k: k.rank)
        rng.conditional_formats.add_custom(f'="{_MARK_CODE}{kind.code}"<>""', fill_color="#" + kind.fill[-6:])
        text = "\n".join(f"{SEVERITY_KINDS.get(m.severity, SEVERITY_KINDS['错误']).header}\n{m.note}" for m in group)
        note = rng.note
        if note is None:
            rng.add_note(text)
        else:
            note.text = note.text + "\n" + text


def _clear_marks(book: Book, e: ClearMarks) -> None:
    for sheet in book.sheets:
        for rule in list(sheet.cells.conditional_formats):
            if rule.type == "custom" and (rule.formula or "").startswith(f'="{_MARK_CODE}'):
                rule.delete()
        for note in list(sheet.notes):
            found = _NOTE_MARK.search(note.text or "")
            if found is None:
                continue
            kept = note.text[:found.start()]
            if kept.strip():
                note.text = kept  # the clerk's own note, as it was before perfxl appended
            else:
                note.delete()


_FILE_PREFIX = re.compile(r"\b_xl(?:fn|ws)\.")
_MARK_CODE = SCHEME.marker
_NOTE_MARK = SCHEME.text_mark_re
def _format_cells(book: Book, e: FormatCells) -> None:
    rng = book.sheets[e.sheet].range(e.ref)
    if e.fmt.bold:
        rng.font.bold = True
    if e.fmt.wrap:
        rng.wrap_text = True
    if e.fmt.fill:
        rng.color = "#" + e.fmt.fill[-6:]


def _layout_sheet(book: Book, e: LayoutSheet) -> None:
    # Widths and heights only: panes, filters and page setup belong to the file a clerk saves
    # (xlwings has no portable API for them); the open book keeps its window as it is.
    sheet = book.sheets[e.sheet]
    for col, width in e.widths:
        sheet.range(f"{col}1").column_width = width  # a cell's column_width is its column's
    for row, height in e.heights:
        sheet.range(f"A{row}").row_height = height


_HANDLERS: dict[type, Callable[[Book, Any], None]] = {
    SetCell: _set_cell, DefineName: _define_name, EnsureSheet: _ensure_sheet, ClearSheet: _clear_sheet,
    DeleteSheet: _delete_sheet, ResizeTable: _resize_table, Hyperlink: _hyperlink,
    ClearMarks: _clear_marks, FormatCells: _format_cells, LayoutSheet: _layout_sheet,
}


def _apply(book: Book, e: Edit) -> None:
    """One edit other than a mark (marks are gathered per cell by :func:`apply_edits`)."""
    handler = _HANDLERS.get(type(e))
    if handler is None:
        raise TypeError(f"no Excel handler for edit {e!r}")
    handler(book, e)


def _caller() -> Book:
    # Not caught: if xlwings cannot reach Excel, Python exits with an error and the VBA side
    # shows its "could not start" fallback.
    import xlwings as xw

    return xw.Book.caller()


def _alert(book: Book, message: str, critical: bool = False) -> None:
    if len(message) > _MAX_MESSAGE:
        message = message[:_MAX_MESSAGE] + "……"
    book.app.alert(message, TITLE, mode="critical" if critical else "info")


def _status(book: Book, text: str | bool) -> None:
    try:
        book.app.status_bar = text
    except Exception:  # the status bar is a courtesy; never fail the button over it
        pass


def _fail(book: Book, error: BaseException) -> None:
    """Show one Chinese sentence; an unexpected error is logged for support, not shown raw."""
    if isinstance(error, PerfxlError):
        message = str(error)
    else:
        log = _log(error)
        message = (f"perfxl 出现内部错误（{type(error).__name__}），本次操作未完成，工作簿未保存。\n"
                   f"请把日志文件发给技术支持：{log}")
    try:
        _alert(book, message, critical=True)
    except Exception:  # Excel itself is unreachable: nothing left to show it with
        pass


def _log(error: BaseException) -> Path:
    path = Path.home() / ".perfxl" / "excel-error.log"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as f:
            f.write("".join(traceback.format_exception(error)) + "\n")
    except OSError:
        pass
    return path


def _reveal(folder: Path) -> None:
    if sys.platform.startswith("win"):
        os.startfile(folder)  # type: ignore[attr-defined]  # Windows only
    elif sys.platform == "darwin":
        subprocess.run(["open", str(folder)], check=False)
    else:
        subprocess.run(["xdg-open", str(folder)], check=False)
