"""Error values (#N/A, #REF!, #DIV/0! …) as an open book's object model hands them over.

A file stores an error cell as ``t="e"`` and the reader gives it as an
:class:`~perfxl.xlexpr.XlError`.  Read through an object model the same cell arrives otherwise:
Excel's COM ``Value``/``Value2`` gives the CVErr value's HRESULT (``-2146826281`` for #DIV/0!);
xlwings gives ``None`` for it, or with ``err_to_str=True`` the literal ``"#DIV/0!"`` (on Windows
from that number, on macOS from the shown text); the WPS add-in sends what ``Value2`` gives,
marked ``{"error": "#N/A"}`` when it recognises it (``js/snapshot.js``).  :func:`error_of` turns
each of these into the XlError the file gives, so every path reports the same ``cell-error``.

A text cell holding exactly an error literal (typed with a leading apostrophe) cannot be told
from the error on these paths; it is read as the error.  Typing ``#N/A`` into Excel or WPS makes
the error value itself, so such text is rare and is not a valid figure either way.
"""
from __future__ import annotations

import re
from typing import Any

from .xlexpr import XlError

# Excel's error numbers (xlErrDiv0 = 2007 …); a CVErr value's HRESULT is 0x800A0000 + the number.
ERROR_NUMBERS = {2000: "#NULL!", 2007: "#DIV/0!", 2015: "#VALUE!", 2023: "#REF!", 2029: "#NAME?", 2036: "#NUM!",
                 2042: "#N/A", 2043: "#GETTING_DATA", 2045: "#SPILL!", 2046: "#CONNECT!", 2047: "#BLOCKED!",
                 2048: "#UNKNOWN!", 2049: "#FIELD!", 2050: "#CALC!"}
_HRESULT_BASE = -2146828288  # 0x800A0000 as a signed 32-bit number
COM_ERRORS = {_HRESULT_BASE + n: code for n, code in ERROR_NUMBERS.items()}
LITERALS = frozenset(ERROR_NUMBERS.values())
_LITERAL = re.compile(r"#[A-Z0-9_/]{1,14}[!?]?")  # what an add-in may mark as an error ("#BUSY!")


def error_of(value: Any) -> XlError | None:
    """The error value ``value`` stands for on an object-model path, or None if it is not one:
    an XlError, a COM HRESULT (an int, never a float: numbers arrive as floats), an error
    literal, or the WPS add-in's ``{"error": literal}``."""
    if isinstance(value, XlError):
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        code = COM_ERRORS.get(value)
        return XlError(code) if code else None
    if isinstance(value, str):
        s = value.strip()
        return XlError(s) if s in LITERALS else None
    if isinstance(value, dict) and isinstance(value.get("error"), str):
        s = value["error"].strip().upper()
        return XlError(s if _LITERAL.fullmatch(s) else "#VALUE!")
    return None
