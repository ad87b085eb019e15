"""Clerk text made safe and tidy for the report (pure string functions)."""
from __future__ import annotations

import re
from typing import Any

# Characters XML 1.0 forbids, plus the ones docxtpl turns into structure (\a new paragraph,
# \f page break) — clerk text must stay text.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
_END_PUNCT = "。！？!?…"
_CLOSERS = "”’」』）)】"
_LEVEL = re.compile(r"^(.{2,}?)(省|市|县|区|州|旗)(.+)$")


def clean(s: Any) -> str:
    """Clerk text as one clean string: control characters removed, newlines normalised."""
    if s is None:
        return ""
    if type(s) is str and s.isprintable():  # the common case: nothing to replace or remove
        return s.strip()
    s = str(s).replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    return _CONTROL.sub("", s).strip()


def paragraphs(s: Any) -> list[str]:
    """Clerk text split into its non-empty paragraphs (one per line)."""
    return [p.strip() for p in clean(s).split("\n") if p.strip()]


def sentence(s: str) -> str:
    """``s`` ending with a full stop: trailing commas/semicolons become '。'."""
    s = s.strip().rstrip("，,；;：:、 ")
    if not s:
        return ""
    if s.rstrip(_CLOSERS)[-1:] in _END_PUNCT or s[-1] in _END_PUNCT:
        return s
    return s + "。"


def strip_stop(s: str) -> str:
    """``s`` without its final full stop (to continue the sentence)."""
    return s.strip().rstrip("。.；;，, ")


def short_name(dept: str) -> str:
    """'乐昌市民政局' → '市民政局': the department as its own documents call it (place name
    dropped, administrative level kept); the full name when no level character is found."""
    m = _LEVEL.match(dept or "")
    if not m or len(m.group(3)) < 2:
        return dept
    return m.group(2) + m.group(3)
