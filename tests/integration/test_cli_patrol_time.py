"""`monitor incident add` takes patrol time as a person says it: when it was seen (default now) and how long; a time
in the future is refused before anything is sent. Run as a supervisor runs it: a process, a real recorder."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

from sqlmodel import Session, select

from monitor.adapters.store.database import open_database
from monitor.adapters.store.tables import IncidentRow
from monitor.config import MonitorConfig
from monitor.services.recorder import Recorder
from tests.support.config import SUPERVISOR, hall_config, supervisor_key_file
from tests.support.hours import on_duty_now
from tests.support.waiting import wait_for


def monitor(*args: str) -> subprocess.CompletedProcess[str]:
    """The command as a process, on a terminal wide enough for the list's table."""
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "COLUMNS": "240"},
    )


def test_now_and_20_minutes_is_an_empty_post_from_20_minutes_ago_until_now(
    tmp_path: Path, one_broker: str, hedong: MonitorConfig
) -> None:
    config, hall_file = hall_config(tmp_path, mqtt_url=one_broker, **on_duty_now(hedong.hall.tz))
    path, key = str(hall_file), str(supervisor_key_file(config))
    engine = open_database(config.database.url)
    recorder = Recorder(config, engine)
    assert recorder.start(wait=30)
    try:
        before = dt.datetime.now(dt.UTC)
        added = monitor(
            "--config", path, "incident", "add", "--window", "C25", "--kind", "empty_post", "--minutes", "20",
            "--key", key,
        )  # fmt: skip
        after = dt.datetime.now(dt.UTC)
        assert added.returncode == 0, added.stderr
        incident_id = added.stdout.strip()

        def recorded() -> IncidentRow | None:
            with Session(engine) as session:
                return session.get(IncidentRow, incident_id)

        wait_for(lambda: recorded() is not None, what="the patrol finding")
        row = recorded()
        assert row is not None and row.ended_at is not None and row.minutes == 20
        assert before <= row.ended_at <= after  # seen now: it ends now
        assert row.started_at == row.ended_at - dt.timedelta(minutes=20)  # and began 20 minutes before

        # An hour from now is refused by the command itself, in its own words, and nothing is sent.
        later = (dt.datetime.now(config.hall.tz) + dt.timedelta(hours=1)).replace(tzinfo=None, microsecond=0)
        future = monitor(
            "--config", path, "incident", "add", "--window", "C25", "--kind", "empty_post", "--minutes", "20",
            "--at", later.isoformat(), "--key", key,
        )  # fmt: skip
        assert future.returncode == 1, future.stdout
        assert f"not recorded: --at {later:%Y-%m-%d %H:%M} is in the future" in future.stderr, future.stderr
        assert "Traceback" not in future.stderr
        with Session(engine) as session:
            assert [r.id for r in session.exec(select(IncidentRow))] == [incident_id]

        month = row.started_at.astimezone(config.hall.tz).strftime("%Y-%m")
        table = monitor("--config", path, "incident", "list", "--month", month)
        assert table.returncode == 0, table.stderr
        assert f"巡查 · {SUPERVISOR}" in table.stdout and "patrol:" not in table.stdout
    finally:
        recorder.stop()
        engine.dispose()


def test_a_future_time_is_refused_before_the_broker_is_asked(tmp_path: Path, hedong: MonitorConfig) -> None:
    """No broker at all: the refusal can only come from the command."""
    config, hall_file = hall_config(tmp_path, mqtt_url="mqtt://127.0.0.1:1", **on_duty_now(hedong.hall.tz))
    later = dt.datetime.now(dt.UTC) + config.recorder.clock_tolerance + dt.timedelta(minutes=5)
    result = monitor(
        "--config", str(hall_file), "incident", "add", "--window", "C20", "--kind", "late_arrival",
        "--at", later.isoformat(), "--minutes", "3", "--key", str(supervisor_key_file(config)),
    )  # fmt: skip
    assert result.returncode == 1, result.stdout
    assert "is in the future" in result.stderr and "cannot reach the MQTT broker" not in result.stderr
    assert "Traceback" not in result.stderr


def test_the_help_says_what_the_time_and_the_minutes_are() -> None:
    shown = monitor("incident", "add", "--help")
    assert shown.returncode == 0, shown.stderr
    text = " ".join(shown.stdout.split())
    assert "default now" in text and "when you saw the post empty, which ends the incident" in text
    assert "the incident began that many minutes before --at" in text
