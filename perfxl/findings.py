"""Findings: every problem validation reports, as plain data, from one catalogue of codes.

A :class:`Finding` says what was found, where (sheet + cell) and how to fix it, in Chinese for
the clerk; its ``code`` is stable kebab-case and its severity comes from :data:`CATALOGUE`, so
tools and tests rely on ``(code, sheet, cell)`` and never on the wording.  ``docs/codes.md`` and
the README's code table are rendered from the catalogue (:func:`catalogue_markdown`,
:func:`catalogue_table`): ``python -m perfxl.findings > docs/codes.md``.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    """How serious a finding is; the value is what the clerk reads (equal to the plain string)."""

    ERROR = "错误"
    WARNING = "警告"
    INFO = "提示"


ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO
SEVERITIES = (ERROR, WARNING, INFO)
SEVERITY_RANK = {ERROR: 0, WARNING: 1, INFO: 2}


@dataclass(frozen=True)
class Finding:
    """One problem at one place.

    ``sheet``/``cell`` locate it ("预算执行", "C6"); ``cell`` is "" when the problem has no cell
    (a table or defined name the workbook lacks).  ``table`` names the Excel table and ``row``
    the 1-based sheet row when the cell lies in a table.  ``message`` states what was found and
    what was expected; ``hint`` how to fix it.
    """

    code: str
    severity: Severity
    sheet: str
    cell: str
    message: str
    hint: str
    table: str | None = None
    row: int | None = None

    @property
    def ref(self) -> str:
        """``sheet!cell`` (or just the sheet when there is no cell)."""
        return f"{self.sheet}!{self.cell}" if self.cell else self.sheet

    @classmethod
    def at(cls, code: str, sheet: str, cell: str, message: str, hint: str, *,
           table: str | None = None, row: int | None = None) -> "Finding":
        """A finding whose severity is the catalogue's for ``code`` (KeyError if unknown)."""
        return cls(code, CATALOGUE[code].severity, sheet, cell, message, hint, table, row)


@dataclass(frozen=True)
class CodeInfo:
    """A catalogue entry: the code, its severity, a short title and a description for clerks."""

    code: str
    severity: Severity
    title: str
    description: str


