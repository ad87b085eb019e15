"""Rule packs: an indicator system as data (TOML).

MINIMAL VERSION written by the lead so the template can lay out tbl_scores and 评分参数;
the scoring engineer owns this module and extends it (validation, methods, parameters).
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

DEFAULT_PACK = "guangdong-2023"


@dataclass(frozen=True)
class Indicator:
    id: str
    level1: str
    level2: str
    name: str
    points: float
    method: str
    input: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    rule: str = ""
    fitted: bool = False

    @property
    def manual(self) -> bool:
        return self.method == "manual"


@dataclass(frozen=True)
class Param:
    """One parameter cell of the 评分参数 sheet (workbook defined name ``name``)."""

    name: str
    label: str
    value: float | str
    indicator: str = ""
    note: str = ""


@dataclass(frozen=True)
class RulePack:
    id: str
    name: str
    indicators: tuple[Indicator, ...]
    tree: Mapping[str, float]
    awards: Mapping[str, Any]
    total: Mapping[str, Any]
    grades: tuple[tuple[str, float], ...]
    source: str = ""
    params: tuple[Param, ...] = ()


def load(path: str | Path | None = None) -> RulePack:
    if path is None:
        data = resources.files("perfxl.rules").joinpath(f"{DEFAULT_PACK}.toml").read_bytes()
        source = f"{DEFAULT_PACK}.toml"
    else:
        data = Path(path).read_bytes()
        source = str(path)
    d = tomllib.loads(data.decode("utf-8"))
    inds = []
    for i in d["indicator"]:
        l1, _, l2 = i["path"].partition("/")
        inds.append(Indicator(i["id"], l1, l2, i["name"], i["points"], i["method"], i.get("input"),
                              i.get("params", {}), i.get("rule", ""), i.get("fitted", False)))
    grades = tuple((g["name"], g["min"]) for g in d["grade"])
    return RulePack(d["pack"]["id"], d["pack"]["name"], tuple(inds), d.get("tree", {}),
                    d.get("awards", {}), d.get("total", {}), grades, source)
