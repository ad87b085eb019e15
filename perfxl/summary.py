"""The batch summary: one row per workbook, the review-risk ranking, and the three summary files.

A row is a plain ``dict`` keyed by the Chinese column names of :func:`columns` (so the xlsx,
the CSV and the JSON carry the same data).  :func:`row_for` builds it from what
:func:`perfxl.pipeline.process_bytes` returns, in the worker, so the local pool and a dask
cluster produce identical rows.  :func:`review_risk` is the documented point system of the
抽查建议 sheet; :data:`RISK_RULES` is its one definition (the sheet prints it).

The summary files are perfxl's own, written with openpyxl (never a clerk's workbook).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from .fileio import atomic_write_bytes
from .findings import CATALOGUE, Severity
from .pipeline import Result, Status
from .model import WorkbookModel
from .rulepack import Indicator, RulePack

if TYPE_CHECKING:
    from openpyxl.cell.cell import Cell
    from openpyxl.worksheet.worksheet import Worksheet

# Row statuses.  成功: processed, no 错误; 有错误: processed, findings of severity 错误;
# 无法读取: the file is not a readable standard workbook; 处理失败: read, but a later stage
# (write-back, report, an unexpected exception in the worker) failed.
# the 状态 column: plain strings equal to pipeline.Status (rows go to JSON, CSV and xlsx)
OK, HAS_ERRORS, UNREADABLE, FAILED = (s.value for s in Status)
STATUSES = (OK, HAS_ERRORS, UNREADABLE, FAILED)

HEAD_COLUMNS = ("部门名称", "年度", "文件", "状态", "原因", "评分规则包")
TAIL_COLUMNS = ("基础得分", "加减分", "总分", "等级", "支出进度", "错误数", "警告数",
                "人工指标数", "人工满分数", "人工满分无说明数", "一致性问题数", "超出分值指标数",
                "无法读取数值数", "未能计算比率数")
SCORE_COLUMNS = ("基础得分", "加减分", "总分")
INT_COLUMNS = ("年度", "错误数", "警告数", "人工指标数", "人工满分数", "人工满分无说明数", "一致性问题数",
               "超出分值指标数", "无法读取数值数", "未能计算比率数")
# a number cell perfxl could not use: the formulas over it cannot compute
UNREADABLE_NUMBER_CODES = ("number-text-unusable", "wrong-type")

# Findings that say two statements of the same fact disagree (text vs table, total vs parts):
# every catalogue code ending in "-mismatch".
CONSISTENCY_CODES = tuple(c for c in CATALOGUE if c.endswith("-mismatch"))

SUMMARY_XLSX, SUMMARY_CSV, SUMMARY_JSON = "汇总表.xlsx", "汇总表.csv", "汇总表.json"


def level1_names(pack: RulePack) -> tuple[str, ...]:
    """The pack's 一级指标 in tree order (falling back to indicator order)."""
    names = [k for k in pack.tree if "/" not in k]
    for ind in pack.indicators:
        if ind.level1 not in names:
            names.append(ind.level1)
    return tuple(names)


def columns(pack: RulePack, rows: Iterable[Mapping[str, Any]] = ()) -> tuple[str, ...]:
    """Every column of the summary, in order: the 一级指标 of ``pack``, then those of any
    other pack a row was scored with (a batch of workbooks made for different packs)."""
    from .rulepack import shipped_pack

    level1 = list(level1_names(pack))
    for key in packs_used(rows):
        other = shipped_pack(key)
        level1 += [n for n in (level1_names(other) if other else ()) if n not in level1]
    return HEAD_COLUMNS + tuple(level1) + TAIL_COLUMNS


