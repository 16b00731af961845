"""Titles and captions break only at sense boundaries (monitor/adapters/documents/lines.py): never inside a date
or a word, in balanced lines that fit the 版心 where a boundary allows."""

from __future__ import annotations

import datetime as dt
import re

from hypothesis import given
from hypothesis import strategies as st

from monitor.adapters.documents.lines import text_width, title_lines
from monitor.core.periods import iso_week, week_words

PER_LINE = 20.1
"""2号 characters in the 版心's 156 mm."""
DATE = re.compile(r"(?:\d{4}年)?\d{1,2}月\d{1,2}日")


def test_the_seed_titles() -> None:
    assert title_lines("区政务服务中心11月份派驻部门窗口及工作人员考核情况通报", PER_LINE) == [
        "区政务服务中心11月份派驻部门窗口",
        "及工作人员考核情况通报",
    ]
    assert title_lines("区政务服务中心2020年11月2日至11月8日工作纪律情况通报", PER_LINE) == [
        "区政务服务中心2020年11月2日",
        "至11月8日工作纪律情况通报",
    ]


@given(
    st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2099, 12, 31)),
    st.sampled_from(["区政务服务中心", "市民中心", "临沂市河东区政务服务中心"]),
)
def test_a_weekly_title_never_breaks_inside_a_date(day: dt.date, hall: str) -> None:
    title = f"{hall}{week_words(iso_week(day))}工作纪律情况通报"
    lines = title_lines(title, PER_LINE)
    assert "".join(lines) == title
    dates = [m.span() for m in DATE.finditer(title)]
    cuts = [sum(len(line) for line in lines[:n]) for n in range(1, len(lines))]
    assert not [c for c in cuts for start, end in dates if start < c < end], (lines, dates)
    assert all(text_width(line) <= PER_LINE for line in lines)


@given(st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2099, 12, 31)))
def test_an_attachment_title_fits_its_lines_and_keeps_its_words(day: dt.date) -> None:
    """附件2's title at 18 pt (24.5 characters a line): it once broke "照片" apart where a date's digits printed wider
    than estimated."""
    for caption in (
        f"{week_words(iso_week(day))}违反工作纪律抓拍照片",
        f"{week_words(iso_week(day))}违反工作纪律情况明细",
    ):
        lines = title_lines(caption, 156 / (18 / 72 * 25.4))
        assert all(text_width(line) <= 156 / (18 / 72 * 25.4) for line in lines), lines
        assert not lines[-1].startswith(("片", "细")), lines
