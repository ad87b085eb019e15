"""Report charts drawn with Pillow: PNG bytes for the Word report's inline pictures.

Two horizontal bar charts — 自评得分 against 分值 per 一级指标, and the expenditure composition
in 万元 with shares — drawn at twice their print resolution (1200 px across the 150 mm the
template gives them, about 200 dpi), in a few milliseconds each: no figure objects, no text
layout engine, a palette PNG.

How the drawing stays cheap: the picture is drawn as an 8-bit "L" image whose values are palette
indices.  0…239 is a grey ramp from the text colour to white, so antialiased text (which Pillow
blends as numbers) blends correctly over white, the grid and the axes — all greys on that ramp;
240 and up are the bar colours, which no text is drawn over.  Attaching the palette turns the
image into a "P" image, which PNG encodes about five times faster than RGB.  Rendered text is
kept (the labels repeat across a batch).

Chinese needs a CJK font: the first found of :data:`FONT_FILES` (and, failing those,
``PERFXL_CHART_FONT``, fontconfig, or matplotlib's font manager — used only to *find* a file),
looked up once per process.  Without one the charts are skipped (an empty dict), never drawn
with tofu boxes.
"""
from __future__ import annotations

import functools
import io
import math
import os
import shutil
import subprocess
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Sequence

if TYPE_CHECKING:
    from PIL import Image
    from PIL.ImageFont import FreeTypeFont

from . import numfmt as nf

# family names, best first (Simplified Chinese faces of the common CJK families)
CJK_FONTS = ("Noto Sans CJK SC", "Source Han Sans SC", "Source Han Sans CN", "Noto Sans SC",
             "Microsoft YaHei", "微软雅黑", "PingFang SC", "Hiragino Sans GB", "WenQuanYi Zen Hei",
             "WenQuanYi Micro Hei", "SimHei", "黑体", "Heiti SC", "STHeiti", "Droid Sans Fallback",
             "Noto Serif CJK SC", "AR PL UMing CN")

_WINDIR = Path(os.environ.get("WINDIR", r"C:\Windows")) / "Fonts"
FONT_FILES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",          # Debian, Ubuntu
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",               # Arch, Alpine
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",        # Fedora, RHEL
    "/usr/share/fonts/google-noto-sans-cjk-fonts/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
    "/usr/share/fonts/adobe-source-han-sans/SourceHanSansSC-Regular.otf",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/wenquanyi/wqy-zenhei/wqy-zenhei.ttc",
    "/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/google-droid/DroidSansFallbackFull.ttf",
    "/System/Library/Fonts/PingFang.ttc",                               # macOS
    "/System/Library/Fonts/Hiragino Sans GB.ttc",
    "/System/Library/Fonts/STHeiti Light.ttc",
    str(_WINDIR / "msyh.ttc"), str(_WINDIR / "msyh.ttf"), str(_WINDIR / "simhei.ttf"),  # Windows
    str(_WINDIR / "Deng.ttf"), str(_WINDIR / "simsun.ttc"),
)

SCALE = 2                  # drawn at twice the logical size
WIDTH = 600                # logical px across the picture (placed 150 mm wide: 1 px = 0.25 mm)
DPI = 200                  # written into the PNG (1200 px / 150 mm ≈ 203 dpi)
ROW = 44                   # logical px per bar row
LABEL_PT, VALUE_PT, SMALL_PT = 13, 12, 11   # logical px font sizes (13 px ≈ 9 pt when printed)

TEXT, WHITE = (38, 38, 38), (255, 255, 255)
INK, LIGHT = (31, 78, 121), (189, 215, 238)   # #1F4E79 自评得分 / 支出, #BDD7EE 分值

RAMP = 239                 # palette 0…RAMP: TEXT → WHITE; RAMP is the background
BG = RAMP
OVER = (192, 0, 0)                            # #C00000: a score above its points
_SPECIAL = (INK, LIGHT, OVER)
C_INK, C_LIGHT, C_OVER = RAMP + 1, RAMP + 2, RAMP + 3


def _grey(level: int) -> int:
    """The ramp index of grey ``level`` (0–255; between TEXT and white)."""
    return round((level - TEXT[0]) / (255 - TEXT[0]) * RAMP)


C_GRID, C_AXIS = _grey(0xD9), _grey(0x59)


