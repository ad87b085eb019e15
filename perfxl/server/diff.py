"""What changed between two stored versions: input cells (old → new) and the score's movement."""
from __future__ import annotations

from typing import Any


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def compare(old: dict, new: dict) -> dict:
    """``old``/``new``: stored results (``result`` column).  Cells are compared by sheet!cell."""
    a, b = old.get("cells") or {}, new.get("cells") or {}
    cells = []
    for ref in sorted(set(a) | set(b), key=_order):
        va, vb = (a.get(ref) or {}).get("value"), (b.get(ref) or {}).get("value")
        if va != vb:
            label = (b.get(ref) or a.get(ref) or {}).get("label", "")
            cells.append({"ref": ref, "label": label, "old": va, "new": vb})
    ia, ib = old.get("indicators") or {}, new.get("indicators") or {}
    indicators = [{"id": k, "old": ia.get(k), "new": ib.get(k),
                   "delta": None if _num(ia.get(k)) is None or _num(ib.get(k)) is None else round(ib[k] - ia[k], 2)}
                  for k in sorted(set(ia) | set(ib)) if ia.get(k) != ib.get(k)]
    ta, tb = _num(old.get("total")), _num(new.get("total"))
    return {"cells": cells, "indicators": indicators,
            "total": {"old": ta, "new": tb, "delta": None if ta is None or tb is None else round(tb - ta, 2)},
            "grade": {"old": old.get("grade"), "new": new.get("grade")},
            "errors": {"old": old.get("errors"), "new": new.get("errors")},
            "warnings": {"old": old.get("warnings"), "new": new.get("warnings")}}


def _order(ref: str) -> tuple:
    """Sheet, then row, then column (so a sheet's changes read top to bottom)."""
    import re

    sheet, _, cell = ref.rpartition("!")
    m = re.fullmatch(r"([A-Z]+)([0-9]+)", cell)
    if not m:
        return (sheet, 0, 0, cell)
    col = 0
    for ch in m.group(1):
        col = col * 26 + ord(ch) - 64
    return (sheet, int(m.group(2)), col, "")
