"""Two years side by side: findings where this year's workbook jumps from last year's.

``perfxl check 2024.xlsx --prev 2023.xlsx`` calls :func:`compare` through
``pipeline.process(prev=…)``, which adds its findings to the others, so ``--mark`` marks them
too.  They point at this year's cells (catalogue codes ``staff-quota-jump``,
``unit-disappeared``, ``stock-prev-mismatch``, ``prev-figure-mismatch``, ``year-not-consecutive``).
"""
from __future__ import annotations

from pathlib import Path

from .findings import Finding
from .schema import FIELD_BY_NAME, PREV_YEAR
from .model import Row, Table, WorkbookModel

QUOTA_JUMP = 0.20    # 核定编制数 changing by more than this share of last year's is suspicious
TOLERANCE = 0.005    # 万元: amounts equal to the cent


def _num(v: object) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _units(table: Table | None) -> dict[tuple[str, str], tuple[float | None, Row]]:
    """(单位名称, 编制类型) → (核定编制数, Row) of the filled rows."""
    out: dict[tuple[str, str], tuple[float | None, Row]] = {}
    for row in (table.filled if table is not None else ()):
        name = str(row.get("单位名称") or "").strip()
        if name:
            out.setdefault((name, str(row.get("编制类型") or "").strip()), (_num(row.get("核定编制数")), row))
    return out


def compare(prev: WorkbookModel, cur: WorkbookModel) -> list[Finding]:
    """Findings about ``cur`` (this year) measured against ``prev`` (last year's workbook)."""
    found: list[Finding] = []
    prev_name = Path(prev.path).name
    py, cy = prev.get("fiscal_year"), cur.get("fiscal_year")
    year_cell = cur.fields.get("fiscal_year")
    if isinstance(py, int) and isinstance(cy, int) and cy != py + 1 and year_cell is not None:
        found.append(Finding.at("year-not-consecutive", year_cell.sheet, year_cell.cell,
                                f"本工作簿的年度为 {cy}，用来对比的 {prev_name} 的年度为 {py}，不是上一年。",
                                "请选择上一年度的工作簿进行对比，或核对两份工作簿的“年度”。"))
    last = f"{py} 年" if isinstance(py, int) else "上年"
    stock_prev, stock_curr = cur.fields.get("stock_prev"), _num(prev.get("stock_curr"))
    typed = None if stock_prev is None else _num(stock_prev.value)
    if stock_prev is not None and typed is not None and stock_curr is not None and abs(typed - stock_curr) > TOLERANCE:
        found.append(Finding.at("stock-prev-mismatch", stock_prev.sheet, stock_prev.cell,
                                f"上年末存量资金填写为 {typed:,.2f} 万元，{last}工作簿"
                                f"（{prev_name}）的本年末存量资金为 {stock_curr:,.2f} 万元。",
                                "两者应当相等：请核对本年填写的数字或上年工作簿。"))
    for name, last_name in PREV_YEAR[1:]:  # the optional 上年 inputs, when this year has them filled
        given, figure = cur.fields.get(name), _num(prev.get(last_name))
        typed = None if given is None else _num(given.value)
        if given is not None and typed is not None and figure is not None and abs(typed - figure) > TOLERANCE:
            label, last_label = FIELD_BY_NAME[name].label, FIELD_BY_NAME[last_name].label
            found.append(Finding.at("prev-figure-mismatch", given.sheet, given.cell,
                                    f"“{label}”填写为 {typed:,.2f} 万元，{last}工作簿（{prev_name}）的“{last_label}”"
                                    f"为 {figure:,.2f} 万元。",
                                    "两者应当相等：请核对本年填写的数字或上年工作簿（口径不同时请在报告中说明）。"))
    old, new = _units(prev.tables.get("tbl_units")), _units(cur.tables.get("tbl_units"))
    units = cur.tables.get("tbl_units")
    new_names = {name for name, _ in new}
    for (name, kind), (quota, _row) in old.items():
        if name not in new_names:
            if units is None:
                continue
            col = units.columns.get("单位名称")
            cell = f"{col}{units.header_row}" if col else ""
            if not any(f.code == "unit-disappeared" and f"“{name}”" in f.message for f in found):
                found.append(Finding.at("unit-disappeared", units.sheet, cell,
                                        f"{last}的“人员编制”表中有单位“{name}”，本年的表中没有。",
                                        "如该单位已撤并，请在报告中说明；否则请补填该单位的编制和人数。",
                                        table=units.name))
            continue
        now = new.get((name, kind))
        if now is None or quota is None or now[0] is None or quota <= 0:
            continue
        change = (now[0] - quota) / quota
        if abs(change) > QUOTA_JUMP:
            v = now[1].cells["核定编制数"]
            found.append(Finding.at("staff-quota-jump", v.sheet, v.cell,
                                    f"“{name}”（{kind or '未填编制类型'}）的核定编制数为 {now[0]:g}，{last}为 {quota:g}，"
                                    f"变化 {change:+.0%}。",
                                    "请核实是否有编制调整文件；如是填写错误，请改正。",
                                    table=units.name if units else None, row=now[1].row))
    return found

