"""Regenerate the committed generated files: the blank template and the bundled sample.

    python scripts/regen.py

tests/test_template.py fails when a committed file differs from what this produces.
"""
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from perfxl import template  # noqa: E402

SAMPLE_JSON = ROOT / "samples" / "lechang-2023.json"
SAMPLE_XLSX = ROOT / "samples" / "乐昌市民政局-2023.xlsx"
NATIONAL_XLSX = ROOT / "samples" / "乐昌市民政局-2023-national.xlsx"
# The national-framework sample: the seed's figures plus PLAUSIBLE (invented) values for the inputs
# only that pack uses, and self-assessed scores for its manual indicators; both are stated in the
# sample's first 报告正文 row (标题 【示例说明】) so nobody mistakes them for the bureau's figures.
NATIONAL_EXTRA = {"sangong_prev": 13.50, "key_project_exp": 10542.55, "budget_adjustment": 1025.64,
                  "carryover_prev": 1826.40, "proc_budget": 78.00, "fixed_assets_total": 312.46,
                  "fixed_assets_in_use": 290.60}
NATIONAL_NOTE = ("【示例说明】本样例用乐昌市民政局 2023 年数据演示全国共性指标体系框架规则包；"
                 "上年“三公”经费实际支出数 13.50 万元、重点项目支出 10542.55 万元、预算调整数 1025.64 万元、"
                 "上年结转结余资金 1826.40 万元、政府采购预算数 78.00 万元、固定资产原值合计 312.46 万元、"
                 "在用固定资产原值 290.60 万元及各人工评分项得分为演示用的假设值，并非该局实际数据。")


def national_data(sample: dict) -> dict:
    """The seed's data for the national-framework pack (see NATIONAL_EXTRA / NATIONAL_NOTE)."""
    from perfxl import rulepack

    pack = rulepack.load("national-framework")
    data = json.loads(json.dumps(sample))
    data["fields"].update(NATIONAL_EXTRA)
    data["tables"]["tbl_scores"] = [{"指标编号": i.id, "自评得分": round(i.points * 0.95, 2)}
                                    for i in pack.indicators if i.manual]
    data["tables"]["tbl_narrative"].insert(0, {"章节": "四、主要绩效", "标题": "【示例说明】", "正文": NATIONAL_NOTE})
    return data


def main() -> None:
    template.TEMPLATE_PATH.parent.mkdir(exist_ok=True)
    template.TEMPLATE_PATH.write_bytes(template.build_workbook())
    sample = json.loads(SAMPLE_JSON.read_text("utf-8"))
    SAMPLE_XLSX.write_bytes(template.build_workbook(sample))
    from perfxl import rulepack

    NATIONAL_XLSX.write_bytes(template.build_workbook(national_data(sample), pack=rulepack.load("national-framework")))
    print(template.TEMPLATE_PATH, SAMPLE_XLSX, NATIONAL_XLSX, sep="\n")


if __name__ == "__main__":
    main()
