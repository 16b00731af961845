"""When each notice is due, and which are due at a moment given what the ledger already holds (pure; time is a
parameter)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from monitor.config.notices import WEEKDAYS, ScheduleConfig
from monitor.core.periods import iso_week, month_of, next_month, previous_month


@dataclass(frozen=True, slots=True)
class Due:
    kind: str
    period: str
    due_at: dt.datetime


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


def _recent_weeks(now: dt.datetime, count: int) -> list[str]:
    today = now.date()
    return [iso_week(today - dt.timedelta(weeks=n)) for n in range(count, -1, -1)]


def _recent_months(now: dt.datetime, count: int) -> list[str]:
    month = month_of(now.date())
    out = [month]
    for _ in range(count + 1):
        month = previous_month(month)
        out.insert(0, month)
    return out


def due_notices(now: dt.datetime, schedule: ScheduleConfig, tz: ZoneInfo, known: dict[str, set[str]]) -> list[Due]:
    """Notices due by `now` that the ledger does not hold, oldest first.

    After downtime every missed period since the newest one in the ledger is due (bounded by the
    catch-up settings); with an empty ledger (a first start) only the latest due period is, so a
    new installation does not issue a backlog of old notices.
    """
    local = now.astimezone(tz)
    out: list[Due] = []
    for kind, candidates, due_of in (
        ("weekly", _recent_weeks(local, schedule.catch_up_weeks), weekly_due),
        ("monthly", _recent_months(local, schedule.catch_up_months), monthly_due),
    ):
        have = known.get(kind, set())
        due = [Due(kind, p, due_of(p, schedule, tz)) for p in candidates]
        due = [d for d in due if d.due_at <= local and d.period not in have]
        if have:
            due = [d for d in due if d.period > max(have)]
        elif due:
            due = due[-1:]
        out += due
    return sorted(out, key=lambda d: d.due_at)