def packs_used(rows: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """评分规则包 → number of rows scored with it (rows not scored are not counted)."""
    out: dict[str, int] = {}
    for r in rows:
        if r.get("评分规则包"):
            out[r["评分规则包"]] = out.get(r["评分规则包"], 0) + 1
    return out


def mixed_note(rows: Iterable[Mapping[str, Any]]) -> str:
    """A warning when the rows were scored with more than one pack ('' otherwise): their totals
    come from different indicator systems and are not directly comparable."""
    used = packs_used(rows)
    if len(used) < 2:
        return ""
    return ("本批工作簿按不同的评分规则包评分（" + "，".join(f"{k} {n} 份" for k, n in used.items())
            + "）：各规则包的指标、分值和等级标准不同，总分和一级指标得分只宜在同一规则包内比较；"
            "“评分规则包”列标明各工作簿所用的规则包。")


# ---------------------------------------------------------------------------------------------
# Building a row (runs in the worker)

def _num(v: Any) -> float | None:
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (int, float)):
        return round(float(v), 6)
    return None


def _manual_facts(model: WorkbookModel, pack: RulePack) -> tuple[int, int, int]:
    """(manual indicators, of which at full marks, of which at full marks with no 评价说明)."""
    points = {i.id: i.points for i in pack.indicators if i.manual}
    table = model.table("tbl_scores")
    if table is None:
        return len(points), 0, 0
    full = unexplained = 0
    for row in table.filled:
        pid = row.get("指标编号")
        if pid not in points:
            continue
        score = row.get("自评得分")
        if isinstance(score, (int, float)) and score >= points[pid]:
            full += 1
            if not str(row.get("评价说明") or "").strip():
                unexplained += 1
    return len(points), full, unexplained


def empty_row(pack: RulePack, file: str, status: str, reason: str = "") -> dict[str, Any]:
    """A row with only the file, status and reason filled (unreadable / failed workbooks)."""
    row: dict[str, Any] = {c: None for c in columns(pack)}
    row.update({"文件": file, "状态": status, "原因": reason})
    return row


def row_for(file: str, processed: Result, pack: RulePack) -> dict[str, Any]:
    """The summary row of one processed workbook (a :class:`perfxl.pipeline.Result`); its
    一级指标 columns are those of the pack that scored it (``pack`` when it was not scored)."""
    from .rulepack import pack_key

    analysis = processed.analysis
    if analysis is not None and analysis.pack is not None:
        pack = analysis.pack
    if not processed.ok or analysis is None:
        status = UNREADABLE if processed.status == UNREADABLE else FAILED
        row = empty_row(pack, file, status, processed.error or "无法读取。")
        if processed.model is not None:  # findings found before the failure are counted
            row["错误数"] = sum(1 for f in processed.findings if f.severity == Severity.ERROR)
            row["警告数"] = sum(1 for f in processed.findings if f.severity == Severity.WARNING)
        return row
    model, scores, findings = analysis.model, analysis.scores, list(analysis.findings)
    errors = sum(1 for f in findings if f.severity == Severity.ERROR)
    warnings = sum(1 for f in findings if f.severity == Severity.WARNING)
    if errors:
        titles = dict.fromkeys(CATALOGUE[f.code].title if f.code in CATALOGUE else f.code
                               for f in findings if f.severity == Severity.ERROR)
        status, reason = HAS_ERRORS, f"校验发现 {errors} 条错误：" + "、".join(titles)
    else:
        status, reason = OK, ""
    if processed.pdf_error:  # asked for, not made: the report is there, the reason here
        reason = "；".join(x for x in (reason, processed.pdf_error) if x)
    row = empty_row(pack, file, status, reason)
    row["评分规则包"] = pack_key(pack)
    year = model.get("fiscal_year")
    row["部门名称"] = model.get("dept_name")
    row["年度"] = int(year) if isinstance(year, (int, float)) and not isinstance(year, bool) else None
    ind = scores.indicators
    for name in level1_names(pack):
        vals = [ind.get(i.id) for i in pack.indicators if i.level1 == name]
        # None scores count 0, as in score_base
        row[name] = round(sum(v for v in vals if v is not None), 2) if any(v is not None for v in vals) else None
    row["基础得分"] = _num(scores.score_base)
    row["加减分"] = _num(scores.score_bonus)
    row["总分"] = _num(scores.score_total)
    row["等级"] = scores.grade or None
    row["支出进度"] = _num(scores.rates.get("rate_spending"))
    row["错误数"], row["警告数"] = errors, warnings
    row["人工指标数"], row["人工满分数"], row["人工满分无说明数"] = _manual_facts(model, pack)
    row["一致性问题数"] = sum(1 for f in findings if f.code in CONSISTENCY_CODES)
    row["超出分值指标数"] = sum(1 for i in pack.indicators
                         if isinstance(got := ind.get(i.id), (int, float)) and got > i.points + 1e-9)
    row["无法读取数值数"] = sum(1 for f in findings if f.code in UNREADABLE_NUMBER_CODES)
    used = {r for i in pack.indicators for r in _rates_of(i)}
    row["未能计算比率数"] = sum(1 for r in used if scores.rates.get(r) is None)
    return row


