"""Generate the standard workbook from the one field definition (:mod:`perfxl.schema`).

``build_workbook()`` lays out every sheet, defined name, table, dropdown and number format with
openpyxl, optionally fills it with data (the bundled sample), then lets the scoring writer add
the live formulas with their cached values, and finally normalises the zip so the same input
always gives the same bytes (the committed template is tested to be current).
"""
from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path
from typing import Any, Mapping

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.table import Table, TableStyleInfo

from . import guards, pagesetup, schema
from .cellref import sheet_ref
from .fileio import normalize_zip, write_output
from .rulepack import RulePack
from .rulepack import load as load_rules

TEMPLATE_NAME = "部门整体支出绩效自评-标准工作簿.xlsx"
TEMPLATE_PATH = Path(__file__).resolve().parent.parent / "workbook_templates" / TEMPLATE_NAME

FMT = {schema.MONEY: "#,##0.00", schema.RATE: "0.00%", schema.INT: "0",
       schema.DATE: 'yyyy"年"m"月"d"日"', schema.NUMBER: "0.00", schema.TEXT: "@"}
_THIN = Side(style="thin", color="A6A6A6")
BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")     # pale yellow: the clerk types here
CALC_FILL = PatternFill("solid", fgColor="E7E6E6")      # grey: computed, do not type
HEAD_FILL = PatternFill("solid", fgColor="DDEBF7")
GROUP_FILL = PatternFill("solid", fgColor="F2F2F2")
CALC_FONT = Font(color="1F4E79", bold=True)
TITLE_FONT = Font(size=16, bold=True)
HELP_FONT = Font(size=9, italic=True, color="7F7F7F")
WRAP = Alignment(wrap_text=True, vertical="top")
TOP = Alignment(vertical="top")
FIXED_TIME = dt.datetime(2024, 1, 1)

SHEET_TITLES = {
    schema.S_COVER: "封面与基本信息（报告封面）",
    schema.S_DUTIES: "部门职责（表1）",
    schema.S_STAFF: "人员编制（纳入预算编制范围的单位）",
    schema.S_FINANCE: "部门整体收支情况（万元）",
    schema.S_TARGETS: "部门整体支出绩效目标（表2）",
    schema.S_BUDGET: "预算执行情况（表3 及其他资金数据，万元）",
    schema.S_TASKS: "重点工作完成情况（表4）",
    schema.S_AWARDS: "加减分（表5 创新性亮点工作）",
    schema.S_SCORES: "部门整体支出绩效评价指标评分表",
    schema.S_PARAMS: "评分参数（由评分规则包写入；财政部门可在此修改阈值）",
    schema.S_TEXT: "报告正文（四、主要绩效；五、存在问题；六、改进措施）",
}
SHEET_HELP = {
    schema.S_COVER: "黄色单元格由填报人填写（鼠标停在单元格上可看到填写提示）；灰色单元格自动计算，不用填写。",
    schema.S_DUTIES: "按“三定”方案逐条填写部门主要职责，可在表格内插入行。",
    schema.S_STAFF: "每个单位、每种编制类型一行；层级选“本级”或“下属”。财政供养人员控制率按本级计算。",
    schema.S_FINANCE: "金额单位：万元，保留两位小数。合计行为公式，自动计算。",
    schema.S_TARGETS: "逐条填写部门整体支出绩效目标（表2）。",
    schema.S_BUDGET: "金额单位：万元。表3 与下方比率由公式自动计算（灰色）。",
    schema.S_TASKS: "逐条填写年度重点工作及完成状态（已完成 / 部分完成 / 未完成）。",
    schema.S_AWARDS: "加分项按授奖级别自动计分；减分项在“自评得分”填写扣分（正数）。",
    schema.S_SCORES: "评分方式为“自动”的行自动计分；“人工”行请填写自评得分（0 到本行分值之间）和评价说明，未得满分须写明理由。",
    schema.S_PARAMS: "各评分阈值均为参数，评分公式引用这些单元格；标“拟合”者依据参考报告拟合。",
    schema.S_TEXT: "章节填写“四、主要绩效”“五、存在问题”“六、改进措施”；每段一行。",
}
HELP_TEXT = (
    "填表说明",
    "1. 本工作簿是部门整体支出绩效自评的标准数据表，由 perfxl 读取、校验、评分并生成 Word 自评报告。",
    "2. 黄色单元格为填报项；灰色单元格为自动计算项（公式），请勿覆盖。",
    "3. 金额单位均为万元，保留两位小数；比率以百分比显示。",
    "4. 表格（表1、表2、表4、表5 等）可在表格内部插入或删除行，请勿改动表头文字。",
    "5. 填写时，鼠标停在黄色单元格上会显示填写提示；填错（如金额填了文字、人数填了小数、得分超过分值）会被当场拒绝，并说明应当怎样填。",
    "6. 有下拉箭头的单元格请从列表中选择。灰色单元格和表头已锁定，以防误改；确需修改时，可在“审阅”选项卡点击“撤销工作表保护”（没有密码）。",
    "7. 请勿修改或删除“公式”选项卡“名称管理器”中的名称，财政部门的汇总程序依靠这些名称读取数据。",
    "8. 填写完成后，在 Excel 的“绩效自评”选项卡点击“一键完成”；校验发现的问题会列在“校验结果”工作表中，有问题的单元格会标色并加批注。",
    "9. 明年填报时，可用今年的工作簿生成明年的空白表：部门职责、单位编制、绩效目标和报告章节会自动带入，金额留空待填。",
)


