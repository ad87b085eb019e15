"""The cell edits of :mod:`perfxl.edits` on the wire, for clients that apply them to an open book.

JSON: each edit is ``{"op": "<ClassName>", <field>: <value>, …}`` with every dataclass field
present; dates and datetimes are ISO strings (``"2023-12-31"``), and a date value carries
``"value_type": "date"`` so a client can write a date rather than text.

Lines (``?format=lines``, for VBA, where JSON is awkward): UTF-8, one edit per line, fields
separated by TAB; the first field is the op, then the dataclass fields in declaration order.
A field is written escaped: ``\\`` → ``\\\\``, TAB → ``\\t``, LF → ``\\n``, CR → ``\\r``.
Values carry a one-letter type prefix so text that looks like a number stays text:
``s:`` text, ``n:`` number, ``b:`` TRUE/FALSE as 1/0, ``d:`` ISO date, ``e:`` (empty) none.
Other fields (sheet, cell, formula, …) are plain text; a missing optional field is empty.
The first line is a header ``#perfxl-edits<TAB>1<TAB><count>``; other lines starting with ``#``
are not edits (and not counted): ``#msg<TAB>check|score<TAB>text`` carries the sentence the
clerk is shown for that button (the Excel add-in's VBA shows it; text escaped like a field).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import math
from typing import Any, Iterable

from .. import edits as E

OPS = {cls.__name__: cls for cls in (E.SetCell, E.DefineName, E.EnsureSheet, E.ClearSheet, E.DeleteSheet,
                                     E.ResizeTable, E.Hyperlink, E.MarkCell, E.ClearMarks)}
LINES_VERSION = "1"


def _plain(v: Any) -> Any:
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def to_json(edit: E.Edit) -> dict[str, Any]:
    """One edit as a JSON-ready dict."""
    name = type(edit).__name__
    if name not in OPS:
        raise TypeError(f"not a perfxl edit: {edit!r}")
    out: dict[str, Any] = {"op": name}
    for f in dataclasses.fields(edit):
        v = getattr(edit, f.name)
        out[f.name] = _plain(v)
        if f.name == "value" and isinstance(v, (dt.date, dt.datetime)):
            out["value_type"] = "datetime" if isinstance(v, dt.datetime) else "date"
    return out


def from_json(d: dict[str, Any]) -> E.Edit:
    """The edit a :func:`to_json` dict stands for (dates restored)."""
    cls = OPS[d["op"]]
    kw = {f.name: d[f.name] for f in dataclasses.fields(cls) if f.name in d}
    vt = d.get("value_type")
    if vt == "date":
        kw["value"] = dt.date.fromisoformat(kw["value"])
    elif vt == "datetime":
        kw["value"] = dt.datetime.fromisoformat(kw["value"])
    return cls(**kw)


def _wired(edits: Iterable[E.Edit]) -> list[E.Edit]:
    """The edits an add-in applies: presentation edits (formats, widths, page setup of the
    校验结果 sheet) are for the saved file only."""
    return [e for e in edits if not isinstance(e, E.PRESENTATION)]


def edits_json(edits: Iterable[E.Edit]) -> list[dict[str, Any]]:
    return [to_json(e) for e in _wired(edits)]


def _esc(s: str) -> str:
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _unesc(s: str) -> str:
    out, i = [], 0
    while i < len(s):
        ch = s[i]
        if ch == "\\" and i + 1 < len(s):
            out.append({"t": "\t", "n": "\n", "r": "\r", "\\": "\\"}.get(s[i + 1], s[i + 1]))
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _typed(v: Any) -> str:
    if v is None:
        return "e:"
    if isinstance(v, bool):
        return "b:" + ("1" if v else "0")
    if isinstance(v, float):
        return "n:" + (repr(v) if math.isfinite(v) else "")
    if isinstance(v, int):
        return "n:" + str(v)
    if isinstance(v, (dt.date, dt.datetime)):
        return "d:" + v.isoformat()
    return "s:" + _esc(str(v))


def _untyped(s: str) -> Any:
    kind, body = s[:2], s[2:]
    if kind == "e:":
        return None
    if kind == "b:":
        return body == "1"
    if kind == "n:":
        if not body:
            return None
        n = float(body)
        return int(body) if body.lstrip("-").isdigit() else n
    if kind == "d:":
        return dt.datetime.fromisoformat(body) if "T" in body else dt.date.fromisoformat(body)
    return _unesc(body)


def to_line(edit: E.Edit) -> str:
    name = type(edit).__name__
    if name not in OPS:
        raise TypeError(f"not a perfxl edit: {edit!r}")
    parts = [name]
    for f in dataclasses.fields(edit):
        v = getattr(edit, f.name)
        if f.name == "value":
            parts.append(_typed(v))
        elif v is None:
            parts.append("")
        elif isinstance(v, bool):
            parts.append("1" if v else "0")
        else:
            parts.append(_esc(str(v)))
    return "\t".join(parts)


def edits_lines(edits: Iterable[E.Edit], messages: dict[str, str] | None = None) -> str:
    """The whole line document (header first, LF line ends, trailing LF); ``messages``
    (button kind → text) become ``#msg`` lines after the header."""
    body = [to_line(e) for e in _wired(edits)]
    notes = [f"#msg\t{_esc(kind)}\t{_esc(text)}" for kind, text in (messages or {}).items()]
    return "\n".join([f"#perfxl-edits\t{LINES_VERSION}\t{len(body)}", *notes, *body]) + "\n"


def line_messages(text: str) -> dict[str, str]:
    """The ``#msg`` lines of a line document: kind → text."""
    out = {}
    for line in text.split("\n")[1:]:
        if line.startswith("#msg\t"):
            _, kind, body = (line.split("\t") + ["", ""])[:3]
            out[_unesc(kind)] = _unesc(body)
    return out


def parse_lines(text: str) -> list[E.Edit]:
    """The edits of a line document (what a VBA client does, in Python, for tests)."""
    lines = text.split("\n")
    head = lines[0].split("\t")
    if head[0] != "#perfxl-edits":
        raise ValueError("not a perfxl edit document")
    out: list[E.Edit] = []
    for line in lines[1:]:
        if not line or line.startswith("#"):
            continue
        parts = line.split("\t")
        cls = OPS[parts[0]]
        kw = {}
        for f, raw in zip(dataclasses.fields(cls), parts[1:]):
            if f.name == "value":
                kw[f.name] = _untyped(raw)
            elif raw == "" and f.default is None:
                kw[f.name] = None
            elif f.type in ("bool", bool):
                kw[f.name] = raw == "1"
            elif f.type in ("int | None", "int"):
                kw[f.name] = int(raw)
            else:
                kw[f.name] = _unesc(raw)
        out.append(cls(**kw))
    if len(out) != int(head[2]):
        raise ValueError("edit document is incomplete")
    return out
