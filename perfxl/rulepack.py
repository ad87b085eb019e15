"""Rule packs: an indicator system as data (TOML), loaded and checked.

A pack names its indicators (tree of 一级/二级 points, three-level names, points, a scoring
method with its parameters), the 加减分 rule, the total cap and the grade bands.  The methods
themselves live in :mod:`perfxl.formulas` (one definition, a Python and an Excel executor); this
module only reads the file, checks it against them, and lists the parameter cells it implies.

Everything wrong with a pack is a :class:`~perfxl.errors.RulesError` whose Chinese message names
the file, the line and the indicator — a bureau editing a pack must be able to find the spot.
The format is described in docs/rules-guangdong-2023.md and commented in rules/guangdong-2023.toml.
"""
from __future__ import annotations

import math
import os
import re
from functools import lru_cache
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Mapping, TypeGuard

from . import formulas, schema
from .errors import RulesError
from .oserrors import describe

DEFAULT_PACK = "guangdong-2023"
FITTED_NOTE = "拟合（依据参考报告）"
REPORT_WORDINGS = ("explained", "reference")
_ID = re.compile(r"^[a-z][a-z0-9_]{0,60}$")


@dataclass(frozen=True)
class Indicator:
    """One 三级指标.  ``points`` is its full mark; ``method`` a key of
    :data:`perfxl.formulas.METHODS`; ``input`` the contract rate it reads (``rate_*``);
    ``line`` the line of its ``id = …`` in the pack file (for messages)."""

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
    line: int = 0

    @property
    def manual(self) -> bool:
        return self.method == "manual"

    @property
    def path(self) -> str:
        return f"{self.level1}/{self.level2}"


@dataclass(frozen=True)
class Param:
    """One parameter cell of the 评分参数 sheet, under the workbook defined name ``name``.

    ``group``: parameters sharing a group are laid out in consecutive rows and the group is
    also defined as a range name (the award levels and their points, for INDEX/MATCH).
    """

    name: str
    label: str
    value: float | str
    indicator: str = ""
    note: str = ""
    group: str = ""


@dataclass(frozen=True)
class RulePack:
    id: str
    name: str
    indicators: tuple[Indicator, ...]
    tree: Mapping[str, float]
    awards: Mapping[str, Any]  # method, levels {级别: 分}, cap, fitted
    total: Mapping[str, Any]  # cap, cap_enabled
    grades: tuple[tuple[str, float], ...]  # (name, lower edge), best first
    source: str = ""
    params: tuple[Param, ...] = ()
    total_points: float = 100
    # How the report words automatic indicators: "explained" (each rate's formula with its
    # inputs and figures, then the rule applied) or "reference" (the reference report's own
    # sentences, kept word for word; rates without one are explained)
    report_wording: str = "explained"

    def indicator(self, ind_id: str) -> Indicator | None:
        return next((i for i in self.indicators if i.id == ind_id), None)

    @property
    def automatic(self) -> tuple[Indicator, ...]:
        return tuple(i for i in self.indicators if not i.manual)


# ---------------------------------------------------------------------------------------------
# Locating things in the file text (tomllib gives no positions)


class _Lines:
    def __init__(self, text: str, source: str):
        self.lines = text.splitlines()
        self.source = source

    def find(self, pattern: str, start: int = 0) -> int:
        """1-based line of the first line matching ``pattern`` at or after line ``start``; 0."""
        rx = re.compile(pattern)
        for n, line in enumerate(self.lines[max(0, start - 1):], start=max(1, start)):
            if rx.search(line):
                return n
        return 0

    def indicator_line(self, k: int, ind_id: Any) -> int:
        """Line of the ``id = "…"`` of the k-th (0-based) [[indicator]] table."""
        header = 0
        for _ in range(k + 1):
            header = self.find(r"^\s*\[\[\s*indicator\s*\]\]", header + 1)
            if not header:
                return 0
        if isinstance(ind_id, str):
            line = self.find(r"^\s*id\s*=\s*[\"']" + re.escape(ind_id) + r"[\"']", header)
            if line:
                return line
        return header

    def key_line(self, key: str) -> int:
        return self.find(r"^\s*[\"']?" + re.escape(key) + r"[\"']?\s*=")

    def section_line(self, section: str, k: int = 0) -> int:
        line = 0
        for _ in range(k + 1):
            line = self.find(r"^\s*\[+\s*" + re.escape(section) + r"\s*\]+", line + 1)
            if not line:
                return 0
        return line

    def error(self, line: int, what: str, message: str) -> RulesError:
        where = f"第 {line} 行" if line else "（位置未知）"
        return RulesError(f"规则包 {self.source}：{where}，{what}：{message}")


