"""Leave withdrawn while the camera service runs: the window is judged again from when the leave ended, and the
empty post the camera then raises is recorded (the real detector on a fixture clip, a real broker, the recorder on
SQLite).

Nobody staffs F11 (never_staffed.mp4, from 08:58). Leave from 09:01 is granted before the camera starts; the camera
holds its source at 09:02 (its last frame read 09:01:59), and the supervisor withdraws the leave at 09:02: from the
recorder's clock the leave ended then, while the camera's frames are a second behind. The camera must not judge the
window from its own 09:01:59 — an empty post starting inside the leave is refused, and would be lost — but from
09:02, where the leave ended.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest
from sqlmodel import Session, select

from monitor.adapters.store.database import open_database
from monitor.adapters.store.tables import IncidentRow
from monitor.adapters.video.frames import FrameSource
from monitor.config import CameraConfig, MonitorConfig
from monitor.contract import LeaveChange, Receipt, Topics
from monitor.services import camera as camera_service
from monitor.services.recorder import Recorder
from tests.support.config import SUPERVISOR, signed
from tests.support.mqtt import Subscriber, publish
from tests.support.video import PausingSource, running_cameras
from tests.support.waiting import wait_for
from tests.video.test_leave_worker import frames_done, grant, grant_leave, moment, one_camera, states

pytestmark = pytest.mark.slow


def test_a_leave_withdrawn_under_way_lets_the_camera_raise_the_empty_post_from_its_end(
    fixture_hall: MonitorConfig,
    one_broker: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=camera_service.__name__)
    release = threading.Event()
    real_open = camera_service.open_source

    def open_source(camera: CameraConfig, **kwargs: object) -> FrameSource:
        return PausingSource(real_open(camera, **kwargs), 240, release)  # held at 09:02:00

    monkeypatch.setattr(camera_service, "open_source", open_source)
    config = one_camera(fixture_hall, "cam-f11", "never_staffed.mp4", tmp_path / "hall", one_broker)
    topics = Topics(config.mqtt.topic_prefix)
    clock = [moment("08:00")]
    recorder = Recorder(config, open_database(config.database.url), clock=lambda: clock[0])
    assert recorder.start(wait=60), "the broker did not confirm the recorder's subscriptions"

    def taken(count: int) -> bool:
        """Whether the camera service has handed F11's leave list to its presence machine `count` times."""
        return sum("window F11 has" in r.getMessage() for r in caplog.records) >= count

    try:
        with Subscriber(one_broker, f"{topics.prefix}/#") as watcher:
            grant_leave(config, one_broker, grant("F11", "09:01", "12:00"), watcher)
            try:
                with running_cameras(config, moment("08:58")) as failure:
                    wait_for(lambda: frames_done(watcher, topics, "cam-f11") == 240, timeout=120, what="09:02")
                    wait_for(lambda: taken(1), what="the camera service taking the leave", failure=failure)
                    assert [state for state, _ in states(watcher, topics, "F11")][-1] == "leave"
                    clock[0] = moment("09:02")
                    withdrawal = LeaveChange(
                        id="withdraw-f11",
                        leave_id="leave-F11",
                        action="withdraw",
                        reason="提前返岗",
                        by=SUPERVISOR,
                        at=moment("09:02"),
                    )
                    publish(one_broker, topics.leave_changes, [signed(config, withdrawal).to_json()])
                    receipt = topics.receipt("leave_change", "withdraw-f11")
                    wait_for(lambda: watcher.payloads(receipt), what="the withdrawal's receipt")
                    assert Receipt.from_json(watcher.payloads(receipt)[0]).status == "recorded"
                    wait_for(lambda: taken(2), what="the camera service taking the new list", failure=failure)
                    clock[0] = moment("09:10")  # the incident's end must not lie in the recorder's future
                    release.set()
                    wait_for(
                        lambda: frames_done(watcher, topics, "cam-f11") == 600,
                        timeout=180,
                        what="the whole clip",
                        failure=failure,
                    )
            finally:
                release.set()
            assert states(watcher, topics, "F11")[:4] == [  # (then unknown, when the clip ends)
                ("off_duty", moment("08:58")),
                ("absent", moment("09:00")),
                ("leave", moment("09:01")),
                ("absent", moment("09:02")),
            ]

            def recorded() -> list[IncidentRow]:
                with Session(recorder.engine) as session:
                    return list(session.exec(select(IncidentRow)))

            wait_for(lambda: recorded(), what="the empty post recorded")
            (empty,) = recorded()
            assert (empty.kind, empty.window, empty.started_at) == ("empty_post", "F11", moment("09:02"))
    finally:
        recorder.stop()
        recorder.engine.dispose()
