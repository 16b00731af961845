"""Duty hours for tests on the real clock: a hall on duty all day, today and the days either side."""

from __future__ import annotations

import datetime as dt
from typing import Any


def on_duty_now(tz: dt.tzinfo) -> dict[str, Any]:
    """`hall_config` sections under which now (and the day before and after, in the hall's time `tz`) is one duty
    session from 00:00 to the end of the day: a test that records what happened "just now" is admitted whenever
    it runs."""
    today = dt.datetime.now(tz).date()
    session = {"name": "全天", "start": dt.time(0), "end": dt.time.max}
    return {
        "duty": {"seasons": [{"name": "全年", "sessions": [session]}]},
        "calendar": {
            "statutory": False,
            "overrides": [{"date": today + dt.timedelta(days=n), "working": True} for n in (-1, 0, 1)],
        },
    }
