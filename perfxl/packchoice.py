"""Which rule pack scores a workbook: the one place that decides.

A workbook made by ``perfxl new`` records its pack on 评分参数 under the defined name
``rule_pack`` (its 评分表 rows and 评分参数 follow that pack).  The order:

1. a pack the caller chose (``--rules``, a bureau's batch or server setting) wins; when the
   workbook records another, a ``rule-pack-override`` warning at the record's cell says so;
2. else the workbook's recorded pack, when it is one perfxl ships (by name or ``[pack] id``);
3. else the default pack — with a ``rule-pack-unknown`` warning when the workbook records
   something perfxl does not ship (a bureau's own pack, an edited or hostile cell).

The recorded text is only ever compared with the shipped packs' names: it is never opened
as a path nor run.  Workbooks without ``rule_pack`` (made before it existed) get the default
pack with no finding, as before.
"""
from __future__ import annotations

from .findings import Finding
from .findings_text import shown
from .model import WorkbookModel
from .rulepack import RulePack, load, pack_key, shipped_names, shipped_pack


def recorded(model: WorkbookModel) -> str | None:
    """The text of the workbook's ``rule_pack`` cell ("" when empty); None without the name."""
    v = model.rule_pack
    if v is None:
        return None
    raw = v.raw if v.value is None else v.value
    return "" if raw is None else str(raw).strip()


def _same(key: str, pack: RulePack) -> bool:
    shipped = shipped_pack(key)
    return key == pack.id or (shipped is not None and shipped.id == pack.id)


def choose(model: WorkbookModel, pack: RulePack | None = None) -> tuple[RulePack, tuple[Finding, ...]]:
    """The pack to score ``model`` with, and the findings that explain the choice.

    ``pack``: the pack the caller chose on purpose (``--rules``), or None to follow the
    workbook.  Raises :class:`~perfxl.errors.RulesError` only when a shipped pack is broken.
    """
    key, v = recorded(model), model.rule_pack
    if pack is not None:
        if v is None or not key or _same(key, pack):
            return pack, ()
        return pack, (Finding.at(
            "rule-pack-override", v.sheet, v.cell,
            f"工作簿按评分规则包“{shown(key)}”制作，本次按指定的评分规则包“{pack_key(pack)}”（{pack.name}）评分。",
            "评分表的指标和分值按指定的规则包计算，可能与本工作簿的评分表不一致；如非有意，"
            "请去掉 --rules 重新运行，即按工作簿记录的规则包评分。"),)
    if key is None or v is None:
        return load(), ()
    found = shipped_pack(key) if key else None
    if found is not None:
        return found, ()
    default = load()
    what = f"记录的评分规则包“{shown(key)}”不是 perfxl 随附的规则包" if key else "评分规则包单元格为空"
    return default, (Finding.at(
        "rule-pack-unknown", v.sheet, v.cell,
        f"{what}，已按默认规则包“{pack_key(default)}”（{default.name}）评分。",
        f"随附的规则包：{'、'.join(shipped_names())}（见 perfxl packs）。如本工作簿按本地区自己的规则包填报，"
        "请由财政部门用 --rules 指定该规则包文件评分；否则请把该单元格改回模板中的规则包名称。"),)
