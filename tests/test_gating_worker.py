"""`monitor worker` with `[detector] gating = true` against a private Mosquitto: states, status, fewer calls."""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid

import pytest

from monitor.config import MqttConfig, PathsConfig
from monitor.contract import Topics, WindowState
from monitor.worker import run_worker
from tests.broker_support import Broker, Subscriber, in_background
from tests.video_presence_support import clip, fixture_hall

pytestmark = [pytest.mark.mosquitto, pytest.mark.slow]


def test_gated_worker_runs_the_detector_on_few_frames(monkeypatch, tmp_path):
    base = fixture_hall(monkeypatch)
    broker = Broker(tmp_path / "broker")
    broker.start()
    tag = uuid.uuid4().hex[:8]
    camera = next(c for c in base.cameras if c.id == "cam-f02").model_copy(
        update={"url": str(clip("late.mp4")), "offline_after": dt.timedelta(seconds=6)}
    )
    config = base.model_copy(
        update={
            "mqtt": MqttConfig(url=broker.url, topic_prefix=f"g{tag}", client_id=f"g{tag}"),
            "paths": PathsConfig(data_dir=str(tmp_path / "data")),
            "presence": base.presence.model_copy(update={"stats_every": dt.timedelta(seconds=1)}),
            "detector": base.detector.model_copy(update={"gating": True, "threads": 1}),
            "cameras": [camera],
        }
    )
    topics = Topics(config.mqtt.topic_prefix)
    watcher = Subscriber(broker, f"{topics.prefix}/#", name=f"watch{tag}")
    stop = threading.Event()
    worker, failure = in_background(lambda: run_worker(config, "cam-f02", stop))
    status = topics.camera_status("cam-f02")
    try:
        # The file ends; the watchdog then turns the camera offline.
        assert watcher.wait_for(lambda s: b"offline" in s.payloads(status), timeout=120), failure
        assert not failure, failure
        # A live worker's file plays from now (off duty at most hours): the state is published all the same.
        state = WindowState.from_json(watcher.payloads(topics.window_state("F02"))[0])
        assert state.camera == "cam-f02" and state.state in ("off_duty", "present", "absent")
        stats = [json.loads(p) for p in watcher.payloads(f"{topics.prefix}/cameras/cam-f02/stats")]
        assert stats[-1]["frames"] == 600
        # The detector ran on about one frame in eight: its mean time over all frames is a few ms
        # (a call of the 320 model takes 20-50 ms on this kind of machine).
        assert 0 < stats[-1]["inference_ms"] < 15
    finally:
        stop.set()
        worker.join(timeout=30)
        watcher.close()
        broker.stop()
    assert not failure and not worker.is_alive()
