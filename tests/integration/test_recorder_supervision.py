"""A recorder that stops working says so and makes way: a dead thread ends its process (non-zero), the standby
takes the lease, and its heartbeat tells anyone — `monitor recorder --check`, the console — when none works."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from sqlmodel import Session, select

from monitor.adapters.store.database import open_database
from monitor.adapters.store.tables import IncidentRow
from monitor.contract import RecorderHeartbeat, Topics
from monitor.services.recorder import Recorder
from monitor.services.recorder.health import health, read_heartbeat
from tests.integration.test_integrity import patrol
from tests.support.config import hall_config, supervisor_key
from tests.support.mqtt import Mosquitto, publish
from tests.support.recorder import subscribed_holder
from tests.support.waiting import wait_for

LEASE = dt.timedelta(seconds=6)
HEARTBEAT = dt.timedelta(seconds=1)

# A recorder process whose inbox thread is killed from outside once it holds the session: a fault no message
# can cause (PyThreadState_SetAsyncExc raises in that thread alone), as a bug in a library would.
KILL_ONE_THREAD = textwrap.dedent(
    """
    import ctypes, sys, threading, time
    from monitor.adapters.store.database import open_database
    from monitor.config import load_config
    from monitor.services.recorder import Recorder

    config = load_config(sys.argv[1])
    recorder = Recorder(config, open_database(config.database.url))
    assert recorder.start(wait=30), "not subscribed"
    time.sleep(1)
    victim = next(t for t in threading.enumerate() if t.name == sys.argv[2])
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(victim.ident), ctypes.py_object(RuntimeError))
    time.sleep(60)  # the supervisor ends the process long before
    print("STILL ALIVE")
    """
)


def _process(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, *args], stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"}
        )


def _recorded(engine: object, incident_id: str) -> bool:
    with Session(engine) as session:  # type: ignore[arg-type]
        return session.exec(select(IncidentRow).where(IncidentRow.id == incident_id)).first() is not None


def _check(config_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(config_path), "recorder", "--check"],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("thread", ["recorder-inbox", "recorder-alerts", "recorder-lease"])
def test_a_dead_thread_ends_the_process_and_the_standby_takes_over(tmp_path: Path, db_url: str, thread: str) -> None:
    with Mosquitto(tmp_path / "broker") as broker:
        config, path = hall_config(
            tmp_path, db_url=db_url, mqtt_url=broker.url, recorder={"lease": LEASE, "heartbeat": HEARTBEAT}
        )
        engine = open_database(db_url)
        victim = _process(["-c", KILL_ONE_THREAD, str(path), thread], tmp_path / "victim.log")
        standby: subprocess.Popen[bytes] | None = None
        try:
            wait_for(lambda: subscribed_holder(engine) == victim.pid, timeout=60, what="the victim holds the session")
            standby = _process(["-m", "monitor", "--config", str(path), "recorder"], tmp_path / "standby.log")
            status = victim.wait(30)
            log = (tmp_path / "victim.log").read_text()
            assert status == 70, log
            assert f"thread {thread} died" in log and "STILL ALIVE" not in log
            died = dt.datetime.now(dt.UTC)
            wait_for(lambda: subscribed_holder(engine) == standby.pid, timeout=LEASE.total_seconds() + 10)
            taken = dt.datetime.now(dt.UTC) - died
            assert taken <= LEASE + dt.timedelta(seconds=5)
            key = supervisor_key(config)
            publish(broker.url, Topics(config.mqtt.topic_prefix).incidents, [key.sign(patrol("after")).to_json()])
            wait_for(lambda: _recorded(engine, "after"), what="the standby recording")
            checked = _check(path)
            assert checked.returncode == 0, checked.stdout + checked.stderr
            assert "记录器正常" in checked.stdout
        finally:
            for process in (victim, standby):
                if process is not None and process.poll() is None:
                    process.send_signal(signal.SIGTERM)
                    process.wait(20)
            engine.dispose()


def test_the_check_reports_a_recorder_that_stopped_working(tmp_path: Path, mosquitto_url: str) -> None:
    config, path = hall_config(tmp_path, mqtt_url=mosquitto_url, recorder={"heartbeat": HEARTBEAT})
    never = _check(path)
    assert never.returncode == 1
    assert "记录器无响应" in never.stdout and "未收到记录器心跳" in never.stdout
    fatal: list[str] = []
    recorder = Recorder(config, open_database(config.database.url), on_fatal=fatal.append)
    assert recorder.start()
    try:
        wait_for(lambda: read_heartbeat(config) is not None, what="a heartbeat")
        working = _check(path)
        assert working.returncode == 0 and "记录器正常" in working.stdout, working.stdout
        # The inbox stops working while the process lives (a database call that never returns): the heartbeat,
        # sent by that very thread, stops.
        stuck = threading.Event()
        real = recorder.writer.apply
        recorder.writer.apply = lambda messages: (stuck.wait(), real(messages))[1]  # type: ignore[method-assign]
        publish(mosquitto_url, Topics(config.mqtt.topic_prefix).incidents, [b"{}"])
        wait_for(
            lambda: (beat := read_heartbeat(config)) is not None and beat.stale(dt.datetime.now(dt.UTC)),
            timeout=30,
            what="the heartbeat going stale",
        )
        stale = _check(path)
        assert stale.returncode == 1
        assert "记录器无响应：最后心跳" in stale.stdout
        stuck.set()
    finally:
        recorder.stop()
        recorder.engine.dispose()
    assert fatal == []


def test_health_reads_the_heartbeat_as_a_supervisor_would() -> None:
    now = dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.UTC)
    tz = dt.timezone(dt.timedelta(hours=8))
    beat = RecorderHeartbeat(instance="h|1|a", at=now - dt.timedelta(seconds=5), every=10, processed=3)
    assert health(beat, now, tz).working
    assert "记录器正常" in health(beat, now, tz).text
    late = beat.model_copy(update={"at": now - dt.timedelta(seconds=31)})
    assert not health(late, now, tz).working
    assert health(late, now, tz).text.startswith("记录器无响应：最后心跳 09:59:29")
    assert not health(None, now, tz).working
