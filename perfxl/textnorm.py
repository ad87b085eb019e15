"""Text normalisation for comparing clerks' prose: NFKC, then punctuation and spaces removed.

Used to find repeated paragraphs and empty or boilerplate sections (perfxl.validate).
"""
from __future__ import annotations

import re
import unicodedata

_PUNCT_CHARS = r"\s。．.、，,；;：:！!？?“”\"'‘’（）()【】\[\]…"
_PUNCT = re.compile(f"[{_PUNCT_CHARS}]+")

# NFKC, fast for everyday Chinese prose.  unicodedata.normalize takes its slow path as soon as
# one full-width "，" appears (~0.25 µs a character).  Text made only of the characters below
# normalises character by character: each maps to itself or to ASCII (full-width forms, the
# ideographic space, "…"), every result is a starter that composes with nothing, so the
# string's NFKC is the concatenation (tests/test_validate.py checks this against unicodedata).
_NFKC_PLAIN = re.compile("[^\t\n\r\x20-\x7e\u00b7\u2014\u2018\u2019\u201c\u201d\u2026"
                         "\u3000-\u301f\u4e00-\u9fff\uff01-\uff5e]")
_NFKC_MAPPED = re.compile("[\u2026\u3000\uff01-\uff5e]")
_NFKC_MAP = {ch: unicodedata.normalize("NFKC", ch) for ch in ["\u2026", "\u3000"] + [chr(c) for c in range(0xFF01, 0xFF5F)]}


def _nfkc_char(m: re.Match) -> str:
    return _NFKC_MAP[m.group()]


def nfkc(text: str) -> str:
    if _NFKC_PLAIN.search(text) is None:
        return _NFKC_MAPPED.sub(_nfkc_char, text)
    return unicodedata.normalize("NFKC", text)


# On such text _PUNCT can run first (so fewer characters are mapped): a character is dropped
# when its NFKC form is all punctuation, i.e. _PUNCT's characters plus the full-width forms of
# ASCII punctuation _PUNCT lacks (＂＇［］).  Exact as long as _PUNCT keeps no character whose
# NFKC form it would not also remove — checked here.
_PUNCT_FIRST_OK = all(_PUNCT.fullmatch(n) for ch, n in _NFKC_MAP.items() if _PUNCT.fullmatch(ch))
_PUNCT_PLAIN = re.compile("[" + _PUNCT_CHARS + "".join(
    re.escape(ch) for ch, n in _NFKC_MAP.items() if _PUNCT.fullmatch(n) and not _PUNCT.fullmatch(ch)) + "]+")


def norm(text: str) -> str:
    if _PUNCT_FIRST_OK and _NFKC_PLAIN.search(text) is None:
        return _NFKC_MAPPED.sub(_nfkc_char, _PUNCT_PLAIN.sub("", text))
    return _PUNCT.sub("", nfkc(text))