# ---------------------------------------------------------------------------------------------
# Loading


def shipped_names() -> tuple[str, ...]:
    """Names of the packs shipped in perfxl/rules (``--rules NAME`` accepts them as well as a path)."""
    return tuple(sorted(f.name[:-5] for f in resources.files("perfxl.rules").iterdir()
                        if f.name.endswith(".toml")))


def shipped() -> tuple[tuple[str, RulePack], ...]:
    """Every shipped pack, loaded: (name, pack), the default first."""
    names = sorted(shipped_names(), key=lambda n: (n != DEFAULT_PACK, n))
    return tuple((n, load(n)) for n in names)


def shipped_pack(key: str) -> RulePack | None:
    """The shipped pack called ``key`` (its file name, as ``--rules`` takes it, or the ``id`` of
    its [pack] section); None for anything else.  ``key`` is never used as a path."""
    names = shipped_names()
    if key in names:
        return _shipped(key)
    return next((p for n in names if (p := _shipped(n)).id == key), None)


def pack_key(pack: RulePack) -> str:
    """What a workbook records for ``pack``: a shipped pack's name (``national-framework``),
    else the pack's own ``id``."""
    return next((n for n in shipped_names() if _shipped(n).id == pack.id), pack.id)


def load(path: str | os.PathLike[str] | None = None) -> RulePack:
    """Load and check a rule pack: the default pack when ``path`` is None.

    Raises :class:`RulesError` (Chinese, with file and line) for anything malformed.
    """
    if path is None or str(path) in shipped_names():
        return _shipped(DEFAULT_PACK if path is None else str(path))
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise RulesError(f"规则包 {path}：文件不存在。") from None
    except OSError as e:
        raise RulesError(f"规则包 {path}：无法读取（{describe(e)}）。") from None
    return _decode_and_load(data, str(path))


# A shipped pack is package data: parse it once per process.  Every `perfxl serve` request and
# every workbook scored without an explicit pack loaded it again: 3.0 ms a time on a quiet
# machine (8 ms under load), against 0.1 µs from the cache.  The pack is frozen.
@lru_cache(maxsize=None)
def _shipped(name: str) -> RulePack:
    data = resources.files("perfxl.rules").joinpath(f"{name}.toml").read_bytes()
    return _decode_and_load(data, f"{name}.toml")


def _decode_and_load(data: bytes, source: str) -> RulePack:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RulesError(f"规则包 {source}：不是 UTF-8 编码的文本文件。") from None
    return loads(text, source)


def loads(text: str, source: str = "<规则包>") -> RulePack:
    """Parse and check a rule pack given as TOML text (``source`` names it in messages)."""
    lines = _Lines(text, source)
    try:
        d = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"line (\d+), column (\d+)", str(e))
        where = f"第 {m.group(1)} 行第 {m.group(2)} 列" if m else "某处"
        raise RulesError(f"规则包 {source}：{where} TOML 格式错误（{e}）。") from None

    pack = d.get("pack")
    if not isinstance(pack, dict):
        raise lines.error(0, "[pack]", "缺少 [pack] 段（id、name、total_points）")
    pline = lines.section_line("pack")
    for key in ("id", "name", "total_points"):
        if key not in pack:
            raise lines.error(pline, "[pack]", f"缺少 {key}")
    total_points = pack["total_points"]
    if not _is_num(total_points) or total_points <= 0:
        raise lines.error(lines.key_line("total_points"), "[pack]", "total_points 应为正数")
    wording = pack.get("report_wording", "explained")
    if wording not in REPORT_WORDINGS:
        raise lines.error(lines.key_line("report_wording"), "[pack]",
                          f"report_wording 应为 {' 或 '.join(repr(w) for w in REPORT_WORDINGS)}，不是 {wording!r}")

    raw_inds = d.get("indicator")
    if not isinstance(raw_inds, list) or not raw_inds:
        raise lines.error(0, "[[indicator]]", "没有任何指标")
    indicators = tuple(_indicator(lines, k, i) for k, i in enumerate(raw_inds))
    seen: dict[str, int] = {}
    for ind in indicators:
        if ind.id in seen:
            raise lines.error(ind.line, f"指标 {ind.id}", f"指标编号重复（第 {seen[ind.id]} 行已有）")
        seen[ind.id] = ind.line

    tree = d.get("tree", {})
    _check_tree(lines, tree, indicators, total_points)
    awards = _awards(lines, d.get("awards"))
    total = _total(lines, d.get("total", {}), total_points)
    grades = _grades(lines, d.get("grade"))
    extra = set(d) - {"pack", "tree", "indicator", "awards", "total", "grade"}
    if extra:
        key = sorted(extra)[0]
        raise lines.error(lines.section_line(key) or lines.key_line(key), f"“{key}”", "不认识的段落或设置")

    params = _params(indicators, awards, total, grades)
    return RulePack(str(pack["id"]), str(pack["name"]), indicators, dict(tree), awards, total, grades,
                    source, params, total_points, wording)


