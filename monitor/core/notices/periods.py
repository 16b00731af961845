"""Notice periods (pure): ISO weeks and months, and when each period's notice is due."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from monitor.config.notices import WEEKDAYS, ScheduleConfig
from monitor.errors import InputError

_WEEK = re.compile(r"^(\d{4})-W(0[1-9]|[1-4]\d|5[0-3])$")
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def check_week(week: str) -> str:
    match = _WEEK.match(week)
    if not match:
        raise InputError(f"--week {week!r}: write an ISO week as YYYY-Www, e.g. 2020-W45")
    try:
        dt.date.fromisoformat(f"{week}-1")
    except ValueError:
        raise InputError(f"--week {week!r}: {match.group(1)} has no week {match.group(2)}") from None
    return week


def check_month(month: str) -> str:
    if not _MONTH.match(month):
        raise InputError(f"--month {month!r}: write the month as YYYY-MM, e.g. 2020-11")
    return month


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


def weekly_due(week: str, schedule: ScheduleConfig, tz: ZoneInfo) -> dt.datetime:
    """The moment a week's notice is due: its configured weekday and time in the following week,
    after the Monday–Sunday week it reports has ended."""
    following = dt.date.fromisoformat(f"{week}-1") + dt.timedelta(days=7)
    day = following + dt.timedelta(days=WEEKDAYS.index(schedule.weekly_day))
    return dt.datetime.combine(day, schedule.weekly_time, tz)


def monthly_due(month: str, schedule: ScheduleConfig, tz: ZoneInfo) -> dt.datetime:
    """The moment a month's roll-up is due: the configured day and time of the following month."""
    following = dt.date.fromisoformat(f"{next_month(month)}-{schedule.monthly_day:02d}")
    return dt.datetime.combine(following, schedule.monthly_time, tz)
