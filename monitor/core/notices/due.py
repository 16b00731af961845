"""Which notices are due at a moment, given what the ledger already holds (pure; time is a parameter)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from monitor.config.notices import ScheduleConfig
from monitor.core.notices.periods import iso_week, month_of, monthly_due, previous_month, weekly_due


@dataclass(frozen=True, slots=True)
class Due:
    kind: str
    period: str
    due_at: dt.datetime


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
