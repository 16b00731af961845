"""Approved leave reaches the live camera service: a supervisor's grant through the recorder turns the window's
retained state to `leave` and the camera raises no incident inside it (the real detector on fixture clips, a
real broker, the recorder on SQLite).

Without the leave, both clips raise an empty post (their .truth.json sidecars): long_absence from 09:33, when
F03's staff member leaves; never_staffed from 09:00, the session nobody staffs.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlmodel import Session, select

from monitor.adapters.store.database import open_database
from monitor.adapters.store.tables import IncidentRow
from monitor.adapters.video.frames import FrameSource
from monitor.config import CameraConfig, MonitorConfig
from monitor.contract import LeaveGrant, Receipt, Topics, WindowState
from monitor.services import camera as camera_service
from monitor.services.recorder import Recorder
from tests.support.config import SUPERVISOR, hall_config, signed
from tests.support.mqtt import Subscriber, publish
from tests.support.video import PausingSource, clip, running_cameras
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow


def moment(clock: str) -> dt.datetime:
    return dt.datetime.fromisoformat(f"2020-11-03T{clock}+08:00")


def grant(window: str, start: str, end: str) -> LeaveGrant:
    return LeaveGrant(
        id=f"leave-{window}",
        window=window,
        start=moment(start),
        end=moment(end),
        reason="公出：参加业务培训",
        by=SUPERVISOR,
        at=moment("08:00"),
    )


def one_camera(base: MonitorConfig, camera_id: str, video: str, directory: Path, broker: str) -> MonitorConfig:
    camera = next(c for c in base.cameras if c.id == camera_id)
    # Never offline while a test holds the source: the watchdog would end the stretch the test is about.
    camera = camera.model_copy(update={"url": str(clip(video)), "offline_after": dt.timedelta(minutes=30)})
    return hall_config(
        directory,
        hall="fixture",
        mqtt_url=broker,
        presence={"stats_every": dt.timedelta(seconds=1)},
        detector={"threads": 1},
        cameras=[camera],
    ).config


@contextmanager
def recorder(config: MonitorConfig) -> Iterator[Recorder]:
    """The hall's recorder; its clock at 08:00 that day, so that the day's leave is still to come."""
    running = Recorder(config, open_database(config.database.url), clock=lambda: moment("08:00"))
    assert running.start(wait=60), "the broker did not confirm the recorder's subscriptions"
    try:
        yield running
    finally:
        running.stop()
        running.engine.dispose()


def grant_leave(config: MonitorConfig, broker: str, leave: LeaveGrant, watcher: Subscriber) -> None:
    """What `monitor leave add` does: the signed grant to the recorder, then its receipt."""
    topics = Topics(config.mqtt.topic_prefix)
    publish(broker, topics.leaves, [signed(config, leave).to_json()])
    wait_for(lambda: watcher.payloads(topics.receipt("leave", leave.id)), what="the recorder's receipt")
    assert Receipt.from_json(watcher.payloads(topics.receipt("leave", leave.id))[0]).status == "recorded"


def frames_done(watcher: Subscriber, topics: Topics, camera_id: str) -> int:
    """The frame count of the camera's latest statistics (0 before any)."""
    return max(
        (json.loads(p)["frames"] for p in watcher.payloads(f"{topics.prefix}/cameras/{camera_id}/stats")), default=0
    )


def states(watcher: Subscriber, topics: Topics, window: str) -> list[tuple[str, dt.datetime]]:
    return [(s.state, s.since) for s in map(WindowState.from_json, watcher.payloads(topics.window_state(window)))]


def recorded_incidents(recorder: Recorder) -> list[str]:
    with Session(recorder.engine) as session:
        return list(session.exec(select(IncidentRow.id)))


def test_leave_granted_while_the_camera_runs_covers_the_open_absence(
    fixture_hall: MonitorConfig,
    one_broker: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """F03's staff member leaves at 09:33; at 09:34 (the camera holds its source there) the supervisor approves
    leave from 09:33 to 10:00 after the fact: the window shows `leave` from 09:33, and the empty post that the
    clip would raise at 09:37 never comes."""
    caplog.set_level(logging.INFO, logger=camera_service.__name__)
    release = threading.Event()
    real_open = camera_service.open_source

    def open_source(camera: CameraConfig, **kwargs: object) -> FrameSource:
        return PausingSource(real_open(camera, **kwargs), 240, release)  # held at 09:34:00

    monkeypatch.setattr(camera_service, "open_source", open_source)
    config = one_camera(fixture_hall, "cam-f03", "long_absence.mp4", tmp_path / "hall", one_broker)
    topics = Topics(config.mqtt.topic_prefix)
    with recorder(config) as running, Subscriber(one_broker, f"{topics.prefix}/#") as watcher:
        try:
            with running_cameras(config, moment("09:30")) as failure:
                wait_for(
                    lambda: frames_done(watcher, topics, "cam-f03") == 240,
                    timeout=120,
                    what="cam-f03 at 09:34",
                    failure=failure,
                )
                assert [state for state, _ in states(watcher, topics, "F03")][-1] == "absent"
                grant_leave(config, one_broker, grant("F03", "09:33", "10:00"), watcher)
                wait_for(
                    lambda: any("window F03 has 1 approved leave" in r.getMessage() for r in caplog.records),
                    what="the camera service taking the leave",
                    failure=failure,
                )
                release.set()
                wait_for(
                    lambda: frames_done(watcher, topics, "cam-f03") == 720,
                    timeout=180,
                    what="the whole clip",
                    failure=failure,
                )
                with Subscriber(one_broker, topics.window_state("F03")) as late:  # the retained state, now
                    wait_for(lambda: late.payloads(topics.window_state("F03")), what="F03's retained state")
                    assert WindowState.from_json(late.payloads(topics.window_state("F03"))[-1]).state == "leave"
        finally:
            release.set()
        timeline = states(watcher, topics, "F03")
        assert [state for state, _ in timeline] == ["unknown", "present", "absent", "leave"]
        assert moment("09:33") <= timeline[2][1] <= moment("09:33:10") and timeline[3][1] == moment("09:33")
        assert not watcher.payloads(topics.incidents), "no incident inside the leave"
        assert recorded_incidents(running) == []


def test_leave_granted_before_the_camera_starts_reaches_it_with_the_retained_list(
    fixture_hall: MonitorConfig, one_broker: str, tmp_path: Path
) -> None:
    """Nobody staffs F11; leave from 09:02 is granted before the camera service starts: the window is absent
    from 09:00, on leave from 09:02, and the empty post the clip would raise from 09:00 never comes."""
    config = one_camera(fixture_hall, "cam-f11", "never_staffed.mp4", tmp_path / "hall", one_broker)
    topics = Topics(config.mqtt.topic_prefix)
    with recorder(config) as running, Subscriber(one_broker, f"{topics.prefix}/#") as watcher:
        grant_leave(config, one_broker, grant("F11", "09:02", "12:00"), watcher)
        wait_for(lambda: watcher.payloads(topics.window_leaves("F11")), what="F11's leave list")
        with running_cameras(config, moment("08:58")) as failure:
            wait_for(
                lambda: frames_done(watcher, topics, "cam-f11") == 600,
                timeout=180,
                what="the whole clip",
                failure=failure,
            )
        assert states(watcher, topics, "F11") == [
            ("off_duty", moment("08:58")),
            ("absent", moment("09:00")),
            ("leave", moment("09:02")),
        ]
        assert not watcher.payloads(topics.incidents), "no incident inside the leave"
        assert recorded_incidents(running) == []
