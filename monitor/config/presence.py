"""Presence judgement thresholds. (Owned by the camera-worker work: extend freely.)"""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from monitor.config.base import Section
from monitor.units import Duration


class PresenceConfig(Section):
    late_grace: Duration = Field(timedelta(minutes=5), description="Arrival later than session start + this is late.")
    empty_post_after: Duration = Field(timedelta(minutes=15), description="Unstaffed this long is an empty post.")
