"""All checks of a standard workbook: model (+ rule pack, + scores) → findings.

:func:`check` runs every check and returns every finding at once, sorted by sheet order and
cell; it never raises on bad data (a value that cannot be read is a finding, not an exception).
Each check is a plain function ``(ctx) -> iterable of Finding`` listed in :data:`CHECKS`.
Codes and severities come from :data:`perfxl.findings.CATALOGUE`.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from . import schema
from .checkctx import (  # the checks' shared context and table helpers
    SERIAL as _SERIAL, Ctx, is_num as _is_num, own_sheet as _own_sheet,
    plausible_year as _plausible_year,
    at as _at,
    tdef as _tdef,
    empty_rows as _empty_rows,
    table_rows as _rows,
    header_cell as _header_cell,
    where as _where,
)
from .coerce import formula_reads
from .cellref import col_to_index, split_cell
from .findings import SEVERITY_RANK, Finding
from .findings_text import date_text, money, number, pct, shown
from .findings_text import findings_json, format_findings_text, summary_line  # noqa: F401 (perfxl.validate API)
from .formulas import XlError
from .textnorm import norm as _norm
from .model import Row, Table, Value, WorkbookModel
from .problems import Problem
from .rulepack import RulePack
from .rulepack import load as load_rules

if TYPE_CHECKING:
    from .scoring import Scores

TOLERANCE = 0.005          # money compares at half a cent of a 万元 figure shown with 2 decimals
LONG_TEXT = 10_000         # characters
MIN_DUPLICATE_PARAGRAPH = 30  # shorter paragraphs (headings, "无") may repeat legitimately
EXECUTED_FULL = 0.995      # 执行数 ÷ 全年预算数 at or above this reads as "完成预算 100%"
SPENDING_FAR_BELOW = 0.90  # … while 支出进度 below this contradicts it
HIGH_TOTAL, LOW_SPENDING = 90.0, 0.80

Check = Callable[["Ctx"], Iterable[Finding]]

_KIND_TEXT = {schema.MONEY: "金额（数字，单位万元）", schema.INT: "整数", schema.NUMBER: "数字",
              schema.RATE: "百分比或小数", schema.DATE: "日期（如 2024年5月20日）", schema.TEXT: "文字"}
_AWARD_EVIDENCE = ("授奖机关", "授奖时间", "授奖依据")
_EMPTY_MARKERS = {"无", "暂无", "没有", "无问题", "暂无问题", "没有问题", "不存在问题", "未发现问题",
                  "无改进措施", "暂无改进措施", "/", "-", "—", "——", "NA", "N/A", "不适用"}
_GENERIC_PHRASES = ("进一步加强", "有待提高", "有待加强", "有待进一步", "继续努力", "不断完善", "加强管理",
                    "存在不足", "持续改进", "认真落实", "进一步完善", "进一步提高", "严格执行")
_SIGNED_NUMBER = re.compile(r"^[+-][\d.,\s%％]*$")


# --------------------------------------------------------------------------- checks: structure

def check_structure(ctx: Ctx) -> Iterator[Finding]:
    """Contract names and tables the workbook lacks; table columns whose header was changed."""
    from .formulas import RATE_BY_NAME, pack_rates

    read = {n for r in pack_rates(ctx.pack) for n in RATE_BY_NAME[r].inputs}
    for name in ctx.model.missing:
        if name in schema.OPTIONAL_FIELDS and name not in read:
            continue
        if name in schema.TABLE_BY_NAME:
            tdef = schema.TABLE_BY_NAME[name]
            sheet = _own_sheet(ctx.model, tdef.sheet)
            yield Finding.at(
                "table-missing", sheet, "",
                f"找不到表格“{name}”（{tdef.caption}）：表格已被删除、改名，或所在工作表"
                f"{'“' + sheet + '”' if sheet else ''}已被删除。",
                f"请在{'“' + sheet + '”工作表' if sheet else '工作簿中'}恢复表格 {name}（可从 perfxl new 生成的新模板复制），"
                "表格名称和表头文字不要改动。",
                table=name)
        else:
            f = schema.FIELD_BY_NAME.get(name)
            sheet, label = (_own_sheet(ctx.model, f.sheet), f.label) if f else ("", name)
            yield Finding.at(
                "name-missing", sheet, "",
                f"找不到名称“{name}”（{label}）：名称已被删除、改名，或指向的工作表已被删除。",
                f"请在“公式 → 名称管理器”中恢复名称 {name}，使其指向{'“' + sheet + '”工作表中' if sheet else ''}"
                f"“{label}”的单元格。")
    for table in ctx.model.tables.values():
        absent = [h for h in _tdef(table).headers if h not in table.columns]
        for h in absent:
            yield Finding.at(
                "column-missing", table.sheet, _header_cell(table),
                f"表格“{table.name}”缺少“{h}”列（表头应为：{'、'.join(_tdef(table).headers)}）。",
                f"请把表头改回“{h}”，或恢复被删除的列。", table=table.name)


# --------------------------------------------------------------------------- checks: values

_EXCEL_ERRORS = {"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#SPILL!", "#CALC!"}
_NUMERIC = (schema.MONEY, schema.INT, schema.NUMBER, schema.RATE)
# What each error value the clerk sees means, in the words Excel's help uses.
_ERROR_MEANING = {"#N/A": "查找或引用的值不存在", "#REF!": "公式引用的单元格已被删除", "#DIV/0!": "除数为零",
                  "#VALUE!": "公式中的值类型不对", "#NAME?": "公式中有无法识别的名称", "#NUM!": "数值无效或超出范围",
                  "#NULL!": "引用的区域没有交集", "#SPILL!": "动态数组结果被挡住", "#CALC!": "计算出错"}


def _value_problem(v: Value, kind: str, what: str) -> Finding | None:
    """wrong-type / date-impossible for an unreadable value; number-as-text for a number typed
    as text (read leniently here, but an Excel formula over it gives #VALUE!)."""
    if not v.problem:
        if kind in _NUMERIC and isinstance(v.raw, str) and v.value is not None:
            if not formula_reads(v.raw):  # a unit or full-width digits: every formula over it fails
                read = money(v.value) if kind == schema.MONEY else number(v.value)
                return _at("number-text-unusable", v,
                           f"{what}中的“{shown(v.raw)}”带有单位、全角字符或文字，读作 {read}，但 Excel 公式无法用它计算："
                           "引用它的比率和指标得分算不出结果（不按 0 分计），合计时它被略过。",
                           f"请只填写数字 {number(v.value)}（单位已在表中注明），不要加单位或文字。")
            return _at("number-as-text", v, f"{what}中的“{shown(v.raw)}”是文本格式的数字，引用它的 Excel 公式可能算不出结果。",
                       "请把单元格格式改为“数值”或“常规”，再重新输入该数字（不要加单引号、单位或文字）。")
        return None
    if isinstance(v.raw, XlError):
        return _at("cell-error", v, f"{what}显示错误值 {v.raw.code}（{_ERROR_MEANING.get(v.raw.code, 'Excel 无法计算该单元格')}），"
                   f"应为{_KIND_TEXT.get(kind, kind)}；引用它的评分公式也会显示 {v.raw.code}。",
                   "请在该单元格填写数值本身；如果它是公式，请检查公式引用的单元格，或恢复模板中的内容。")
    if isinstance(v.raw, str) and v.raw.strip() in _EXCEL_ERRORS:
        return _at("wrong-type", v, f"{what}的公式结果是错误值“{v.raw.strip()}”，应为{_KIND_TEXT.get(kind, kind)}。",
                   "请检查该公式引用的单元格（多为某个分项填了文字），或恢复模板中的公式。")
    if kind == schema.DATE and v.problem == "日期不存在":
        return _at("date-impossible", v, f"{what}填写的“{shown(v.raw)}”不是存在的日期。",
                   "请核对年、月、日，按“2024年5月20日”或“2024-05-20”的格式填写。")
    return _at("wrong-type", v, f"{what}填写的“{shown(v.raw)}”{v.problem}，应为{_KIND_TEXT.get(kind, kind)}。",
               "请只填写数值本身（不要带单位、文字或说明），说明文字请写在旁边的单元格或报告正文中。"
               if kind != schema.DATE else "请填写日期，如“2024年5月20日”或“2024-05-20”。")


def check_fields(ctx: Ctx) -> Iterator[Finding]:
    """Single-cell inputs: unreadable, required but empty, negative, implausible year/date."""
    for f in schema.FIELDS:
        v = ctx.value(f.name)
        if v is None:
            continue
        what = f"“{f.label}”"
        bad = _value_problem(v, f.kind, what)
        if bad:
            yield bad
            if bad.code not in ("number-as-text", "number-text-unusable"):
                continue
        if f.required and v.value is None:
            yield _at("required-empty", v, f"{what}为必填项，尚未填写。", f"请在“{v.sheet}”工作表填写{what}。")
            continue
        if f.name == "fiscal_year":
            if v.value is not None and not _plausible_year(v.value):
                yield _at("year-implausible", v, f"年度填写为“{shown(v.raw)}”，不是合理的四位年份。",
                          "请填写评价的预算年度，如 2023。")
            continue
        if f.kind in (schema.MONEY, schema.INT) and _is_num(v.value) and v.value < 0:
            shown_v = money(v.value) if f.kind == schema.MONEY else number(v.value)
            yield _at("negative-value", v, f"{what}为 {shown_v}，不应为负数。", "请核对并填写非负数。")
        if f.kind == schema.DATE and isinstance(v.value, dt.date) and ctx.year:
            y = ctx.year
            first, last = dt.date(y, 11, 1), dt.date(y + 1, 12, 31)
            if not first <= v.value <= last:
                yield _at("report-date-out-of-period", v,
                          f"{what}为 {date_text(v.value)}，评价年度为 {y} 年，应在 {date_text(first)}至"
                          f"{date_text(last)}之间。", "请核对填报日期（通常为评价年度次年的上半年）和年度。")


def check_table_cells(ctx: Ctx) -> Iterator[Finding]:
    """Table cells: unreadable, required but empty, not a dropdown choice, negative counts."""
    for table in ctx.model.tables.values():
        tdef = _tdef(table)
        _, rows = _rows(ctx, table.name)
        for i, row in rows:
            for col in tdef.columns:
                v = row.cells.get(col.header)
                if v is None:
                    continue
                if v.problem or (col.kind in _NUMERIC and isinstance(v.raw, str) and v.value is not None):
                    # exactly when _value_problem finds something
                    bad = _value_problem(v, col.kind, _where(table, i, col.header))
                    if bad:
                        yield bad
                        if bad.code not in ("number-as-text", "number-text-unusable"):
                            continue
                elif v.value is not None and not col.choices and col.kind != schema.INT:
                    continue  # nothing below can apply
                what = _where(table, i, col.header)
                if v.value is None:
                    if col.required and not (table.name == "tbl_awards" and col.header in _AWARD_EVIDENCE):
                        yield _at("required-empty", v, f"{what}为必填项，尚未填写。",
                                  f"请填写“{col.header}”，或删除整行。", table, row)
                    continue
                if col.choices and str(v.value).strip() not in col.choices:
                    yield _at("invalid-choice", v, f"{what}填写为“{shown(v.raw)}”，不是可选值（{'、'.join(col.choices)}）。",
                              "请从下拉列表中选择。", table, row)
                if col.kind == schema.INT and col.header != _SERIAL and _is_num(v.value) and v.value < 0:
                    yield _at("negative-value", v, f"{what}为 {number(v.value)}，不应为负数。", "请填写非负整数。",
                              table, row)


def check_text(ctx: Ctx) -> Iterator[Finding]:
    """Text that would run as a formula in an exported CSV; text too long for a cell."""
    cells: list[tuple[Value, str, Table | None, Row | None]] = []
    for f in schema.FIELDS:
        v = ctx.value(f.name)
        if v is not None:
            cells.append((v, f.kind, None, None))
    for table in ctx.model.tables.values():
        kinds = {c.header: c.kind for c in _tdef(table).columns}
        for row in table.rows:
            for h, v in row.cells.items():
                cells.append((v, kinds.get(h, schema.TEXT), table, row))
    for v, kind, in_table, in_row in cells:
        raw = v.raw
        if not isinstance(raw, str) or not raw:
            continue
        if len(raw) > LONG_TEXT:
            yield _at("text-too-long", v, f"单元格文字长 {len(raw):,} 字，超过 {LONG_TEXT:,} 字。",
                      "请精简文字，或把长文分成多段、多行填写。", in_table, in_row)
        s = raw.strip()
        if kind == schema.TEXT and len(s) > 1 and raw[0] in "=+-@" and not _SIGNED_NUMBER.match(s):
            yield _at("formula-like-text", v, f"文字“{shown(raw)}”以“{raw[0]}”开头，导出为 CSV 时可能被当作公式执行。",
                      f"如非必要，请去掉开头的“{raw[0]}”或在其前加中文说明文字。", in_table, in_row)


def check_table_shape(ctx: Ctx) -> Iterator[Finding]:
    """Empty rows in the middle of a table; duplicate 序号."""
    for table in ctx.model.tables.values():
        empty = _empty_rows(ctx, table)
        last_filled = max((i for i, e in enumerate(empty) if not e), default=-1)
        i = 0
        while i < last_filled:
            if empty[i]:
                j = i
                while empty[j + 1]:
                    j += 1
                first_row, last_row = table.rows[i].row, table.rows[j].row
                span = f"第 {first_row} 行" if i == j else f"第 {first_row}–{last_row} 行"
                col = next(iter(table.columns.values()), "A")
                yield Finding.at("blank-row", table.sheet, f"{col}{first_row}",
                                 f"“{table.sheet}”表（{table.name}）中间的{span}是空行，其后仍有数据。",
                                 "请删除空行（右键 → 删除 → 表格行），或在空行中补填内容。",
                                 table=table.name, row=first_row)
                i = j + 1
            else:
                i += 1
        if _SERIAL in table.columns:
            seen: dict[Any, Value] = {}
            for r in (r for r, e in zip(table.rows, empty) if not e):
                v = r.cells.get(_SERIAL)
                if v is None or v.value is None:
                    continue
                if v.value in seen:
                    yield _at("duplicate-serial", v,
                              f"序号 {shown(v.value)} 重复（{seen[v.value].cell} 已使用）。", "请按顺序重新编号。",
                              table, r)
                else:
                    seen[v.value] = v


# --------------------------------------------------------------------------- checks: totals

def check_sums(ctx: Ctx) -> Iterator[Finding]:
    """Totals typed over their formula; totals that must match each other (not compared when
    a total is already wrong: one typed-over cell is one finding)."""
    typed_over = False
    for f in schema.DERIVED_FIELDS:
        total = ctx.value(f.name)
        parts = [v for v in (ctx.value(p) for p in f.parts) if v is not None and not v.problem]
        if total is None or not _is_num(total.value) or len(parts) < len(f.parts):
            continue
        nums = [p.value for p in parts if _is_num(p.value)]
        if not nums:
            continue
        s = sum(nums)
        if abs(total.value - s) > TOLERANCE:
            names = "、".join(ctx.label(p) for p in f.parts)
            typed_over = True
            yield _at("sum-mismatch", total,
                      f"“{f.label}”为 {money(total.value)}，但各分项（{names}）之和为 {money(s)}。",
                      f"“{f.label}”是自动合计（{' + '.join(ctx.label(p) for p in f.parts)}），不要手工填写："
                      "请从空白标准工作簿复制该单元格恢复自动合计，或核对各分项金额。")
    inc, exp = ctx.num("income_total"), ctx.num("exp_total")
    if typed_over:
        inc = exp = None
    if inc is not None and exp is not None and abs(inc - exp) > TOLERANCE:
        yield _at("income-expense-mismatch", ctx.field("exp_total"),
                  f"财政拨款支出合计为 {money(exp)}，总收入为 {money(inc)}，两者相差 {money(abs(inc - exp))}。",
                  "请核对收入、支出各项金额；如差额为结转结余等正常原因，请在报告中说明。")
    annual, executed = ctx.num("budget_annual"), ctx.num("budget_executed")
    if annual is not None and executed is not None and executed > annual + TOLERANCE:
        yield _at("executed-exceeds-budget", ctx.field("budget_executed"),
                  f"执行数为 {money(executed)}，大于全年预算数 {money(annual)}。",
                  "请核对全年预算数（应含年中追加调整）和执行数。")
    if executed is not None and exp is not None and abs(executed - exp) > TOLERANCE:
        yield _at("executed-expense-mismatch", ctx.field("budget_executed"),
                  f"执行数为 {money(executed)}，而“{ctx.field('exp_total').sheet}”的财政拨款支出合计为 {money(exp)}。",
                  "请核对两者口径是否一致；口径不同时请在报告中说明。")


def check_staff(ctx: Ctx) -> Iterator[Finding]:
    """年末实有 vs 核定编制 per unit row; the stated head count vs the units' sum.

    The stated count may or may not include 工勤 staff (the reference report's does not), so it
    is accepted when it equals the sum with or without the 工勤 rows.
    """
    table, rows = _rows(ctx, "tbl_units")
    total: float = 0  # stays an int while the counts are
    workers: float = 0
    counted = 0
    for i, row in rows:
        actual, quota = row.get("年末实有人数"), row.get("核定编制数")
        if _is_num(actual):
            total += actual
            counted += 1
            if row.get("编制类型") == "工勤":
                workers += actual
        if _is_num(actual) and _is_num(quota) and actual > quota:
            name = row.get("单位名称") or f"第 {i} 行"
            kind = row.get("编制类型") or ""
            yield _at("staff-over-quota", row["年末实有人数"],
                      f"{shown(name)}（{row.get('层级') or ''}{kind}）年末实有 {number(actual)} 人，"
                      f"超过核定编制 {number(quota)} 人。",
                      "请核对实有人数和核定编制数；确属超编的，请在报告中说明原因。", table, row)
    stated = ctx.value("staff_actual_stated")
    if stated is None or not _is_num(stated.value) or not counted or table is None:
        return
    if all(abs(stated.value - s) > 1e-9 for s in (total, total - workers)):
        parts = f"（其中工勤人员 {number(workers)} 人，不含工勤为 {number(total - workers)} 人）" if workers else ""
        yield _at("staff-total-mismatch", stated,
                  f"年末实有人数（正文口径）填写为 {number(stated.value)} 人，但“{table.sheet}”表各单位年末实有人数之和为 "
                  f"{number(total)} 人{parts}。",
                  "请核对正文所写人数与各单位人数，使两者一致；口径不同（如含编外人员）时请在报告中说明。")


def check_budget(ctx: Ctx) -> Iterator[Finding]:
    """已下达 ≤ 指标数; 100 % executed beside a low 支出进度; procurement, projects, assets."""
    for issued, quota in (("issued_basic", "quota_basic"), ("issued_project", "quota_project")):
        i, q = ctx.num(issued), ctx.num(quota)
        if i is not None and q is not None and i > q + TOLERANCE:
            yield _at("issued-exceeds-quota", ctx.field(issued),
                      f"“{ctx.label(issued)}”为 {money(i)}，大于“{ctx.label(quota)}”{money(q)}。",
                      "已下达用款计划不应超过指标数，请核对两项金额。")
    annual, executed = ctx.num("budget_annual"), ctx.num("budget_executed")
    spending = ctx.rate("rate_spending")
    if annual and executed is not None and spending is not None:
        done = executed / annual
        if done >= EXECUTED_FULL and spending < SPENDING_FAR_BELOW:
            yield _at("execution-progress-mismatch", ctx.field("budget_executed"),
                      f"执行数 {money(executed)}为全年预算数 {money(annual)}的 {pct(done)}（即“完成预算的 100%”），"
                      f"但支出进度（已下达用款计划 ÷ 指标数）仅为 {pct(spending)}，两者矛盾。",
                      "请核对全年预算数、执行数与表3 指标数、已下达用款计划的口径，并在报告中说明差异原因。")
    sme = ctx.num("proc_sme")
    procs = [ctx.num(n) for n in ("proc_goods", "proc_works", "proc_services")]
    if sme is not None and sme > sum(p or 0 for p in procs) + TOLERANCE:
        yield _at("sme-exceeds-procurement", ctx.field("proc_sme"),
                  f"授予中小企业合同金额为 {money(sme)}，大于政府采购合计（货物 + 工程 + 服务）"
                  f"{money(sum(p or 0 for p in procs))}。", "请核对政府采购各项金额与中小企业合同金额。")
    with_t, total = ctx.num("projects_with_targets"), ctx.num("projects_total")
    if with_t is not None and total is not None and with_t > total:
        yield _at("targets-exceed-projects", ctx.field("projects_with_targets"),
                  f"设置绩效目标的项目数为 {number(with_t)} 个，大于项目总数 {number(total)} 个。",
                  "请核对项目总数和设置了绩效目标的项目数。")
    net, orig = ctx.num("asset_net"), ctx.num("asset_original")
    if net is not None and orig is not None and net > orig + TOLERANCE:
        yield _at("asset-net-exceeds-original", ctx.field("asset_net"),
                  f"资产净值为 {money(net)}，大于资产原值 {money(orig)}。", "请核对资产原值与净值（净值 = 原值 − 累计折旧）。")
    for part, whole, code, hint in (
            ("key_project_exp", "exp_project", "key-spending-exceeds-project",
             "重点项目支出是项目支出的一部分，请核对两项金额（口径应一致：同为当年实际支出或同为预算安排数）。"),
            ("fixed_assets_in_use", "fixed_assets_total", "assets-in-use-exceed-total",
             "在用固定资产是全部固定资产的一部分，请核对两项原值。")):
        p, w = ctx.num(part), ctx.num(whole)
        if p is not None and w is not None and p > w + TOLERANCE:
            yield _at(code, ctx.field(part), f"“{ctx.label(part)}”为 {money(p)}，大于“{ctx.label(whole)}”{money(w)}。", hint)


# Rates bounded by 100 %, and the input check that already explains an out-of-range value.
_RATE_BOUNDS = {
    "rate_issued_basic": (0, 1, "issued-exceeds-quota"), "rate_issued_project": (0, 1, "issued-exceeds-quota"),
    "rate_spending": (0, 1, "issued-exceeds-quota"), "rate_sme_share": (0, 1, "sme-exceeds-procurement"),
    "rate_key_tasks": (0, 1, None), "rate_target_coverage": (0, 1, "targets-exceed-projects"),
    "rate_spending_incl_payable": (0, None, None), "rate_carryover": (0, None, None),
    "rate_staff_control": (0, None, None), "rate_sangong": (0, None, None), "rate_public": (0, None, None),
    "rate_stock_change": (-1, None, None),
    "rate_key_spending": (0, 1, "key-spending-exceeds-project"),
    "rate_fixed_asset_use": (0, 1, "assets-in-use-exceed-total"),
    "rate_budget_adjust": (0, None, None), "rate_procurement": (0, None, None),
    "rate_carryover_change": (-1, None, None), "rate_sangong_change": (-1, None, None),
    "rate_budget_completion": (0, None, None),
}


def check_rates(ctx: Ctx) -> Iterator[Finding]:
    """Rate cells whose value cannot be (typed over the formula, or wrong inputs)."""
    labels = {o.name: o.label for o in schema.RATE_OUTPUTS}
    for name, (lo, hi, explained_by) in _RATE_BOUNDS.items():
        v = ctx.model.outputs.get(name)
        if v is None or not _is_num(v.value):
            continue
        if (v.value < lo - 1e-9 or (hi is not None and v.value > hi + 1e-9)) and not (
                explained_by and ctx.has(explained_by)):
            rng = f"在 {pct(lo)} 到 {pct(hi)} 之间" if hi is not None else f"不小于 {pct(lo)}"
            yield _at("rate-out-of-range", v, f"“{labels.get(name, name)}”为 {pct(v.value)}，应{rng}。",
                      "比率由公式自动计算，请勿手工填写；请运行“评分”重新写入公式，并核对相关金额。")


# --------------------------------------------------------------------------- checks: scoring table

def check_scores_table(ctx: Ctx) -> Iterator[Finding]:
    """Indicators vs the rule pack; manual scores in range, with reasons for deductions."""
    table, rows = _rows(ctx, "tbl_scores")
    if table is None:
        return
    inds = {i.id: i for i in ctx.pack.indicators}
    seen: set[str] = set()
    manual: list[tuple[Row, float, float, Value | None]] = []  # row, score, points, 评价说明
    for _, row in rows:
        idv = row.cells.get("指标编号")
        if idv is None or idv.value is None:
            continue
        iid = str(idv.value).strip()
        if iid in seen:
            yield _at("indicator-duplicate", idv, f"指标编号“{shown(iid)}”在评分表中重复出现。",
                      "请删除重复的行，每个指标只保留一行。", table, row)
            continue
        seen.add(iid)
        ind = inds.get(iid)
        name = (ind.name if ind else row.get("三级指标")) or iid
        if ind is None:
            yield _at("indicator-unknown", idv, f"指标编号“{shown(iid)}”不在评分规则“{ctx.pack.name}”中，该行不会计分。",
                      "请核对指标编号（请勿改动评分表的指标编号），或改用对应的评分规则包。", table, row)
        pv = row.cells.get("分值")
        points = ind.points if ind else (pv.value if pv is not None and _is_num(pv.value) else None)
        if ind and pv is not None and _is_num(pv.value) and abs(pv.value - ind.points) > TOLERANCE:
            yield _at("points-changed", pv, f"“{name}”的分值为 {number(pv.value)}，评分规则规定为 {number(ind.points)} 分。",
                      f"请把分值改回 {number(ind.points)}（分值由评分规则决定，请勿手工修改）。", table, row)
        is_manual = ind.manual if ind else row.get("评分方式") == "人工"
        sv = row.cells.get("自评得分")
        if not is_manual or sv is None or sv.problem or points is None:
            continue
        if sv.value is None:
            yield _at("score-missing", sv, f"“{name}”为人工评分指标（{number(points)} 分），尚未填写自评得分。",
                      "请填写自评得分，并在“评价说明”中写明评分依据。", table, row)
        elif sv.value < 0 or sv.value > points + 1e-9:
            yield _at("score-out-of-range", sv, f"“{name}”的自评得分为 {number(sv.value)}，应在 0 到 {number(points)} 分之间。",
                      f"请填写 0 到 {number(points)} 之间的得分。", table, row)
        else:
            manual.append((row, float(sv.value), float(points), row.cells.get("评价说明")))
    for ind in ctx.pack.indicators:
        if ind.id not in seen:
            yield Finding.at("indicator-missing", table.sheet, _header_cell(table, "指标编号"),
                             f"评分表中找不到指标“{ind.name}”（{ind.id}，{number(ind.points)} 分）。",
                             "请恢复该指标所在的行（可从 perfxl new 生成的新模板复制），请勿删除评分表的行。",
                             table=table.name)
    unexplained = [(r, s, p, e) for r, s, p, e in manual if e is None or e.empty]
    all_full = bool(manual) and all(abs(s - p) < TOLERANCE for _, s, p, _ in manual)
    if len(manual) >= 2 and all_full and len(unexplained) == len(manual):
        row, _, _, e = manual[0]
        cell = e if e is not None else row["自评得分"]
        yield _at("all-full-marks-unexplained", cell,
                  f"全部 {len(manual)} 项人工评分指标均为满分，且都没有评价说明。",
                  "请逐项写明评分依据（完成了什么、有何佐证材料），确有不足的应如实扣分。", table, row)
        return
    for row, s, p, e in unexplained:
        name = inds[row.get("指标编号")].name if row.get("指标编号") in inds else row.get("三级指标")
        where = e if e is not None else row["自评得分"]
        if s < p - TOLERANCE:
            yield _at("deduction-unexplained", where,
                      f"“{name}”自评 {number(s)} 分（满分 {number(p)} 分），扣了 {number(p - s)} 分，但评价说明为空。",
                      "请在“评价说明”中写明扣分原因。", table, row)
        else:
            yield _at("full-marks-unexplained", where, f"“{name}”自评满分 {number(p)} 分，但评价说明为空。",
                      "请在“评价说明”中写明得满分的依据。", table, row)


def check_awards(ctx: Ctx) -> Iterator[Finding]:
    """加减分: evidence (机关, 时间, 依据), date in the fiscal year, points of 减分 rows."""
    table, rows = _rows(ctx, "tbl_awards")
    year = ctx.year
    for i, row in rows:
        title = shown(row.get("项目名称") or f"第 {i} 行")
        for h in _AWARD_EVIDENCE:
            v = row.cells.get(h)
            if v is not None and v.empty:
                yield _at("award-evidence-missing", v, f"加减分项“{title}”未填写{h}。",
                          f"请填写{h}（以表彰文件为准）；无法提供的，该项不能申报加分。", table, row)
        d = row.cells.get("授奖时间")
        if d is not None and isinstance(d.value, dt.date) and year and d.value.year != year:
            yield _at("award-date-outside-year", d,
                      f"加减分项“{title}”的授奖时间为 {date_text(d.value)}，不在评价年度 {year} 年内。",
                      f"只有 {year} 年内获得的表彰可以申报加分，请核对授奖时间或删除该行。", table, row)
        if row.get("类型") == "减分":
            pv = row.cells.get("自评得分")
            if pv is not None and pv.value is None and not pv.problem:
                yield _at("penalty-points-missing", pv, f"减分项“{title}”未填写扣分。",
                          "请在“自评得分”中填写扣分（正数，如 1）。", table, row)
            elif pv is not None and _is_num(pv.value) and pv.value < 0:
                yield _at("negative-value", pv, f"减分项“{title}”的扣分为 {number(pv.value)}，应填写正数。",
                          f"请填写 {number(-pv.value)}（系统会自动扣减）。", table, row)


# --------------------------------------------------------------------------- checks: narrative

def _section_of(heading: Any) -> str | None:
    s = str(heading or "")
    if "问题" in s:
        return "五、存在问题"
    if "改进" in s or "措施" in s or "整改" in s:
        return "六、改进措施"
    return None


def check_narrative(ctx: Ctx) -> Iterator[Finding]:
    """五、存在问题 and 六、改进措施: present, not empty/"无", not a short platitude."""
    table, rows = _rows(ctx, "tbl_narrative")
    if table is None:
        return
    for section in schema.NARRATIVE_SECTIONS[1:]:
        mine = [(i, r) for i, r in rows if _section_of(r.get("章节")) == section]
        if not mine:
            yield Finding.at("narrative-section-missing", table.sheet, _header_cell(table, "章节"),
                             f"报告正文中没有“{section}”部分。",
                             f"请在表格中增加一行，章节填“{section}”，正文如实写明{section[2:]}。", table=table.name)
            continue
        text = "".join(str(r.get("标题") or "") + str(r.get("正文") or "") for _, r in mine)
        norm = _norm(text)
        first = mine[0][1]
        cell = first.cells.get("正文") or first["章节"]  # a row of ``mine`` has its 章节
        if norm.upper() in _EMPTY_MARKERS or not norm:
            yield _at("narrative-section-empty", cell,
                      f"“{section}”没有实质内容（{'填写为“' + shown(text.strip()) + '”' if text.strip() else '未填写'}）。",
                      f"请如实写明{section[2:]}；自评发现的扣分项、支出进度偏慢等都应在此说明。", table, first)
        elif len(norm) < 15 or (len(norm) < 40 and not re.search(r"\d", norm)
                                and any(p in norm for p in _GENERIC_PHRASES)):
            yield _at("narrative-boilerplate", cell, f"“{section}”只有一句套话：“{shown(text.strip(), 40)}”。",
                      f"请结合本部门的具体数据和事项写明{section[2:]}，如支出进度、存量资金、资产管理等。", table, first)


def check_duplicates(ctx: Ctx) -> Iterator[Finding]:
    """The same paragraph twice: across report sections and 评价说明 texts."""
    sources: list[tuple[Value, Table, Row]] = []
    for name, header in (("tbl_narrative", "正文"), ("tbl_scores", "评价说明")):
        table, rows = _rows(ctx, name)
        if table is None:
            continue
        for _, r in rows:
            v = r.cells.get(header)
            if v is not None and isinstance(v.raw, str):
                sources.append((v, table, r))
    first: dict[str, Value] = {}
    for v, table, row in sources:
        for para in re.split(r"[\r\n]+", v.raw):
            key = _norm(para)
            if len(key) < MIN_DUPLICATE_PARAGRAPH:
                continue
            if key in first:
                yield _at("duplicate-text", v, f"此处的段落“{shown(para.strip(), 24)}”与 {first[key].ref} 的段落相同。",
                          "请删除重复段落，或按本部分的内容改写。", table, row)
                break
            first[key] = v


# --------------------------------------------------------------------------- checks: plausibility, scores

def check_plausibility(ctx: Ctx) -> Iterator[Finding]:
    """A high total beside a low 支出进度."""
    total = ctx.scores.score_total if ctx.scores is not None else None
    if not _is_num(total):
        out = ctx.model.outputs.get("score_total")
        total = out.value if out is not None and _is_num(out.value) else None
    spending = ctx.rate("rate_spending")
    if total is None or spending is None or not (total >= HIGH_TOTAL and spending < LOW_SPENDING):
        return
    sheet, cell = ctx.location("score_total")
    yield Finding.at("high-score-low-spending", sheet, cell,
                     f"总分为 {number(total)} 分，但支出进度仅为 {pct(spending)}（低于 {pct(LOW_SPENDING)}）。",
                     "请复核各项人工评分是否偏高，并在“五、存在问题”中说明支出进度偏慢的原因。")


def _row_of(cell: str) -> int | None:
    try:
        return split_cell(cell)[1]
    except ValueError:
        return None


def _denominator_cells(ctx: Ctx, rate: str) -> list[tuple[str, str]]:
    """Cells of a rate's denominator inputs, the empty or zero ones first."""
    from .formulas import RATE_BY_NAME, BinOp, Call, Compare, Expr, TableAgg, names_used

    rdef = RATE_BY_NAME.get(rate)
    if rdef is None:
        return []
    names = sorted(names_used(rdef.denominator), key=lambda n: (ctx.num(n) not in (None, 0), n))
    cells = [ctx.location(n) for n in names if n in ctx.model.fields]
    stack: list[Expr] = [rdef.denominator]
    while stack:  # table aggregates (SUMIFS over a column): the column's header cell
        node = stack.pop()
        if isinstance(node, TableAgg):
            table = ctx.model.tables.get(node.table)
            if table is not None and node.target is not None and node.target in table.columns:
                cells.append((table.sheet, _header_cell(table, node.target)))
        elif isinstance(node, (BinOp, Compare)):
            stack += [node.a, node.b]
        elif isinstance(node, Call):
            stack += node.args
    return cells


def _problem_location(ctx: Ctx, p: Problem) -> tuple[str, str, bool]:
    """(sheet, cell, whole_row) of a scoring problem: its cell, else its table row (the row's
    first cell), else the cell its key names."""
    if p.sheet and p.cell:
        return p.sheet, p.cell, False
    table = ctx.model.tables.get(p.table) if p.table else None
    if p.row is not None and table is not None:
        return table.sheet, f"{next(iter(table.columns.values()), 'A')}{p.row}", True
    if p.key in ctx.model.fields:
        return (*ctx.location(p.key), False)
    if p.key.startswith("rate_"):
        cells = _denominator_cells(ctx, p.key)
        return (*(cells[0] if cells else ctx.location(p.key)), False)
    if f"score_{p.key}" in ctx.model.names:
        return (*ctx.model.names[f"score_{p.key}"], False)
    return "", "", False


def check_scoring_problems(ctx: Ctx) -> Iterator[Finding]:
    """Problems the scoring engine reports (a zero denominator, …), at the input cell concerned.

    Each :class:`~perfxl.problems.Problem` becomes the finding its kind names, with its rendered
    message.  A problem at a cell (or table row) that already has a finding is the same problem
    seen from the scoring side and is left out, as are indicators that could not be scored
    because a rate could not be computed (the rate's finding says why) or have no row.
    """
    if ctx.scores is None:
        return
    found_cells = {(f.sheet, f.cell) for f in ctx.found if f.cell}
    found_rows = {(f.sheet, _row_of(f.cell)) for f in ctx.found if f.cell}
    scores_table = ctx.model.tables.get("tbl_scores")
    score_ids = {str(r.get("指标编号")).strip() for r in (scores_table.rows if scores_table else ())
                 if r.get("指标编号")}
    pack_ids = {i.id for i in ctx.pack.indicators}
    for p in ctx.scores.problems:
        if p.key in pack_ids and (p.kind == "indicator-unscored" or p.key not in score_ids):
            continue  # explained by the rate's finding / by indicator-missing
        sheet, cell, whole_row = _problem_location(ctx, p)
        if cell and ((sheet, cell) in found_cells or (whole_row and (sheet, _row_of(cell)) in found_rows)):
            continue
        yield Finding.at(p.code, sheet, cell, p.message, p.hint)
        if cell:
            found_cells.add((sheet, cell))


def check_params(ctx: Ctx) -> Iterator[Finding]:
    """评分参数 cells that differ from the rule pack: a changed threshold changes the score."""
    from .rulepack import workbook_params

    changed = workbook_params(ctx.pack, ctx.model.outputs)
    for p in ctx.pack.params:
        if p.name in changed:
            v = ctx.model.outputs[p.name]
            yield _at("param-modified", v,
                      f"评分参数“{p.label}”（{p.name}）为 {shown(changed[p.name])}，规则包“{ctx.pack.name}”规定为 {shown(p.value)}。",
                      "评分参数应由财政部门统一规定；如非有意修改，请改回规则包的值（重新运行“计算得分”时加 --rules 即恢复）。")


CHECKS: tuple[Check, ...] = (
    check_structure, check_fields, check_table_cells, check_text, check_table_shape, check_sums,
    check_staff, check_budget, check_rates, check_scores_table, check_awards, check_narrative,
    check_duplicates, check_plausibility, check_scoring_problems, check_params,
)


# --------------------------------------------------------------------------- entry points

def sort_findings(findings: Iterable[Finding], sheets: Iterable[str] = ()) -> list[Finding]:
    """By the workbook's sheet order (then the standard order), then cell (row, column)."""
    order = list(dict.fromkeys([*sheets, *schema.SHEET_ORDER]))
    rank = {s: i for i, s in enumerate(order)}

    def key(f: Finding) -> tuple[int, str, tuple[int, int], int, str]:
        try:
            col, row = split_cell(f.cell)
            pos = (row, col_to_index(col))
        except ValueError:
            pos = (0, 0)
        return rank.get(f.sheet, len(rank)), f.sheet, pos, SEVERITY_RANK.get(f.severity, 3), f.code
    return sorted(findings, key=key)


def check(model: WorkbookModel, pack: RulePack | None = None, scores: Scores | None = None) -> list[Finding]:
    """Every finding about ``model``, sorted by sheet order then cell.

    ``pack``: the rule pack (default: the bundled one) for the scoring-table checks; ``scores``:
    a ``scoring.Scores`` when available (rates, total and scoring problems are then used).
    Never raises on bad data.
    """
    ctx = Ctx(model, pack or load_rules(), scores)
    seen: set[tuple[str, str, str, str]] = set()
    for chk in CHECKS:
        for f in chk(ctx):
            if (f.code, f.sheet, f.cell, f.message) not in seen:
                seen.add((f.code, f.sheet, f.cell, f.message))
                ctx.found.append(f)
    return sort_findings(ctx.found, model.sheets)
