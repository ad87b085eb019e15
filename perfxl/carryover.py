"""Carry last year forward: next year's standard workbook, started from this year's.

Every year a clerk retypes what barely changed.  :func:`carry_forward` reads last year's
workbook and builds the new year's from the same template (:func:`perfxl.template.build_workbook`)
with only what persists:

* 封面: 部门名称, 附件编号, 单位负责人, 填报人, 联系电话 (填报日期 stays empty);
* 部门职责: 职责依据 and every row of 表1;
* 人员编制: every unit with its 层级, 编制类型, 单位性质, 经费保障 and 核定编制数 (年末实有人数 empty);
* 绩效目标: every row of 表2 with 指标类型, 指标内容, 指标值 (实际完成值 and 是否完成 empty);
* 报告正文: 章节 and 标题 of every row (正文 empty);
* 上年末国库集中支付结转结余存量资金 (stock_prev) = last year's 本年末 figure (stock_curr); likewise
  上年“三公”经费实际支出数 (sangong_prev) = last year's sangong_actual and 上年结转结余资金
  (carryover_prev) = last year's carryover_balance (:data:`perfxl.schema.PREV_YEAR`).

The year moves on by one (or to ``year``); every other figure of the new year is left empty, and
重点工作, 加减分 and the manual scores start blank.  The library function is what ``perfxl new
--from`` and the service call; it never writes the previous workbook.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import PerfxlError
from .model import Value, WorkbookModel
from .rulepack import RulePack
from .schema import FIELD_BY_NAME, PREV_YEAR

# What persists from one year to the next.
KEPT_FIELDS = ("dept_name", "attachment_label", "dept_head", "preparer", "phone", "duty_basis")
KEPT_COLUMNS = {
    "tbl_duties": ("序号", "主要职责"),
    "tbl_units": ("单位名称", "层级", "编制类型", "单位性质", "经费保障", "核定编制数"),
    "tbl_targets": ("指标类型", "指标内容", "指标值"),
    "tbl_narrative": ("章节", "标题"),
}
TABLE_LABELS = {"tbl_duties": "部门职责", "tbl_units": "单位编制", "tbl_targets": "绩效目标",
                "tbl_narrative": "报告章节标题"}


@dataclass(frozen=True)
class Carried:
    """The new year's workbook and what was carried into it.

    ``body``: the .xlsx bytes; ``year``: the new fiscal year; ``rows``: table name → rows
    copied; ``stock_prev``: the 上年末存量资金 set (None when last year's workbook had no
    本年末 figure); ``notes``: Chinese sentences for the clerk (what to check by hand).
    """

    body: bytes
    year: int
    rows: dict[str, int]
    stock_prev: float | None
    notes: tuple[str, ...]
    # the other 上年 figures set from last year's workbook: (field name, value)
    prev_figures: tuple[tuple[str, float], ...] = ()

    @property
    def summary(self) -> str:
        parts = "、".join(f"{TABLE_LABELS[t]} {n} 行" for t, n in self.rows.items() if n)
        lines = [f"已带入上年的{parts or '基本信息'}；年度改为 {self.year}，其余数字留空待填。"]
        if self.stock_prev is not None:
            lines.append(f"上年末存量资金已填为 {self.stock_prev:,.2f} 万元（上年工作簿的“本年末存量资金”）。")
        for name, value in self.prev_figures:
            lines.append(f"{_label(name)}已填为 {value:,.2f} 万元（上年工作簿的“{_label(_LAST_YEAR[name])}”）。")
        return "\n".join(lines + list(self.notes))


_LAST_YEAR = dict(PREV_YEAR)


def _label(name: str) -> str:
    return FIELD_BY_NAME[name].label


def _kept(v: Value | None) -> Any:
    """The value to carry: the parsed value, or the text as typed when it could not be parsed
    (the new workbook's validation will point at it again)."""
    if v is None:
        return None
    if v.value is not None:
        return v.value
    return v.raw if isinstance(v.raw, str) and v.raw.strip() else None


def carry_data(prev: WorkbookModel, year: int | None = None, dept: str | None = None) -> tuple[dict, list[str]]:
    """The data (the shape of samples/lechang-2023.json) of the year after ``prev``, and notes."""
    notes: list[str] = []
    last = prev.get("fiscal_year")
    if year is None:
        if not isinstance(last, int):
            raise PerfxlError(f"{Path(prev.path).name}：上年工作簿没有填写有效的“年度”，无法推算新年度。"
                              "请用 --year 指定新年度，如 --year 2024。")
        year = last + 1
    fields: dict[str, Any] = {}
    for name in KEPT_FIELDS:
        value = _kept(prev.fields.get(name))
        if value is not None:
            fields[name] = value
    if dept:
        fields["dept_name"] = dept
    fields["fiscal_year"] = year
    for name, last_name in PREV_YEAR:
        figure = prev.get(last_name)
        if isinstance(figure, (int, float)) and not isinstance(figure, bool):
            fields[name] = round(float(figure), 2)
        elif name == "stock_prev":  # the others are optional inputs: nothing to say when absent
            notes.append("上年工作簿没有填写“本年末国库集中支付结转结余存量资金”，请手工填写上年末存量资金。")
    tables: dict[str, list[dict]] = {}
    for name, headers in KEPT_COLUMNS.items():
        table = prev.tables.get(name)
        rows = []
        for row in (table.filled if table is not None else ()):
            kept = {h: _kept(row.cells.get(h)) for h in headers}
            if any(v is not None for v in kept.values()):
                rows.append({h: v for h, v in kept.items() if v is not None})
        tables[name] = rows
    if isinstance(last, int) and year <= last:
        notes.append(f"注意：新年度 {year} 不晚于上年工作簿的年度 {last}。")
    return {"fields": fields, "tables": tables}, notes


def carry_forward(prev: str | os.PathLike | bytes, year: int | None = None, *, dept: str | None = None,
                  pack: RulePack | None = None, name: str = "上年工作簿.xlsx") -> Carried:
    """Build next year's workbook from ``prev`` (a path, or the bytes of an uploaded file named
    ``name``), for ``pack`` (default: the rule pack ``prev`` records).  Raises :class:`~perfxl.errors.WorkbookError` when ``prev`` cannot be read."""
    from .reader import read
    from .template import build_workbook

    model = read(name, prev) if isinstance(prev, bytes) else read(prev)
    data, notes = carry_data(model, year, dept)
    if pack is None:  # last year's pack (perfxl.packchoice), unless the caller chose one
        from .packchoice import choose

        pack, why = choose(model)
        if why:
            from .rulepack import pack_key

            notes.append(f"注意：上年工作簿 {why[0].ref} 记录的评分规则包无法识别，新工作簿按默认规则包"
                         f"“{pack_key(pack)}”生成；如需其他规则包，请加 --rules。")
    body = build_workbook(data, pack=pack)
    rows = {t: len(r) for t, r in data["tables"].items()}
    others = tuple((n, data["fields"][n]) for n, _ in PREV_YEAR[1:] if n in data["fields"])
    return Carried(body, data["fields"]["fiscal_year"], rows, data["fields"].get("stock_prev"), tuple(notes), others)


def write_new_from(path: str | os.PathLike, prev: str | os.PathLike, year: int | None = None, *,
                   dept: str | None = None, pack: RulePack | None = None, overwrite: bool = False) -> tuple[Path, Carried]:
    """``perfxl new NEW.xlsx --from PREV.xlsx``: write next year's workbook atomically (never
    over an existing file unless asked, never over ``prev``)."""
    from .fileio import write_output
    from .outnames import check_output

    path = check_output(path, (".xlsx",), (prev,), option="perfxl new")
    if path.exists() and not overwrite:
        raise PerfxlError(f"{path.name}：文件已存在，未覆盖。请换一个文件名，或加 --force 覆盖。")
    carried = carry_forward(prev, year, dept=dept, pack=pack)
    return write_output(path, carried.body), carried