def _put(ws, coord: str, value: Any, kind: str | None = None):
    """Write a value; clerk text that starts with '=' stays text, never becomes a formula."""
    c = ws[coord]
    if isinstance(value, str) and kind != "formula":
        c.value = value
        c.data_type = "s"
    else:
        c.value = value
    return c


def _iso_date(v: Any) -> Any:
    """ISO date strings of the data file become real dates; anything else stays as typed."""
    if isinstance(v, str):
        try:
            return dt.date.fromisoformat(v)
        except ValueError:
            return v
    return v


def _style_input(c, kind: str, computed: bool = False, fixed: bool = False) -> None:
    """An input cell (yellow, unlocked), a computed one (grey, locked) or a fixed one (from the
    rule pack: white, locked)."""
    c.border = BORDER
    if not fixed:
        c.fill = CALC_FILL if computed else INPUT_FILL
    if computed:
        c.font = CALC_FONT
    c.protection = guards.LOCKED if computed or fixed else guards.UNLOCKED
    c.number_format = FMT.get(kind, "General")
    c.alignment = WRAP if kind == schema.TEXT else TOP


def _title(ws, sheet: str) -> None:
    ws["A1"] = SHEET_TITLES.get(sheet, sheet)
    ws["A1"].font = TITLE_FONT
    ws["A2"] = SHEET_HELP.get(sheet, "")
    ws["A2"].font = HELP_FONT
    ws.column_dimensions["A"].width = 2
    ws.sheet_view.showGridLines = False


def _define(wb: Workbook, name: str, sheet: str, cell: str) -> None:
    wb.defined_names[name] = DefinedName(name, attr_text=sheet_ref(sheet, cell))


# Text fields that hold a paragraph: the value cell spans columns C:E even when empty.
_LONG_TEXT = frozenset({"duty_basis", "overall_goal", "exp_project_desc"})


def _optional_read(pack: RulePack) -> frozenset[str]:
    """The optional inputs (``schema.OPTIONAL_FIELDS``) ``pack`` scores with: required for it."""
    from .formulas import RATE_BY_NAME, pack_rates

    return frozenset(n for r in pack_rates(pack) for n in RATE_BY_NAME[r].inputs) & schema.OPTIONAL_FIELDS