def _rates_of(ind: Indicator) -> list[str]:
    from .report.sentences import indicator_rates

    return indicator_rates(ind)


# ---------------------------------------------------------------------------------------------
# Review risk (抽查建议)

# (rule, points, how it is counted) — printed on the 抽查建议 sheet; review_risk applies it.
RISK_RULES: tuple[tuple[str, str, str], ...] = (
    ("无法读取或处理失败", "100", "工作簿无法读取或处理失败：无任何数据可供核对，须退回重报或人工查看原件"),
    ("得分超出分值", "60", "有指标自评得分高于其分值，或基础得分超过 100 分"),
    ("同一部门重复报送", "50", "本批中同一部门名称出现在多个文件中（各份都标出，并列出各份的支出进度）"),
    ("数值无法读取", "40", "有数值无法读取（带单位、全角数字或文字），依赖它的比率未能计算、相应指标未评分"),
    ("年度不一致", "40", "年度与本批多数工作簿不同（指定了评审年度 --year 时，年度不符的工作簿不参与排名，列在最后并写明原因）"),
    ("高分低支出", "30", "总分 ≥ 90 而支出进度 < 80%"),
    ("人工评分全部满分且均无说明", "20", "全部人工评分指标为满分，且都没有评价说明"),
    ("人工评分全部满分、部分无说明", "10", "全部人工评分指标为满分，其中部分没有评价说明"),
    ("前后不一致", "每项 10，最多 30", "校验发现正文与表格、合计与分项不一致（代码：" + "、".join(CONSISTENCY_CODES) + "）"),
    ("校验错误", "每条 5，最多 20", "校验结果中严重程度为“错误”的条数"),
    ("警告较多", "每条 2，最多 20", "校验结果中严重程度为“警告”的条数（已按“前后不一致”计分的不重复计）"),
    ("共性问题不计", "0", "本批每一份工作簿都有的同一类问题（如全部“前后不一致”）不区分风险，不计分，列在说明中"),
)


def _signals(row: Mapping[str, Any]) -> list[tuple[str, int, str]]:
    """(rule key, points, Chinese reason) of one row by itself, by :data:`RISK_RULES`."""
    if row.get("状态") in (UNREADABLE, FAILED):
        return [("unreadable", 100, f"{row['状态']}：{row.get('原因') or ''}".rstrip("："))]
    out: list[tuple[str, int, str]] = []
    over, base = row.get("超出分值指标数") or 0, row.get("基础得分")
    if over or (isinstance(base, (int, float)) and base > 100 + 1e-9):
        parts = ([f"{over} 项指标自评得分高于其分值"] if over else []) + (
            [f"基础得分 {base:.2f} 分超过 100 分"] if isinstance(base, (int, float)) and base > 100 + 1e-9 else [])
        out.append(("over-points", 60, "，".join(parts)))
    bad, rates = row.get("无法读取数值数") or 0, row.get("未能计算比率数") or 0
    if bad:
        out.append(("unreadable-number", 40, f"{bad} 个数值无法读取" + (f"，{rates} 个比率未能计算、相应指标未评分" if rates else "")))
    total, rate = row.get("总分"), row.get("支出进度")
    if isinstance(total, (int, float)) and isinstance(rate, (int, float)) and total >= 90 and rate < 0.8:
        out.append(("high-low", 30, f"自评总分 {total:.2f} 分而支出进度仅 {rate:.2%}"))
    n, full, unexplained = (row.get("人工指标数") or 0, row.get("人工满分数") or 0,
                            row.get("人工满分无说明数") or 0)
    if n and full >= n and unexplained:
        if unexplained >= n:
            out.append(("manual-full", 20, f"{n} 项人工评分指标全部满分，且均无评价说明"))
        else:
            out.append(("manual-full", 10, f"{n} 项人工评分指标全部满分，其中 {unexplained} 项无评价说明"))
    k = row.get("一致性问题数") or 0
    if k:
        out.append(("consistency", min(30, 10 * k), f"正文与表格等前后不一致 {k} 处"))
    e = row.get("错误数") or 0
    if e:
        out.append(("errors", min(20, 5 * e), f"校验错误 {e} 条"))
    w = max(0, (row.get("警告数") or 0) - k)
    if w:
        out.append(("warnings", min(20, 2 * w), f"校验警告 {w} 条"))
    return out


