"""Excel serial numbers ↔ dates, in the 1900 and the 1904 date systems.

The 1900 system counts 1900-01-01 as 1 and keeps Lotus 1-2-3's fictitious 1900-02-29 (serial
60), so serials before 61 are one less than the plain day count from 1899-12-30. Serial 0 shows
as "1900-01-00" in Excel; it is 1899-12-31 here. The 1904 system counts 1904-01-01 as 0.
"""
from __future__ import annotations

import datetime as dt

_EPOCH_1900 = dt.date(1899, 12, 30)
_EPOCH_1904 = dt.date(1904, 1, 1)
_FICTITIOUS_LEAP_DAY = 60  # 1900-02-29, which did not exist


def to_serial(value: dt.date | dt.datetime | dt.time | dt.timedelta, date1904: bool = False) -> float:
    """The number a spreadsheet stores for ``value`` (days; a time of day is a fraction).

    A timezone is ignored (Excel has none). Raises ValueError for a date before the date
    system's first day (1899-12-31 as serial 0, or 1904-01-01).
    """
    if isinstance(value, dt.timedelta):
        return value.total_seconds() / 86400
    if isinstance(value, dt.time):
        return (value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6) / 86400.0
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.replace(tzinfo=None)
        day = value.date()
        frac = (value - dt.datetime.combine(day, dt.time())).total_seconds() / 86400.0
    else:
        day, frac = value, 0.0
    if date1904:
        n = (day - _EPOCH_1904).days
    else:
        n = (day - _EPOCH_1900).days
        if n <= _FICTITIOUS_LEAP_DAY:
            n -= 1
    if n < 0:
        raise ValueError(f"date before the first day of the date system: {value!r}")
    return n + frac


def from_serial(serial: float, date1904: bool = False) -> dt.date:
    """The date of a serial's whole part. Raises ValueError for 60 in the 1900 system (the
    fictitious 1900-02-29), a negative serial, or one past 9999-12-31."""
    n = int(serial)
    if n < 0 or (n == _FICTITIOUS_LEAP_DAY and not date1904):
        raise ValueError(f"no such date: serial {serial!r}")
    if date1904:
        return _EPOCH_1904 + dt.timedelta(days=n)
    return _EPOCH_1900 + dt.timedelta(days=n + 1 if n < _FICTITIOUS_LEAP_DAY else n)
