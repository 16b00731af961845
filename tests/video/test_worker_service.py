"""`monitor worker` end to end against a private Mosquitto: retained states, camera status, stats, outbox."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
from pathlib import Path

import pytest

from monitor.config import MonitorConfig
from monitor.contract import Topics, WindowState
from monitor.services.camera import run_cameras
from tests.support.config import hall_config
from tests.support.mqtt import Mosquitto, Subscriber
from tests.support.waiting import in_background, wait_for

pytestmark = [pytest.mark.mosquitto, pytest.mark.slow]


def test_worker_publishes_states_status_and_stats_and_goes_offline_when_frames_stop(
    fixture_hall: MonitorConfig, own_mosquitto: Mosquitto, tmp_path: Path
) -> None:
    camera = next(c for c in fixture_hall.cameras if c.id == "cam-f01").model_copy(
        update={"detect_fps": 0.25, "offline_after": dt.timedelta(seconds=6)}
    )
    config, _ = hall_config(
        tmp_path / "hall",
        hall="fixture",
        mqtt_url=own_mosquitto.url,
        presence={"stats_every": dt.timedelta(seconds=1)},
        cameras=[camera],
    )
    topics = Topics(config.mqtt.topic_prefix)
    status = topics.camera_status("cam-f01")
    stop = threading.Event()
    with Subscriber(own_mosquitto.url, f"{topics.prefix}/#") as watcher:
        worker, failure = in_background(lambda: run_cameras(config, stop, only=["cam-f01"]))
        try:
            wait_for(
                lambda: b"offline" in watcher.payloads(status), timeout=120, what="cam-f01 offline", failure=failure
            )
            assert watcher.payloads(status)[0] == b"online"
            assert watcher.payloads(topics.availability("camera-cam-f01"))[0] == b"online"
            stats = [json.loads(p) for p in watcher.payloads(f"{topics.prefix}/cameras/cam-f01/stats")]
            assert stats and stats[-1]["frames"] > 0 and stats[-1]["camera"] == "cam-f01"
            state = WindowState.from_json(watcher.payloads(topics.window_state("F01"))[0])
            assert state.camera == "cam-f01" and state.state in ("off_duty", "present", "absent", "unknown")
        finally:
            stop.set()
            worker.join(timeout=60)
    assert not failure and not worker.is_alive(), failure

    with Subscriber(own_mosquitto.url, f"{topics.prefix}/#") as late:  # a subscriber that starts late
        wait_for(
            lambda: late.payloads(status) and late.payloads(topics.window_state("F01")), what="the retained messages"
        )
        assert late.payloads(status) == [b"offline"]
        assert late.payloads(topics.availability("camera-cam-f01")) == [b"offline"]
    outbox = sqlite3.connect(Path(config.paths.data_dir) / "outbox-cam-f01.sqlite")
    assert outbox.execute("SELECT COUNT(*) FROM entry").fetchone()[0] == 0
    outbox.close()