def review_risk(row: Mapping[str, Any]) -> tuple[int, list[str]]:
    """Risk points and the Chinese reasons behind them for one row by itself, by
    :data:`RISK_RULES` (the batch-wide rules are :func:`review_ranking`'s)."""
    sig = _signals(row)
    return sum(p for _, p, _ in sig), [t for _, _, t in sig]


def _dept_key(name: Any) -> str:
    return "".join(str(name or "").split())


def _pct(v: Any) -> str:
    return f"{v:.2%}" if isinstance(v, (int, float)) and not isinstance(v, bool) else "—"


def _batch_signals(rows: Sequence[Mapping[str, Any]]) -> list[list[tuple[str, int, str]]]:
    """Signals that only the whole batch shows: the same department twice, a 年度 unlike the
    rest."""
    from collections import Counter

    out: list[list[tuple[str, int, str]]] = [[] for _ in rows]
    by_dept: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        if _dept_key(r.get("部门名称")):
            by_dept.setdefault(_dept_key(r.get("部门名称")), []).append(i)
    for idx in by_dept.values():
        if len(idx) > 1:
            files = "；".join(f"{rows[j].get('文件')}（支出进度 {_pct(rows[j].get('支出进度'))}，总分 "
                             f"{rows[j].get('总分') if rows[j].get('总分') is not None else '—'}）" for j in idx)
            for j in idx:
                out[j].append(("duplicate", 50, f"同一部门在本批报送了 {len(idx)} 份：{files}"))
    years = [r.get("年度") for r in rows if isinstance(r.get("年度"), int)]
    expected = Counter(years).most_common(1)[0][0] if years else None
    if expected is not None and len(set(years)) > 1:
        for i, r in enumerate(rows):
            y = r.get("年度")
            if isinstance(y, int) and y != expected:
                out[i].append(("year", 40, f"年度 {y} 与本批多数工作簿的 {expected} 年度不同"))
    return out


COMMON_MIN = 5  # a smaller batch keeps every reason: "all of them" says little about 3 files


def common_reasons(rows: Iterable[Mapping[str, Any]]) -> set[str]:
    """Rule keys found on every workbook of the batch (of :data:`COMMON_MIN` or more processed
    workbooks): they do not tell one workbook from another, so they neither score nor show in
    抽查理由.  Scores above their points and unreadable numbers are never dropped."""
    processed = [r for r in rows if r.get("状态") not in (UNREADABLE, FAILED)]
    if len(processed) < COMMON_MIN:
        return set()
    keys = [{k for k, _, _ in _signals(r)} for r in processed]
    return set.intersection(*keys) - {"over-points", "unreadable-number"}