_E, _W, _I = ERROR, WARNING, INFO
_ENTRIES = (
    # Structure of the workbook
    ("name-missing", _E, "标准名称缺失",
     "工作簿缺少契约规定的名称（如 income_total），或名称指向的工作表已被删除（#REF!），该项无法读取。"),
    ("table-missing", _E, "标准表格缺失",
     "工作簿缺少契约规定的 Excel 表格（如 tbl_units），或表格被改名、所在工作表被删除。"),
    ("column-missing", _E, "表格缺少列",
     "表格的表头文字被改动或列被删除，该列数据无法读取。"),
    # Single values
    ("required-empty", _E, "必填项为空", "必填的单元格没有填写。"),
    ("wrong-type", _E, "类型不符", "单元格内容无法按应有类型读取，如金额单元格中填了文字、人数填了小数。"),
    ("cell-error", _E, "单元格显示错误值",
     "单元格显示 Excel 错误值（#N/A、#REF!、#DIV/0! 等），引用它的评分公式也会显示错误。"),
    ("number-as-text", _W, "数字存为文本",
     "数字以文本格式存储（如带千分位逗号的文字“12,820.47”），引用它的 Excel 公式可能算不出结果。"),
    ("number-text-unusable", _E, "数字带单位或全角字符",
     "数字后带单位（如“12539.32万元”）、用全角数字或夹有文字：perfxl 能读出数值，但 Excel 公式不能用它计算，"
     "引用它的比率和得分算不出结果，该项不评分（不按 0 分计）。"),
    ("date-impossible", _E, "日期不存在", "填写的日期在日历上不存在，如 2023年2月30日。"),
    ("negative-value", _E, "数值为负", "金额、人数、笔数等不能为负数。"),
    ("invalid-choice", _E, "不在下拉选项中", "单元格的值不是下拉列表中的选项。"),
    ("year-implausible", _E, "年度不合理", "年度不是合理的四位年份。"),
    ("report-date-out-of-period", _W, "填报日期不在评价期内",
     "填报日期应在评价年度 11 月 1 日至次年 12 月 31 日之间。"),
    ("rate-out-of-range", _E, "比率超出合理范围",
     "比率单元格中的值超出可能的范围（如支出进度大于 100% 或为负），多为手工覆盖了公式。"),
    ("text-too-long", _W, "文字过长", "单元格文字超过 10,000 字，Excel 显示和 Word 报告都会出问题。"),
    ("formula-like-text", _I, "文字以公式符号开头",
     "文字以 =、+、-、@ 开头，导出为 CSV 后可能被表格软件当作公式执行。"),
    # Tables
    ("blank-row", _I, "表格中间有空行", "表格中间有空行，其后仍有数据。"),
    ("duplicate-serial", _W, "序号重复", "同一表格中序号重复。"),
    # Totals that must reconcile
    ("sum-mismatch", _E, "合计与分项之和不符",
     "合计单元格的值与各分项之和不一致，多为在公式单元格上手工填了数字。"),
    ("income-expense-mismatch", _W, "收入与支出合计不一致", "总收入与财政拨款支出合计不一致。"),
    ("executed-exceeds-budget", _W, "执行数大于全年预算数", "预算执行数大于全年预算数。"),
    ("executed-expense-mismatch", _I, "执行数与支出合计不一致",
     "预算执行数与财政拨款支出合计不一致，请核对口径。"),
    ("staff-total-mismatch", _W, "年末实有人数与各单位合计不一致",
     "正文口径的年末实有人数与“人员编制”表各单位年末实有人数之和不一致。"),
    # Cross-sheet consistency
    ("issued-exceeds-quota", _E, "已下达用款计划大于指标数", "已下达用款计划不应大于对应的指标数。"),
    ("staff-over-quota", _W, "实有人数超过核定编制", "单位年末实有人数超过核定编制数。"),
    ("execution-progress-mismatch", _W, "预算完成率与支出进度矛盾",
     "执行数已达全年预算数（完成预算 100%），而支出进度（已下达用款计划 ÷ 指标数）明显偏低，"
     "两种说法互相矛盾。"),
    ("sme-exceeds-procurement", _E, "中小企业合同金额大于政府采购总额",
     "授予中小企业合同金额不应大于政府采购（货物、工程、服务）合计。"),
    ("targets-exceed-projects", _E, "设置绩效目标的项目数大于项目总数",
     "设置绩效目标的项目数不应大于项目总数。"),
    ("asset-net-exceeds-original", _E, "资产净值大于原值", "资产净值不应大于资产原值。"),
    ("key-spending-exceeds-project", _E, "重点项目支出大于项目支出", "重点项目支出是项目支出的一部分，不应大于项目支出。"),
    ("assets-in-use-exceed-total", _E, "在用固定资产大于固定资产合计", "在用固定资产原值不应大于固定资产原值合计。"),
    # Scoring table
    ("indicator-missing", _E, "评分表缺少指标", "评分规则包中的指标在评分表中找不到。"),
    ("indicator-unknown", _E, "评分表中有未知指标", "评分表中的指标编号不在评分规则包中，不会被计分。"),
    ("indicator-duplicate", _E, "指标编号重复", "评分表中同一指标编号出现多次。"),
    ("points-changed", _W, "分值与评分规则不符", "评分表中的分值与评分规则包不一致（分值不应手工修改）。"),
    ("score-missing", _E, "人工评分未填", "评分方式为“人工”的指标没有填写自评得分。"),
    ("score-out-of-range", _E, "自评得分超出分值范围", "自评得分应在 0 到该指标分值之间。"),
    ("deduction-unexplained", _W, "扣分未说明理由", "人工评分未得满分，但评价说明为空。"),
    ("full-marks-unexplained", _I, "满分未写评价说明", "人工评分得满分，但没有写评价说明（依据）。"),
    ("all-full-marks-unexplained", _W, "全部人工指标满分且均无说明",
     "所有人工评分指标都是满分，且没有任何评价说明，自评结果缺乏依据。"),
    # 加减分
    ("award-evidence-missing", _E, "加减分缺少授奖信息", "加减分申报缺少授奖机关、授奖时间或授奖依据，无法认定。"),
    ("award-date-outside-year", _E, "授奖时间不在评价年度内", "授奖时间应在评价年度内。"),
    ("penalty-points-missing", _E, "减分项未填扣分", "类型为“减分”的行没有填写扣分（自评得分）。"),
    # Narrative
    ("narrative-section-missing", _W, "缺少报告章节", "报告正文缺少“五、存在问题”或“六、改进措施”。"),
    ("narrative-section-empty", _W, "报告章节内容为空",
     "“五、存在问题”或“六、改进措施”没有实质内容（空白、“无”“暂无”“没有”等）。"),
    ("narrative-boilerplate", _W, "报告章节内容空泛", "“五、存在问题”或“六、改进措施”只有很短的套话。"),
    ("duplicate-text", _W, "段落重复", "同一段文字在报告正文或评价说明中重复出现。"),
    # Plausibility
    ("high-score-low-spending", _I, "总分高而支出进度低", "总分达到 90 分以上，但支出进度低于 80%，请复核各项自评得分。"),
    # From the scoring engine
    ("rate-undefined", _W, "比率无法计算", "比率的分母为零或为空，无法计算，相应指标无法自动评分。"),
    ("scoring-problem", _W, "评分时发现问题", "评分计算时发现的问题（见说明）。"),
    ("scoring-failed", _E, "评分计算失败", "评分计算意外中断，评分相关的校验未完成。"),
    ("rule-pack-unknown", _W, "评分规则包无法识别",
     "“评分参数”表记录的评分规则包不是 perfxl 随附的规则包（或为空），已按默认规则包评分；该文字不会被当作文件路径打开。"),
    ("rule-pack-override", _W, "未按工作簿的评分规则包评分",
     "本次评分指定了另一个评分规则包（--rules），与工作簿“评分参数”表记录的规则包不同，评分表的指标和分值可能对不上。"),
    ("param-modified", _W, "评分参数被修改", "“评分参数”表中的阈值或分值与规则包不同；单个工作簿评分时采用表中的值，财政局批量评分时采用规则包的值。"),
    # Two years compared (perfxl check --prev 上年工作簿)
    ("staff-quota-jump", _W, "核定编制数与上年相差过大",
     "同一单位、同一编制类型的核定编制数与上年相比变化超过 20%，请核实是否有编制调整文件。"),
    ("unit-disappeared", _W, "上年的单位本年没有了",
     "上年“人员编制”表中的单位在本年的表中找不到，请核实是否撤并，或是否漏填。"),
    ("stock-prev-mismatch", _W, "上年末存量资金与上年工作簿不符",
     "本年的“上年末国库集中支付结转结余存量资金”应等于上年工作簿的“本年末国库集中支付结转结余存量资金”。"),
    ("prev-figure-mismatch", _W, "上年数与上年工作簿不符",
     "本年填写的上年数（上年“三公”经费实际支出数、上年结转结余资金）应等于上年工作簿的本年数。"),
    ("year-not-consecutive", _I, "对比的不是上一年度", "用来对比的工作簿的年度不是本年度的上一年。"),
)