def _field_rows(wb, ws, sheet: str, values: Mapping[str, Any], start: int,
                rules: guards.SheetRules, read: frozenset[str] = frozenset()) -> int:
    """Lay out the fields of one sheet as label | value | unit | help; returns next free row.

    ``read``: the optional inputs the pack scores with (marked 必填); the other optional inputs
    say that this pack does not use them."""
    fields = [f for f in schema.FIELDS if f.sheet == sheet]
    if not fields:
        return start + 1

    def required(f: schema.Field) -> bool:
        return f.required or f.name in read

    def help_text(f: schema.Field) -> str:
        unused = f.name in schema.OPTIONAL_FIELDS and f.name not in read
        return f.help + ("。当前评分规则包不用此项，可不填" if unused else "")

    has_table = any(t.sheet == sheet for t in schema.TABLES)
    labels = max(pagesetup.text_width(f.label + ("（必填）" if required(f) else "")) for f in fields)
    pagesetup.widen(ws, "B", 20 if has_table else min(44, labels + 2))
    pagesetup.widen(ws, "C", 20)
    if any(f.unit for f in fields):
        pagesetup.widen(ws, "D", 6)
    if any(f.help for f in fields):
        pagesetup.widen(ws, "E", 36)
    row = start
    group = None
    for f in fields:
        if f.group != group:
            group = f.group
            ws.cell(row, 2, group).font = Font(bold=True)
            for col in range(2, 6):
                ws.cell(row, col).fill = GROUP_FILL
            row += 1
        label = ws.cell(row, 2, f.label + ("（必填）" if required(f) else ""))
        label.border, label.alignment = BORDER, WRAP
        coord = f"C{row}"
        if f.parts:
            _put(ws, coord, "=" + "+".join(f.parts), "formula")
        elif values.get(f.name) is not None:
            v = values[f.name]
            if f.kind == schema.DATE:
                v = _iso_date(v)
            _put(ws, coord, v)
        _style_input(ws[coord], f.kind, computed=bool(f.parts))
        if not f.parts:
            rules.add(guards.kind_rule(f.kind, f.label, f.unit, help_text(f), f.name), coord)
        if f.kind == schema.TEXT and (len(str(values.get(f.name) or "")) > 20 or f.name in _LONG_TEXT):
            ws.merge_cells(f"C{row}:E{row}")  # row height: pagesetup.fit, from the merged width
            if not values.get(f.name):
                ws.row_dimensions[row].height = 48  # room to type a paragraph
        else:
            ws.cell(row, 4, f.unit).alignment = TOP
            ws.cell(row, 5, help_text(f)).font = HELP_FONT
            ws.cell(row, 5).alignment = WRAP
        _define(wb, f.name, sheet, coord)
        row += 1
    return row + 1


# Columns whose cells the rule pack fills (locked like formulas, but not computed).
_FIXED = {"tbl_scores": frozenset({"指标编号", "一级指标", "二级指标", "三级指标", "分值", "评分方式"})}


def _table(wb, ws, tdef: schema.TableDef, rows: list[Mapping[str, Any]], start: int,
           rules: guards.SheetRules, first_col: int = 2) -> tuple[int, str]:
    """Lay out an Excel table with its caption; returns (next free row, table ref)."""
    from openpyxl.utils import get_column_letter

    ws.cell(start, first_col, tdef.caption).font = Font(bold=True, size=12)
    head = start + 1
    for i, col in enumerate(tdef.columns):
        c = ws.cell(head, first_col + i, col.header)
        c.font = Font(bold=True)
        c.fill = HEAD_FILL
        c.border = BORDER
        c.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        letter = get_column_letter(first_col + i)
        cur = ws.column_dimensions[letter].width or 0
        ws.column_dimensions[letter].width = max(cur, col.width)
    n = max(1, len(rows) if rows else tdef.blank_rows)
    for r in range(n):
        data = rows[r] if r < len(rows) else {}
        for i, col in enumerate(tdef.columns):
            c = ws.cell(head + 1 + r, first_col + i)
            v = data.get(col.header)
            if v is not None:
                if col.kind == schema.DATE:
                    v = _iso_date(v)
                _put(ws, c.coordinate, v)
            _style_input(c, col.kind, computed=col.computed and not (col.header == "自评得分" and _manual_row(tdef, data)),
                         fixed=col.header in _FIXED.get(tdef.name, ()))
    last_col = get_column_letter(first_col + len(tdef.columns) - 1)
    ref = f"{get_column_letter(first_col)}{head}:{last_col}{head + n}"
    t = Table(displayName=tdef.name, ref=ref)
    t.tableStyleInfo = TableStyleInfo(name="TableStyleLight1", showRowStripes=False)
    ws.add_table(t)
    extends = tdef.name != "tbl_scores"  # rows a clerk adds below get the same rules
    for i, col in enumerate(tdef.columns):
        letter = get_column_letter(first_col + i)
        if tdef.name == "tbl_scores" and col.header == "自评得分":
            points = get_column_letter(first_col + tdef.headers.index("分值"))
            for r in range(n):
                if _manual_row(tdef, rows[r] if r < len(rows) else {}):
                    rules.add(guards.score_rule(f"${points}${head + 1 + r}"), f"{letter}{head + 1 + r}")
            continue
        if (col.header in _FIXED.get(tdef.name, ()) and not col.choices) or col.header == "计算值":
            continue  # nothing for the clerk to type
        last = head + (max(n, 200) if extends else n)
        rules.add(guards.column_rule(tdef, col), f"{letter}{head + 1}:{letter}{last}")
    ws.freeze_panes = None
    return head + n + 2, ref


