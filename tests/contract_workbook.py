"""A standard workbook built from docs/workbook-contract.md alone (openpyxl, not perfxl.template).

It deliberately lays the contract out differently from perfxl's own template: other sheet names
and order, fields scattered over other cells, several tables on one sheet, tables starting in
other columns and rows, an extra sheet, no 评分参数 sheet, no score_<id> names, no cached
values (openpyxl writes none).  Only what the contract names is there: the defined names of the
single-cell inputs and of the values perfxl writes back, and the seven tables with their headers.

``build_contract_workbook(data, path, **variant)`` writes the file; the keyword arguments make
the variants the tests use (names left out, tables with extra rows or columns, columns in
another order, totals typed as numbers).
"""
from __future__ import annotations

import datetime as dt
import json
import tomllib
from pathlib import Path
from typing import Any, Iterable

from openpyxl import Workbook
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.table import Table, TableStyleInfo

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_JSON = ROOT / "samples" / "lechang-2023.json"
RULES = ROOT / "perfxl" / "rules" / "guangdong-2023.toml"

# The contract's names and tables (docs/workbook-contract.md), copied here on purpose: this
# builder must not learn the layout from perfxl.
INPUT_NAMES = (
    "dept_name", "fiscal_year", "attachment_label", "dept_head", "preparer", "phone", "report_date",
    "duty_basis", "overall_goal", "income_general", "income_fund", "income_other", "income_total",
    "exp_personnel", "exp_public", "exp_basic", "exp_project", "exp_total", "exp_project_desc",
    "budget_annual", "budget_executed", "quota_basic", "quota_project", "issued_basic", "issued_project",
    "payment_count", "issued_incl_special", "special_account", "payable_unpaid", "upper_funds_total",
    "carryover_balance", "carryover_payable_excluded", "stock_prev", "stock_curr", "proc_goods",
    "proc_works", "proc_services", "proc_sme", "sangong_budget", "sangong_actual", "public_budget",
    "public_actual", "asset_count", "asset_original", "asset_net", "projects_total",
    "projects_with_targets", "staff_actual_stated",
)
TOTALS = {  # "money (formula)"
    "income_total": ("income_general", "income_fund", "income_other"),
    "exp_basic": ("exp_personnel", "exp_public"),
    "exp_total": ("exp_basic", "exp_project"),
}
RATE_NAMES = (
    "rate_issued_basic", "rate_issued_project", "rate_spending", "rate_spending_incl_payable",
    "rate_carryover", "rate_stock_change", "rate_staff_control", "rate_sangong", "rate_public",
    "rate_sme_share", "rate_key_tasks", "rate_target_coverage",
)
TOTAL_NAMES = ("score_base", "score_bonus", "score_total", "grade")
HEADERS = {
    "tbl_duties": ("序号", "主要职责"),
    "tbl_units": ("单位名称", "层级", "编制类型", "单位性质", "经费保障", "核定编制数", "年末实有人数"),
    "tbl_targets": ("指标类型", "指标内容", "指标值", "实际完成值", "是否完成"),
    "tbl_key_tasks": ("序号", "重点工作", "进展情况", "完成状态"),
    "tbl_awards": ("序号", "项目名称", "授奖机关", "授奖时间", "授奖依据", "授奖级别", "类型", "自评得分"),
    "tbl_scores": ("指标编号", "一级指标", "二级指标", "三级指标", "分值", "评分方式", "计算值", "自评得分", "评价说明"),
    "tbl_narrative": ("章节", "标题", "正文"),
}
DATE_FIELDS = {"report_date"}
DATE_COLUMNS = {"授奖时间"}

