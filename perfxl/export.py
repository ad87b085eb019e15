"""The model as JSON keyed by the contract's names and table names (for other systems)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from .model import WorkbookModel


def _plain(v: Any) -> Any:
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return int(v) if abs(v) < 1e15 else v
    return v


def model_json(model: WorkbookModel) -> dict:
    """``{"file", "fields": {name: value}, "cells": {name: "sheet!cell"}, "tables": {name: [row…]},
    "outputs": {name: value}, "missing": [...], "rule_pack": text or None}``; values are the parsed
    ones (dates ISO); ``rule_pack``: the pack the workbook records (None when it has no such name)."""
    return {
        "file": model.path,
        "fields": {k: _plain(v.value) for k, v in model.fields.items()},
        "cells": {k: v.ref for k, v in model.fields.items()},
        "tables": {name: [{h: _plain(c.value) for h, c in row.cells.items()} for row in t.filled]
                   for name, t in model.tables.items()},
        "outputs": {k: _plain(v.value) for k, v in model.outputs.items()},
        "missing": list(model.missing),
        "rule_pack": None if model.rule_pack is None else _plain(model.rule_pack.value),
    }
