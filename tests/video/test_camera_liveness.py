"""Real camera services the recorder no longer hears (issue 19): `monitor worker` processes on a real RTSP camera
(a fixture clip where the seat is staffed, served in a loop) and the shipped detector, a real Mosquitto, the
recorder on SQLite and PostgreSQL.

- Killed with SIGKILL during duty: its window is `unknown` in the history from no later than the kill, the
  supervisors get an alert naming the camera, and the day's on-duty rate counts nothing observed after the kill.
- Stopped with SIGSTOP (alive on MQTT, publishing nothing; no last will fires, the keep-alive is long): its window
  is `unknown` after offline_after; a simulated day passes while it is stopped, and that next day's rate has
  nothing observed; SIGCONT brings it back, and its window is staffed again.

Frames of a live stream are stamped with the clock, so the hall works around the clock here (one session a day,
today and the days around it working days).
"""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlmodel import Session, select

from monitor.adapters.store.database import open_database
from monitor.adapters.store.tables import AlertRow
from monitor.config import MonitorConfig
from monitor.contract import CAMERA_OFFLINE, Alert, Topics
from monitor.core.duty_rate import Tally
from monitor.services.duty_rate import duty_rates, duty_rates_between
from monitor.services.recorder import Recorder
from monitor.tools.streams.encode import D1, StreamFormat
from monitor.tools.streams.rtsp import RtspServer
from tests.support.config import Hall, hall_config
from tests.support.liveness import Judged, duty_around_today, history, worker_process
from tests.support.mqtt import Subscriber
from tests.support.video import SEATED_WINDOW, seated_stream
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.mosquitto, pytest.mark.slow]

CAMERA = "cam-f03"
WINDOW = SEATED_WINDOW
FORMAT = StreamFormat(D1.width, D1.height, fps=25, gop=25)
OFFLINE_AFTER = dt.timedelta(seconds=4)
KEEPALIVE = dt.timedelta(seconds=5)
MARGIN = 15.0
"""Seconds allowed on top of what the configuration says, for a busy 2-core machine."""
PRESENCE = {
    "stats_every": dt.timedelta(seconds=60),  # the camera speaks every offline_after / 3 all the same
    "arrive_after": dt.timedelta(seconds=3),
    "leave_after": dt.timedelta(seconds=3),
    "empty_post_after": dt.timedelta(seconds=4),
}
FOLLOW = 120.0
"""Seconds a worker has to start (load its detector, open the stream) and see the seat staffed."""


@pytest.fixture(scope="module")
def stream_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return seated_stream(tmp_path_factory.mktemp("rtsp"), FORMAT)


def live_hall(
    base: MonitorConfig, directory: Path, broker: str, url: str, *, db_url: str | None, keepalive: dt.timedelta
) -> Hall:
    """The fixture hall with CAMERA on `url`; duty all day around today."""
    camera = next(c for c in base.cameras if c.id == CAMERA).model_copy(
        update={
            "url": url,
            "offline_after": OFFLINE_AFTER,
            "reconnect_initial": dt.timedelta(seconds=1),
            "reconnect_max": dt.timedelta(seconds=2),
        }
    )
    return hall_config(
        directory,
        hall="fixture",
        db_url=db_url,
        mqtt_url=broker,
        mqtt={"keepalive": keepalive},
        presence=PRESENCE,
        detector={"threads": 1},
        cameras=[camera],
        **duty_around_today(base.hall.tz),
    )


class Clock:
    """The recorder's clock: the real one, moved on by `ahead` (a simulated day)."""

    def __init__(self) -> None:
        self.ahead = dt.timedelta(0)

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.ahead


@contextmanager
def watching(hall: Hall, clock: Clock | None = None) -> Iterator[tuple[Recorder, Judged, Subscriber]]:
    """The recorder of the hall (on `clock`), what it judges of CAMERA, and the supervisors' alerts."""
    config = hall.config
    recorder = Recorder(config, open_database(config.database.url), **({"clock": clock} if clock else {}))
    assert recorder.start(), "the recorder's subscriptions were not confirmed"
    judged = Judged(config.mqtt.url, config, CAMERA)
    phone = Subscriber(config.mqtt.url, Topics(config.mqtt.topic_prefix).alerts, qos=2)
    try:
        yield recorder, judged, phone
    finally:
        phone.close()
        judged.close()
        recorder.stop()
        recorder.engine.dispose()


def staffed(recorder: Recorder) -> bool:
    """Whether the window's latest stored state is `present`."""
    return [state for state, _ in history(recorder.engine, WINDOW)][-1:] == ["present"]


