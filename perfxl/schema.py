"""The one field definition of the standard workbook.

The template generator lays cells out from it, the reader parses by it, validation checks
types and choices by it, and the writers find output cells by it.  The public names (defined
names, table names, headers) are the workbook contract: docs/workbook-contract.md.
"""
from __future__ import annotations

from dataclasses import dataclass

# Value kinds.  money: 万元, 2 decimals; rate: a fraction shown as a percentage.
TEXT, INT, MONEY, DATE, RATE, NUMBER = "text", "int", "money", "date", "rate", "number"

# Sheet names (user-facing, Chinese).
S_HELP = "填表说明"
S_COVER = "封面与基本信息"
S_DUTIES = "部门职责"
S_STAFF = "人员编制"
S_FINANCE = "收支情况"
S_TARGETS = "绩效目标"
S_BUDGET = "预算执行"
S_TASKS = "重点工作"
S_AWARDS = "加减分"
S_SCORES = "评分表"
S_PARAMS = "评分参数"
S_TEXT = "报告正文"
S_FINDINGS = "校验结果"
S_RESULTS = "计算结果"  # created by perfxl only when the workbook lacks rate_* / score_* names

# The rule pack the workbook was made for (optional: older workbooks lack it): the pack's
# name as ``--rules`` takes it, in a locked cell of 评分参数 (perfxl.packchoice reads it).
RULE_PACK = "rule_pack"

SHEET_ORDER = (S_HELP, S_COVER, S_DUTIES, S_STAFF, S_FINANCE, S_TARGETS, S_BUDGET, S_TASKS,
               S_AWARDS, S_SCORES, S_PARAMS, S_TEXT)


@dataclass(frozen=True)
class Field:
    """A single-cell input (or input-side total) held under a workbook-scope defined name.

    ``parts``: for a total, the names it is the sum of (the template writes the formula,
    the reader computes it when no cached value is present, validation reconciles it).
    ``group``: a block heading on its sheet.
    """

    name: str
    label: str
    kind: str
    sheet: str
    group: str = ""
    required: bool = False
    parts: tuple[str, ...] = ()
    unit: str = ""
    help: str = ""
    in_year: bool = False  # dates: must fall in or just after the fiscal year


