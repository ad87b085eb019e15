"""What each button of the Excel add-in does, as plain functions: no xlwings here.

:func:`run_action` takes any :class:`~perfxl.reader.GridSource` (the add-in passes its open
book) and returns an :class:`Outcome`: the Chinese message for the clerk, the
:mod:`perfxl.edits` edits to apply to the open book, and the Word report it wrote.  It never
saves the workbook; the clerk decides when to save.  ``perfxl.excel`` is the thin xlwings shell
around these functions; tests call them directly.

The rule pack is the one the workbook records (``rule_pack``, see :mod:`perfxl.packchoice`;
the bundled default for older workbooks) unless the environment variable ``PERFXL_RULES``
names a pack (a bureau's IT sets it once per machine); the workbook's own 评分参数 cells still
win over the pack's defaults, as with ``perfxl score`` without ``--rules``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from typing import TYPE_CHECKING

from .errors import PerfxlError
from .pipeline import Analysis, Status
from .rulepack import RulePack

if TYPE_CHECKING:
    from .edits import Edit
    from .reader import GridSource

ACTIONS = ("check", "score", "report", "all")
BLANK_NAME = "部门整体支出绩效自评-空白表"


@dataclass(frozen=True)
class Outcome:
    """The result of one button: ``ok`` is False when the clerk must act first."""

    ok: bool
    message: str                       # Chinese, shown to the clerk
    edits: tuple[Edit, ...] = ()       # perfxl.edits to apply to the open book / the file
    report: Path | None = None         # written report (.docx) if any
    status: Status | None = None       # the pipeline's outcome class (None: not run)


def run_action(action: str, source: GridSource, book_path: str, pack: RulePack | None = None) -> Outcome:
    """Run one button on a workbook read through ``source``.

    ``action``: ``check`` (findings marked on cells and listed on 校验结果), ``score`` (formulas
    and scores written back), ``report`` (Word report written beside ``book_path``) or ``all``.
    ``book_path``: the workbook's full path as Excel reports it (no folder when never saved).
    A workbook that cannot be read or processed gives ``ok=False`` with the reason
    (:func:`perfxl.pipeline.process`'s policy), never an exception.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; expected one of {ACTIONS}")
    from . import pipeline
    from .rulepack import load as load_rules

    try:
        env = os.environ.get("PERFXL_RULES")
        pack = pack or (load_rules(env) if env else None)  # None: the workbook's own pack
    except PerfxlError as e:
        return Outcome(False, str(e))
    name = Path(book_path).name or "工作簿"
    check, score, report = action in ("check", "all"), action in ("score", "all"), action in ("report", "all")
    result = pipeline.process(None, name, pack, source=source, score=score, mark=check, report=report)
    if not result.ok:
        return Outcome(False, result.error or f"{name}：无法处理。", status=result.status)
    analysis = result.analysis
    assert analysis is not None  # ok: every stage ran
    lines = []
    if check:
        lines.append(_check_summary(analysis))
    if score:
        lines.append(_score_summary(analysis))
    out = None
    if report:
        try:
            out = report_path(book_path)
        except PerfxlError as e:  # never saved: the marks and scores are still applied
            return Outcome(False, "\n".join(lines + [str(e)]), result.edits, status=pipeline.Status.FAILED)
        result = pipeline.save(result, {"report": out})
        if not result.ok:
            return Outcome(False, "\n".join(lines + [result.error or ""]), result.edits, status=result.status)
        if analysis.errors:
            lines.append(f"已生成 Word 报告草稿：{out}\n注意：工作簿有 {analysis.errors} 个错误，报告每页标有“草稿 — 校验未通过”，"
                         "文末列出各错误；不得盖章报送，请改正后重新生成。")
        else:
            lines.append(f"已生成 Word 报告：{out}")
    if result.edits:
        lines.append("结果已写入工作簿，但尚未保存：请检查后自行保存（Ctrl+S）。")
    return Outcome(True, "\n".join(lines), result.edits, out, result.status)


def _check_summary(analysis: Analysis) -> str:
    infos = len(analysis.findings) - analysis.errors - analysis.warnings
    if not analysis.findings:
        return "校验通过：没有发现问题。"
    return (f"校验完成：错误 {analysis.errors} 条、警告 {analysis.warnings} 条、提示 {infos} 条。"
            "有问题的单元格已标色并加批注，清单见“校验结果”表。")


def _score_summary(analysis: Analysis) -> str:
    s = analysis.scores
    shown = "—" if s.score_total is None else f"{s.score_total:.2f}".rstrip("0").rstrip(".")
    table = analysis.model.tables.get("tbl_scores")
    where = f"“{table.sheet}”" if table is not None else "工作簿"
    text = f"计算完成：总分 {shown} 分，等级 {s.grade or '—'}。公式已写回{where}。"
    if analysis.errors:
        text += f"\n注意：工作簿有 {analysis.errors} 个错误，得分仅供核对，改正错误后才算有效（点“校验数据”查看）。"
    return text


def saved_path(book_path: str) -> Path:
    """The workbook's file, or :class:`PerfxlError` when it was never saved to a folder."""
    path = Path(book_path) if book_path else None
    if path is None or not path.is_absolute() or not path.exists():
        raise PerfxlError("工作簿还没有保存到电脑上的文件夹：请先保存（Ctrl+S），再生成报告或打开输出文件夹。")
    return path


def report_path(book_path: str) -> Path:
    """Where the Word report of ``book_path`` goes: beside it, named as ``perfxl run`` names it."""
    from .runone import output_names

    path = saved_path(book_path)
    return Path(output_names(path)["report"])


def write_report(analysis: Analysis, book_path: str) -> Path:
    """Render the Word report of ``analysis`` beside the workbook (atomically) and return it."""
    from .fileio import write_output
    from .report import report_bytes

    out = report_path(book_path)
    body = report_bytes(analysis.model, analysis.scores, findings=list(analysis.findings),
                        pack=analysis.pack, charts=True)
    return write_output(out, body)


def output_dir(book_path: str) -> Path:
    """The folder the report goes to (the workbook's folder)."""
    return saved_path(book_path).parent


def new_blank(book_path: str = "") -> Path:
    """Write a blank standard workbook beside ``book_path`` (or in Documents) and return it.

    Never overwrites: an existing name gets a number, ``…-空白表 (2).xlsx``.
    """
    from .template import write_new

    try:
        folder = saved_path(book_path).parent
    except PerfxlError:
        docs = Path.home() / "Documents"
        folder = docs if docs.is_dir() else Path.home()
    path = folder / f"{BLANK_NAME}.xlsx"
    n = 2
    while path.exists():
        path = folder / f"{BLANK_NAME} ({n}).xlsx"
        n += 1
    try:
        return write_new(path)
    except PermissionError:
        raise PerfxlError(f"无法在 {folder} 中新建文件（没有写入权限），请换一个文件夹保存当前工作簿后重试。") from None


HELP_TEXT = """\
“绩效自评”选项卡各按钮：

校验数据：检查必填项、数字格式、合计与前后口径。有问题的单元格标色（错误浅红、警告浅橙、提示浅黄）并加批注，清单写入“校验结果”表。
计算得分：计算各项比率和指标得分，把公式写回工作簿，显示总分和等级。
生成报告：按本表内容生成 Word 自评报告，放在本工作簿所在的文件夹（请先保存工作簿）。
一键完成：依次校验、计算、生成报告。
打开输出文件夹：打开本工作簿所在的文件夹。
新建空白表：新建一份空白的标准工作簿并打开。
正式报送：把保存后的工作簿报送给财政局（需在“设置”中填写单位绩效自评服务的地址）。
设置：填写绩效自评服务的地址和访问令牌；填写后按钮通过服务处理，本机不需要 Python。

perfxl 不会替您保存工作簿：检查结果后请自行保存（Ctrl+S）。
只填写白色单元格；灰色单元格是公式，请勿改动。
详细说明见 perfxl 的使用手册《在 WPS 表格和 Excel 里使用 perfxl》。"""


def help_text() -> str:
    """The text the 使用说明 button shows."""
    return HELP_TEXT

