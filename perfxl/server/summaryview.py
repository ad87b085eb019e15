"""The reviewer's 汇总 over stored submissions, built with the batch's own row/ranking code."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.engine import Engine

from .. import summary as sm
from . import db


def rows(engine: Engine, year: int | None = None) -> list[dict[str, Any]]:
    """The summary row of the latest version of every (department, year), with 版本/报送编号/报送时间."""
    out = []
    for r in db.latest(engine, year):
        row = dict(r["result"].get("row") or {})
        row.update({"版本": r["version"], "报送编号": r["id"], "报送时间": r["created_at"].isoformat(sep=" ")})
        out.append(row)
    return out


def meta(engine: Engine, year: int | None) -> dict[str, Any]:
    return {"生成时间": dt.datetime.now().isoformat(timespec="seconds"), "来源": "perfxl serve：各部门最新报送版本",
            "年度": year if year is not None else "全部"}


def summary_document(engine: Engine, year: int | None = None) -> dict[str, Any]:
    """The 汇总表.json document: ``{"meta", "rows", "抽查建议"}``."""
    rs = rows(engine, year)
    return {"meta": {**meta(engine, year), "统计": sm.counts(rs)}, "rows": rs, "抽查建议": sm.review_ranking(rs)}


def summary_xlsx(engine: Engine, year: int | None = None) -> bytes:
    from ..rulepack import load

    rs = rows(engine, year)
    return sm.xlsx_bytes(rs, load(), {**meta(engine, year), "统计": sm.counts(rs)})


def distribution(rs: list[dict[str, Any]], grades: tuple[str, ...] = ("优", "良", "中", "差")) -> list[tuple[str, int]]:
    """Departments per grade (for the chart)."""
    counts = {g: 0 for g in grades}
    for r in rs:
        g = r.get("等级")
        if g in counts:
            counts[g] += 1
    return list(counts.items())