F = Field
FIELDS: tuple[Field, ...] = (
    F("dept_name", "部门名称", TEXT, S_COVER, "封面", True, help="与公章一致的部门全称"),
    F("fiscal_year", "年度", INT, S_COVER, "封面", True, help="评价的预算年度，如 2023"),
    F("attachment_label", "附件编号", TEXT, S_COVER, "封面", help="如：附件4"),
    F("dept_head", "单位负责人", TEXT, S_COVER, "封面", True),
    F("preparer", "填报人", TEXT, S_COVER, "封面", True),
    F("phone", "联系电话", TEXT, S_COVER, "封面", True, help="如：0751-5560127"),
    F("report_date", "填报日期", DATE, S_COVER, "封面", True, help="如：2024年5月20日"),
    F("duty_basis", "职责依据（文件）", TEXT, S_DUTIES, "职责依据", True,
      help="“三定”方案等文件名称与文号"),
    F("staff_actual_stated", "年末实有人数（正文口径，含下属单位）", INT, S_STAFF, "正文口径", unit="人",
      help="报告正文中写的年末实有人数；应与下表合计一致"),
    F("income_general", "一般公共预算财政拨款收入", MONEY, S_FINANCE, "收入", True, unit="万元"),
    F("income_fund", "政府性基金预算财政拨款收入", MONEY, S_FINANCE, "收入", unit="万元"),
    F("income_other", "其他收入", MONEY, S_FINANCE, "收入", unit="万元"),
    F("income_total", "总收入", MONEY, S_FINANCE, "收入",
      parts=("income_general", "income_fund", "income_other"), unit="万元", help="自动合计"),
    F("exp_personnel", "人员经费", MONEY, S_FINANCE, "支出", True, unit="万元"),
    F("exp_public", "公用经费", MONEY, S_FINANCE, "支出", True, unit="万元"),
    F("exp_basic", "基本支出", MONEY, S_FINANCE, "支出", parts=("exp_personnel", "exp_public"),
      unit="万元", help="自动合计"),
    F("exp_project", "项目支出", MONEY, S_FINANCE, "支出", True, unit="万元"),
    F("exp_total", "财政拨款支出合计", MONEY, S_FINANCE, "支出", parts=("exp_basic", "exp_project"),
      unit="万元", help="自动合计"),
    F("exp_project_desc", "项目支出主要用途", TEXT, S_FINANCE, "支出", help="写入报告“项目支出”一段"),
    F("key_project_exp", "重点项目支出", MONEY, S_FINANCE, "支出", unit="万元",
      help="项目支出中与履职密切相关、党委政府关心的重点项目支出；全国框架“重点支出安排率” = 重点项目支出 ÷ 项目支出 用"),
    F("overall_goal", "部门整体支出总体绩效目标", TEXT, S_TARGETS, "总体目标", True),
    F("projects_total", "项目总数", INT, S_TARGETS, "目标覆盖", True, unit="个"),
    F("projects_with_targets", "设置绩效目标的项目数", INT, S_TARGETS, "目标覆盖", True, unit="个"),
    F("budget_annual", "全年预算数", MONEY, S_BUDGET, "预算完成", True, unit="万元"),
    F("budget_executed", "执行数", MONEY, S_BUDGET, "预算完成", True, unit="万元"),
    F("quota_basic", "指标数·基本支出", MONEY, S_BUDGET, "表3 支出进度", True, unit="万元"),
    F("quota_project", "指标数·项目支出", MONEY, S_BUDGET, "表3 支出进度", True, unit="万元"),
    F("issued_basic", "已下达用款计划·基本支出", MONEY, S_BUDGET, "表3 支出进度", True, unit="万元"),
    F("issued_project", "已下达用款计划·项目支出", MONEY, S_BUDGET, "表3 支出进度", True, unit="万元"),
    F("payment_count", "资金支出笔数", INT, S_BUDGET, "资金支出", unit="笔"),
    F("issued_incl_special", "已下达资金用款计划（含专户，正文口径）", MONEY, S_BUDGET, "资金支出", unit="万元"),
    F("special_account", "其中专户资金", MONEY, S_BUDGET, "资金支出", unit="万元"),
    F("payable_unpaid", "应付未付资金", MONEY, S_BUDGET, "资金支出", unit="万元"),
    F("upper_funds_total", "上级资金总量", MONEY, S_BUDGET, "结转结余", True, unit="万元"),
    F("carryover_balance", "结转结余资金", MONEY, S_BUDGET, "结转结余", True, unit="万元"),
    F("carryover_payable_excluded", "已剔除的应付未付资金", MONEY, S_BUDGET, "结转结余", unit="万元"),
    F("stock_prev", "上年末国库集中支付结转结余存量资金", MONEY, S_BUDGET, "存量资金", True, unit="万元"),
    F("stock_curr", "本年末国库集中支付结转结余存量资金", MONEY, S_BUDGET, "存量资金", True, unit="万元"),
    F("proc_goods", "政府采购·货物", MONEY, S_BUDGET, "政府采购", unit="万元"),
    F("proc_works", "政府采购·工程", MONEY, S_BUDGET, "政府采购", unit="万元"),
    F("proc_services", "政府采购·服务", MONEY, S_BUDGET, "政府采购", unit="万元"),
    F("proc_sme", "授予中小企业合同金额", MONEY, S_BUDGET, "政府采购", unit="万元"),
    F("sangong_budget", "“三公”经费预算数", MONEY, S_BUDGET, "经济性", True, unit="万元"),
    F("sangong_actual", "“三公”经费实际支出数", MONEY, S_BUDGET, "经济性", True, unit="万元"),
    F("public_budget", "日常公用经费预算数", MONEY, S_BUDGET, "经济性", True, unit="万元"),
    F("public_actual", "日常公用经费实际支出数", MONEY, S_BUDGET, "经济性", True, unit="万元"),
    F("sangong_prev", "上年“三公”经费实际支出数", MONEY, S_BUDGET, "经济性", unit="万元",
      help="全国框架“三公经费”变动率 = (本年 − 上年) ÷ 上年 用"),
    F("asset_count", "资产盘点项数", INT, S_BUDGET, "资产", unit="项"),
    F("asset_original", "资产原值", MONEY, S_BUDGET, "资产", unit="万元"),
    F("asset_net", "资产净值", MONEY, S_BUDGET, "资产", unit="万元"),
    F("fixed_assets_total", "固定资产原值合计", MONEY, S_BUDGET, "资产", unit="万元",
      help="全部固定资产的账面原值；全国框架“固定资产利用率” = 在用固定资产原值 ÷ 固定资产原值合计 用"),
    F("fixed_assets_in_use", "在用固定资产原值", MONEY, S_BUDGET, "资产", unit="万元",
      help="实际在用的固定资产原值（不含闲置、待处置的），不大于固定资产原值合计"),
    # Appended last so every earlier cell of 预算执行 stays where it was (tools and tests
    # written against older workbooks address cells as well as names).
    F("budget_adjustment", "预算调整数", MONEY, S_BUDGET, "预算调整、上年结转与采购预算", unit="万元",
      help="年度内预算追加、追减和结构调整的资金总和（落实国家政策、不可抗力、上级临时交办的除外）；"
           "全国框架“预算调整率” = 预算调整数 ÷ 全年预算数 用"),
    F("carryover_prev", "上年结转结余资金", MONEY, S_BUDGET, "预算调整、上年结转与采购预算", unit="万元",
      help="上年度累计结转结余资金总额（与本年“结转结余资金”同一口径）；全国框架“结转结余变动率” = (本年 − 上年) ÷ 上年 用"),
    F("proc_budget", "政府采购预算数", MONEY, S_BUDGET, "预算调整、上年结转与采购预算", unit="万元",
      help="年度政府采购预算；全国框架“政府采购执行率” = (货物 + 工程 + 服务) ÷ 政府采购预算数 用，"
           "此时货物、工程、服务三项都应填写（没有的填 0）"),
)
FIELD_BY_NAME = {f.name: f for f in FIELDS}
# Inputs added for other shipped packs (national-framework): a workbook made before them may lack
# their names; that is a finding only when the pack in use reads them (perfxl/validate.py).
OPTIONAL_FIELDS = frozenset({"sangong_prev", "key_project_exp", "budget_adjustment", "carryover_prev",
                             "proc_budget", "fixed_assets_total", "fixed_assets_in_use"})