def _manual_row(tdef: schema.TableDef, data: Mapping[str, Any]) -> bool:
    """Rows whose 'computed' cells are clerk inputs: 人工 scores and 减分 awards."""
    return data.get("评分方式") == "人工" or data.get("类型") == "减分"


def _budget_block(ws, start: int) -> int:
    """表3 不同类型支出的支出进度统计表, as formulas over the named inputs."""
    ws.cell(start, 2, "表3 不同类型支出的支出进度统计表（自动计算）").font = Font(bold=True, size=12)
    heads = ["项目", "口径", "指标数", "已下达用款计划", "指标结余数", "支出进度"]
    for i, h in enumerate(heads):
        c = ws.cell(start + 1, 2 + i, h)
        c.font, c.fill, c.border = Font(bold=True), HEAD_FILL, BORDER
    q_tot = "(quota_basic+quota_project)"
    i_tot = "(issued_basic+issued_project)"

    def share(x, tot):
        return f'=IFERROR({x}/{tot},"")'

    lines = [
        ("基本支出", "金额", "=quota_basic", "=issued_basic", "=quota_basic-issued_basic",
         '=IFERROR(issued_basic/quota_basic,"")'),
        ("", "占比", share("quota_basic", q_tot), share("issued_basic", i_tot),
         share("(quota_basic-issued_basic)", f"({q_tot}-{i_tot})"), "-"),
        ("项目支出", "金额", "=quota_project", "=issued_project", "=quota_project-issued_project",
         '=IFERROR(issued_project/quota_project,"")'),
        ("", "占比", share("quota_project", q_tot), share("issued_project", i_tot),
         share("(quota_project-issued_project)", f"({q_tot}-{i_tot})"), "-"),
        ("总预算", "金额", "=" + q_tot, "=" + i_tot, f"={q_tot}-{i_tot}", f'=IFERROR({i_tot}/{q_tot},"")'),
        ("", "占比", share(q_tot, q_tot), share(i_tot, i_tot), share(f"({q_tot}-{i_tot})", f"({q_tot}-{i_tot})"), "-"),
    ]
    for r, line in enumerate(lines):
        row = start + 2 + r
        for i, v in enumerate(line):
            c = ws.cell(row, 2 + i)
            _put(c.parent, c.coordinate, v, "formula" if str(v).startswith("=") else None)
            c.border = BORDER
            if i >= 2:
                c.fill = CALC_FILL
                pct = line[1] == "占比" or i == 5
                c.number_format = "0.00%" if pct else "#,##0.00"
    return start + 2 + len(lines) + 1


