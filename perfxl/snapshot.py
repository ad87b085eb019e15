"""A workbook as an add-in reads it through the object model: the JSON source of :func:`perfxl.reader.parse`.

The WPS add-in sends this when it cannot read the open workbook's bytes (see
``perfxl/addins/wps/js/snapshot.js``)::

    {"version": 1, "name": "乐昌市民政局-2023.xlsx",
     "sheets": ["封面与基本信息", …],                      # in workbook order
     "names": {"dept_name": "'封面与基本信息'!$C$5", …},   # workbook scope, without "="
     "tables": {"tbl_units": {"sheet": "人员编制", "ref": "B8:H14", "headers": ["单位名称", …],
                              "totals": 0}, …},
     "grids": {"封面与基本信息": [[null, "部门名称", …], …], …}}   # values from A1 (Value2)

Values are what the object model's ``Value2`` gives: numbers (dates as serial numbers, which the
date parser accepts), text, booleans, null.  An error cell comes marked ``{"error": "#DIV/0!"}``
by ``snapshot.js``, or, from an add-in that did not recognise it, as its COM error number
(-2146826281 …) or its literal text; each is read as the :class:`~perfxl.formulas.XlError` the
file reader gives for that cell (:func:`perfxl.cellerrors.error_of`), so it is a ``cell-error``.
"""
from __future__ import annotations

from typing import Any

from .cellerrors import error_of
from .errors import WorkbookError
from .reader import TableRef, without_totals_row

VERSION = 1
MAX_SHEETS = 255
MAX_CELLS = 2_000_000


def _cell(v: Any) -> Any:
    if isinstance(v, bool) or v is None:
        return v
    err = error_of(v)
    if err is not None:
        return err
    if isinstance(v, str):
        return v
    if isinstance(v, (int, float)):
        return float(v)  # as python-calamine gives numbers
    return str(v)


class SnapshotSource:
    """A :class:`perfxl.reader.GridSource` over a snapshot document (a dict from JSON)."""

    def __init__(self, doc: Any):
        name = doc.get("name") if isinstance(doc, dict) else None
        self.path = name if isinstance(name, str) and name else "工作簿"
        bad = WorkbookError(f"{self.path}：加载项发来的工作簿内容不完整或格式不对，无法校验。请保存工作簿后重试。")
        if not isinstance(doc, dict) or doc.get("version") != VERSION:
            raise bad
        sheets, names, tables, grids = (doc.get(k) for k in ("sheets", "names", "tables", "grids"))
        if not (isinstance(sheets, list) and all(isinstance(s, str) for s in sheets) and len(sheets) <= MAX_SHEETS
                and isinstance(names, dict) and isinstance(tables, dict) and isinstance(grids, dict)):
            raise bad
        cells = 0
        self._grids: dict[str, list[list[Any]]] = {}
        for sheet in sheets:
            rows = grids.get(sheet, [])
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise bad
            cells += sum(len(r) for r in rows)
            if cells > MAX_CELLS:
                raise WorkbookError(f"{self.path}：工作簿太大（超过 {MAX_CELLS} 个单元格），无法按屏幕内容校验。")
            self._grids[sheet] = [[_cell(v) for v in r] for r in rows]
        self._sheets = list(sheets)
        self._names = {str(k): str(v) for k, v in names.items() if isinstance(v, str)}
        self._tables: dict[str, TableRef] = {}
        for tname, t in tables.items():
            if not isinstance(t, dict):
                raise bad
            sheet, ref, totals = t.get("sheet"), t.get("ref"), t.get("totals")
            if not isinstance(sheet, str) or not isinstance(ref, str):
                raise bad
            headers = tuple("" if h is None else str(h).strip() for h in t.get("headers") or ())
            ref = ref.replace("$", "")
            # without_totals_row gives None only for None: a text range stays a text range
            data_ref = without_totals_row(ref, totals if isinstance(totals, int) else 0) or ref
            self._tables[str(tname)] = TableRef(sheet, data_ref, headers)

    def sheet_names(self) -> list[str]:
        return list(self._sheets)

    def defined_names(self) -> dict[str, str]:
        return dict(self._names)

    def tables(self) -> dict[str, TableRef]:
        return dict(self._tables)

    def grid(self, sheet: str) -> list[list[Any]]:
        return self._grids.get(sheet, [])
