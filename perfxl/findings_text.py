"""Findings as text: values quoted in messages, the terminal listing (grouped by sheet,
CJK-aligned columns) and the JSON rows."""
from __future__ import annotations

import datetime as dt
import math
import unicodedata
from typing import Any

from .findings import SEVERITIES, Finding


def money(v: float) -> str:
    """12820.47 → '12,820.47 万元'."""
    return f"{v:,.2f} 万元"


def pct(v: float) -> str:
    """0.7712 → '77.12%'."""
    return f"{v * 100:.2f}%"


def number(v: float) -> str:
    """43 → '43', 1.81 → '1.81'."""
    if not math.isfinite(v):
        return str(v)
    return str(int(round(v))) if abs(v - round(v)) < 1e-9 else f"{v:.2f}"


def date_text(d: dt.date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def shown(raw: Any, limit: int = 30) -> str:
    """A cell's content as quoted in a message, shortened."""
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, (dt.datetime, dt.date)):
        raw = date_text(raw)
    s = str(raw).replace("\n", " ")
    return s if len(s) <= limit else s[:limit] + "…"


def _width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def _pad(s: str, width: int) -> str:
    return s + " " * (width - _width(s))


def summary_line(findings: list[Finding]) -> str:
    """'共 3 条：错误 1 条，警告 2 条，提示 0 条。'"""
    counts = {s: sum(1 for f in findings if f.severity == s) for s in SEVERITIES}
    return f"共 {len(findings)} 条：" + "，".join(f"{s} {counts[s]} 条" for s in SEVERITIES) + "。"


def format_findings_text(findings: list[Finding], title: str | None = None) -> str:
    """A readable table grouped by sheet (单元格 | 严重程度 | 代码 | 问题, with 建议 below),
    columns aligned for CJK width; ``title`` (e.g. the file name) heads it."""
    lines = [f"校验结果：{title}" if title else "校验结果", ""]
    if not findings:
        return "\n".join(lines + ["未发现问题。"]) + "\n"
    heads = ("单元格", "严重程度", "代码", "问题")
    w_cell = max(_width(heads[0]), *(_width(f.cell or "—") for f in findings))
    w_sev = _width(heads[1])
    w_code = max(_width(heads[2]), *(_width(f.code) for f in findings))
    indent = " " * (w_cell + w_sev + w_code + 6)
    by_sheet: dict[str, list[Finding]] = {}
    for f in findings:
        by_sheet.setdefault(f.sheet or "（工作簿）", []).append(f)
    for sheet, items in by_sheet.items():
        lines.append(f"【{sheet}】（{len(items)} 条）")
        lines.append("  ".join([_pad(heads[0], w_cell), _pad(heads[1], w_sev), _pad(heads[2], w_code), heads[3]]))
        lines.append("  ".join(["-" * w_cell, "-" * w_sev, "-" * w_code, "-" * 8]))
        for f in items:
            lines.append("  ".join([_pad(f.cell or "—", w_cell), _pad(f.severity, w_sev), _pad(f.code, w_code),
                                    f.message]))
            if f.hint:
                lines.append(f"{indent}建议：{f.hint}")
        lines.append("")
    lines.append(summary_line(findings))
    return "\n".join(lines) + "\n"


def findings_json(findings: list[Finding]) -> list[dict]:
    """Findings as JSON-ready dicts: code, severity, sheet, cell, message, hint, table, row."""
    return [{"code": f.code, "severity": f.severity, "sheet": f.sheet, "cell": f.cell, "message": f.message,
             "hint": f.hint, "table": f.table, "row": f.row} for f in findings]
