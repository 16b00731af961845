"""An incident as the store knows it: what happened, where, to whom, and whether it stands."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from monitor.config import MonitorConfig

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


def describe_source(source: str, config: MonitorConfig) -> str:
    """Who found an incident, as the hall says it: its stored source is `camera:<camera id>` or `patrol:<signer>`,
    and a supervisor knows a camera by its place (`[[cameras]] name`), not by its id. 视频 · A区东侧 or
    巡查 · 张三; a camera no longer configured keeps its id (视频 · cam-c-east)."""
    kind, _, who = source.partition(":")
    if kind == "camera":
        camera = next((c for c in config.cameras if c.id == who), None)
        return f"视频 · {camera.place if camera else who}"
    if kind == "patrol":
        return f"巡查 · {who}"
    return source