# Where things go: (sheet, top-left cell of the header row).  Sheet order is the dict order of
# SHEETS; "附注" is an extra sheet the contract knows nothing about.
SHEETS = ("正文与评分", "附注", "基础数据", "表格汇总")
TABLE_AT = {
    "tbl_scores": ("正文与评分", "D12"),
    "tbl_narrative": ("正文与评分", "D50"),
    "tbl_duties": ("表格汇总", "H3"),
    "tbl_units": ("表格汇总", "B20"),
    "tbl_targets": ("表格汇总", "K20"),
    "tbl_key_tasks": ("表格汇总", "B40"),
    "tbl_awards": ("表格汇总", "B50"),
}
# Input fields: two columns of label/value blocks on 基础数据, in reverse contract order.
FIELD_SHEET = "基础数据"
# Write-back names: rates in one block on 基础数据 column K; totals above tbl_scores.
RATE_SHEET, RATE_COL, RATE_ROW = "基础数据", "K", 6
TOTALS_SHEET, TOTALS_COL, TOTALS_ROW = "正文与评分", "F", 3


def sample_data() -> dict:
    return json.loads(SAMPLE_JSON.read_text("utf-8"))


def scores_rows(data: dict) -> list[dict]:
    """tbl_scores: one row per indicator of the rule pack (一级/二级/三级/分值/评分方式 from the
    pack), with the clerk's 自评得分 and 评价说明 from ``data`` for the manual ones."""
    pack = tomllib.loads(RULES.read_text("utf-8"))
    given = {r["指标编号"]: r for r in data["tables"]["tbl_scores"]}
    rows = []
    for ind in pack["indicator"]:
        l1, l2 = ind["path"].split("/")
        manual = ind["method"] == "manual"
        g = given.get(ind["id"], {})
        rows.append({"指标编号": ind["id"], "一级指标": l1, "二级指标": l2, "三级指标": ind["name"],
                     "分值": ind["points"], "评分方式": "人工" if manual else "自动",
                     "自评得分": g.get("自评得分") if manual else None, "评价说明": g.get("评价说明") or None})
    return rows


def _cell_value(header_or_name: str, v: Any, dates: set[str]) -> Any:
    if header_or_name in dates and isinstance(v, str):
        return dt.datetime.fromisoformat(v)
    return None if v == "" else v


def _ref(sheet: str, cell: str) -> str:
    col = "".join(ch for ch in cell if ch.isalpha())
    row = "".join(ch for ch in cell if ch.isdigit())
    return f"{quote_sheetname(sheet)}!${col}${row}"


def _split(cell: str) -> tuple[int, int]:
    from openpyxl.utils.cell import coordinate_from_string, column_index_from_string
    col, row = coordinate_from_string(cell)
    return column_index_from_string(col), row


