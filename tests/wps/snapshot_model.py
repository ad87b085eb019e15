"""Compare the model parsed from a snapshot (perfxl.snapshot) with the model read from the file.

    python tests/wps/snapshot_model.py SNAPSHOT.json FILE.xlsx

Prints {"snapshot": model_json, "file": model_json, "*_problems": {ref: problem}, "*_findings":
[[code, sheet, cell]]} for the node test;
"file" is ignored in the comparison of the file name (a snapshot names the book, not a path).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from perfxl.export import model_json
from perfxl.pipeline import analyse
from perfxl.reader import parse, read
from perfxl.snapshot import SnapshotSource


def problems(model) -> dict:
    out = {v.ref: v.problem for v in model.fields.values() if v.problem}
    for t in model.tables.values():
        for row in t.rows:
            out.update({v.ref: v.problem for v in row.cells.values() if v.problem})
    return out


def findings(model) -> list:
    """[code, sheet, cell] of every finding, sorted."""
    return sorted([f.code, f.sheet, f.cell] for f in analyse(model).findings)


if __name__ == "__main__":
    doc = json.loads(Path(sys.argv[1]).read_text("utf-8"))
    snap, file = parse(SnapshotSource(doc)), read(sys.argv[2])
    result = {"snapshot": model_json(snap), "file": model_json(file),
              "snapshot_problems": problems(snap), "file_problems": problems(file),
              "snapshot_findings": findings(snap), "file_findings": findings(file)}
    json.dump(result, sys.stdout, ensure_ascii=False)
