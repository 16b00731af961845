"""`monitor worker` end to end against a private Mosquitto: retained states, camera status, stats, outbox."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
import uuid

import pytest

from monitor.config import MqttConfig, PathsConfig
from monitor.contract import Topics, WindowState
from monitor.worker import run_worker
from tests.broker_support import Broker, Subscriber, in_background
from tests.video_presence_support import clip, fixture_hall

pytestmark = [pytest.mark.mosquitto, pytest.mark.slow]


def test_worker_publishes_states_status_and_stats_and_goes_offline_when_frames_stop(monkeypatch, tmp_path):
    base = fixture_hall(monkeypatch)
    broker = Broker(tmp_path / "broker")
    broker.start()
    tag = uuid.uuid4().hex[:8]
    camera = next(c for c in base.cameras if c.id == "cam-f01").model_copy(
        update={"url": str(clip("on_time.mp4")), "detect_fps": 0.25, "offline_after": dt.timedelta(seconds=6)}
    )
    config = base.model_copy(
        update={
            "mqtt": MqttConfig(url=broker.url, topic_prefix=f"t{tag}", client_id=f"w{tag}"),
            "paths": PathsConfig(data_dir=str(tmp_path / "data")),
            "presence": base.presence.model_copy(update={"stats_every": dt.timedelta(seconds=1)}),
            "cameras": [camera],
        }
    )
    topics = Topics(config.mqtt.topic_prefix)
    watcher = Subscriber(broker, f"{topics.prefix}/#", name=f"watch{tag}")
    stop = threading.Event()
    worker, failure = in_background(lambda: run_worker(config, "cam-f01", stop))
    status = topics.camera_status("cam-f01")
    try:
        assert watcher.wait_for(lambda s: b"offline" in s.payloads(status), timeout=90), failure
        assert not failure, failure
        assert watcher.payloads(status)[0] == b"online"
        assert watcher.payloads(topics.availability("camera-cam-f01"))[0] == b"online"
        stats = [json.loads(p) for p in watcher.payloads(f"{topics.prefix}/cameras/cam-f01/stats")]
        assert stats and stats[-1]["frames"] > 0 and stats[-1]["camera"] == "cam-f01"
        state = WindowState.from_json(watcher.payloads(topics.window_state("F01"))[0])
        assert state.camera == "cam-f01" and state.state in ("off_duty", "present", "absent", "unknown")
    finally:
        stop.set()
        worker.join(timeout=30)
        watcher.close()
    assert not failure and not worker.is_alive()

    late = Subscriber(broker, f"{topics.prefix}/#", name=f"late{tag}")  # a subscriber that starts late
    try:
        assert late.wait_for(lambda s: s.payloads(status) and s.payloads(topics.window_state("F01")), timeout=10)
        assert late.payloads(status) == [b"offline"]
        assert late.payloads(topics.availability("camera-cam-f01")) == [b"offline"]
    finally:
        late.close()
        broker.stop()
    outbox = sqlite3.connect(tmp_path / "data" / "outbox-cam-f01.sqlite")
    assert outbox.execute("SELECT COUNT(*) FROM entry").fetchone()[0] == 0