def year_mismatch(row: Mapping[str, Any], year: int | None) -> str | None:
    """'年度不符：工作簿年度为 2022，应为 2023' when ``row``'s 年度 is not the reviewed ``year``;
    None when it is, when no year is given, or when the workbook could not be read (that is
    its own reason)."""
    if year is None or row.get("状态") in (UNREADABLE, FAILED):
        return None
    found = row.get("年度")
    if found == year:
        return None
    what = f"工作簿年度为 {found}" if found is not None else "工作簿未填写年度"
    return f"年度不符：{what}，应为 {year}"


def with_year(rows: Iterable[Mapping[str, Any]], year: int | None) -> list[dict[str, Any]]:
    """``rows`` (same order) with each one's :func:`year_mismatch` put first in 原因."""
    out = []
    for r in rows:
        d, why = dict(r), year_mismatch(r, year)
        if why and not str(r.get("原因") or "").startswith(why):
            d["原因"] = "；".join(x for x in (why, r.get("原因")) if x)
        out.append(d)
    return out


def review_ranking(rows: Iterable[Mapping[str, Any]], year: int | None = None) -> list[dict[str, Any]]:
    """Rows ranked by risk points (then higher total first), each with 风险分 and 抽查理由.

    ``year``: the 年度 under review.  Only workbooks of that year are ranked and compared with
    each other; the others follow, unranked (排名 and 风险分 empty), their 抽查理由 saying
    年度不符 with the year found and the year expected.  Without it, a 年度 unlike the batch's
    most common one is a risk signal."""
    rows = list(rows)
    off = sorted((r for r in rows if year_mismatch(r, year)), key=lambda r: r.get("文件") or "")
    rows = [r for r in rows if not year_mismatch(r, year)]
    common = common_reasons(rows)
    ranked: list[dict[str, Any]] = []
    for row, extra in zip(rows, _batch_signals(rows)):
        sig = [s for s in _signals(row) if s[0] not in common] + extra
        why = [t for _, _, t in sig]
        ranked.append({"部门名称": row.get("部门名称"), "文件": row.get("文件"), "状态": row.get("状态"),
                       "风险分": sum(p for _, p, _ in sig), "抽查理由": "；".join(why) if why else "未发现明显风险",
                       "总分": row.get("总分"), "支出进度": row.get("支出进度"), "评分规则包": row.get("评分规则包")})
    ranked.sort(key=lambda r: (-r["风险分"], -(r["总分"] or 0), r["文件"] or ""))
    for i, r in enumerate(ranked, 1):
        r["排名"] = i
    apart = [{"排名": None, "部门名称": r.get("部门名称"), "文件": r.get("文件"), "状态": r.get("状态"),
              "风险分": None, "抽查理由": f"{year_mismatch(r, year)}，未参与排名", "总分": r.get("总分"),
              "支出进度": r.get("支出进度"), "评分规则包": r.get("评分规则包")} for r in off]
    return [{"排名": r.pop("排名"), **r} for r in ranked] + apart


_COMMON_TEXT = {"consistency": "正文与表格等前后不一致", "errors": "校验错误", "warnings": "校验警告",
                "high-low": "高分低支出", "manual-full": "人工评分全部满分", "duplicate": "重复报送", "year": "年度不一致"}


def common_text(rows: Iterable[Mapping[str, Any]]) -> str:
    """The batch-wide problems left out of the ranking, in Chinese ('' when none)."""
    keys = common_reasons(rows)
    return "、".join(_COMMON_TEXT.get(k, k) for k in sorted(keys))


# ---------------------------------------------------------------------------------------------
# Files

