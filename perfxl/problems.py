"""What scoring could not do or found wrong, as data: :class:`Problem` and its catalogue.

:func:`perfxl.scoring.score` reports each problem as a ``Problem(kind, key, params, sheet,
cell, table, row)`` — the facts, never a sentence.  :data:`PROBLEMS` maps each ``kind`` to the
finding code it becomes (:data:`perfxl.findings.CATALOGUE`), the Chinese message template and
the hint; :attr:`Problem.message` renders it, once, for every reader (the findings of
:mod:`perfxl.validate`, ``perfxl score``'s summary).  Rewording a template changes a sentence,
never a code or a location.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .findings import CATALOGUE


@dataclass(frozen=True)
class ProblemKind:
    code: str       # the finding code (a key of findings.CATALOGUE)
    template: str   # str.format template over the problem's params (+ ``where``: "（ref）" or "")
    hint: str = "请核对相关单元格的数据。"


_RATE_HINT = "请填写或改正该单元格；比率的分母不能为零或为空。"

# Why a rate could not be computed: the part after “…无法计算：”.
RATE_REASONS: dict[str, str] = {
    "name-missing": "工作簿缺少名称 {name}（{name_label}）",
    "input-empty": "{name_label}（{ref}）未填写",
    "table-missing": "工作簿缺少表格 {table}",
    "rows-unfilled": "有 {n} 项{what}（空白表示未填写，不按未完成计）",
    "denominator-text": "{den_label}含非数字内容",
    "denominator-zero": "{den_label}为零",
    "overflow": "计算结果超出数值范围（输入的数值过大或过小）",
    "input-text": "输入含非数字内容",
}

PROBLEMS: dict[str, ProblemKind] = {
    # key: the rate; params: label, reason (a RATE_REASONS key) and that reason's params
    "rate-undefined": ProblemKind("rate-undefined", "{label}无法计算：{reason_text}", _RATE_HINT),
    "rate-name-missing": ProblemKind("name-missing", "{label}无法计算：{reason_text}"),
    # key: the field
    "input-is-text": ProblemKind("scoring-problem", "{label}（{ref}）是文本“{raw}”而不是数字，公式可能无法计算，请改为数值"),
    # key: the indicator id
    "indicator-duplicate": ProblemKind("scoring-problem", "评分表第 {row} 行的指标编号与第 {first} 行重复，只评第 {first} 行"),
    "indicator-missing": ProblemKind("scoring-problem", "评分表（tbl_scores）没有指标 {id}（{name}）的行，该指标未评分"),
    "mode-mismatch": ProblemKind("scoring-problem", "评分表第 {row} 行的评分方式为“{mode}”，规则包规定为“{expected}”，按规则包评分"),
    "indicator-unscored": ProblemKind("scoring-problem", "{name}未能自动评分：{why}"),
    "indicator-unknown": ProblemKind("scoring-problem", "评分表第 {row} 行的指标 {id} 不在规则包 {pack} 中，不计入总分"),
    "manual-empty": ProblemKind("scoring-problem", "{name}为人工评分，自评得分{where}未填写，按 0 分计"),
    "manual-not-number": ProblemKind("scoring-problem", "{name}的自评得分{where}“{raw}”不是数字，按 0 分计"),
    "manual-out-of-range": ProblemKind("scoring-problem",
                                       "{name}的自评得分{where} {raw:g} 超出 0～{points:g} 分的范围（按填写值计入，请核改）"),
    # key: "加减分"
    "awards-missing": ProblemKind("scoring-problem", "工作簿缺少加减分表（tbl_awards），加减分按 0 计"),
    "deduction-negative": ProblemKind("scoring-problem", "加减分第 {row} 行为减分项，扣分应填正数（{ref} 为 {raw:g}）"),
    "deduction-empty": ProblemKind("scoring-problem", "加减分第 {row} 行为减分项，但自评得分未填写，未扣分"),
    "deduction-not-number": ProblemKind("scoring-problem", "加减分第 {row} 行为减分项，但自评得分不是数字，未扣分"),
    "award-level-unknown": ProblemKind("scoring-problem",
                                       "加减分第 {row} 行的授奖级别“{level}”不在规则包的级别（{levels}）中，按 0 分计"),
    "award-type-missing": ProblemKind("scoring-problem", "加减分第 {row} 行未选择类型（加分 / 减分），不计分"),
}


def reason_text(reason: str, params: dict[str, Any]) -> str:
    """The sentence of a rate's reason (a :data:`RATE_REASONS` key)."""
    return RATE_REASONS[reason].format(**params)


@dataclass(frozen=True)
class Problem:
    """One scoring problem.  ``key``: the rate, field or indicator id concerned, or "加减分";
    ``params``: the facts the message is rendered from (name, row, raw value …);
    ``sheet``/``cell``: the cell concerned when there is one; ``table``/``row``: the table row
    concerned (the whole row) when there is no single cell."""

    kind: str
    key: str
    params: tuple[tuple[str, Any], ...] = ()
    sheet: str = ""
    cell: str = ""
    table: str | None = None
    row: int | None = None

    @classmethod
    def of(cls, kind: str, key: str, *, sheet: str = "", cell: str = "", table: str | None = None,
           row: int | None = None, **params: Any) -> Problem:
        if kind not in PROBLEMS:
            raise KeyError(kind)
        return cls(kind, key, tuple(params.items()), sheet, cell, table, row)

    @property
    def facts(self) -> dict[str, Any]:
        return dict(self.params)

    @property
    def code(self) -> str:
        """The finding code this problem becomes."""
        return PROBLEMS[self.kind].code

    @property
    def hint(self) -> str:
        return PROBLEMS[self.kind].hint

    @property
    def message(self) -> str:
        """The Chinese sentence, rendered from :data:`PROBLEMS`."""
        p = self.facts
        p.setdefault("row", self.row)
        p.setdefault("where", f"（{p['ref']}）" if p.get("ref") else "")
        if "reason" in p:
            p["reason_text"] = reason_text(p["reason"], dict(p.get("reason_params", ())))
        if self.kind == "indicator-unscored":
            why = "；".join(f"{label}无法计算（{reason_text(r, dict(rp)) if r else ''}）" for label, r, rp in p["missing"])
            p["why"] = why or "公式出错"
        return PROBLEMS[self.kind].template.format(**p)


assert all(k.code in CATALOGUE for k in PROBLEMS.values()), "every problem becomes a catalogued finding"
