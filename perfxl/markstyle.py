"""How perfxl's marks look in a workbook: one fill colour and one note header per severity.

Shared by the file writer (through :mod:`perfxl.edits`) and the open-book writer
(:mod:`perfxl.excel`), so that each recognises and removes the other's marks.
"""
from __future__ import annotations

from .findings import Severity
from .xlsx.scheme import FlagKind, FlagScheme, NoteFont

AUTHOR = "perfxl"

# Severity → how its cells look. ``code`` is what the marker formula and the undo record hold
# ("perfxl-error"); the fills are Excel's light red, orange and yellow.
SEVERITY_KINDS: dict[str, FlagKind] = {
    Severity.ERROR: FlagKind("error", 3, "FFFFC7CE", f"{AUTHOR} {Severity.ERROR}："),
    Severity.WARNING: FlagKind("warning", 2, "FFFFD8A8", f"{AUTHOR} {Severity.WARNING}："),
    Severity.INFO: FlagKind("info", 1, "FFFFF2CC", f"{AUTHOR} {Severity.INFO}："),
}

SCHEME = FlagScheme(
    author=AUTHOR,
    marker=f"{AUTHOR}-",
    state_ns="urn:perfxl:marks:1",
    kinds=tuple(SEVERITY_KINDS.values()),
    font=NoteFont(name="宋体", size="9", charset="134", color_indexed="81"),  # Excel's note font in a Chinese UI
)


def kind_of(severity: str) -> FlagKind | None:
    """The look of marks of ``severity`` (错误 | 警告 | 提示); None for anything else."""
    return SEVERITY_KINDS.get(severity)
