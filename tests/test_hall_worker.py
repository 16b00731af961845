"""`run_hall` (every camera in one process, `monitor run`'s worker) against a private Mosquitto.

Three fixture cameras replay their clips from the clips' own start: the incidents of their .truth.json
sidecars arrive on <prefix>/incidents, window states and camera status are retained, and a camera whose
source ends goes offline with its windows unknown while the other cameras keep going.
"""

from __future__ import annotations

import datetime as dt
import json
import queue
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np
import pytest

from monitor.config import CameraConfig, MonitorConfig, MqttConfig, PathsConfig
from monitor.contract import IncidentEvent, Topics, WindowState
from monitor.hall_worker import run_hall
from monitor.video.source import Frame
from monitor.worker import Stats, start_reader
from tests.broker_support import Broker, Subscriber, in_background
from tests.video_presence_support import VIDEOS, clip, fixture_hall

pytestmark = [pytest.mark.mosquitto, pytest.mark.slow]

START = dt.datetime.fromisoformat("2020-11-03T09:30:00+08:00")  # the start of the three clips' truth
TOLERANCE = dt.timedelta(seconds=30)


def first_seconds(source: Path, target: Path, seconds: int) -> Path:
    """The first `seconds` of a 1 fps fixture clip, as a clip of its own: a camera whose source soon stops."""
    capture = cv2.VideoCapture(str(source))
    size = (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    writer = cv2.VideoWriter(str(target), cv2.VideoWriter.fourcc(*"mp4v"), capture.get(cv2.CAP_PROP_FPS), size)
    for _ in range(seconds):
        ok, image = capture.read()
        assert ok, source
        writer.write(image)
    writer.release()
    capture.release()
    return target


def hall_config(
    base: MonitorConfig, broker: Broker, data: Path, tag: str, cameras: list[CameraConfig], *, gating: bool
) -> MonitorConfig:
    return base.model_copy(
        update={
            "mqtt": MqttConfig(url=broker.url, topic_prefix=f"h{tag}", client_id=f"h{tag}"),
            "paths": PathsConfig(data_dir=str(data)),
            "presence": base.presence.model_copy(update={"stats_every": dt.timedelta(seconds=1)}),
            "detector": base.detector.model_copy(update={"gating": gating, "threads": 1}),
            "cameras": cameras,
        }
    )


def camera(base: MonitorConfig, camera_id: str, url: Path, **update: object) -> CameraConfig:
    return next(c for c in base.cameras if c.id == camera_id).model_copy(update={"url": str(url), **update})


@contextmanager
def hall(config: MonitorConfig) -> Iterator[list[BaseException]]:
    """run_hall in a thread for the body of the `with`, then a clean stop; yields its failure, if any."""
    stop = threading.Event()
    worker, failure = in_background(lambda: run_hall(config, stop, start=START))
    try:
        yield failure
    finally:
        stop.set()
        worker.join(timeout=60)
    assert not failure and not worker.is_alive(), failure


def after_the_stop(broker: Broker, topics: Topics, windows: dict[str, str], data: Path) -> None:
    """What a subscriber that starts late sees: every camera offline, every window unknown; outboxes empty."""
    late = Subscriber(broker, f"{topics.prefix}/#", name=f"late{topics.prefix}")
    try:
        assert late.wait_for(lambda s: all(s.payloads(topics.window_state(w)) for w in windows), timeout=10)
        for window, camera_id in windows.items():
            assert late.payloads(topics.camera_status(camera_id)) == [b"offline"]
            assert late.payloads(topics.availability(f"camera-{camera_id}")) == [b"offline"]
            (state,) = [WindowState.from_json(p) for p in late.payloads(topics.window_state(window))]
            assert state.state == "unknown" and state.camera == camera_id
    finally:
        late.close()
    for camera_id in windows.values():  # the same outbox files as `monitor worker`, all delivered
        outbox = sqlite3.connect(data / f"outbox-{camera_id}.sqlite")
        assert outbox.execute("SELECT COUNT(*) FROM entry").fetchone()[0] == 0
        outbox.close()


def truth(name: str) -> list[dict[str, str]]:
    return json.loads((VIDEOS / name).read_text())["incidents"]


def events(watcher: Subscriber, topics: Topics) -> list[IncidentEvent]:
    return [IncidentEvent.from_json(p) for p in watcher.payloads(topics.incidents)]


def matches(event: IncidentEvent, expected: dict[str, str]) -> bool:
    return (
        event.event == "end"
        and event.kind == expected["kind"]
        and event.window == expected["window"]
        and event.ended_at is not None
        and abs(event.started_at - dt.datetime.fromisoformat(expected["started_at"])) <= TOLERANCE
        and abs(event.ended_at - dt.datetime.fromisoformat(expected["ended_at"])) <= TOLERANCE
    )


def test_the_optimised_hall_delivers_the_truth_and_a_stopped_camera_goes_offline_alone(monkeypatch, tmp_path):
    base = fixture_hall(monkeypatch)
    broker = Broker(tmp_path / "broker")
    broker.start()
    tag = uuid.uuid4().hex[:8]
    data = tmp_path / "data"
    # cam-f03 and cam-f05 play their 12-13 minute clips; cam-f04 plays 40 s of its clip, so it stops first.
    short = first_seconds(clip("short_absences.mp4"), tmp_path / "short.mp4", 40)
    cameras = [
        camera(base, "cam-f03", clip("long_absence.mp4")),
        camera(base, "cam-f04", short, offline_after=dt.timedelta(seconds=3)),
        camera(base, "cam-f05", clip("citizen_at_counter.mp4")),
    ]
    config = hall_config(base, broker, data, tag, cameras, gating=True)
    topics = Topics(config.mqtt.topic_prefix)
    expected = truth("long_absence.truth.json") + truth("citizen_at_counter.truth.json")
    assert len(expected) == 2
    watcher = Subscriber(broker, f"{topics.prefix}/#", name=f"watch{tag}")
    status, f04_state = topics.camera_status("cam-f04"), topics.window_state("F04")
    f05_stats = f"{topics.prefix}/cameras/cam-f05/stats"
    try:
        with hall(config) as failure:
            # cam-f04's source ends first: the watchdog turns it offline and its window unknown...
            assert watcher.wait_for(
                lambda s: b"offline" in s.payloads(status) and b'"unknown"' in s.payloads(f04_state)[-1], timeout=60
            ), failure
            seen_then = list(watcher.messages)  # a snapshot: what had arrived when cam-f04 went offline
            assert [p for t, p, _ in seen_then if t == status] == [b"online", b"offline"]
            assert WindowState.from_json(watcher.payloads(f04_state)[-1]).camera == "cam-f04"
            # ... while the other cameras keep going: still online, and their frames still count.
            for other in ("cam-f03", "cam-f05"):
                assert [p for t, p, _ in seen_then if t == topics.camera_status(other)] == [b"online"]
            frames_then = max((json.loads(p)["frames"] for t, p, _ in seen_then if t == f05_stats), default=0)
            assert frames_then < 780, "cam-f05's clip was already over: the test shows nothing"

            # Every incident of the two clips' truth arrives, to its end, from its camera.
            assert watcher.wait_for(
                lambda s: all(any(matches(e, x) for e in events(s, topics)) for x in expected), timeout=90
            ), (failure, [(e.event, e.kind, e.window, e.started_at, e.ended_at) for e in events(watcher, topics)])
            found = events(watcher, topics)
            assert {e.window for e in found} == {"F03", "F05"}, "no incident that the truth does not have"
            assert {e.source for e in found} == {"camera:cam-f03", "camera:cam-f05"}
            assert watcher.wait_for(lambda s: json.loads(s.payloads(f05_stats)[-1])["frames"] > frames_then)
            # The optimised loop: the detector read a fraction of the frames (a call of the 320 model
            # takes 20-50 ms on this kind of machine).
            assert 0 < json.loads(watcher.payloads(f05_stats)[-1])["inference_ms"] < 15
        watcher.close()
        after_the_stop(broker, topics, {"F03": "cam-f03", "F04": "cam-f04", "F05": "cam-f05"}, data)
    finally:
        broker.stop()


def test_the_plain_hall_runs_every_frame_through_the_shared_detector(monkeypatch, tmp_path):
    base = fixture_hall(monkeypatch)
    broker = Broker(tmp_path / "broker")
    broker.start()
    tag = uuid.uuid4().hex[:8]
    data = tmp_path / "data"
    cameras = [
        camera(base, "cam-f03", first_seconds(clip("long_absence.mp4"), tmp_path / "f03.mp4", 45)),
        camera(base, "cam-f04", first_seconds(clip("short_absences.mp4"), tmp_path / "f04.mp4", 40)),
    ]
    cameras = [c.model_copy(update={"offline_after": dt.timedelta(seconds=3)}) for c in cameras]
    config = hall_config(base, broker, data, tag, cameras, gating=False)
    topics = Topics(config.mqtt.topic_prefix)
    watcher = Subscriber(broker, f"{topics.prefix}/#", name=f"watch{tag}")
    statuses = [topics.camera_status(c.id) for c in cameras]
    try:
        with hall(config) as failure:
            windows = [topics.window_state(w) for w in ("F03", "F04")]
            assert watcher.wait_for(
                lambda s: (
                    all(b"offline" in s.payloads(t) for t in statuses)
                    and all(b'"unknown"' in s.payloads(t)[-1] for t in windows)
                ),
                timeout=60,
            ), failure
            for topic in statuses:
                assert watcher.payloads(topic) == [b"online", b"offline"]
            for window, camera_id, frames in (("F03", "cam-f03", 45), ("F04", "cam-f04", 40)):
                states = [WindowState.from_json(p) for p in watcher.payloads(topics.window_state(window))]
                # 09:30, seated since the clip starts: present once arrive_after has passed; unknown when it stops.
                assert [s.state for s in states] == ["unknown", "present", "unknown"]
                assert {s.camera for s in states} == {camera_id}
                stats = json.loads(watcher.payloads(f"{topics.prefix}/cameras/{camera_id}/stats")[-1])
                assert stats["frames"] == frames and stats["inference_ms"] > 0  # every frame detected
            assert not watcher.payloads(topics.incidents)
        watcher.close()
        after_the_stop(broker, topics, {"F03": "cam-f03", "F04": "cam-f04"}, data)
    finally:
        broker.stop()


class ListSource:
    """Frames from a list (a FrameSource): the reader thread's input, without decoding."""

    def __init__(self, frames: list[Frame]) -> None:
        self._frames = frames

    def frames(self) -> Iterator[Frame]:
        yield from self._frames

    def close(self) -> None:
        pass


@pytest.mark.parametrize("live", [True, False])
def test_a_reader_keeps_a_live_cameras_latest_frame_and_every_frame_of_a_file(monkeypatch, live):
    base = fixture_hall(monkeypatch)
    url = "rtsp://192.0.2.1/stream" if live else "fixtures/videos/long_absence.mp4"
    config = camera(base, "cam-f03", Path(url)).model_copy(update={"url": url})
    frames = [Frame("cam-f03", START + dt.timedelta(seconds=i), i, np.zeros((4, 4, 3), np.uint8)) for i in range(5)]
    slot: queue.Queue[Frame] = queue.Queue(maxsize=1)
    stats, stop, arrived = Stats(), threading.Event(), threading.Event()
    reader = start_reader(config, ListSource(frames), slot, stop, stats, arrived=arrived)
    if live:  # nobody takes the frames: each one that waits goes stale when a newer one comes
        reader.join(timeout=10)
        assert [slot.get_nowait().index] == [4] and stats.dropped == 4 and arrived.is_set()
    else:  # a file waits for the loop: every frame counts, in order
        assert [slot.get(timeout=10).index for _ in frames] == [0, 1, 2, 3, 4] and stats.dropped == 0
        reader.join(timeout=10)
    assert not reader.is_alive()