def build_contract_workbook(
    data: dict | None = None,
    path: str | Path | None = None,
    *,
    omit_names: Iterable[str] = (),
    omit_tables: Iterable[str] = (),
    totals_as_numbers: bool = False,
    extra_rows: dict[str, int] | None = None,
    extra_columns: dict[str, list[tuple[int, str]]] | None = None,
    column_order: dict[str, list[str]] | None = None,
    table_at: dict[str, tuple[str, str]] | None = None,
) -> Workbook:
    """Build (and with ``path`` save) a contract-only workbook of ``data`` (default: the sample).

    ``omit_names`` / ``omit_tables``: contract names or tables left out.  ``totals_as_numbers``:
    income_total, exp_basic, exp_total typed as numbers instead of formulas.  ``extra_rows``:
    table → empty rows added at the end of the table.  ``extra_columns``: table → (position,
    header) columns inserted (filled with "x").  ``column_order``: table → headers in another
    order.  ``table_at``: table → (sheet, top-left cell) overrides.
    """
    data = data if data is not None else sample_data()
    omit_names, omit_tables = set(omit_names), set(omit_tables)
    extra_rows, extra_columns = extra_rows or {}, extra_columns or {}
    column_order, where = column_order or {}, {**TABLE_AT, **(table_at or {})}
    wb = Workbook()
    wb.remove(wb.active)
    sheets = {name: wb.create_sheet(name) for name in SHEETS}
    sheets["附注"]["A1"] = "本工作簿按 docs/workbook-contract.md 自行排版，仅用于测试。"

    def name(n: str, sheet: str, cell: str) -> None:
        if n not in omit_names:
            wb.defined_names[n] = DefinedName(n, attr_text=_ref(sheet, cell))

    # Single-cell inputs: label in column C/G, value in D/H, from row 4 down, reverse order, a
    # blank row between every five.
    ws = sheets[FIELD_SHEET]
    ws["C2"] = "基础数据（按契约名称读取）"
    fields = data["fields"]
    for i, n in enumerate(reversed(INPUT_NAMES)):
        block, k = divmod(i, 25)
        col_label, col_value = ("C", "D") if block == 0 else ("G", "H")
        row = 4 + k + k // 5
        ws[f"{col_label}{row}"] = n
        cell = f"{col_value}{row}"
        if n in TOTALS and not totals_as_numbers:
            ws[cell] = "=" + "+".join(TOTALS[n])
        elif n in TOTALS:
            ws[cell] = round(sum(_total(data, p) for p in TOTALS[n]), 2)
        else:
            ws[cell] = _cell_value(n, fields.get(n), DATE_FIELDS)
            if n in DATE_FIELDS:
                ws[cell].number_format = "yyyy-mm-dd"
        name(n, FIELD_SHEET, cell)

    # Rates: an empty block perfxl fills.
    rs = sheets[RATE_SHEET]
    rs[f"{RATE_COL}{RATE_ROW - 1}"] = "比率（perfxl 写入）"
    for i, n in enumerate(RATE_NAMES):
        rs[f"J{RATE_ROW + i}"] = n
        name(n, RATE_SHEET, f"{RATE_COL}{RATE_ROW + i}")
    ts = sheets[TOTALS_SHEET]
    for i, n in enumerate(TOTAL_NAMES):
        ts[f"E{TOTALS_ROW + i}"] = n
        name(n, TOTALS_SHEET, f"{TOTALS_COL}{TOTALS_ROW + i}")

    rows_of = {t: list(data["tables"].get(t, [])) for t in HEADERS}
    rows_of["tbl_scores"] = scores_rows(data)
    for t, headers in HEADERS.items():
        if t in omit_tables:
            continue
        headers = list(column_order.get(t, headers))
        for pos, h in extra_columns.get(t, []):
            headers.insert(pos, h)
        sheet, at = where[t]
        ws = sheets[sheet] if sheet in sheets else sheets.setdefault(sheet, wb.create_sheet(sheet))
        c0, r0 = _split(at)
        for j, h in enumerate(headers):
            ws.cell(r0, c0 + j, h)
        rows = rows_of[t] + [{}] * extra_rows.get(t, 0)
        for i, r in enumerate(rows, start=1):
            for j, h in enumerate(headers):
                v = "x" if h not in HEADERS[t] and r else _cell_value(h, r.get(h), DATE_COLUMNS)
                if v is not None:
                    ws.cell(r0 + i, c0 + j, v)
                    if h in DATE_COLUMNS:
                        ws.cell(r0 + i, c0 + j).number_format = "yyyy-mm-dd"
        ref = f"{get_column_letter(c0)}{r0}:{get_column_letter(c0 + len(headers) - 1)}{r0 + max(1, len(rows))}"
        tab = Table(displayName=t, ref=ref)
        tab.tableStyleInfo = TableStyleInfo(name="TableStyleLight9", showRowStripes=True)
        ws.add_table(tab)
    if path is not None:
        wb.save(path)
    return wb


def _total(data: dict, name: str) -> float:
    if name in TOTALS:
        return sum(_total(data, p) for p in TOTALS[name])
    return float(data["fields"].get(name) or 0)


# Where the sample's things land, for assertions.
def field_cell(name: str) -> tuple[str, str]:
    i = list(reversed(INPUT_NAMES)).index(name)
    block, k = divmod(i, 25)
    return FIELD_SHEET, f"{'D' if block == 0 else 'H'}{4 + k + k // 5}"


def rate_cell(name: str) -> tuple[str, str]:
    return RATE_SHEET, f"{RATE_COL}{RATE_ROW + RATE_NAMES.index(name)}"


def total_cell(name: str) -> tuple[str, str]:
    return TOTALS_SHEET, f"{TOTALS_COL}{TOTALS_ROW + TOTAL_NAMES.index(name)}"


if __name__ == "__main__":  # python tests/contract_workbook.py OUT.xlsx
    import sys

    build_contract_workbook(path=sys.argv[1])