def _is_num(v: Any) -> TypeGuard[float]:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


_IND_KEYS = {"id", "path", "name", "points", "method", "input", "params", "rule", "fitted"}


def _indicator(lines: _Lines, k: int, i: Any) -> Indicator:
    if not isinstance(i, dict):
        raise lines.error(lines.indicator_line(k, None), f"第 {k + 1} 个指标", "格式不对")
    ind_id = i.get("id")
    line = lines.indicator_line(k, ind_id)
    what = f"指标 {ind_id}" if isinstance(ind_id, str) else f"第 {k + 1} 个指标"
    for key in ("id", "path", "name", "points", "method"):
        if key not in i:
            raise lines.error(line, what, f"缺少 {key}")
    extra = set(i) - _IND_KEYS
    if extra:
        raise lines.error(line, what, f"不认识的设置：{'、'.join(sorted(extra))}")
    if not isinstance(ind_id, str) or not _ID.match(ind_id):
        raise lines.error(line, what, "指标编号应由小写英文字母、数字和下划线组成，以字母开头（如 spending_rate）")
    path = i["path"]
    l1, sep, l2 = path.partition("/") if isinstance(path, str) else ("", "", "")
    if not sep or not l1.strip() or not l2.strip() or "/" in l2:
        raise lines.error(line, what, f"path 应为“一级指标/二级指标”，不是 {path!r}")
    if not _is_num(i["points"]) or i["points"] <= 0:
        raise lines.error(line, what, "points（分值）应为正数")
    method = formulas.METHODS.get(i["method"])
    if method is None:
        raise lines.error(line, what, f"评分方法 “{i['method']}” 不存在（可用：{'、'.join(formulas.METHODS)}）")
    rates = [o.name for o in schema.RATE_OUTPUTS]
    inp = i.get("input")
    if method.uses_input:
        if inp is None:
            raise lines.error(line, what, f"评分方法 {method.name} 需要 input（比率名称，如 rate_spending）")
        if inp not in rates:
            raise lines.error(line, what, f"input “{inp}” 不是标准比率名称（可用：{'、'.join(rates)}）")
    elif inp is not None:
        raise lines.error(line, what, f"评分方法 {method.name} 不使用 input，请删除")
    params = i.get("params", {})
    if not isinstance(params, dict):
        raise lines.error(line, what, "params 应为表（如 { zero_at = 0.5, full_at = 0.95 }）")
    keys = set(params)
    allowed = method.required | method.optional | method.one_of
    missing = method.required - keys
    if missing:
        raise lines.error(line, what, f"评分方法 {method.name} 缺少参数：{'、'.join(sorted(missing))}")
    if keys - allowed:
        raise lines.error(line, what, f"评分方法 {method.name} 不认识参数：{'、'.join(sorted(keys - allowed))}")
    if method.one_of and len(keys & method.one_of) != 1:
        raise lines.error(line, what, f"评分方法 {method.name} 应有且只有一个参数：{' 或 '.join(sorted(method.one_of))}")
    ind = Indicator(ind_id, l1.strip(), l2.strip(), str(i["name"]), i["points"], method.name, inp, params,
                    str(i.get("rule", "")), bool(i.get("fitted", False)), line)
    problem = method.check(ind)
    if problem:
        raise lines.error(line, what, problem)
    return ind


