"""The on-duty rate (在岗率) from the store: the windows' recorded states and approved leave, judged against
the hall's duty calendar by monitor.core.duty_rate."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session

from monitor.adapters.store.window_states import leaves_between, state_history
from monitor.config import MonitorConfig
from monitor.core.duty_rate import DutyRates, hall_duty_rates
from monitor.core.periods import PeriodKind, period_bounds


def duty_rates_between(config: MonitorConfig, session: Session, start: dt.datetime, end: dt.datetime) -> DutyRates:
    """Every window's and department's rate in [start, end) (aware datetimes)."""
    windows = [w.id for w in config.window_list]
    changes = state_history(session, windows, start, end)
    return hall_duty_rates(config, start, end, changes, leaves_between(session, start, end))


def duty_rates(
    config: MonitorConfig, session: Session, kind: PeriodKind, period: str, *, now: dt.datetime
) -> DutyRates:
    """The rates of a day (2020-11-04), an ISO week (2020-W45) or a month (2020-11) in the hall's timezone,
    counted up to `now` for a period not over yet (its `end` is then `now`). An error names a malformed period."""
    start, end = period_bounds(kind, period, config.hall.tz)
    return duty_rates_between(config, session, start, min(end, max(now, start)))
