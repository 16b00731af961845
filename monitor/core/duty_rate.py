"""The on-duty rate (在岗率, pure): how much of the observed duty time each window was staffed.

For a time range [start, end), per window:

- duty time: the window's duty periods (the hall's sessions on its working days, less the window's
  approved leave: `duty_periods`) inside the range;
- observed duty time: the part of the duty time in which the window's state was `present` or
  `absent`. A state holds from its `since` until the next one (the last one until the range's end; a
  state from before the range carries into it); `unknown` (a dark camera), `off_duty`, `leave`, any
  other state and the time before a window's first state are not observed;
- staffed time: the part of the duty time in which the state was `present`;
- the rate: staffed / observed, None when nothing was observed.

A department's figures are the sums over its windows, and its rate the ratio of the sums (a window
watched longer weighs more), as is the hall's total.

An office reads the rates lowest first (what needs attention), and those with nothing observed apart: they have
no rate to rank (`by_rate`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from monitor.config import MonitorConfig
from monitor.core.calendar import DutySession, WorkCalendar
from monitor.core.periods import Span
from monitor.core.presence import DutyPeriod, Leave, StateChange, duty_periods

OBSERVED = frozenset({"present", "absent"})
"""States in which the window is observed; any other state (unknown, off_duty, leave) is not."""
STAFFED = "present"
ZERO = dt.timedelta(0)


@dataclass(frozen=True, slots=True)
class Tally:
    """Duty, observed and staffed time of a window, a department or the hall."""

    duty: dt.timedelta = ZERO
    observed: dt.timedelta = ZERO
    staffed: dt.timedelta = ZERO

    @property
    def rate(self) -> float | None:
        """在岗率: staffed / observed, from 0 to 1; None when nothing was observed."""
        return self.staffed / self.observed if self.observed else None

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.duty + other.duty, self.observed + other.observed, self.staffed + other.staffed)


@dataclass(frozen=True, slots=True)
class WindowHistory:
    """What the rate of one window is computed from."""

    window: str
    department: str
    periods: Sequence[DutyPeriod]
    """The window's duty periods (any order; they may reach outside the range)."""
    changes: Sequence[StateChange]
    """The window's state changes, including the last one before the range; equal `since` keep their order."""


@dataclass(frozen=True, slots=True)
class WindowRate:
    window: str
    department: str
    tally: Tally


@dataclass(frozen=True, slots=True)
class DepartmentRate:
    department: str
    windows: tuple[str, ...]
    tally: Tally


@dataclass(frozen=True, slots=True)
class DutyRates:
    """The on-duty rates of a range: per window (in the order given), per department, and the hall's total."""

    start: dt.datetime
    end: dt.datetime
    windows: tuple[WindowRate, ...]
    departments: tuple[DepartmentRate, ...]
    total: Tally


Rated = TypeVar("Rated", WindowRate, DepartmentRate)


def by_rate(rates: Iterable[Rated]) -> tuple[list[Rated], list[Rated]]:
    """`rates` with something observed, lowest rate first (equal rates in the order given), and those with nothing
    observed, in the order given."""
    given = list(rates)
    observed = [r for r in given if r.tally.rate is not None]
    return sorted(observed, key=lambda r: r.tally.rate or 0.0), [r for r in given if r.tally.rate is None]


def _merged(spans: Iterable[Span]) -> list[Span]:
    """Sorted, disjoint, non-empty spans covering the same time."""
    out: list[Span] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _overlap(a: Sequence[Span], b: Sequence[Span]) -> dt.timedelta:
    """The length of the intersection of two sorted lists of disjoint spans."""
    total, i, j = ZERO, 0, 0
    while i < len(a) and j < len(b):
        low, high = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if high > low:
            total += high - low
        if a[i][1] <= b[j][1]:
            i += 1
        else:
            j += 1
    return total


def _holding(changes: Sequence[StateChange], states: frozenset[str], end: dt.datetime) -> list[Span]:
    """The spans, up to `end`, in which the window's state was one of `states`."""
    ordered = sorted(changes, key=lambda c: c.since)
    spans: list[Span] = []
    for k, change in enumerate(ordered):
        if change.state in states:
            spans.append((change.since, min(ordered[k + 1].since, end) if k + 1 < len(ordered) else end))
    return _merged(spans)


def window_tally(
    periods: Sequence[DutyPeriod], changes: Sequence[StateChange], start: dt.datetime, end: dt.datetime
) -> Tally:
    """Duty, observed and staffed time of one window in [start, end)."""
    duty = _merged((max(p.start, start), min(p.end, end)) for p in periods)
    return Tally(
        duty=sum((high - low for low, high in duty), ZERO),
        observed=_overlap(duty, _holding(changes, OBSERVED, end)),
        staffed=_overlap(duty, _holding(changes, frozenset({STAFFED}), end)),
    )


def duty_rates(
    histories: Sequence[WindowHistory], start: dt.datetime, end: dt.datetime, departments: Sequence[str] = ()
) -> DutyRates:
    """The rates of [start, end): per window, per department (in the order of `departments`, then any other
    in the order its first window comes) and for all the windows together. An empty range counts nothing."""
    end = max(start, end)
    windows = tuple(
        WindowRate(h.window, h.department, window_tally(h.periods, h.changes, start, end)) for h in histories
    )
    members: dict[str, list[WindowRate]] = {d: [] for d in departments}
    for rate in windows:
        members.setdefault(rate.department, []).append(rate)
    return DutyRates(
        start=start,
        end=end,
        windows=windows,
        departments=tuple(
            DepartmentRate(name, tuple(r.window for r in rates), sum((r.tally for r in rates), Tally()))
            for name, rates in members.items()
            if rates
        ),
        total=sum((r.tally for r in windows), Tally()),
    )


def window_department(config: MonitorConfig, window: str) -> str:
    """The department a window's time counts for: its rostered person's, else the window's own (as charged)."""
    person = config.staff_by_window.get(window)
    return (person.department if person and person.department else None) or config.window_by_id[window].department


def hall_duty_rates(
    config: MonitorConfig,
    start: dt.datetime,
    end: dt.datetime,
    changes: Iterable[StateChange],
    leaves: Iterable[Leave],
) -> DutyRates:
    """The rates of every configured window in [start, end), from the hall's duty calendar, the approved
    `leaves` and the windows' state `changes` (including each window's last change before `start`)."""
    tz = config.hall.tz
    calendar = WorkCalendar(config.calendar, config.duty, tz)
    sessions: list[DutySession] = []
    if end > start:
        day, last = start.astimezone(tz).date(), (end - dt.timedelta(microseconds=1)).astimezone(tz).date()
        while day <= last:
            sessions.extend(calendar.sessions_on(day))
            day += dt.timedelta(days=1)
    by_window: dict[str, list[StateChange]] = {w.id: [] for w in config.window_list}
    for change in changes:
        if change.window in by_window:
            by_window[change.window].append(change)
    away: dict[str, list[Leave]] = {w.id: [] for w in config.window_list}
    for leave in leaves:
        if leave.window in away:
            away[leave.window].append(leave)
    histories = [
        WindowHistory(w.id, window_department(config, w.id), duty_periods(sessions, away[w.id]), by_window[w.id])
        for w in config.window_list
    ]
    return duty_rates(histories, start, end, [d.name for d in config.departments])
