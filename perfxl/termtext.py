"""Text for a terminal: nothing from a workbook may drive it.

A cell (or a file name) can hold ESC, BEL, backspace or carriage return; printed raw they
move the cursor, recolour or retitle the terminal, ring the bell, or hide what came before.
:func:`printable` drops them, and the bidirectional controls that reorder what is shown.
"""
from __future__ import annotations

import re

# C0 controls except TAB and LF, DEL, the C1 controls, and the bidi embedding / override /
# isolate characters (U+202A–U+202E, U+2066–U+2069).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` without control characters (tab and line feed kept)."""
    return _CONTROL.sub("", text)
