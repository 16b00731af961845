"""`run_cameras` (every camera in one process, `monitor run`'s camera service) against a private Mosquitto.

Three fixture cameras replay their clips from the clips' own start: the incidents of their .truth.json
sidecars arrive on <prefix>/incidents, window states and camera status are retained, and a camera whose
source ends goes offline with its windows unknown while the other cameras keep going.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import queue
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from monitor.adapters.video.frames import Decoding, Frame, FrameSource
from monitor.config import CameraConfig, MonitorConfig
from monitor.contract import IncidentEvent, Topics, WindowState
from monitor.services import camera as camera_service
from monitor.services.camera import start_reader
from monitor.services.pipeline import Stats
from tests.support.config import hall_config
from tests.support.mqtt import Mosquitto, Subscriber
from tests.support.video import PausingSource, clip, running_cameras, truth
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.mosquitto, pytest.mark.slow]

START = dt.datetime.fromisoformat("2020-11-03T09:30:00+08:00")  # the start of the three clips' truth
TOLERANCE = dt.timedelta(seconds=30)
STOPS = dt.timedelta(seconds=10)
"""offline_after of a camera whose source ends: 10 s of silence (a busy machine's pauses are shorter)."""


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


def camera(base: MonitorConfig, camera_id: str, url: Path, **update: object) -> CameraConfig:
    return next(c for c in base.cameras if c.id == camera_id).model_copy(update={"url": str(url), **update})


def with_cameras(directory: Path, broker: Mosquitto, cameras: list[CameraConfig], *, gating: bool) -> MonitorConfig:
    return hall_config(
        directory,
        hall="fixture",
        mqtt_url=broker.url,
        presence={"stats_every": dt.timedelta(seconds=1)},
        detector={"gating": gating, "threads": 1},
        cameras=cameras,
    ).config


def after_the_stop(broker: Mosquitto, topics: Topics, windows: dict[str, str], data: Path) -> None:
    """What a subscriber that starts late sees: every camera offline, every window unknown; outboxes empty."""
    with Subscriber(broker.url, f"{topics.prefix}/#") as late:
        wait_for(lambda: all(late.payloads(topics.window_state(w)) for w in windows), what="the retained states")
        for window, camera_id in windows.items():
            assert late.payloads(topics.camera_status(camera_id)) == [b"offline"]
            assert late.payloads(topics.availability(f"camera-{camera_id}")) == [b"offline"]
            (state,) = [WindowState.from_json(p) for p in late.payloads(topics.window_state(window))]
            assert state.state == "unknown" and state.camera == camera_id
    for camera_id in windows.values():  # the same outbox files as `monitor worker`, all delivered
        outbox = sqlite3.connect(data / f"outbox-{camera_id}.sqlite")
        assert outbox.execute("SELECT COUNT(*) FROM entry").fetchone()[0] == 0
        outbox.close()


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


def last(watcher: Subscriber, topic: str) -> bytes:
    """The latest payload on `topic` (b"" before any)."""
    return (watcher.payloads(topic)[-1:] or [b""])[0]


def frames_in(watcher: Subscriber, topic: str) -> int:
    """The frame count of a camera's latest statistics (0 before any)."""
    return max((json.loads(p)["frames"] for p in watcher.payloads(topic)), default=0)


def detector_calls(caplog: pytest.LogCaptureFixture) -> tuple[int, int]:
    """(frames, detector calls) of the camera service that just stopped, from its closing log line."""
    (record,) = [r for r in caplog.records if r.msg.startswith("cameras stopped:")]
    frames, calls = record.args
    return frames, calls


PAUSE_AFTER = 50
"""cam-f03 and cam-f05 wait after their 50th frame until cam-f04 (40 frames) has gone offline."""


def test_the_optimised_hall_delivers_the_truth_and_a_stopped_camera_goes_offline_alone(
    fixture_hall: MonitorConfig,
    own_mosquitto: Mosquitto,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=camera_service.__name__)
    release = threading.Event()
    real_open = camera_service.open_source

    def open_source(camera: CameraConfig, **kwargs: object) -> FrameSource:
        source = real_open(camera, **kwargs)
        return source if camera.id == "cam-f04" else PausingSource(source, PAUSE_AFTER, release)

    monkeypatch.setattr(camera_service, "open_source", open_source)
    # cam-f03 and cam-f05 play their 12-13 minute clips; cam-f04 plays 40 s of its clip, so it stops first.
    # The two that keep going never go offline for waiting (their offline_after is far longer than the pause).
    short = first_seconds(clip("short_absences.mp4"), tmp_path / "short.mp4", 40)
    patient = dt.timedelta(minutes=10)
    cameras = [
        camera(fixture_hall, "cam-f03", clip("long_absence.mp4"), offline_after=patient),
        camera(fixture_hall, "cam-f04", short, offline_after=STOPS),
        camera(fixture_hall, "cam-f05", clip("citizen_at_counter.mp4"), offline_after=patient),
    ]
    config = with_cameras(tmp_path / "hall", own_mosquitto, cameras, gating=True)
    topics = Topics(config.mqtt.topic_prefix)
    expected = truth("long_absence")["incidents"] + truth("citizen_at_counter")["incidents"]
    assert len(expected) == 2
    status, f04_state = topics.camera_status("cam-f04"), topics.window_state("F04")
    f05_stats = f"{topics.prefix}/cameras/cam-f05/stats"
    with Subscriber(own_mosquitto.url, f"{topics.prefix}/#") as watcher:
        try:
            with running_cameras(config, START) as failure:
                # cam-f04's source ends first: the watchdog turns it offline and its window unknown...
                wait_for(
                    lambda: b"offline" in watcher.payloads(status) and b'"unknown"' in last(watcher, f04_state),
                    timeout=120,
                    what="cam-f04 offline, F04 unknown",
                    failure=failure,
                )
                seen_then = watcher.snapshot()  # what had arrived when cam-f04 went offline
                assert [p for t, p, _ in seen_then if t == status] == [b"online", b"offline"]
                assert WindowState.from_json(watcher.payloads(f04_state)[-1]).camera == "cam-f04"
                # ... while the other cameras, held after their 50th frame, are still online,
                for other in ("cam-f03", "cam-f05"):
                    assert [p for t, p, _ in seen_then if t == topics.camera_status(other)] == [b"online"]
                assert frames_in(watcher, f05_stats) <= PAUSE_AFTER
                release.set()
                # ... and keep going: their frames count on, and every incident of the two clips' truth
                # arrives, to its end, from its camera.
                wait_for(lambda: frames_in(watcher, f05_stats) > PAUSE_AFTER, what="cam-f05's frames after the pause")
                wait_for(
                    lambda: all(any(matches(e, x) for e in events(watcher, topics)) for x in expected),
                    timeout=180,
                    what=f"the truth's incidents {expected}",
                    failure=failure,
                )
                found = events(watcher, topics)
                assert {e.window for e in found} == {"F03", "F05"}, "no incident that the truth does not have"
                assert {e.source for e in found} == {"camera:cam-f03", "camera:cam-f05"}
        finally:
            release.set()
    # The optimised loop: the detector read a fraction of the frames (zones of several cameras share a call).
    frames, calls = detector_calls(caplog)
    assert 0 < calls < frames / 4, (frames, calls)
    after_the_stop(own_mosquitto, topics, {"F03": "cam-f03", "F04": "cam-f04", "F05": "cam-f05"}, tmp_path / "hall")


def test_the_plain_hall_runs_every_frame_through_the_shared_detector(
    fixture_hall: MonitorConfig, own_mosquitto: Mosquitto, tmp_path: Path
) -> None:
    cameras = [
        camera(fixture_hall, "cam-f03", first_seconds(clip("long_absence.mp4"), tmp_path / "f03.mp4", 45)),
        camera(fixture_hall, "cam-f04", first_seconds(clip("short_absences.mp4"), tmp_path / "f04.mp4", 40)),
    ]
    cameras = [c.model_copy(update={"offline_after": STOPS}) for c in cameras]
    config = with_cameras(tmp_path / "hall", own_mosquitto, cameras, gating=False)
    topics = Topics(config.mqtt.topic_prefix)
    statuses = [topics.camera_status(c.id) for c in cameras]
    windows = [topics.window_state(w) for w in ("F03", "F04")]
    with Subscriber(own_mosquitto.url, f"{topics.prefix}/#") as watcher, running_cameras(config, START) as failure:
        wait_for(
            lambda: (
                all(b"offline" in watcher.payloads(t) for t in statuses)
                and all(b'"unknown"' in last(watcher, t) for t in windows)
            ),
            timeout=120,
            what="both cameras offline, both windows unknown",
            failure=failure,
        )
        for topic in statuses:
            assert watcher.payloads(topic) == [b"online", b"offline"]
        for window, camera_id, frames in (("F03", "cam-f03", 45), ("F04", "cam-f04", 40)):
            states = [WindowState.from_json(p) for p in watcher.payloads(topics.window_state(window))]
            # 09:30, seated since the clip starts: present once arrive_after has passed; unknown when it stops.
            assert [s.state for s in states] == ["unknown", "present", "unknown"]
            assert {s.camera for s in states} == {camera_id}
            stats_topic = f"{topics.prefix}/cameras/{camera_id}/stats"
            wait_for(lambda t=stats_topic, n=frames: frames_in(watcher, t) == n, what=f"{camera_id}'s {frames} frames")
            stats = json.loads(watcher.payloads(stats_topic)[-1])
            assert stats["frames"] == frames and stats["inference_ms"] > 0  # every frame detected
        assert not watcher.payloads(topics.incidents)
    after_the_stop(own_mosquitto, topics, {"F03": "cam-f03", "F04": "cam-f04"}, tmp_path / "hall")


class ListSource:
    """Frames from a list (a FrameSource): the reader thread's input, without decoding."""

    def __init__(self, frames: list[Frame]) -> None:
        self._frames = frames
        self.problem: str | None = None

    def decoding(self) -> Decoding:
        return Decoding("all", len(self._frames), len(self._frames), len(self._frames))

    def frames(self) -> Iterator[Frame]:
        yield from self._frames

    def hold(self, frame: Frame) -> None:
        pass

    def close(self) -> None:
        pass


@pytest.mark.parametrize("live", [True, False])
def test_a_reader_keeps_a_live_cameras_latest_frame_and_every_frame_of_a_file(
    fixture_hall: MonitorConfig, live: bool
) -> None:
    base = fixture_hall
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
