"""`monitor worker` with `[detector] gating = true` against a private Mosquitto: states, status, fewer calls."""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from pathlib import Path

import pytest

from monitor.config import MonitorConfig
from monitor.contract import Topics, WindowState
from monitor.services import camera as camera_service
from monitor.services.camera import run_cameras
from tests.support.config import hall_config
from tests.support.mqtt import Mosquitto, Subscriber
from tests.support.waiting import in_background, wait_for

pytestmark = [pytest.mark.mosquitto, pytest.mark.slow]


def counted(watcher: Subscriber, stats_topic: str) -> int:
    """The frame count of the camera's latest statistics (0 before any)."""
    return max((json.loads(p)["frames"] for p in watcher.payloads(stats_topic)), default=0)


def test_gated_worker_runs_the_detector_on_few_frames(
    fixture_hall: MonitorConfig, own_mosquitto: Mosquitto, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=camera_service.__name__)
    camera = next(c for c in fixture_hall.cameras if c.id == "cam-f02").model_copy(
        update={"offline_after": dt.timedelta(seconds=6)}
    )
    config, _ = hall_config(
        tmp_path / "hall",
        hall="fixture",
        mqtt_url=own_mosquitto.url,
        presence={"stats_every": dt.timedelta(seconds=1)},
        detector={"gating": True, "threads": 1},
        cameras=[camera],
    )
    topics = Topics(config.mqtt.topic_prefix)
    status = topics.camera_status("cam-f02")
    stats_topic = f"{topics.prefix}/cameras/cam-f02/stats"
    stop = threading.Event()
    with Subscriber(own_mosquitto.url, f"{topics.prefix}/#") as watcher:
        worker, failure = in_background(lambda: run_cameras(config, stop, only=["cam-f02"]))
        try:
            # The file (late.mp4, 600 frames) ends; the watchdog then turns the camera offline.
            wait_for(
                lambda: b"offline" in watcher.payloads(status), timeout=180, what="cam-f02 offline", failure=failure
            )
            # A live worker's file plays from now, so what it judges depends on the hour: off duty at night and at
            # weekends; in a working session unknown first (nothing confirmed yet), then absent or present. A judged
            # state is published whatever the hour.
            states = [WindowState.from_json(p) for p in watcher.payloads(topics.window_state("F02"))]
            assert {s.camera for s in states} == {"cam-f02"}
            assert any(s.state in ("off_duty", "present", "absent") for s in states), states
            wait_for(lambda: counted(watcher, stats_topic) == 600, what="the statistics of all 600 frames")
        finally:
            stop.set()
            worker.join(timeout=60)
    assert not failure and not worker.is_alive(), failure
    # The detector ran on about one frame in eight (the gate skips a seat that nothing changed in).
    (record,) = [r for r in caplog.records if r.msg.startswith("cameras stopped:")]
    frames, calls = record.args
    assert frames == 600 and 0 < calls < frames / 4, (frames, calls)
