"""Optional report charts (matplotlib, Agg, no pyplot): PNG bytes for docxtpl's InlineImage.

matplotlib is imported only here and only when a chart is drawn (the import alone costs about
0.5 s).  Chinese labels need a CJK font: the first installed of :data:`CJK_FONTS` (looked up once
per process through matplotlib's font manager).  Without any, the charts are skipped (an empty
dict), never drawn with tofu boxes.
"""
from __future__ import annotations

import functools
import io
from typing import Sequence

from . import numfmt as nf

CJK_FONTS = ("Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "SimHei", "Microsoft YaHei",
             "PingFang SC", "Noto Serif CJK SC", "AR PL UMing CN")
WIDTH_IN, HEIGHT_IN, DPI = 6.0, 2.6, 150
MARGINS = {"left": 0.2, "right": 0.97, "top": 0.97, "bottom": 0.17}
INK, LIGHT = "#1F4E79", "#BDD7EE"


@functools.lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """Family name of the first installed CJK font of :data:`CJK_FONTS`, or None."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in installed), None)


def _figure():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    fig.subplots_adjust(**MARGINS)  # fixed margins: bbox_inches="tight" doubles the drawing time
    FigureCanvasAgg(fig)
    return fig


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def _rc(font: str):
    """Font and sizes for one drawing (rc_context: no global matplotlib state is changed)."""
    import matplotlib

    return matplotlib.rc_context({"font.family": font, "font.size": 9, "axes.spines.top": False,
                                  "axes.spines.right": False, "xtick.labelsize": 9, "ytick.labelsize": 9,
                                  "axes.unicode_minus": False})


def score_chart(groups: Sequence[tuple[str, float, float]]) -> bytes | None:
    """Horizontal bars: 得分 over 分值 per 一级指标.  ``groups``: (name, score, points)."""
    font = cjk_font()
    if font is None or not groups:
        return None
    with _rc(font):
        return _score_chart(groups)


def _score_chart(groups: Sequence[tuple[str, float, float]]) -> bytes:
    fig = _figure()
    ax = fig.add_subplot()
    names = [g[0] for g in groups][::-1]
    scores = [g[1] for g in groups][::-1]
    pts = [g[2] for g in groups][::-1]
    ys = range(len(names))
    ax.barh(ys, pts, color=LIGHT, height=0.6, label="分值")
    ax.barh(ys, scores, color=INK, height=0.36, label="自评得分")
    for y, s, p in zip(ys, scores, pts):
        ax.text(p + max(pts) * 0.01, y, f"{nf.points(s)} / {nf.points(p)} 分", va="center")
    ax.set_yticks(list(ys), names)
    ax.set_xlim(0, max(pts) * 1.25)
    ax.set_xlabel("分")
    ax.legend(loc="lower right", frameon=False, fontsize=8)
    return _png(fig)


def expense_chart(parts: Sequence[tuple[str, float]]) -> bytes | None:
    """Horizontal bars of the expenditure composition in 万元 with shares.  ``parts``: (label, 万元)."""
    font = cjk_font()
    total = sum(v for _, v in parts)
    if font is None or not parts or total <= 0:
        return None
    with _rc(font):
        return _expense_chart(parts, total)


def _expense_chart(parts: Sequence[tuple[str, float]], total: float) -> bytes:
    fig = _figure()
    ax = fig.add_subplot()
    labels = [p[0] for p in parts][::-1]
    values = [p[1] for p in parts][::-1]
    ys = range(len(labels))
    ax.barh(ys, values, color=INK, height=0.5)
    for y, v in zip(ys, values):
        ax.text(v + total * 0.01, y, f"{nf.money(v)} 万元（{nf.share(v / total)}）", va="center")
    ax.set_yticks(list(ys), labels)
    ax.set_xlim(0, max(values) * 1.45)
    ax.set_xlabel("万元")
    return _png(fig)


def render_all(data: dict) -> dict[str, bytes]:
    """The charts of :func:`perfxl.report.context.chart_data` as context key → PNG bytes."""
    out = {}
    for key, png in (("chart_expense", expense_chart(data.get("expense", ()))),
                     ("chart_scores", score_chart(data.get("groups", ())))):
        if png:
            out[key] = png
    return out
