"""The cell edits of :mod:`perfxl.edits` on the wire, for clients that apply them to an open book.

Two encodings of the same list, both produced here and nowhere else:

* **JSON** (:func:`edits_json`): one object per edit, ``{"op": "set_cell", ...}``; the WPS
  add-in (``addins/wps/js/edits.js``) applies it.  Values are JSON scalars; a date is
  ``{"date": "2024-05-20"}`` and a date-time ``{"datetime": "2024-05-20T08:30:00"}``.
* **Lines** (:func:`edits_lines`), for the Excel add-in's VBA, where JSON is awkward: UTF-8
  text, one record per line, fields separated by TAB.  Inside a field, backslash, TAB, CR and LF
  are written ``\\\\``, ``\\t``, ``\\r``, ``\\n``.  Records::

      PERFXL-EDITS<TAB>1                      first line: format name and version
      MSG<TAB>text                            a line of the message for the clerk (0..n)
      OK<TAB>1|0                              0: the clerk must act first (message says why)
      SET<TAB>sheet<TAB>cell<TAB>value<TAB>formula<TAB>style_from
      NAME<TAB>name<TAB>ref
      SHEET<TAB>sheet<TAB>hidden 1|0<TAB>position (0-based, empty = last)
      CLEAR<TAB>sheet
      DELSHEET<TAB>sheet
      TABLE<TAB>table<TAB>ref
      LINK<TAB>sheet<TAB>cell<TAB>location
      MARK<TAB>sheet<TAB>cell<TAB>severity<TAB>fill RRGGBB<TAB>note
      CLEARMARKS
      END<TAB>record count (every record between the first line and END)

  A SET value is typed by its first character: empty = no value, ``n`` + number (``n98.31``),
  ``s`` + text (``s已填``), ``b1`` / ``b0``, ``d`` + ISO date or date-time.  ``formula`` is
  empty or the formula without ``=``; ``style_from`` empty or a cell of the same sheet.  The END
  count lets the client refuse a cut-off answer instead of applying half of it.

Applying an edit means what :mod:`perfxl.xlsxpatch` does in a file; ``perfxl.excel`` (xlwings),
the WPS add-in and the VBA do the same on an open book.
"""
from __future__ import annotations

import datetime as _dt
import math
from typing import Any, Iterable

from perfxl.edits import (ClearMarks, ClearSheet, DefineName, DeleteSheet, Edit, EnsureSheet, Hyperlink,
                          MarkCell, ResizeTable, SetCell)
from perfxl.xlsxpatch import _SEVERITIES  # the one colour table, shared with the file writer

LINES_MAGIC = "PERFXL-EDITS"
LINES_VERSION = 1
LINES_MEDIA_TYPE = "text/plain; charset=utf-8"

# Fill colour (RRGGBB) of a marked cell by severity: the colours perfxl.xlsxpatch writes into a file.
MARK_FILLS = {severity: argb[-6:] for severity, (_, _, argb) in _SEVERITIES.items()}


def _value_json(v: Any) -> Any:
    if isinstance(v, _dt.datetime):
        return {"datetime": v.isoformat()}
    if isinstance(v, _dt.date):
        return {"date": v.isoformat()}
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if v is None or isinstance(v, (str, bool, int, float)):
        return v
    return str(v)


def edit_json(e: Edit) -> dict:
    """One edit as a JSON object (see the module docstring)."""
    if isinstance(e, SetCell):
        out = {"op": "set_cell", "sheet": e.sheet, "cell": e.cell, "value": _value_json(e.value)}
        if e.formula is not None:
            out["formula"] = e.formula.removeprefix("=")
        if e.style_from:
            out["style_from"] = e.style_from
        return out
    if isinstance(e, DefineName):
        return {"op": "define_name", "name": e.name, "ref": e.ref.removeprefix("=")}
    if isinstance(e, EnsureSheet):
        return {"op": "ensure_sheet", "sheet": e.sheet, "hidden": bool(e.hidden), "position": e.position}
    if isinstance(e, ClearSheet):
        return {"op": "clear_sheet", "sheet": e.sheet}
    if isinstance(e, DeleteSheet):
        return {"op": "delete_sheet", "sheet": e.sheet}
    if isinstance(e, ResizeTable):
        return {"op": "resize_table", "table": e.table, "ref": e.ref}
    if isinstance(e, Hyperlink):
        return {"op": "hyperlink", "sheet": e.sheet, "cell": e.cell, "location": e.location}
    if isinstance(e, MarkCell):
        return {"op": "mark_cell", "sheet": e.sheet, "cell": e.cell, "severity": e.severity,
                "fill": MARK_FILLS.get(e.severity, MARK_FILLS["错误"]), "note": e.note}
    if isinstance(e, ClearMarks):
        return {"op": "clear_marks"}
    raise TypeError(f"not an edit: {e!r}")