def _check_tree(lines: _Lines, tree: Any, indicators: tuple[Indicator, ...], total_points: float) -> None:
    if not isinstance(tree, dict):
        raise lines.error(lines.section_line("tree"), "[tree]", "应为“一级指标” = 分值、“一级/二级” = 分值 的列表")
    if not tree:  # no tree: only the grand total is checked
        s = math.fsum(i.points for i in indicators)
        if not formulas.approx_equal(s, float(total_points)):
            raise lines.error(lines.key_line("total_points"), "[pack]",
                              f"各指标分值合计 {s:g} 不等于 total_points {total_points:g}")
        return
    for key, pts in tree.items():
        if not _is_num(pts) or pts <= 0:
            raise lines.error(lines.key_line(key), f"[tree] “{key}”", "分值应为正数")
        if key.count("/") > 1:
            raise lines.error(lines.key_line(key), f"[tree] “{key}”", "只能有两级：“一级指标/二级指标”")
    for ind in indicators:
        for key in (ind.level1, ind.path):
            if key not in tree:
                raise lines.error(ind.line, f"指标 {ind.id}", f"path 中的“{key}”在 [tree] 中没有分值")
    for key, pts in sorted(tree.items(), key=lambda kv: "/" not in kv[0]):  # 二级 first: the precise error
        if "/" in key:
            parts = [i.points for i in indicators if i.path == key]
            what = "其下各指标分值合计"
        else:
            parts = [v for k, v in tree.items() if k.startswith(key + "/")]
            what = "其下各二级指标分值合计"
        s = math.fsum(parts)
        if not formulas.approx_equal(s, float(pts)):
            raise lines.error(lines.key_line(key), f"[tree] “{key}”", f"分值 {pts:g}，但{what}为 {s:g}")
    s = math.fsum(v for k, v in tree.items() if "/" not in k)
    if not formulas.approx_equal(s, float(total_points)):
        raise lines.error(lines.key_line("total_points"), "[pack]",
                          f"各一级指标分值合计 {s:g} 不等于 total_points {total_points:g}")


def _awards(lines: _Lines, a: Any) -> dict[str, Any]:
    line = lines.section_line("awards")
    if a is None:
        return {"method": "level_lookup", "levels": {}, "cap": 0, "fitted": False}
    if not isinstance(a, dict):
        raise lines.error(line, "[awards]", "格式不对")
    extra = set(a) - {"method", "levels", "cap", "fitted"}
    if extra:
        raise lines.error(line, "[awards]", f"不认识的设置：{'、'.join(sorted(extra))}")
    if a.get("method", "level_lookup") != "level_lookup":
        raise lines.error(line, "[awards]", f"加减分评分方法 “{a.get('method')}” 不存在（可用：level_lookup）")
    levels = a.get("levels")
    if not isinstance(levels, dict) or not levels:
        raise lines.error(lines.key_line("levels") or line, "[awards]", "levels 应为“授奖级别 = 分值”的表，且不能为空")
    for name, pts in levels.items():
        if name not in schema.AWARD_LEVELS:
            raise lines.error(lines.key_line("levels") or line, "[awards]",
                              f"授奖级别 “{name}” 不是工作簿可选的级别（{'、'.join(schema.AWARD_LEVELS)}）")
        if not _is_num(pts) or pts < 0:
            raise lines.error(lines.key_line("levels") or line, "[awards]", f"“{name}”的分值应为非负数")
    cap = a.get("cap")
    if not _is_num(cap) or cap < 0:
        raise lines.error(lines.key_line("cap") or line, "[awards]", "cap（加分上限）应为非负数")
    return {"method": "level_lookup", "levels": dict(levels), "cap": cap, "fitted": bool(a.get("fitted", False))}


def _total(lines: _Lines, t: Any, total_points: float) -> dict[str, Any]:
    line = lines.section_line("total")
    if not isinstance(t, dict):
        raise lines.error(line, "[total]", "格式不对")
    extra = set(t) - {"cap", "cap_enabled"}
    if extra:
        raise lines.error(line, "[total]", f"不认识的设置：{'、'.join(sorted(extra))}")
    cap = t.get("cap", total_points)
    if not _is_num(cap) or cap <= 0:
        raise lines.error(line, "[total]", "cap（总分上限）应为正数")
    on = t.get("cap_enabled", True)
    if not isinstance(on, bool):
        raise lines.error(line, "[total]", "cap_enabled 应为 true 或 false")
    return {"cap": cap, "cap_enabled": on}


