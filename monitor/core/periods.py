"""The hall's calendar of periods (pure): days, Monday–Sunday weeks and months, their bounds in the hall's
timezone and their names as a notice writes them.

The one home of periods: notices, scores, the on-duty rate, the review pages and the recorder's month all
take their bounds from here. Errors name what is wrong and how to write it, never a command-line flag (the
caller knows where the text came from).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal
from zoneinfo import ZoneInfo

from monitor.errors import InputError

PeriodKind = Literal["day", "week", "month"]
Span = tuple[dt.datetime, dt.datetime]
"""[start, end) in the hall's timezone."""

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def check_day(text: str) -> dt.date:
    if _DAY.match(text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
    raise InputError(f"日期“{text}”格式不对：写作 YYYY-MM-DD，例如 2020-11-04")


def check_week(text: str) -> str:
    """An ISO week as YYYY-Www (2020-W45), checked: the year has that week."""
    match = _WEEK.match(text)
    if not match:
        raise InputError(f"周“{text}”格式不对：写作 YYYY-Www，例如 2020-W45")
    try:
        dt.date.fromisoformat(f"{text}-1")
    except ValueError:
        raise InputError(f"{match.group(1)}年没有第{int(match.group(2))}周") from None
    return text


def check_month(text: str) -> str:
    if not _MONTH.match(text):
        raise InputError(f"月份“{text}”格式不对：写作 YYYY-MM，例如 2020-11")
    return text


def iso_week(day: dt.date) -> str:
    year, number, _ = day.isocalendar()
    return f"{year}-W{number:02d}"


def month_of(day: dt.date) -> str:
    return day.strftime("%Y-%m")


def previous_month(month: str) -> str:
    return month_of(dt.date.fromisoformat(f"{month}-01") - dt.timedelta(days=1))


def next_month(month: str) -> str:
    return month_of(dt.date.fromisoformat(f"{month}-28") + dt.timedelta(days=4))


def weeks_between(first: dt.date, last: dt.date) -> list[str]:
    """The ISO weeks that contain any day of [first, last]."""
    out: list[str] = []
    day = first - dt.timedelta(days=first.weekday())
    while day <= last:
        out.append(iso_week(day))
        day += dt.timedelta(days=7)
    return out


def _span(first: dt.date, after: dt.date, tz: ZoneInfo) -> Span:
    return dt.datetime.combine(first, dt.time(), tz), dt.datetime.combine(after, dt.time(), tz)


def first_of_next_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def day_bounds(day: dt.date, tz: ZoneInfo) -> Span:
    return _span(day, day + dt.timedelta(days=1), tz)


def week_bounds(week: str, tz: ZoneInfo) -> Span:
    """ "2020-W45" -> [Monday 00:00, next Monday 00:00)."""
    monday = dt.date.fromisoformat(f"{week}-1")
    return _span(monday, monday + dt.timedelta(days=7), tz)


def month_bounds(month: str, tz: ZoneInfo) -> Span:
    """ "2020-11" -> [2020-11-01 00:00, 2020-12-01 00:00)."""
    first = dt.date.fromisoformat(f"{month}-01")
    return _span(first, first_of_next_month(first), tz)


def period_bounds(kind: PeriodKind, period: str, tz: ZoneInfo) -> Span:
    """A day (2020-11-04), an ISO week (2020-W45) or a month (2020-11), checked, as [start, end)."""
    if kind == "week":
        return week_bounds(check_week(period), tz)
    if kind == "month":
        return month_bounds(check_month(period), tz)
    return day_bounds(check_day(period), tz)


def containing(kind: PeriodKind, moment: dt.date | dt.datetime, tz: ZoneInfo) -> Span:
    """The day, week or month that contains `moment` (a hall-local date, or an aware moment)."""
    day = moment.astimezone(tz).date() if isinstance(moment, dt.datetime) else moment
    if kind == "week":
        return week_bounds(iso_week(day), tz)
    if kind == "month":
        return month_bounds(month_of(day), tz)
    return day_bounds(day, tz)


def chinese_date(day: dt.date) -> str:
    """2020年12月17日: the year in full, no leading zeros (GB/T 9704's 成文日期)."""
    return f"{day.year}年{day.month}月{day.day}日"


def week_words(week: str) -> str:
    """A week as a hall says it: 2020年11月2日至11月8日 (2020年12月28日至2021年1月3日 across a new year)."""
    monday = dt.date.fromisoformat(f"{week}-1")
    sunday = monday + dt.timedelta(days=6)
    last = chinese_date(sunday) if sunday.year != monday.year else f"{sunday.month}月{sunday.day}日"
    return f"{chinese_date(monday)}至{last}"


def month_words(month: str) -> str:
    """2020年11月."""
    return f"{int(month[:4])}年{int(month[5:])}月"


def span_words(start: dt.datetime, end: dt.datetime, tz: dt.tzinfo, *, year: int | None = None) -> str:
    """12月1日 09:00 至 18:00; 12月1日 09:00 至 12月3日 18:00 across days; the end's year when it is not the start's.
    `year`: the year the reader is in (a log read years later), the start's year too when it is not that one."""
    first, last = start.astimezone(tz), end.astimezone(tz)
    head = f"{first.month}月{first.day}日 {first:%H:%M}"
    if year is not None and first.year != year:
        head = f"{first.year}年{head}"
    if last.date() == first.date():
        return f"{head} 至 {last:%H:%M}"
    year = f"{last.year}年" if last.year != first.year else ""
    return f"{head} 至 {year}{last.month}月{last.day}日 {last:%H:%M}"