def counts(rows: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Number of rows per status (every status present, zeros included)."""
    out = {s: 0 for s in STATUSES}
    for r in rows:
        out[r["状态"]] = out.get(r["状态"], 0) + 1
    return out


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(v: Any) -> Any:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(v, str) and v.startswith(_FORMULA_START):
        return "'" + v
    return v


RISK_COLUMNS = ("风险分", "抽查理由")


def _with_risk(rows: Sequence[Mapping[str, Any]], year: int | None = None) -> list[dict[str, Any]]:
    """``rows`` (same order) with 风险分 and 抽查理由 from the batch ranking, and 支出进度 as a
    percentage text ('77.12%') for the CSV and JSON readers."""
    ranking = {(r["文件"], r["部门名称"]): r for r in review_ranking(rows, year)}
    out = []
    for r in rows:
        risk = ranking.get((r.get("文件"), r.get("部门名称")), {})
        d = dict(r)
        d["支出进度"] = None if r.get("支出进度") is None else _pct(r.get("支出进度"))
        d["风险分"], d["抽查理由"] = risk.get("风险分"), risk.get("抽查理由")
        out.append(d)
    return out


def csv_bytes(rows: Sequence[Mapping[str, Any]], cols: tuple[str, ...], year: int | None = None) -> bytes:
    """UTF-8 with BOM (Excel on Chinese Windows then opens it correctly), CRLF lines; with
    风险分 and 抽查理由, 支出进度 as a percentage."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    cols = tuple(cols) + RISK_COLUMNS
    w.writerow(cols)
    for r in _with_risk(rows, year):
        w.writerow(["" if r.get(c) is None else csv_safe(r.get(c)) for c in cols])
    return buf.getvalue().encode("utf-8-sig")


def json_bytes(rows: Sequence[Mapping[str, Any]], meta: Mapping[str, Any], year: int | None = None) -> bytes:
    ranking = [{**r, "支出进度": None if r.get("支出进度") is None else _pct(r["支出进度"])}
               for r in review_ranking(rows, year)]
    reviewed = [r for r in rows if not year_mismatch(r, year)]
    doc = {"meta": {**dict(meta), "共性问题（不计入风险分）": common_text(reviewed)}
           | ({"规则包说明": note} if (note := mixed_note(rows)) else {}),
           "rows": _with_risk(rows, year), "抽查建议": ranking}
    return json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")


_HEAD_FILL = "DDEBF7"
_STATUS_FILL = {HAS_ERRORS: "FFF2CC", UNREADABLE: "F8CBAD", FAILED: "F8CBAD"}
_BANDS = (("90 分及以上", 90, None), ("80–90 分", 80, 90), ("60–80 分", 60, 80), ("60 分以下", None, 60))


def _put(ws: Worksheet, row: int, col: int, value: Any, fmt: str | None = None) -> Cell:
    """Write a cell; text stays text even when it starts with '=' (a department may be named so).
    Control characters a cell cannot hold (a 部门名称 with _x000B_ in its workbook, a file name
    with ESC) are dropped: one department's odd text must not stop the whole summary."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    c = ws.cell(row, col, value)
    if isinstance(value, str):
        c.data_type = "s"
    if fmt and isinstance(value, (int, float)):
        c.number_format = fmt
    return c


def _fmt(col: str, level1: tuple[str, ...]) -> str | None:
    if col == "支出进度":
        return "0.00%"
    if col in SCORE_COLUMNS or col in level1:
        return "0.00"
    if col in INT_COLUMNS:
        return "0"
    return None


def _sheet_table(ws: Worksheet, name: str, cols: tuple[str, ...], rows: Sequence[Mapping[str, Any]], fmts: Mapping[str, str | None],
                 widths: Mapping[str, float], first_row: int = 1, first_col: int = 1, style: str = "TableStyleMedium2") -> None:
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.table import Table, TableStyleInfo

    for j, col in enumerate(cols):
        c = _put(ws, first_row, first_col + j, col)
        c.font = Font(bold=True)
        c.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(first_col + j)].width = widths.get(col, 10)
    for i, r in enumerate(rows, 1):
        for j, col in enumerate(cols):
            c = _put(ws, first_row + i, first_col + j, r.get(col), fmts.get(col))
            if col == "状态" and r.get(col) in _STATUS_FILL:
                c.fill = PatternFill("solid", fgColor=_STATUS_FILL[r[col]])
            if col in ("原因", "抽查理由"):
                c.alignment = Alignment(wrap_text=True, vertical="top")
    if rows:  # an Excel table needs at least one data row
        ref = (f"{get_column_letter(first_col)}{first_row}:"
               f"{get_column_letter(first_col + len(cols) - 1)}{first_row + len(rows)}")
        t = Table(displayName=name, ref=ref)
        t.tableStyleInfo = TableStyleInfo(name=style, showRowStripes=True)
        ws.add_table(t)


def _printable(ws: Worksheet) -> None:
    """Landscape, one page wide, header row repeated on every printed page."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.print_title_rows = "1:1"


def _distribution(ws: Worksheet, rows: Sequence[Mapping[str, Any]], grades: list[str]) -> None:
    from openpyxl.chart import BarChart, Reference
    from openpyxl.styles import Font

    ws["A1"] = "得分分布"
    ws["A1"].font = Font(size=14, bold=True)
    scored = [r for r in rows if isinstance(r.get("总分"), (int, float))]
    grade_rows = [{"等级": g, "工作簿数": sum(1 for r in scored if r.get("等级") == g)} for g in grades]
    grade_rows.append({"等级": "未评分", "工作簿数": len(rows) - len(scored)})
    band_rows = []
    for label, lo, hi in _BANDS:
        n = sum(1 for r in scored if (lo is None or r["总分"] >= lo) and (hi is None or r["总分"] < hi))
        band_rows.append({"分数段": label, "工作簿数": n})
    _sheet_table(ws, "tbl_grades", ("等级", "工作簿数"), grade_rows, {"工作簿数": "0"},
                 {"等级": 12, "工作簿数": 10}, first_row=3, style="TableStyleLight9")
    _sheet_table(ws, "tbl_bands", ("分数段", "工作簿数"), band_rows, {"工作簿数": "0"},
                 {"分数段": 14, "工作簿数": 10}, first_row=3, first_col=4, style="TableStyleLight9")
    for title, col, n, anchor in (("各等级工作簿数", 1, len(grade_rows), "G3"),
                                  ("各分数段工作簿数", 4, len(band_rows), "G20")):
        chart = BarChart()
        chart.type = "col"
        chart.title = title
        chart.y_axis.title = "工作簿数"
        chart.legend = None
        chart.add_data(Reference(ws, min_col=col + 1, min_row=3, max_row=3 + n), titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=col, min_row=4, max_row=3 + n))
        chart.width, chart.height = 16, 7.5
        ws.add_chart(chart, anchor)