# This year's "上年" inputs and the figure of last year's workbook each one equals: `perfxl new
# --from` fills them from it, `perfxl check --prev` compares them with it.
PREV_YEAR = (("stock_prev", "stock_curr"), ("sangong_prev", "sangong_actual"), ("carryover_prev", "carryover_balance"))
DERIVED_FIELDS = tuple(f for f in FIELDS if f.parts)


@dataclass(frozen=True)
class Column:
    header: str
    kind: str = TEXT
    required: bool = False
    choices: tuple[str, ...] = ()
    width: float = 14
    computed: bool = False  # perfxl writes it (may still be an input on some rows)
    # An open list: offered as a dropdown, other values allowed (Excel asks to confirm).
    # ``choices`` is a closed list (anything else is an invalid-choice finding).
    suggestions: tuple[str, ...] = ()
    unit: str = ""  # of a number column (人), for the report's sentences


@dataclass(frozen=True)
class TableDef:
    name: str
    sheet: str
    caption: str
    columns: tuple[Column, ...]
    blank_rows: int = 10  # empty rows the blank template offers
    key: str | None = None  # column whose emptiness makes a row "empty"

    @property
    def headers(self) -> tuple[str, ...]:
        return tuple(c.header for c in self.columns)

    def column(self, header: str) -> Column:
        return next(c for c in self.columns if c.header == header)


LEVELS = ("本级", "下属")
STAFF_TYPES = ("行政", "参公", "事业", "工勤", "其他")
TASK_STATUS = ("已完成", "部分完成", "未完成")
AWARD_LEVELS = ("国家级", "省级", "市级", "县级")
AWARD_TYPES = ("加分", "减分")
SCORE_MODES = ("自动", "人工")
# Open lists (dropdown suggestions; perfxl accepts other values).
TARGET_TYPES = ("数量指标", "质量指标", "时效指标", "成本指标", "经济效益指标", "社会效益指标",
                "生态效益指标", "可持续影响指标", "满意度指标")
DONE_VALUES = ("是", "否", "部分完成")
UNIT_KINDS = ("行政单位", "参公事业单位", "公益一类", "公益二类", "其他")
FUNDING_KINDS = ("财政全额拨款", "财政差额拨款", "经费自理")
SECTION_VALUES = ("四、主要绩效", "五、存在问题", "六、改进措施")

