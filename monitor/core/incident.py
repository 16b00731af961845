"""An incident as the store knows it: what happened, where, to whom, and whether it stands."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

LATE_ARRIVAL = "late_arrival"
EMPTY_POST = "empty_post"
EARLY_LEAVE = "early_leave"


@dataclass(frozen=True, slots=True)
class Incident:
    """A recorded violation. Times are aware; `minutes` is minutes late or the duration so far."""

    id: str
    kind: str
    window: str
    department: str
    started_at: dt.datetime
    ended_at: dt.datetime | None = None
    minutes: int | None = None
    staff: str | None = None
    source: str = ""
    note: str = ""
    dismissed: bool = False
    correction: str | None = None
    """Why it was recorded after its month's notice was issued (a supervisor's correction, shown as 更正)."""