def _notes(ws: Worksheet, meta: Mapping[str, Any]) -> None:
    from openpyxl.styles import Font

    ws.column_dimensions["A"].width = 18
    ws.column_dimensions["B"].width = 90
    ws["A1"] = "批量评分汇总说明"
    ws["A1"].font = Font(size=14, bold=True)
    r = 3
    for k, v in meta.items():
        if isinstance(v, Mapping):
            v = "，".join(f"{a} {b}" for a, b in v.items())
        _put(ws, r, 1, str(k)).font = Font(bold=True)
        _put(ws, r, 2, "" if v is None else str(v))
        r += 1
    r += 1
    for k, v in (("状态：成功", "已校验、评分并生成报告，未发现“错误”级问题。"),
                 ("状态：有错误", "已评分并生成报告，但校验发现“错误”级问题（见各工作簿的“校验结果”）。"),
                 ("状态：无法读取", "文件不是可读取的标准工作簿（损坏、空文件、改了扩展名等），原因见“原因”列。"),
                 ("状态：处理失败", "读取成功，但写回或生成报告时失败，原因见“原因”列。"),
                 ("支出进度", "已下达用款计划 ÷ 指标数（总预算口径）。"),
                 ("评分规则包", "评分所用的规则包：财政局指定了 --rules 时为该规则包，否则为工作簿自己记录的规则包。"),
                 ("一级指标得分", "该一级指标下各三级指标自评得分之和。")):
        _put(ws, r, 1, k).font = Font(bold=True)
        _put(ws, r, 2, v)
        r += 1


