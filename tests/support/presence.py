"""The presence machine's tests: a hall calendar and scripted seat timelines."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from monitor.config import CalendarConfig, DutyConfig, PresenceConfig
from monitor.core.calendar import WorkCalendar
from monitor.core.presence import IncidentChange, Leave, Observation, Output, PresenceMachine, StateChange

TZ = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2020, 11, 3)  # a Tuesday, a working day
CALENDAR = WorkCalendar(CalendarConfig(), DutyConfig(), TZ)

Segment = tuple[str, str, bool | None]
"""(from HH:MM[:SS], to HH:MM[:SS], reading): the seat reads `reading` every step in [from, to)."""


def at(clock: str, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.fromisoformat(clock), TZ)


def machine(config: PresenceConfig | None = None, leaves: Sequence[Leave] = (), windows: Sequence[str] = ("F01",)):
    return PresenceMachine("cam1", windows, config or PresenceConfig(), CALENDAR.sessions_on, TZ, leaves)


def run(
    segments: Sequence[Segment],
    *,
    config: PresenceConfig | None = None,
    leaves: Sequence[Leave] = (),
    step: dt.timedelta = dt.timedelta(seconds=1),
    window: str = "F01",
) -> list[Output]:
    """Feed the timeline to a fresh machine; return everything it emitted."""
    presence = machine(config, leaves, (window,))
    out: list[Output] = []
    for start, end, reading in segments:
        moment, stop = at(start), at(end)
        while moment < stop:
            out.extend(presence.observe(Observation(window, moment, reading)))
            moment += step
    return out


def incidents(out: Sequence[Output]) -> list[IncidentChange]:
    return [o for o in out if isinstance(o, IncidentChange)]


def states(out: Sequence[Output]) -> list[StateChange]:
    return [o for o in out if isinstance(o, StateChange)]
