"""`perfxl packs`: list the shipped rule packs (name for --rules, source, total points)."""
from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .argparse_zh import ArgumentParser


def source_line(name: str) -> str:
    """The pack's source as cited in its header: the first comment line that carries a URL,
    else the first comment line."""
    from importlib import resources

    text = resources.files("perfxl.rules").joinpath(f"{name}.toml").read_text("utf-8")
    comments = [ln.lstrip("# ").strip() for ln in text.splitlines() if ln.startswith("#")]
    for ln in comments:
        if "http" in ln:
            return ln
    return comments[0] if comments else ""


def cmd_packs(args: argparse.Namespace) -> int:
    from . import rulepack
    from .termtext import write_stdout

    lines = ["随 perfxl 提供的评分规则包（用 --rules 名称 选用）："]
    for name, pack in rulepack.shipped():
        default = "（默认）" if name == rulepack.DEFAULT_PACK else ""
        lines.append(f"  {name}{default}")
        lines.append(f"    名称：{pack.name}")
        lines.append(f"    总分：{pack.total_points:g} 分，{len(pack.indicators)} 项三级指标"
                     f"（自动评分 {len(pack.automatic)} 项）")
        lines.append(f"    来源：{source_line(name)}")
    write_stdout("\n".join(lines))
    return 0


def register(sub: argparse._SubParsersAction[ArgumentParser]) -> None:
    text = "列出随 perfxl 提供的评分规则包：名称、来源和总分"
    sp = sub.add_parser("packs", help=text, description=text)
    sp.set_defaults(func=cmd_packs)