CATALOGUE: dict[str, CodeInfo] = {c: CodeInfo(c, s, t, d) for c, s, t, d in _ENTRIES}


def catalogue_table() -> str:
    """The catalogue as a Markdown table (代码 | 严重程度 | 名称 | 说明), for docs and README."""
    lines = ["| 代码 | 严重程度 | 名称 | 说明 |", "|---|---|---|---|"]
    for info in CATALOGUE.values():
        desc = info.description.replace("|", "\\|")
        lines.append(f"| `{info.code}` | {info.severity} | {info.title} | {desc} |")
    return "\n".join(lines) + "\n"


def catalogue_markdown() -> str:
    """The whole of docs/codes.md."""
    counts = {s: sum(1 for i in CATALOGUE.values() if i.severity == s) for s in SEVERITIES}
    return (
        "# 校验代码一览\n\n"
        "<!-- Generated from perfxl/findings.py: python -m perfxl.findings > docs/codes.md -->\n\n"
        "`perfxl check` 报告的每个问题都有一个固定的代码。严重程度：**错误**必须改正，否则评分或报告可能不正确；"
        "**警告**多为前后不一致，须核实；**提示**供参考。\n\n"
        f"共 {len(CATALOGUE)} 个代码：错误 {counts[ERROR]} 个，警告 {counts[WARNING]} 个，"
        f"提示 {counts[INFO]} 个。\n\n"
        + catalogue_table()
    )


if __name__ == "__main__":
    import sys

    sys.stdout.write(catalogue_markdown())
