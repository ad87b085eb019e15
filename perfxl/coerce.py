"""Lenient parsing of what clerks type: '12,820.47' as text, '77.12%', '2024年5月20日',
full-width digits, trailing spaces, a unit ('万元', '元', '人', '个').  Each parser returns
(value, problem); problem is a short Chinese phrase when the text cannot be read, and value is
then None.

This is the one reading of a number cell: the reader, validation and the report all take it
from here, so the same text reads the same everywhere.  :func:`formula_reads` says whether
the spreadsheet engines read that text too when a formula computes with it: when not (a unit,
full-width digits), the formulas over the cell cannot compute, and validation reports an error
at the cell (``number-text-unusable``) instead of letting a rate go silently empty.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

from .formulas import XlError
from .xlsx.dates import from_serial

_FULLWIDTH = str.maketrans({**{chr(0xFF10 + i): str(i) for i in range(10)},
                            "，": ",", "．": ".", "－": "-", "＋": "+", "％": "%", "　": " ",
                            "／": "/", "。": "."})
_DATE_PATTERNS = (
    re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?$"),
    re.compile(r"^(\d{4})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{1,2})(?:[ T].*)?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)


def normalize_text(s: str) -> str:
    """Full-width digits and punctuation to ASCII, spaces trimmed (for numbers and dates only)."""
    return s.translate(_FULLWIDTH).strip()


def to_text(raw: Any) -> tuple[str | None, str | None]:
    if raw is None:
        return None, None
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, (dt.datetime, dt.date)):
        return raw.strftime("%Y-%m-%d"), None
    s = str(raw).strip()
    return (s or None), None


def to_number(raw: Any, *, percent: bool = False) -> tuple[float | None, str | None]:
    """Number from a cell; text like '12,820.47', '１２８２０．４７', '77.12%' accepted.

    With ``percent`` a bare number above 1.5 typed into a rate cell is read as a percentage
    (77.12 → 0.7712) — clerks often do that.
    """
    if raw is None or isinstance(raw, bool):
        return None, (None if raw is None else "不是数字")
    if isinstance(raw, (int, float)):
        if isinstance(raw, float) and not math.isfinite(raw):
            return None, "不是有效数字"
        return raw, None
    if isinstance(raw, (dt.date, dt.datetime)):
        return None, "是日期，应为数字"
    s = normalize_text(str(raw)).replace(",", "").replace(" ", "")
    if not s:
        return None, None
    s = s.removesuffix("万元").removesuffix("元").removesuffix("人").removesuffix("个")
    is_pct = s.endswith("%")
    if is_pct:
        s = s[:-1]
    try:
        v = float(s)
    except ValueError:
        return None, "不是数字"
    if not math.isfinite(v):
        return None, "不是有效数字"
    if is_pct:
        v = v / 100
    return v, None


def to_int(raw: Any) -> tuple[int | None, str | None]:
    v, problem = to_number(raw)
    if v is None:
        return None, problem
    if abs(v - round(v)) > 1e-9:
        return None, "应为整数"
    return int(round(v)), None


def to_date(raw: Any) -> tuple[dt.date | None, str | None]:
    """A date from a real date cell, an Excel serial number, or text such as '2024年5月20日',
    '2024-05-20', '2024/5/20', '2023.12.11', '20240520'."""
    if raw is None:
        return None, None
    if isinstance(raw, dt.datetime):
        return raw.date(), None
    if isinstance(raw, dt.date):
        return raw, None
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        if 1 <= raw < 2958466:
            try:
                return from_serial(raw), None
            except ValueError:  # 60: Excel's 1900-02-29, a day that did not exist
                return None, "日期不存在"
        return None, "不是有效日期"
    s = normalize_text(str(raw)).replace(" ", "")
    if not s:
        return None, None
    for pat in _DATE_PATTERNS:
        m = pat.match(s)
        if m:
            y, mth, d = (int(g) for g in m.groups())
            try:
                return dt.date(y, mth, d), None
            except ValueError:
                return None, "日期不存在"
    return None, "不是日期"


_FLOAT_KINDS = frozenset({"money", "number", "rate"})


def parse(kind: str, raw: Any) -> tuple[Any, str | None]:
    """Dispatch on a schema kind ('text', 'int', 'money', 'number', 'rate', 'date')."""
    # The commonest cells first, by exact type: an empty cell, text in a text cell, a finite
    # number in a number or whole-number cell, a date in a date cell.  Same results as the
    # general path below.
    if raw is None:
        return None, None
    t = type(raw)
    if t is XlError:  # the cell shows #N/A, #REF!, #DIV/0! …: no value of any kind
        return None, f"是错误值“{raw.code}”"
    if t is str:
        if kind == "text":
            return raw.strip() or None, None
    elif t is float:
        if math.isfinite(raw):
            if kind in _FLOAT_KINDS:
                return raw, None
            if kind == "int":
                if abs(raw - round(raw)) > 1e-9:
                    return None, "应为整数"
                return int(round(raw)), None
    elif t is dt.date:
        if kind == "date":
            return raw, None
    return _parse_general(kind, raw)


def _parse_general(kind: str, raw: Any) -> tuple[Any, str | None]:
    """:func:`parse` without its shortcuts for the commonest cells (every cell can take it)."""
    if isinstance(raw, str) and not raw.strip():
        raw = None
    if kind == "text":
        return to_text(raw)
    if kind == "int":
        return to_int(raw)
    if kind == "date":
        return to_date(raw)
    if kind == "rate":
        v, p = to_number(raw)
        return v, p
    return to_number(raw)


def formula_reads(text: str) -> bool:
    """Excel and LibreOffice read ``text`` as a number in arithmetic ('1,013.93', '77%',
    ' 12 '), as :func:`perfxl.formulas.evaluate` does; '1013.93万元' or full-width digits they
    do not (#VALUE!)."""
    from .formulas import XlError, _text_number

    return not isinstance(_text_number(text), XlError)