def _grades(lines: _Lines, g: Any) -> tuple[tuple[str, float], ...]:
    if not isinstance(g, list) or not g:
        raise lines.error(0, "[[grade]]", "缺少评价等级（[[grade]] name = …, min = …）")
    out: list[tuple[str, float]] = []
    for k, item in enumerate(g):
        line = lines.section_line("grade", k)
        line = lines.find(r"^\s*name\s*=", line) or line
        if not isinstance(item, dict) or set(item) != {"name", "min"}:
            raise lines.error(line, f"第 {k + 1} 个等级", "应有且只有 name 和 min")
        if not isinstance(item["name"], str) or not item["name"].strip() or not _is_num(item["min"]):
            raise lines.error(line, f"第 {k + 1} 个等级", "name 应为文字，min 应为数字")
        if out and item["min"] >= out[-1][1]:
            raise lines.error(line, f"等级 {item['name']}", "等级应从高到低排列，min 依次减小")
        if item["name"] in (n for n, _ in out):
            raise lines.error(line, f"等级 {item['name']}", "等级名称重复")
        out.append((item["name"].strip(), item["min"]))
    return tuple(out)


def _params(indicators: tuple[Indicator, ...], awards: Mapping[str, Any], total: Mapping[str, Any],
            grades: tuple[tuple[str, float], ...]) -> tuple[Param, ...]:
    """The parameter cells the pack implies, in sheet order."""
    out: list[Param] = []
    for ind in indicators:
        method = formulas.METHODS[ind.method]
        for spec in method.specs(ind):
            note = spec.note + (f"；{FITTED_NOTE}" if ind.fitted and spec.key != "points" else "")
            out.append(Param(formulas.param_name(ind.id, spec.key), f"{ind.name}·{spec.label}", spec.value,
                             ind.name, note))
    levels = list(awards["levels"].items())
    fit = f"；{FITTED_NOTE}" if awards.get("fitted") else ""
    for k, (level, _) in enumerate(levels, start=1):
        out.append(Param(f"p_award_level_{k}", f"授奖级别 {k}", level, "加减分", "加分项的授奖级别（与下方分值对应）",
                         formulas.AWARD_LEVELS_RANGE))
    for k, (level, pts) in enumerate(levels, start=1):
        out.append(Param(f"p_award_points_{k}", f"{level}奖项加分", pts, "加减分", f"授奖级别为“{level}”的加分项得分{fit}",
                         formulas.AWARD_POINTS_RANGE))
    out.append(Param(formulas.AWARD_CAP, "加分上限", awards["cap"], "加减分", "加分项合计最多计入的分数；减分项全额扣减"))
    out.append(Param(formulas.TOTAL_CAP, "总分上限", total["cap"], "总分", "总分不超过该值（封顶开启时）"))
    out.append(Param(formulas.TOTAL_CAP_ON, "总分封顶", 1 if total["cap_enabled"] else 0, "总分", "1 = 封顶，0 = 不封顶"))
    for k, (name, low) in enumerate(grades, start=1):
        out.append(Param(f"p_grade_{k}_name", f"等级 {k} 名称", name, "评价等级", "评价等级名称（从高到低）"))
        last = k == len(grades)
        out.append(Param(f"p_grade_{k}_min", f"等级 {k} 下限", low, "评价等级",
                         "低于上一等级下限的均为该等级" if last else f"总分 ≥ 该值评为“{name}”"))
    return tuple(out)


def workbook_params(pack: RulePack, outputs: Mapping[str, Any]) -> dict[str, Any]:
    """The pack's parameters whose cell on the workbook's 评分参数 sheet holds another value.

    ``outputs``: the model's named output values (``model.outputs``; ``p_*`` names included).
    Returns {parameter name: workbook value}; text and numbers compared as the cell holds them.
    """
    changed: dict[str, Any] = {}
    for p in pack.params:
        v = outputs.get(p.name)
        got = getattr(v, "value", v)
        if got is None or got == "":
            continue
        if isinstance(p.value, (int, float)) and not isinstance(p.value, bool):
            if isinstance(got, (int, float)) and not isinstance(got, bool) and abs(float(got) - float(p.value)) > 1e-9:
                changed[p.name] = float(got)
        elif str(got).strip() != str(p.value):
            changed[p.name] = str(got).strip()
    return changed


def with_params(pack: RulePack, values: Mapping[str, Any]) -> RulePack:
    """A copy of ``pack`` whose parameters take ``values`` (a bureau's edits on 评分参数)."""
    import dataclasses

    if not values:
        return pack
    params = tuple(dataclasses.replace(p, value=values[p.name]) if p.name in values else p for p in pack.params)
    return dataclasses.replace(pack, params=params)