C = Column
TABLES: tuple[TableDef, ...] = (
    TableDef("tbl_duties", S_DUTIES, "表1 部门主要职责",
             (C("序号", INT, width=8), C("主要职责", TEXT, True, width=90)), 12, "主要职责"),
    TableDef("tbl_units", S_STAFF, "纳入预算编制范围的单位及人员编制",
             (C("单位名称", TEXT, True, width=30), C("层级", TEXT, True, LEVELS, 8),
              C("编制类型", TEXT, True, STAFF_TYPES, 10), C("单位性质", TEXT, width=16, suggestions=UNIT_KINDS),
              C("经费保障", TEXT, width=16, suggestions=FUNDING_KINDS), C("核定编制数", INT, True, width=12, unit="人"),
              C("年末实有人数", INT, True, width=12, unit="人")), 8, "单位名称"),
    TableDef("tbl_targets", S_TARGETS, "表2 部门整体支出绩效目标情况",
             (C("指标类型", TEXT, True, width=14, suggestions=TARGET_TYPES), C("指标内容", TEXT, True, width=50),
              C("指标值", TEXT, True, width=20), C("实际完成值", TEXT, width=20),
              C("是否完成", TEXT, width=10, suggestions=DONE_VALUES)), 15, "指标内容"),
    TableDef("tbl_key_tasks", S_TASKS, "表4 重点工作完成情况",
             (C("序号", INT, width=8), C("重点工作", TEXT, True, width=40),
              C("进展情况", TEXT, width=80), C("完成状态", TEXT, True, TASK_STATUS, 12)), 8,
             "重点工作"),
    TableDef("tbl_awards", S_AWARDS, "表5 创新性亮点工作加减分申报表",
             (C("序号", INT, width=8), C("项目名称", TEXT, True, width=36),
              C("授奖机关", TEXT, True, width=20), C("授奖时间", DATE, True, width=14),
              C("授奖依据", TEXT, True, width=50), C("授奖级别", TEXT, True, AWARD_LEVELS, 10),
              C("类型", TEXT, True, AWARD_TYPES, 8), C("自评得分", NUMBER, width=10, computed=True)),
             8, "项目名称"),
    TableDef("tbl_scores", S_SCORES, "部门整体支出绩效评价指标评分表",
             (C("指标编号", TEXT, True, width=20), C("一级指标", TEXT, width=14),
              C("二级指标", TEXT, width=12), C("三级指标", TEXT, width=30),
              C("分值", NUMBER, width=8), C("评分方式", TEXT, True, SCORE_MODES, 10),
              C("计算值", NUMBER, width=12, computed=True),
              C("自评得分", NUMBER, width=10, computed=True), C("评价说明", TEXT, width=90)),
             0, "指标编号"),
    TableDef("tbl_narrative", S_TEXT, "报告正文（四、主要绩效及以后各部分）",
             (C("章节", TEXT, True, width=16, suggestions=SECTION_VALUES), C("标题", TEXT, width=40), C("正文", TEXT, width=100)),
             20, None),
)
TABLE_BY_NAME = {t.name: t for t in TABLES}

NARRATIVE_SECTIONS = SECTION_VALUES


@dataclass(frozen=True)
class Output:
    """A value perfxl writes back (defined name → formula + cached value)."""

    name: str
    label: str
    kind: str
    sheet: str


RATE_OUTPUTS: tuple[Output, ...] = (
    Output("rate_issued_basic", "支出进度·基本支出", RATE, S_BUDGET),
    Output("rate_issued_project", "支出进度·项目支出", RATE, S_BUDGET),
    Output("rate_spending", "支出进度·总预算（部门预算资金支出率）", RATE, S_BUDGET),
    Output("rate_spending_incl_payable", "支出进度（含应付未付）", RATE, S_BUDGET),
    Output("rate_carryover", "结转结余率", RATE, S_BUDGET),
    Output("rate_stock_change", "存量资金效率性（增长率）", RATE, S_BUDGET),
    Output("rate_staff_control", "财政供养人员控制率", RATE, S_BUDGET),
    Output("rate_sangong", "“三公”经费实际支出率", RATE, S_BUDGET),
    Output("rate_public", "日常公用经费实际支出率", RATE, S_BUDGET),
    Output("rate_sme_share", "中小企业合同金额占比", RATE, S_BUDGET),
    Output("rate_key_tasks", "重点工作完成率", RATE, S_BUDGET),
    Output("rate_target_coverage", "绩效目标覆盖率", RATE, S_BUDGET),
    Output("rate_budget_completion", "预算完成率", RATE, S_BUDGET),
    Output("rate_sangong_change", "“三公”经费变动率", RATE, S_BUDGET),
    Output("rate_key_spending", "重点支出安排率", RATE, S_BUDGET),
    Output("rate_budget_adjust", "预算调整率", RATE, S_BUDGET),
    Output("rate_procurement", "政府采购执行率", RATE, S_BUDGET),
    Output("rate_fixed_asset_use", "固定资产利用率", RATE, S_BUDGET),
    Output("rate_carryover_change", "结转结余变动率", RATE, S_BUDGET),
)
TOTAL_OUTPUTS: tuple[Output, ...] = (
    Output("score_base", "基础得分", NUMBER, S_SCORES),
    Output("score_bonus", "加减分", NUMBER, S_SCORES),
    Output("score_total", "总分", NUMBER, S_SCORES),
    Output("grade", "评价等级", TEXT, S_SCORES),
)
CONTRACT_NAMES = tuple(f.name for f in FIELDS) + tuple(o.name for o in RATE_OUTPUTS + TOTAL_OUTPUTS)
