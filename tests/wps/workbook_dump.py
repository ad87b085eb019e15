"""A workbook file as the JSON the node tests compare with their fake object model (fake-wps.js).

    python tests/wps/workbook_dump.py dump FILE            # the file as it is
    python tests/wps/workbook_dump.py expected FILE OUTDIR # copy, `perfxl check --mark`, `perfxl score`

Prints {"name", "path", "sheets": [{name, visible, cells: {A1: {v}|{f}|{e}}, comments, marks, links}],
"names", "tables"}; marks are perfxl's conditional formats, one per cell, with the fill as RRGGBB.
Read with openpyxl (formulas as written, not values), so the comparison is cell by cell.
"""
from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.utils.cell import range_boundaries, get_column_letter


def _value(v):
    if isinstance(v, (dt.datetime, dt.date)):
        return {"date": v.isoformat()}
    return v


def _cells(ref: str):
    for part in ref.split():
        c1, r1, c2, r2 = range_boundaries(part)
        for r in range(r1, r2 + 1):
            for c in range(c1, c2 + 1):
                yield f"{get_column_letter(c)}{r}"


def dump(path: Path) -> dict:
    wb = load_workbook(path)  # formulas as text
    cached = load_workbook(path, data_only=True)  # their cached results, as an application shows them
    sheets = []
    tables = {}
    for ws in wb.worksheets:
        cells, comments, links, marks = {}, {}, {}, []
        for row in ws.iter_rows():
            for c in row:
                if c.comment is not None:
                    comments[c.coordinate] = c.comment.text
                if c.hyperlink is not None and c.hyperlink.location:
                    links[c.coordinate] = c.hyperlink.location
                if c.value is None or c.value == "":
                    continue
                if c.data_type == "f":
                    got = cached[ws.title][c.coordinate]
                    cells[c.coordinate] = ({"f": str(c.value).removeprefix("="), "e": got.value} if got.data_type == "e"
                                           else {"f": str(c.value).removeprefix("="), "v": _value(got.value)})
                elif c.data_type == "e":  # an error value (#N/A …): the fake hands it over as WPS would
                    cells[c.coordinate] = {"e": c.value}
                else:
                    cells[c.coordinate] = {"v": _value(c.value)}
        for cf in ws.conditional_formatting:
            for rule in cf.rules:
                formula = (rule.formula or [""])[0]
                if not formula.startswith('"perfxl-'):
                    continue
                fill = rule.dxf.fill if rule.dxf is not None else None
                color = None
                if fill is not None:
                    rgb = (fill.bgColor.rgb if fill.bgColor is not None and fill.bgColor.rgb not in (None, "00000000")
                           else fill.fgColor.rgb)
                    color = str(rgb)[-6:].upper() if rgb else None
                for ref in _cells(str(cf.sqref)):
                    marks.append({"ref": ref, "formula": "=" + formula, "color": color})
        for t in ws.tables.values():
            tables[t.displayName] = {"sheet": ws.title, "ref": t.ref, "totals": int(t.totalsRowCount or 0)}
        sheets.append({"name": ws.title, "visible": ws.sheet_state == "visible", "protected": bool(ws.protection.sheet),
                       "cells": cells,
                       "comments": comments, "marks": marks, "links": links})
    names = {n: dn.attr_text for n, dn in wb.defined_names.items()}
    return {"name": path.name, "path": str(path.parent), "sheets": sheets, "names": names, "tables": tables}


def expected(src: Path, outdir: Path) -> Path:
    """What the command line writes: a copy marked with `check --mark`, then scored."""
    outdir.mkdir(parents=True, exist_ok=True)
    marked = outdir / ("marked-" + src.name)
    scored = outdir / ("scored-" + src.name)
    shutil.copyfile(src, marked)
    run = [sys.executable, "-m", "perfxl"]
    subprocess.run(run + ["check", str(marked), "--mark"], check=False, capture_output=True)  # exit 1 = findings
    subprocess.run(run + ["score", str(marked), "-o", str(scored)], check=True, capture_output=True)
    return scored


if __name__ == "__main__":
    mode, file = sys.argv[1], Path(sys.argv[2])
    target = file if mode == "dump" else expected(file, Path(sys.argv[3]))
    json.dump(dump(target), sys.stdout, ensure_ascii=False)