def _palette() -> bytes:
    pal = bytearray()
    for i in range(RAMP + 1):
        pal += bytes(round(t + (w - t) * i / RAMP) for t, w in zip(TEXT, WHITE))
    for c in _SPECIAL:
        pal += bytes(c)
    pal += bytes(WHITE) * (256 - len(pal) // 3)
    return bytes(pal)


PALETTE = _palette()


# ---------------------------------------------------------------- fonts

def _face_index(path: str) -> int | None:
    """The face of ``path`` to use: the Simplified Chinese one of a collection (.ttc), else 0;
    None when Pillow cannot read the file."""
    from PIL import ImageFont

    rank = {name: i for i, name in enumerate(CJK_FONTS)}
    best = None   # (rank, index)
    for i in range(32 if path.lower().endswith((".ttc", ".otc")) else 1):
        try:
            name = ImageFont.truetype(path, 12, index=i).getname()[0] or ""
        except (OSError, ValueError):   # past the last face, or not a font Pillow reads
            break
        r = rank.get(name, len(CJK_FONTS) if (" SC" in name or name.endswith("GB") or "YaHei" in name)
                     else len(CJK_FONTS) + 1)
        if best is None or r < best[0]:
            best = (r, i)
        if r == 0:
            break
    return None if best is None else best[1]


def _fontconfig_files() -> list[str]:
    """Font files fontconfig knows for :data:`CJK_FONTS` (regular weights first)."""
    exe = shutil.which("fc-list")
    if not exe:
        return []
    try:
        out = subprocess.run([exe, ":lang=zh-cn", "file", "family", "style"], capture_output=True, text=True,
                             timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    by_family: dict[str, list[tuple[bool, str]]] = {}
    for line in out.splitlines():
        file, _, rest = line.partition(": ")
        families, _, style = rest.partition(":style=")
        regular = any(w in style for w in ("Regular", "Book", "Normal", "Medium")) or not style
        for fam in families.split(","):
            by_family.setdefault(fam.strip(), []).append((not regular, file.strip()))
    return [min(by_family[f])[1] for f in CJK_FONTS if f in by_family]


def _matplotlib_files() -> list[str]:
    """Font files matplotlib knows for :data:`CJK_FONTS` (only to find a file; nothing drawn)."""
    try:
        from matplotlib import font_manager
    except ImportError:
        return []
    files = {f.name: f.fname for f in font_manager.fontManager.ttflist}
    return [files[name] for name in CJK_FONTS if name in files]


@functools.lru_cache(maxsize=1)
def cjk_font_file() -> tuple[str, int] | None:
    """(path, face index) of the CJK font the charts use, or None (looked up once)."""
    def candidates() -> Iterator[str]:
        if os.environ.get("PERFXL_CHART_FONT"):
            yield os.environ["PERFXL_CHART_FONT"]
        yield from FONT_FILES
        yield from _fontconfig_files()
        yield from _matplotlib_files()

    for path in candidates():
        if path and os.path.isfile(path):
            index = _face_index(path)
            if index is not None:
                return path, index
    return None


def forget_font() -> None:
    """Look the font up again on the next chart (after installing one, or in tests)."""
    for cached in (cjk_font_file, _font, _glyphs, _width):
        cached.cache_clear()


def cjk_font() -> str | None:
    """Family name of the CJK font the charts use, or None when there is none."""
    found = cjk_font_file()
    return _font(LABEL_PT).getname()[0] if found else None


@functools.lru_cache(maxsize=16)  # opens the font file: without it every miss of _glyphs/_width would
def _font(size: int) -> FreeTypeFont:  # reopen it (0 calls a workbook once those two are warm, bench_memos.py)
    from PIL import ImageFont

    found = cjk_font_file()
    if found is None:  # the chart functions return no chart without a font before drawing
        raise RuntimeError("no CJK font for the charts")
    path, index = found
    return ImageFont.truetype(path, size * SCALE, index=index, layout_engine=ImageFont.Layout.BASIC)


@functools.lru_cache(maxsize=1024)  # saves 4.3 ms CPU a workbook (13%) (benchmarks/bench_memos.py: CPU its function spends with the memo off)
def _glyphs(text: str, size: int, anchor: str) -> tuple[Image.Image, int, int]:
    """``text`` rendered once as a coverage mask: (mask, dx, dy) relative to its anchor point."""
    from PIL import Image, ImageDraw

    font = _font(size)
    # Pillow annotates the box as floats; FreeType's boxes are whole pixels (ints)
    left, top, right, bottom = (int(v) for v in font.getbbox(text, anchor=anchor))
    mask = Image.new("L", (max(right - left, 1), max(bottom - top, 1)), 0)
    ImageDraw.Draw(mask).text((-left, -top), text, fill=255, font=font, anchor=anchor)
    return mask, left, top


@functools.lru_cache(maxsize=4096)  # saves 0.88 ms CPU a workbook (2.7%) (benchmarks/bench_memos.py: CPU its function spends with the memo off)
def _width(text: str, size: int) -> float:
    """Logical width of ``text``."""
    return _font(size).getlength(text) / SCALE


class _Canvas:
    """Logical-pixel drawing on the 2× palette-index image."""

    def __init__(self, width: int, height: int):
        from PIL import Image, ImageDraw

        self.im = Image.new("L", (width * SCALE, height * SCALE), BG)
        self.draw = ImageDraw.Draw(self.im)

    def rect(self, x0: float, y0: float, x1: float, y1: float, color: int) -> None:
        if x1 - x0 <= 0 or y1 - y0 <= 0:
            return
        w, h = self.im.size
        # clamped to the picture: an absurd value (a clerk's 1e300) must not overflow Pillow
        X0, Y0 = min(max(round(x0 * SCALE), 0), w - 1), min(max(round(y0 * SCALE), 0), h - 1)
        X1, Y1 = max(min(round(x1 * SCALE), w), X0 + 1), max(min(round(y1 * SCALE), h), Y0 + 1)  # at least a pixel
        self.draw.rectangle((X0, Y0, X1 - 1, Y1 - 1), fill=color)

    def vline(self, x: float, y0: float, y1: float, color: int, width: float = 0.5) -> None:
        self.rect(x - width / 2, y0, x + width / 2, y1, color)

    def hline(self, y: float, x0: float, x1: float, color: int, width: float = 0.5) -> None:
        self.rect(x0, y - width / 2, x1, y + width / 2, color)

    def text(self, x: float, y: float, text: str, size: int, anchor: str = "lm") -> None:
        """``text`` in the text colour (drawn over white or greys only: it blends as indices)."""
        mask, dx, dy = _glyphs(text, size, anchor)
        self.im.paste(0, (round(x * SCALE) + dx, round(y * SCALE) + dy), mask)

    def png(self) -> bytes:
        self.im.putpalette(PALETTE)  # "L" → "P": the values are palette indices
        buf = io.BytesIO()
        # Z_RLE: as small as level 3 for flat-colour pictures, faster than level 1
        self.im.save(buf, "PNG", optimize=False, compress_level=1, compress_type=zlib.Z_RLE, dpi=(DPI, DPI))
        return buf.getvalue()


def _ticks(top: float) -> tuple[float, list[float]]:
    """A round step and the ticks 0, step, … not beyond ``top`` (3 to 6 of them)."""
    if top <= 0 or not math.isfinite(top):
        return 1.0, [0.0]
    mag = 10 ** math.floor(math.log10(top / 5))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if top / (m * mag) <= 5.5)
    n = int(top / step + 1e-9)
    return step, [i * step for i in range(n + 1)]


def _tick_text(v: float, step: float) -> str:
    places = next((p for p in range(4) if abs(step * 10 ** p - round(step * 10 ** p)) < 1e-6), 4)
    return f"{v:,.{places}f}"


def _fit(label: str, size: int, limit: float) -> str:
    """``label`` shortened with … to ``limit`` logical px."""
    if _width(label, size) <= limit:
        return label
    while label and _width(label + "…", size) > limit:
        label = label[:-1]
    return label + "…"


def _bars(rows: Sequence[tuple[str, float, str]], unit: str, legend: Sequence[tuple[int, str]],
          layers: Sequence[tuple[int, float, Sequence[float]]]) -> bytes:
    """Horizontal bars, one row per ``rows`` item (label, reach, value text), top to bottom.

    ``layers``: (colour, thickness as a share of the row, values) drawn in order; ``reach`` is
    where the value text starts (the longest bar of the row)."""
    top_pad, bottom_pad, right_pad = 30, 30, 14
    height = top_pad + ROW * max(len(rows), 2) + bottom_pad
    c = _Canvas(WIDTH, height)
    labels = [_fit(r[0], LABEL_PT, WIDTH * 0.3) for r in rows]
    x0 = 12 + max(_width(s, LABEL_PT) for s in labels) + 10
    x1 = WIDTH - right_pad
    plot_w = x1 - x0
    # the scale: every bar plus its value text fits between x0 and x1
    scale = min((plot_w - 6 - _width(text, VALUE_PT)) / reach if reach > 0 else math.inf
                for _, reach, text in rows)
    if not math.isfinite(scale) or scale <= 0:  # no bars, or a value text wider than the plot
        reach = max((r[1] for r in rows if math.isfinite(r[1])), default=0.0)
        scale = plot_w / reach if reach > 0 else plot_w / 1.0
    y0, y1 = top_pad, top_pad + ROW * max(len(rows), 2)
    step, ticks = _ticks(plot_w / scale)

    for t in ticks[1:]:
        c.vline(x0 + t * scale, y0, y1, C_GRID)
    for t in ticks:
        label = _tick_text(t, step)
        x = x0 + t * scale
        # the last label may not fit centred under its tick: then it ends at the edge
        if x + _width(label, SMALL_PT) / 2 <= WIDTH - 2:
            c.text(x, y1 + 5, label, SMALL_PT, "mt")
        else:
            c.text(WIDTH - 2, y1 + 5, label, SMALL_PT, "rt")
    c.text(12, top_pad / 2 + 1, f"单位：{unit}", SMALL_PT, "lm")
    lx: float = x1
    for color, name in reversed(legend):
        lx -= _width(name, SMALL_PT)
        c.text(lx, top_pad / 2 + 1, name, SMALL_PT, "lm")
        lx -= 17
        c.rect(lx, top_pad / 2 - 4, lx + 12, top_pad / 2 + 5, color)
        lx -= 14

    pad = (y1 - y0 - ROW * len(rows)) / 2   # one row: centred in the two-row plot
    for i, (label, (_, reach, text)) in enumerate(zip(labels, rows)):
        mid = y0 + pad + ROW * (i + 0.5)
        c.text(x0 - 8, mid, label, LABEL_PT, "rm")
        for color, thick, values in layers:
            v = max(values[i], 0.0)
            c.rect(x0, mid - ROW * thick / 2, x0 + v * scale, mid + ROW * thick / 2, color)
        c.text(x0 + max(reach, 0.0) * scale + 6, mid, text, VALUE_PT, "lm")
    c.vline(x0, y0, y1, C_AXIS, 1.0)
    c.hline(y1, x0 - 0.5, x1, C_AXIS, 1.0)
    return c.png()


def _num(x: Any) -> float:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return 0.0
    return x if math.isfinite(x) else 0.0


def score_label(score: float | None, points: float, unscored: int = 0) -> str:
    """The text beside a 一级指标's bars: ``36.81 / 42 分``; a group with an indicator not
    scored (an input not filled) is missing, never 0; a score above its points is flagged."""
    if score is None:
        what = f"{unscored}项未评分" if unscored else "未评分"
        return f"{nf.MISSING} / {nf.points(points)} 分（{what}）"
    text = f"{nf.points(score)} / {nf.points(points)} 分"
    return text + "（超出分值）" if score > points + 1e-9 else text


def score_chart(groups: Sequence[tuple], unscored: dict[str, int] | None = None) -> bytes | None:
    """Horizontal bars: 自评得分 over 分值 per 一级指标.  ``groups``: (name, score, points); a
    score of None (not every indicator scored: ``unscored`` counts them per name) draws no bar
    and says so; the part of a score above its points is drawn red and the text flags it."""
    if cjk_font_file() is None or not groups:
        return None
    unscored = unscored or {}
    names = [str(g[0]) for g in groups]
    raw = [None if g[1] is None else _num(g[1]) for g in groups]
    scores = [0.0 if s is None else s for s in raw]
    pts = [_num(g[2]) for g in groups]
    rows = [(n, max(s, p), score_label(r, p, unscored.get(n, 0))) for n, s, r, p in zip(names, scores, raw, pts)]
    inside = [min(s, p) for s, p in zip(scores, pts)]
    legend = [(C_LIGHT, "分值"), (C_INK, "自评得分")]
    layers = [(C_LIGHT, 0.62, pts)]
    if any(s > p + 1e-9 for s, p in zip(scores, pts)):
        legend.append((C_OVER, "超出分值"))
        layers.append((C_OVER, 0.34, scores))
    layers.append((C_INK, 0.34, inside))
    return _bars(rows, "分", legend, layers)


def expense_chart(parts: Sequence[tuple[str, float]]) -> bytes | None:
    """Horizontal bars of the expenditure composition in 万元 with shares.  ``parts``: (label, 万元)."""
    if any(p[1] is None for p in parts):  # a part not filled: no picture rather than a 0 bar
        return None
    values = [_num(p[1]) for p in parts]
    total = sum(values)
    if cjk_font_file() is None or not parts or total <= 0:
        return None
    rows = [(str(p[0]), v, f"{nf.money(v)} 万元（{nf.share(v / total)}）") for p, v in zip(parts, values)]
    return _bars(rows, "万元", [], [(C_INK, 0.5, values)])


def render_all(data: dict) -> dict[str, bytes]:
    """The charts of :func:`perfxl.report.context.chart_data` as context key → PNG bytes."""
    out = {}
    for key, png in (("chart_expense", expense_chart(data.get("expense", ()))),
                     ("chart_scores", score_chart(data.get("groups", ()), data.get("unscored")))):
        if png:
            out[key] = png
    return out