def edits_json(edits: Iterable[Edit]) -> list[dict]:
    """The edits as a JSON-ready list, in the order they must be applied."""
    return [edit_json(e) for e in edits]


def _field(text: Any) -> str:
    s = "" if text is None else str(text)
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\r", "\\r").replace("\n", "\\n")


def _value_line(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "b1" if v else "b0"
    if isinstance(v, (int, float)):
        if isinstance(v, float) and not math.isfinite(v):
            return ""
        return "n" + repr(v) if isinstance(v, float) else "n" + str(v)
    if isinstance(v, (_dt.date, _dt.datetime)):
        return "d" + v.isoformat()
    return "s" + str(v)


def edit_line(e: Edit) -> str:
    """One edit as one record of the line format (no line end)."""
    if isinstance(e, SetCell):
        fields = ["SET", e.sheet, e.cell, _value_line(e.value),
                  "" if e.formula is None else e.formula.removeprefix("="), e.style_from or ""]
    elif isinstance(e, DefineName):
        fields = ["NAME", e.name, e.ref.removeprefix("=")]
    elif isinstance(e, EnsureSheet):
        fields = ["SHEET", e.sheet, "1" if e.hidden else "0", "" if e.position is None else str(e.position)]
    elif isinstance(e, ClearSheet):
        fields = ["CLEAR", e.sheet]
    elif isinstance(e, DeleteSheet):
        fields = ["DELSHEET", e.sheet]
    elif isinstance(e, ResizeTable):
        fields = ["TABLE", e.table, e.ref]
    elif isinstance(e, Hyperlink):
        fields = ["LINK", e.sheet, e.cell, e.location]
    elif isinstance(e, MarkCell):
        fields = ["MARK", e.sheet, e.cell, e.severity, MARK_FILLS.get(e.severity, MARK_FILLS["错误"]), e.note]
    elif isinstance(e, ClearMarks):
        fields = ["CLEARMARKS"]
    else:
        raise TypeError(f"not an edit: {e!r}")
    return "\t".join(_field(f) for f in fields)


def edits_lines(edits: Iterable[Edit], message: str = "", ok: bool = True) -> str:
    """The whole line-format answer: header, message, edits, END with the record count."""
    records = [f"MSG\t{_field(line)}" for line in message.splitlines()]
    records.append(f"OK\t{1 if ok else 0}")
    records += [edit_line(e) for e in edits]
    return "\r\n".join([f"{LINES_MAGIC}\t{LINES_VERSION}", *records, f"END\t{len(records)}"]) + "\r\n"


def _unfield(s: str) -> str:
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            out.append({"t": "\t", "r": "\r", "n": "\n", "\\": "\\"}.get(s[i + 1], s[i + 1]))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def parse_lines(text: str) -> tuple[list[list[str]], str, bool]:
    """Decode a line-format answer into (records as field lists, message, ok).

    The reference decoder the VBA mirrors (``macros/PerfxlServer.bas``); raises ValueError on a
    wrong header or a missing or wrong END count.
    """
    lines = [ln for ln in text.split("\r\n") if ln != ""] if "\r\n" in text else [ln for ln in text.split("\n") if ln]
    if not lines or lines[0] != f"{LINES_MAGIC}\t{LINES_VERSION}":
        raise ValueError("not a perfxl edit list")
    body = [[_unfield(f) for f in ln.split("\t")] for ln in lines[1:]]
    if not body or body[-1][0] != "END" or body[-1][1] != str(len(body) - 1):
        raise ValueError("edit list cut off")
    body = body[:-1]
    message = "\n".join(r[1] for r in body if r[0] == "MSG")
    ok = next((r[1] == "1" for r in body if r[0] == "OK"), True)
    return [r for r in body if r[0] not in ("MSG", "OK")], message, ok
