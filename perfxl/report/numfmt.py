"""Number, date and list formatting exactly as the reference report writes them.

Every function is pure and total: ``None`` (a value the workbook does not hold, or a rate whose
denominator is zero) becomes the placeholder ``××`` that Chinese drafts use for a missing
figure, so a gap is visible in the report instead of a made-up number.  Rounding is Excel's
(half away from zero) on the decimal text of the float, so 0.0125 → 1.25%, not 1.24%.
"""
from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any, Iterable

MISSING = "××"

_DIGITS = "零一二三四五六七八九"


_QUANTUM: dict[int, Decimal] = {}  # saves 0.18 ms CPU a workbook (0.6%) (benchmarks/bench_memos.py: CPU its function spends with the memo off)
_EXACT = 1e15   # whole numbers below this print without Decimal (same text, much cheaper)


def _dec(x: float | int | Decimal, places: int) -> Decimal:
    q = _QUANTUM.get(places)
    if q is None:
        q = _QUANTUM[places] = Decimal(1).scaleb(-places)
    if not isinstance(x, Decimal):
        x = Decimal(repr(float(x)) if isinstance(x, float) else str(x))
    return x.quantize(q, ROUND_HALF_UP, _WIDE)


# Wide enough for every float (1.8e308 has 309 digits) with its decimals: a clerk's 1e300 in a
# money cell prints as typed instead of overflowing the default 28 digits.
_WIDE = Context(prec=400)


def _whole(x: Any) -> int | None:
    """``x`` as an int when it is a plain int or a whole float of moderate size, else None."""
    t = type(x)
    if (t is int or (t is float and x.is_integer())) and -_EXACT < x < _EXACT:
        return int(x)
    return None


def _is_num(x: Any) -> bool:
    """A finite number (not a bool, NaN, infinity, or an int too long to print)."""
    if isinstance(x, bool) or not isinstance(x, (int, float, Decimal)):
        return False
    if isinstance(x, int):
        return abs(x) < 10 ** 300
    return x == x and abs(x) != float("inf")


def money(x: Any, places: int = 2) -> str:
    """万元 amount with thousands separators and fixed decimals: 12820.47 → '12,820.47'."""
    n = _whole(x)
    if n is not None and places >= 0:
        return f"{n:,}" + ("." + "0" * places if places else "")
    if not _is_num(x):
        return MISSING
    d = _dec(x, places)
    if d == 0:
        d = abs(d)  # never print '-0.00'
    return f"{d:,.{places}f}"


def pct(x: Any, places: int = 2) -> str:
    """A fraction as a percentage: 0.7712 → '77.12%'.  All-zero decimals are dropped as the
    reference does ('100%', not '100.00%'); otherwise the decimals are fixed ('7.60%')."""
    n = _whole(x)
    if n is not None and places >= 0:
        return f"{n * 100}%"
    if not _is_num(x):
        return MISSING + "%"
    d = _dec(Decimal(repr(float(x))) * 100, places)
    if d == d.to_integral_value():
        return f"{int(d)}%"
    return f"{d:.{places}f}%"


def share(x: Any) -> str:
    """Share of a total with one decimal, as in 占总支出比重: 0.076044 → '7.6%'."""
    return pct(x, 1)


def points(x: Any) -> str:
    """Points without trailing zeros: 98.31 → '98.31', 2.0 → '2', 3.50 → '3.5'."""
    n = _whole(x)
    if n is not None:
        return str(n)
    if not _is_num(x):
        return MISSING
    d = _dec(x, 2)
    if d == 0:
        return "0"
    s = f"{d:.2f}".rstrip("0").rstrip(".")
    return s


def integer(x: Any) -> str:
    """A count: 172 → '172' (floats from the reader are whole numbers)."""
    n = _whole(x)
    if n is not None:
        return str(n)
    if not _is_num(x):
        return MISSING
    return str(int(_dec(x, 0)))


def cn_count(n: Any) -> str:
    """A small count in Chinese numerals as the reference writes '四个下属单位': 4 → '四',
    11 → '十一', 20 → '二十'; 100 and more stay Arabic."""
    if not _is_num(n):
        return MISSING
    n = int(n)
    if n < 0 or n >= 100:
        return str(n)
    if n < 10:
        return _DIGITS[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else _DIGITS[tens]) + "十" + ("" if ones == 0 else _DIGITS[ones])


def cn_ordinal(n: int) -> str:
    """Heading ordinal: 1 → '一' (for 一、 and （一）)."""
    return cn_count(n)


def _as_date(d: object) -> dt.date | None:
    if isinstance(d, dt.datetime):
        return d.date()
    if isinstance(d, dt.date):
        return d
    if isinstance(d, str):
        try:
            return dt.date.fromisoformat(d.strip()[:10])
        except ValueError:
            return None
    return None


def date(d: object) -> str:
    """'2024年5月20日' (no zero padding); missing → '××××年××月××日'."""
    v = _as_date(d)
    if v is None:
        return "××××年××月××日"
    return f"{v.year}年{v.month}月{v.day}日"


def dot_date(d: object) -> str:
    """Compact table date as in 表5: '2023.2.2', '2023.12.11'."""
    v = _as_date(d)
    if v is None:
        return MISSING
    return f"{v.year}.{v.month}.{v.day}"


def join_cn(items: Iterable[str]) -> str:
    """'A、B、C和D'; two items 'A和B'; one item as is."""
    items = [s for s in items if s]
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return "、".join(items[:-1]) + "和" + items[-1]