def _outputs_block(wb, ws, outputs, start: int, heading: str, label_col: int = 2,
                   value_col: int = 3) -> int:
    """Grey result cells under a heading: label | value (the defined name is not shown)."""
    ws.cell(start, label_col, heading).font = Font(bold=True, size=12)
    row = start + 1
    for o in outputs:
        label = ws.cell(row, label_col, o.label)
        label.border, label.alignment = BORDER, WRAP
        c = ws.cell(row, value_col)
        _style_input(c, o.kind, computed=True)
        _define(wb, o.name, o.sheet, c.coordinate)
        row += 1
    return row + 1


def _score_rows(pack: RulePack, given: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    by_id = {r.get("指标编号"): r for r in given}
    rows = []
    for ind in pack.indicators:
        g = by_id.get(ind.id, {})
        row = {"指标编号": ind.id, "一级指标": ind.level1, "二级指标": ind.level2, "三级指标": ind.name,
               "分值": ind.points, "评分方式": "人工" if ind.manual else "自动",
               "评价说明": g.get("评价说明")}
        if ind.manual:
            row["自评得分"] = g.get("自评得分")
        rows.append(row)
    return rows


# 评分参数 columns (B..F): 参数, 取值, 名称, 所属指标, 说明 — widths for the rows the scoring
# writer adds; wrapping comes from the column style, which new cells take.
_PARAM_WIDTHS = (30, 10, 30, 20, 48)


def _params_sheet(ws, pack: RulePack) -> None:
    from openpyxl.utils import get_column_letter

    for i, (h, width) in enumerate(zip(("参数", "取值", "名称", "所属指标", "说明"), _PARAM_WIDTHS)):
        c = ws.cell(4, 2 + i, h)
        c.font, c.fill, c.border = Font(bold=True), HEAD_FILL, BORDER
        dim = ws.column_dimensions[get_column_letter(2 + i)]
        dim.width = width
        dim.alignment = Alignment(wrap_text=True, vertical="top")
    _pack_record(ws, pack)
    for r, p in enumerate(pack.params, start=5):
        lines = max(pagesetup.wrapped_lines(str(text or ""), width)
                    for text, width in zip((p.label, p.value, p.name, p.indicator, p.note), _PARAM_WIDTHS))
        if lines > 1:
            ws.row_dimensions[r].height = lines * pagesetup.LINE_HEIGHT + 4


def _pack_record(ws, pack: RulePack) -> None:
    """Row 3: the rule pack this workbook is made for (``rule_pack``: its name as ``--rules``
    takes it; beside it the pack's full name).  Locked: scoring follows it (perfxl.packchoice)."""
    from .rulepack import pack_key

    label = ws.cell(3, 2, "评分规则包（请勿修改）")
    label.font, label.border = Font(bold=True), BORDER
    key = _put(ws, "C3", pack_key(pack))
    name = _put(ws, "E3", pack.name)
    for c in (key, name):
        _style_input(c, schema.TEXT, fixed=True)
    ws.merge_cells("C3:D3")
    ws.merge_cells("E3:F3")


def layout(data: Mapping[str, Any] | None = None, pack: RulePack | None = None) -> Workbook:
    """The standard workbook as an openpyxl Workbook (no scoring formulas yet)."""
    pack = pack or load_rules()
    data = data or {}
    values = dict(data.get("fields", {}))
    read = _optional_read(pack)
    tables = data.get("tables", {})
    wb = Workbook()
    wb.remove(wb.active)
    help_ws = wb.create_sheet(schema.S_HELP)
    for i, line in enumerate(HELP_TEXT, start=1):
        c = help_ws.cell(i, 1, line)
        c.font = TITLE_FONT if i == 1 else Font(size=11)
        c.alignment = Alignment(wrap_text=True, vertical="top")
    help_ws.column_dimensions["A"].width = 70  # one column: LibreOffice does not shrink it to fit
    help_ws.sheet_view.showGridLines = False
    pagesetup.fit(help_ws)
    pagesetup.print_setup(help_ws)
    guards.protect(help_ws)
    for sheet in schema.SHEET_ORDER[1:]:
        ws = wb.create_sheet(sheet)
        rules = guards.SheetRules()
        _title(ws, sheet)
        row = _field_rows(wb, ws, sheet, values, 4, rules, read)
        if sheet == schema.S_BUDGET:
            row = _budget_block(ws, row)
            row = _outputs_block(wb, ws, schema.RATE_OUTPUTS, row, "自动计算的比率")
        title_rows = None
        for tdef in (t for t in schema.TABLES if t.sheet == sheet):
            rows = list(tables.get(tdef.name, []))
            if tdef.name == "tbl_scores":
                rows = _score_rows(pack, rows)
            row, ref = _table(wb, ws, tdef, rows, row, rules)
            head_row = int(re.match(r"[A-Z]+(\d+)", ref).group(1))
            title_rows = f"{head_row}:{head_row}"  # printed on every page
            if tdef.name == "tbl_scores":
                score_col = "I"  # 自评得分 (table starts at column B)
                head = int(re.match(r"[A-Z]+(\d+)", ref).group(1))
                for i, ind in enumerate(pack.indicators):
                    _define(wb, f"score_{ind.id}", sheet, f"{score_col}{head + 1 + i}")
                    if ind.input:  # 计算值 of a rate-driven indicator is a rate: show it as one
                        ws[f"H{head + 1 + i}"].number_format = FMT[schema.RATE]
                ws.freeze_panes = f"C{head + 1}"
                ws.column_dimensions["B"].hidden = True  # 指标编号: ids are for perfxl, not the clerk
        if sheet == schema.S_SCORES:
            # under the scores: labels beside 三级指标 (E), values in the 自评得分 column (I)
            row = _outputs_block(wb, ws, schema.TOTAL_OUTPUTS, row, "得分汇总（自动计算）", 5, 9)
        if sheet == schema.S_PARAMS:
            _params_sheet(ws, pack)
            _define(wb, schema.RULE_PACK, sheet, "C3")
            title_rows = "4:4"
        rules.apply(ws)
        pagesetup.fit(ws)
        pagesetup.print_setup(ws, title_rows)
        guards.protect(ws)
    wb.properties.creator = "perfxl"
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    wb.properties.title = "部门整体支出绩效自评"
    wb.active = 1
    return wb


def build_workbook(data: Mapping[str, Any] | None = None, pack: RulePack | None = None,
                   dept: str | None = None, year: int | None = None) -> bytes:
    """The standard workbook's bytes: laid out, filled with ``data``, scoring formulas written.

    ``data`` has the shape of samples/lechang-2023.json ({"fields": {...}, "tables": {...}}).
    """
    pack = pack or load_rules()
    data = {"fields": dict((data or {}).get("fields", {})), "tables": dict((data or {}).get("tables", {}))}
    if dept:
        data["fields"]["dept_name"] = dept
    if year:
        data["fields"]["fiscal_year"] = year
    buf = io.BytesIO()
    layout(data, pack).save(buf)
    body = buf.getvalue()
    try:
        from .pipeline import score_workbook_bytes
    except ImportError:  # scoring not available yet
        score_workbook_bytes = None
    if score_workbook_bytes is not None:
        body = score_workbook_bytes(body, pack)
    return normalize_zip(body)


def write_new(path: str | Path, dept: str | None = None, year: int | None = None,
              pack: RulePack | None = None, overwrite: bool = False) -> Path:
    """``perfxl new``: write a fresh blank standard workbook (atomically; never overwrites
    an existing file unless asked)."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    from .errors import PerfxlError

    path = Path(path)
    if path.exists() and not overwrite:
        raise PerfxlError(f"{path.name}：文件已存在，未覆盖。请换一个文件名，或加 --force 覆盖。")
    if dept and ILLEGAL_CHARACTERS_RE.search(dept):
        raise PerfxlError(f"部门名称“{ILLEGAL_CHARACTERS_RE.sub('', dept)}”中含有控制字符（如制表符以外的不可见字符），"
                          "Excel 单元格不能保存，请去掉后重试。")
    return write_output(path, build_workbook(pack=pack, dept=dept, year=year))
