"""How an application's marks look, so that they can be added and recognised again.

The XML layer knows how to highlight a cell and attach a note; which kinds of marks exist, their
colours, the note's author, header lines and font are the caller's (perfxl's are in
``perfxl.markstyle``).
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from functools import cached_property


@dataclass(frozen=True)
class FlagKind:
    """One kind of mark."""

    code: str  # ASCII id, written into the marker formula and the state part ("error")
    rank: int  # a cell flagged with several kinds shows the fill of the highest rank
    fill: str  # ARGB of the solid fill, e.g. "FFFFC7CE"
    header: str  # the note's bold first line, e.g. "perfxl 错误："


@dataclass(frozen=True)
class NoteFont:
    """The font of the note runs a flag adds (values as SpreadsheetML writes them)."""

    name: str
    size: str = "9"
    charset: str | None = None  # e.g. "134" (GB2312) for a Chinese font
    color_indexed: str | None = "81"  # Excel's note text colour


@dataclass(frozen=True)
class FlagScheme:
    """An application's marks: author, marker, kinds and note font.

    ``marker`` starts the text of the conditional-format formula ("perfxl-" gives
    ``"perfxl-error"<>""``); ``state_ns`` is the namespace of the custom XML part recording what
    the marks added, so that clearing them restores the file exactly.
    """

    author: str
    marker: str
    state_ns: str
    kinds: tuple[FlagKind, ...]
    font: NoteFont

    def kind(self, code: str) -> FlagKind | None:
        return self.by_code.get(code)

    @cached_property
    def by_code(self) -> dict[str, FlagKind]:
        return {k.code: k for k in self.kinds}

    @cached_property
    def formula_prefix(self) -> str:
        return '"' + self.marker

    @cached_property
    def token(self) -> bytes:
        """How the marker shows in a part's bytes, whatever the quote's escaping."""
        return self.marker.encode()

    @cached_property
    def header_re(self) -> re.Pattern:
        """A note run that is one of our header lines (after a line break when appended)."""
        return re.compile(r"^\n?(?:" + "|".join(re.escape(k.header) for k in self.kinds) + r")$")

    @cached_property
    def text_mark_re(self) -> re.Pattern:
        """Where our text starts in a note written as plain text (by the add-in in Excel)."""
        return re.compile(r"(?:^|\n)(?:" + "|".join(re.escape(k.header) for k in self.kinds) + r")\n")

    @cached_property
    def state_guid(self) -> str:
        """The item id of the state part's properties (stable per scheme)."""
        return "{" + str(uuid.uuid5(uuid.NAMESPACE_URL, self.state_ns)).upper() + "}"
