"""Text for a terminal: nothing from a workbook may drive it.

A cell (or a file name) can hold ESC, BEL, backspace or carriage return; printed raw they
move the cursor, recolour or retitle the terminal, ring the bell, or hide what came before.
:func:`printable` drops them, and the bidirectional controls that reorder what is shown.
"""
from __future__ import annotations

import os
import re
import sys

# C0 controls except TAB and LF, DEL, the C1 controls, and the bidi embedding / override /
# isolate characters (U+202A–U+202E, U+2066–U+2069).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` without control characters (tab and line feed kept)."""
    return _CONTROL.sub("", text)


def write_stdout(text: str) -> None:
    """Print ``text`` (control characters made visible, :func:`printable`) to stdout.  A reader
    that stopped reading (``| head -1``) is not an error: the command still finishes its work
    and returns its own exit code, the rest of the text goes nowhere."""
    text = printable(text)
    try:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        stdout_closed()


def stdout_closed() -> None:
    """Point stdout at the null device: later writes, and the flush at exit, cannot fail."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError):
        pass