def test_a_camera_service_killed_during_duty_leaves_its_window_unknown_from_the_kill_and_an_alert(
    fixture_hall: MonitorConfig, mosquitto_url: str, db_url: str, stream_file: Path, tmp_path: Path
) -> None:
    server = RtspServer({"cam": stream_file})
    with server:
        hall = live_hall(
            fixture_hall, tmp_path / "hall", mosquitto_url, server.url("cam"), db_url=db_url, keepalive=KEEPALIVE
        )
        camera = hall.config.cameras[0]
        with watching(hall) as (recorder, judged, phone):
            worker = worker_process(hall.path, CAMERA, tmp_path / "worker.log")
            try:
                wait_for(lambda: staffed(recorder), timeout=FOLLOW, what=f"{WINDOW} staffed, as the worker sees it")
                wait_for(lambda: judged.last() == "live", what=f"{CAMERA} live")
                killed = dt.datetime.now(dt.UTC)
                worker.send_signal(signal.SIGKILL)
                worker.wait(10)
                wait_for(
                    lambda: judged.last() in ("gone", "silent"),
                    timeout=(OFFLINE_AFTER + KEEPALIVE).total_seconds() + MARGIN,
                    what=f"{CAMERA} judged out of service",
                )
                wait_for(lambda: history(recorder.engine, WINDOW)[-1][0] == "unknown", what="the unknown mark")
                wait_for(lambda: phone.payloads(), what="the supervisors' alert")
                time.sleep(2)  # the recorder keeps judging: nothing more comes of it
                states = history(recorder.engine, WINDOW)
            finally:
                if worker.poll() is None:
                    worker.kill()
            alerts = [Alert.from_json(p) for p in phone.payloads()]
            assert [a.kind for a in alerts] == [CAMERA_OFFLINE]
            assert (alerts[0].camera, alerts[0].windows) == (CAMERA, [WINDOW])
            assert (
                f"{camera.place}摄像头服务无响应" in alerts[0].message and f"{WINDOW}窗口状态未知" in alerts[0].message
            )
            with Session(recorder.engine) as session:
                assert len(session.exec(select(AlertRow)).all()) == 1
                observed_from = next(since for state, since in states if state in ("present", "absent"))
                (marked,) = [since for state, since in states if state == "unknown" and since > observed_from]
                assert states[-1] == ("unknown", marked) and marked <= killed
                # The day's rate: nothing observed after the kill, however late it is asked.
                day = duty_rates_between(hall.config, session, observed_from, killed + dt.timedelta(hours=3))
            tally = next(w for w in day.windows if w.window == WINDOW).tally
            assert tally.observed == marked - observed_from
            assert tally.staffed <= tally.observed


def test_a_hung_camera_service_goes_unknown_a_day_passes_unobserved_and_it_comes_back(
    fixture_hall: MonitorConfig, mosquitto_url: str, stream_file: Path, tmp_path: Path
) -> None:
    server = RtspServer({"cam": stream_file})
    clock = Clock()
    with server:
        # A keep-alive of two minutes: its last will cannot fire within the test, only silence tells.
        keepalive = dt.timedelta(seconds=120)
        hall = live_hall(
            fixture_hall, tmp_path / "hall", mosquitto_url, server.url("cam"), db_url=None, keepalive=keepalive
        )
        config = hall.config
        with watching(hall, clock) as (recorder, judged, phone):
            worker = worker_process(hall.path, CAMERA, tmp_path / "worker.log")
            try:
                wait_for(lambda: staffed(recorder), timeout=FOLLOW, what=f"{WINDOW} staffed, as the worker sees it")
                wait_for(lambda: judged.last() == "live", what=f"{CAMERA} live")
                stopped = dt.datetime.now(dt.UTC)
                worker.send_signal(signal.SIGSTOP)
                wait_for(
                    lambda: judged.last() == "silent",
                    timeout=OFFLINE_AFTER.total_seconds() + MARGIN,
                    what=f"{CAMERA} judged silent",
                )
                waited = (dt.datetime.now(dt.UTC) - stopped).total_seconds()
                wait_for(lambda: history(recorder.engine, WINDOW)[-1][0] == "unknown", what="the unknown mark")
                marks = history(recorder.engine, WINDOW)
                assert marks[-1][1] <= stopped

                # A day passes while it is stopped: the recorder goes on judging it silent, and nothing more.
                clock.ahead = dt.timedelta(days=1)
                time.sleep(3)
                assert history(recorder.engine, WINDOW) == marks and "gone" not in judged.states()
                tomorrow = (dt.datetime.now(config.hall.tz) + clock.ahead).date()
                with Session(recorder.engine) as session:
                    next_day = duty_rates(
                        config, session, "day", tomorrow.isoformat(), now=clock() + dt.timedelta(days=2)
                    )
                tally = next(w for w in next_day.windows if w.window == WINDOW).tally
                assert tally.duty > dt.timedelta(hours=20) and tally == Tally(duty=tally.duty)

                # It runs again: its window is observed (and staffed) again.
                worker.send_signal(signal.SIGCONT)
                wait_for(lambda: judged.last() == "live", timeout=MARGIN + 30, what=f"{CAMERA} live again")
                wait_for(
                    lambda: staffed(recorder) and history(recorder.engine, WINDOW)[-1][1] > marks[-1][1],
                    timeout=60,
                    what=f"{WINDOW} staffed again",
                )
                assert "gone" not in judged.states()  # (a clean stop, below, is: its availability says offline)
                alerts = [Alert.from_json(p) for p in phone.payloads()]
                assert [(a.kind, a.camera) for a in alerts] == [(CAMERA_OFFLINE, CAMERA)]
            finally:
                worker.send_signal(signal.SIGCONT)
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(30)
                except subprocess.TimeoutExpired:
                    worker.kill()
    print(f"silent {waited:.1f} s after SIGSTOP (offline_after {OFFLINE_AFTER.total_seconds():g} s)")
