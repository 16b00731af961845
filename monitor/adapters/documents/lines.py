"""Where printed Chinese text may break (pure): the width of a text in em as a word processor sets it, and a title
or caption broken into balanced lines only at sense boundaries (GB/T 9704 7.3.1: 回行时要做到词意完整), never
inside a word or a date. The .docx, the .xlsx and the HTML preview all break the same way."""

from __future__ import annotations

import re
from itertools import pairwise

_FULL_WIDTH = frozenset("—“”‘’…")
"""Punctuation below the CJK blocks that Chinese fonts print a full em wide (10:30—11:20, “好差评”)."""


def text_width(text: str) -> float:
    """Text width in em as printed, rather more than less: CJK and full-width characters one, digits 0.64 (where
    the GB fonts are missing, Latin text is printed in DejaVu Sans, whose digits are that wide; the GB fonts'
    half-width digits take 0.5), other Latin characters 0.55, and a quarter em where Latin and CJK meet
    (LibreOffice and Word space them apart)."""
    wide = [ord(ch) > 0x2E80 or ch in _FULL_WIDTH for ch in text]
    switches = sum(1 for a, b in pairwise(wide) if a != b)
    narrow = sum(0.64 if ch.isdigit() else 0.55 for ch, w in zip(text, wide, strict=True) if not w)
    return sum(wide) + narrow + 0.25 * switches


_NOTE = re.compile(r"\s+(?=[(（])")


def header_words(head: str) -> list[str]:
    """A header may wrap before its full-marks note: "工作纪律 (40 分)" -> 工作纪律 / (40 分)."""
    return _NOTE.split(head)


_BREAK_AFTER = ("关于", "中心", "月份", "周", "窗口", "至", "人员", "情况")
_BREAK_BEFORE = ("至", "工作纪律", "违反", "及")
"""Where a title or caption may break: after or before these words, never inside a word such as 工作人员."""
_UNBREAKABLE = re.compile(r"(?:\d{4}年)?\d{1,2}月(?:\d{1,2}日|份)?|\d{4}年|第\d+周")
"""Dates (2020年11月2日, 11月8日, 11月份, 2020年, 第45周), which a break must never split."""


def title_lines(title: str, per_line: float) -> list[str]:
    """The title in as few balanced lines as fit `per_line` em, broken only at a sense boundary: after or before
    the words of `_BREAK_AFTER` / `_BREAK_BEFORE`, never inside a date or a word."""
    if text_width(title) <= per_line:
        return [title]
    inside = {i for m in _UNBREAKABLE.finditer(title) for i in range(m.start() + 1, m.end())}
    cuts = {i + len(w) for w in _BREAK_AFTER for i in range(len(title)) if title.startswith(w, i)}
    cuts |= {i for w in _BREAK_BEFORE for i in range(len(title)) if title.startswith(w, i)}
    fitting = [c for c in sorted(cuts - inside - {0, len(title)}) if text_width(title[:c]) <= per_line]
    if not fitting:
        return [title]
    best = min(
        fitting, key=lambda c: (text_width(title[c:]) > per_line, abs(text_width(title[:c]) - text_width(title[c:])))
    )
    return [title[:best], *title_lines(title[best:], per_line)]
