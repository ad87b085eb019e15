"""Examples shown at the end of each command's ``--help`` (see :mod:`perfxl.argparse_zh`)."""
from __future__ import annotations

EXAMPLES: dict[str, tuple[str, ...]] = {
    "perfxl": (
        "perfxl new 2024.xlsx --dept 乐昌市民政局 --year 2024    生成空白标准工作簿",
        "perfxl run 乐昌市民政局-2023.xlsx                       一键完成：校验、评分、生成报告",
        "perfxl 命令 --help                                      查看某个命令的用法和示例",
    ),
    "perfxl new": (
        "perfxl new 2024.xlsx --dept 乐昌市民政局 --year 2024    生成空白标准工作簿",
        "perfxl new 2024.xlsx --from 2023.xlsx                   从上年工作簿带入职责、单位编制、绩效目标等",
        "perfxl new 2024.xlsx --rules national-framework         按全国共性指标体系框架生成（规则包名称见 perfxl packs）",
    ),
    "perfxl export": (
        "perfxl export 乐昌市民政局-2023.xlsx > 数据.json        按契约名称导出全部数据",
    ),
    "perfxl check": (
        "perfxl check 乐昌市民政局-2023.xlsx                     列出全部问题",
        "perfxl check 乐昌市民政局-2023.xlsx --mark -o 已标注.xlsx  问题写入“校验结果”表并标注单元格，另存",
        "perfxl check 2024.xlsx --prev 2023.xlsx --mark          同时与上年对比，问题都写入“校验结果”表并标注",
    ),
    "perfxl score": (
        "perfxl score 乐昌市民政局-2023.xlsx                     评分，另存为“乐昌市民政局-2023-已评分.xlsx”",
        "perfxl score 乐昌市民政局-2023.xlsx --in-place          直接写回原文件（先保留 .bak 备份）",
    ),
    "perfxl report": (
        "perfxl report 乐昌市民政局-2023.xlsx                    生成 Word 自评报告",
        "perfxl report 乐昌市民政局-2023.xlsx --pdf -o 报告.docx  同时生成 PDF",
    ),
    "perfxl run": (
        "perfxl run 乐昌市民政局-2023.xlsx                       结果写在工作簿旁边，原文件不动",
        "perfxl run 乐昌市民政局-2023.xlsx -o 输出 --pdf          结果写入“输出”文件夹，另有 PDF 报告",
    ),
    "perfxl batch": (
        "perfxl batch 各部门报送 -o 评审结果 --recursive          处理文件夹（含子文件夹）中的全部工作簿",
        "perfxl batch 各部门报送 -o 评审结果 --jobs 2 --quiet     用 2 个进程，只输出最后的汇总行",
        "perfxl batch 各部门报送 -o 评审结果 --year 2023          只有 2023 年度的工作簿参与抽查排名，其余标为“年度不符”",
    ),
    "perfxl packs": (
        "perfxl packs                                            列出随附的评分规则包：名称、来源和总分",
    ),
    "perfxl codes": (
        "perfxl codes                                            列出全部校验代码及说明",
    ),
    "perfxl addin": (
        "perfxl addin build -o perfxl.xlam                       构建 Excel 加载项",
        "perfxl addin wps-zip                                    生成 WPS 表格加载项离线安装包",
    ),
    "perfxl serve": (
        "perfxl serve --data /srv/perfxl --host 0.0.0.0 --port 8000   在内网启动服务",
    ),
    "perfxl user": (
        "perfxl user add 张三 --role clerk --dept 乐昌市民政局 --data /srv/perfxl   新建填报账号",
        "perfxl user list --data /srv/perfxl                               列出全部账号",
    ),
    "perfxl user add": (
        "perfxl user add 张三 --role clerk --dept 乐昌市民政局 --data /srv/perfxl   新建填报账号",
        "perfxl user add 李四 --role reviewer --data /srv/perfxl --password-stdin < 密码.txt",
    ),
    "perfxl user token": ("perfxl user token 张三 --data /srv/perfxl    生成新的 API 令牌（只显示一次）",),
    "perfxl user list": ("perfxl user list --data /srv/perfxl    列出全部账号",),
    "perfxl user disable": ("perfxl user disable 张三 --data /srv/perfxl    停用账号并作废其令牌",),
}