def xlsx_bytes(rows: Sequence[Mapping[str, Any]], pack: RulePack, meta: Mapping[str, Any],
               year: int | None = None) -> bytes:
    """汇总表.xlsx: 汇总 (filterable table, frozen header), 抽查建议, 得分分布 (charts), 说明.
    ``year``: the 年度 under review (:func:`review_ranking`); 得分分布 counts only that year."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    cols = columns(pack, rows)
    level1 = tuple(c for c in cols if c not in HEAD_COLUMNS and c not in TAIL_COLUMNS)
    wb = Workbook()
    ws = wb.active
    ws.title = "汇总"
    widths = {"部门名称": 24, "文件": 30, "状态": 9, "原因": 40, "等级": 6, "支出进度": 10, "评分规则包": 18}
    widths.update({c: 12 for c in level1})
    _sheet_table(ws, "tbl_summary", cols, rows, {c: _fmt(c, level1) for c in cols}, widths)
    ws.freeze_panes = "B2"
    ws.row_dimensions[1].height = 30
    _printable(ws)

    rs = wb.create_sheet("抽查建议")
    ranking = review_ranking(rows, year)
    reviewed = [r for r in rows if not year_mismatch(r, year)]
    rcols = ("排名", "部门名称", "文件", "状态", "风险分", "抽查理由", "总分", "支出进度", "评分规则包")
    _sheet_table(rs, "tbl_review", rcols, ranking, {"排名": "0", "风险分": "0", "总分": "0.00", "支出进度": "0.00%"},
                 {"排名": 6, "部门名称": 24, "文件": 30, "状态": 9, "风险分": 8, "抽查理由": 60})
    rs.freeze_panes = "C2"
    _printable(rs)
    rs.cell(1, 10, "风险计分规则（风险分为各项之和，按风险分从高到低排列，同分时总分高者在前）").font = Font(bold=True)
    common = common_text(reviewed)
    if common:
        rs.cell(len(RISK_RULES) + 4, 10, f"本批每份工作簿都有、不计入风险分的问题：{common}")
    if mixed_note(rows):
        rs.cell(len(RISK_RULES) + 5, 10, mixed_note(rows)).font = Font(bold=True, color="C00000")
    _sheet_table(rs, "tbl_risk_rules", ("规则", "分值", "说明"),
                 [{"规则": a, "分值": b, "说明": c} for a, b, c in RISK_RULES], {},
                 {"规则": 26, "分值": 16, "说明": 60}, first_row=2, first_col=10, style="TableStyleLight1")

    grades = list(dict.fromkeys([g for g, _ in pack.grades] + [r["等级"] for r in rows if r.get("等级")]))
    _distribution(wb.create_sheet("得分分布"), reviewed, grades=grades)
    note = mixed_note(rows)
    _notes(wb.create_sheet("说明"), {**meta, "规则包说明": note} if note else meta)
    wb.properties.creator = "perfxl"
    wb.properties.title = "部门整体支出绩效自评 批量汇总表"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def write_all(outdir: str | os.PathLike, rows: Sequence[Mapping[str, Any]], pack: RulePack,
              meta: Mapping[str, Any], year: int | None = None) -> list[Path]:
    """Write 汇总表.xlsx / .csv / .json into ``outdir`` (each atomically); rows sorted by file.
    ``year``: the 年度 under review: rows of another year say 年度不符 in 原因 and are not ranked."""
    outdir = Path(outdir)
    rows = with_year(sorted(rows, key=lambda r: r["文件"]), year)
    cols = columns(pack, rows)
    meta = {"生成时间": dt.datetime.now().isoformat(timespec="seconds"), **meta, "统计": counts(rows)}
    if year is not None:
        meta["指定年度"] = year
        meta["年度不符"] = sum(1 for r in rows if year_mismatch(r, year))
    return [atomic_write_bytes(outdir / SUMMARY_XLSX, xlsx_bytes(rows, pack, meta, year)),
            atomic_write_bytes(outdir / SUMMARY_CSV, csv_bytes(rows, cols, year)),
            atomic_write_bytes(outdir / SUMMARY_JSON, json_bytes(rows, meta, year))]
