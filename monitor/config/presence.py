"""Presence judgement thresholds, evidence retention and worker reporting (the `[presence]` section)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, model_validator

from monitor.config.base import Section
from monitor.units import Duration


class PresenceConfig(Section):
    late_grace: Duration = Field(
        timedelta(minutes=5), description="A first arrival later than session start + this is a late arrival."
    )
    empty_post_after: Duration = Field(
        timedelta(minutes=15), description="A window unstaffed this long during a session is an empty post (空岗)."
    )
    arrive_after: Duration = Field(
        timedelta(seconds=30),
        description="Presence confirmation: readings over this span must mostly show a person before the window "
        "counts as staffed (passers-by and single detections do not).",
    )
    leave_after: Duration = Field(
        timedelta(seconds=60),
        description="Absence confirmation: readings over this span must mostly show an empty seat before the "
        "window counts as unstaffed (missed detections of a seated person do not).",
    )
    early_leave_grace: Duration = Field(
        timedelta(minutes=10),
        description="Leaving before session end − this, without coming back, is an early leave (早退).",
    )
    confirm_ratio: float = Field(
        0.7,
        gt=0.5,
        le=1.0,
        description="Share of the readings in a confirmation span that must agree before the state changes "
        "(above 0.5, so that the two directions cannot both hold: hysteresis).",
    )
    update_every: Duration = Field(
        timedelta(minutes=5), description="While an empty post lasts, an `update` event is sent this often."
    )
    stats_every: Duration = Field(
        timedelta(seconds=60), description="A camera worker publishes its statistics this often."
    )

    @model_validator(mode="after")
    def _positive(self) -> PresenceConfig:
        for name in ("arrive_after", "leave_after", "update_every", "stats_every"):
            if getattr(self, name) <= timedelta(0):
                raise ValueError(f"{name} must be longer than 0s")
        return self
