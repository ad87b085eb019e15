"""Entry-time rules of the standard workbook: data validation and sheet protection.

A clerk's mistake is cheapest when Excel, WPS or LibreOffice refuses it while it is typed.  The
template (:mod:`perfxl.template`) asks this module for the rule of every input cell — money not
negative, counts whole, dates and years plausible, a manual score between 0 and its own 分值
cell, a dropdown for every list — and for the protection of each sheet: formula and parameter
cells are locked, input cells are not, and sheets are protected *without a password* (anyone can
lift it under 审阅 → 撤销工作表保护).  Sheets whose Excel tables a clerk extends (部门职责, 绩效目标,
…) stay unprotected, because Excel cannot insert rows into a table on a protected sheet.

Everything here is what the clerk sees, so every prompt and error text is Chinese.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from openpyxl.styles import Protection
from openpyxl.utils.datetime import to_excel
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from . import schema

# Sheets protected (no password): they hold formulas or parameters and no table a clerk extends.
PROTECTED_SHEETS = frozenset({schema.S_HELP, schema.S_COVER, schema.S_FINANCE, schema.S_BUDGET,
                              schema.S_SCORES, schema.S_PARAMS})

LOCKED = Protection(locked=True)
UNLOCKED = Protection(locked=False)

FIRST_DATE = dt.date(2000, 1, 1)
LAST_DATE = dt.date(2099, 12, 31)
FIRST_YEAR, LAST_YEAR = 2000, 2099


@dataclass(frozen=True)
class Rule:
    """One data-validation rule (the cells it covers are collected by :class:`SheetRules`).

    ``style`` "stop" refuses a wrong entry; "warning" asks the clerk to confirm it (open lists).
    Excel's limits: titles ≤ 32 characters, texts ≤ 255.
    """

    type: str
    operator: str | None
    formula1: str
    formula2: str | None
    title: str
    prompt: str
    error: str
    style: str = "stop"

    def validation(self) -> DataValidation:
        return DataValidation(
            type=self.type, operator=self.operator, formula1=self.formula1, formula2=self.formula2,
            allow_blank=True, showInputMessage=True, showErrorMessage=True,
            promptTitle=self.title[:32], prompt=self.prompt[:255],
            errorTitle=("请确认" if self.style == "warning" else "输入有误")[:32], error=self.error[:225],
            errorStyle=self.style)


def _serial(d: dt.date) -> str:
    return str(int(to_excel(dt.datetime(d.year, d.month, d.day))))


def kind_rule(kind: str, label: str, unit: str = "", help_text: str = "", name: str = "") -> Rule | None:
    """The rule of a typed input cell (None for text: anything goes)."""
    extra = f"{help_text}。" if help_text else ""
    if name == "fiscal_year":
        return Rule("whole", "between", str(FIRST_YEAR), str(LAST_YEAR), label,
                    f"请填写四位年份，如 2023。{extra}",
                    f"“{label}”应是 {FIRST_YEAR} 到 {LAST_YEAR} 之间的四位年份，如 2023。")
    if kind == schema.MONEY:
        return Rule("decimal", "greaterThanOrEqual", "0", None, label,
                    f"金额，单位万元，保留两位小数，不能为负数。{extra}",
                    f"“{label}”应填写不小于 0 的金额（万元），如 1234.56；不要带“万元”等文字。")
    if kind == schema.INT:
        unit_text = f"（单位：{unit}）" if unit else ""
        return Rule("whole", "greaterThanOrEqual", "0", None, label,
                    f"请填写整数{unit_text}，不能为负数或小数。{extra}",
                    f"“{label}”应填写不小于 0 的整数{unit_text}，如 12。")
    if kind == schema.DATE:
        return Rule("date", "between", _serial(FIRST_DATE), _serial(LAST_DATE), label,
                    f"请填写日期，如 2024-5-20 或 2024/5/20。{extra}",
                    f"“{label}”应是一个日期，如 2024-5-20（年-月-日）。")
    if kind == schema.RATE:
        return Rule("decimal", "between", "0", "10", label,
                    f"请填写百分比，如 95%（或 0.95）。{extra}",
                    f"“{label}”应是百分比，如 95%。")
    if kind == schema.NUMBER:
        return Rule("decimal", "greaterThanOrEqual", "0", None, label,
                    f"请填写不小于 0 的数。{extra}",
                    f"“{label}”应填写不小于 0 的数。")
    return None


def column_rule(tdef: schema.TableDef, col: schema.Column) -> Rule | None:
    """The rule of a table column's input cells: a dropdown, or the rule of its kind."""
    if col.choices:
        return Rule("list", None, '"' + ",".join(col.choices) + '"', None, col.header,
                    "请从下拉列表中选择：" + "、".join(col.choices) + "。",
                    f"“{col.header}”只能是下列之一：" + "、".join(col.choices) + "。请从下拉列表中选择。")
    if col.suggestions:
        return Rule("list", None, '"' + ",".join(col.suggestions) + '"', None, col.header,
                    "可从下拉列表中选择：" + "、".join(col.suggestions) + "。",
                    f"“{col.header}”通常是下列之一：" + "、".join(col.suggestions)
                    + "。确定要填写其他内容吗？", "warning")
    if tdef.name == "tbl_awards" and col.header == "自评得分":
        return Rule("decimal", "greaterThanOrEqual", "0", None, col.header,
                    "“加分”行自动计分；“减分”行请填写扣分（正数，如 1）。",
                    "扣分请填写正数（如 1），不要填负号。")
    if col.kind == schema.INT and col.header == "序号":
        return Rule("whole", "greaterThanOrEqual", "1", None, col.header, "请填写序号：1、2、3……",
                    "序号应是正整数，如 1、2、3。")
    return kind_rule(col.kind, col.header)


def score_rule(points_cell: str) -> Rule:
    """A manual score: between 0 and the indicator's own 分值 cell (so any rule pack works)."""
    return Rule("decimal", "between", "0", points_cell, "自评得分",
                "请填写本指标的自评得分：不小于 0，不大于本行“分值”。未得满分请在“评价说明”写明理由。",
                "自评得分应在 0 到本行“分值”之间。")


class SheetRules:
    """The validation rules of one sheet: cells with the same rule share one validation."""

    def __init__(self) -> None:
        self._ranges: dict[Rule, list[str]] = {}

    def add(self, rule: Rule | None, ref: str) -> None:
        if rule is not None:
            self._ranges.setdefault(rule, []).append(ref)

    def apply(self, ws: Worksheet) -> None:
        for rule, refs in self._ranges.items():  # insertion order: the same bytes every build
            dv = rule.validation()
            for ref in refs:
                dv.add(ref)
            ws.add_data_validation(dv)


def protect(ws: Worksheet) -> None:
    """Protect the sheet without a password, if it is one of :data:`PROTECTED_SHEETS`.

    Formatting rows and columns stays allowed (a clerk may widen a column to read or print).
    """
    if ws.title not in PROTECTED_SHEETS:
        return
    p = ws.protection
    p.sheet = True
    p.formatColumns = False  # False = allowed
    p.formatRows = False
    p.selectLockedCells = False
    p.selectUnlockedCells = False
