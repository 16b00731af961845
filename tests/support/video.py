"""The video side's tests: the fixture clips and their ground truth, the real detectors, and a drawn one.

The shipped detector (models/yolo11n_int8_320.onnx) is always there; `DETECTORS` adds the second
model of the workplace's shared folder as an extra case only when it is present, so a fresh clone
tests the product's eyes and shows no skip for want of weights.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np
import pytest

from monitor.adapters.video.detections import Detections, Detector
from monitor.adapters.video.frames import Decoding, Frame, FrameSource
from monitor.config import MonitorConfig
from monitor.config.video import DetectorConfig
from monitor.services.camera import run_cameras
from monitor.tools.streams.encode import StreamFormat, write_stream
from monitor.tools.streams.rtsp import PACKAGES, rtsp_server_available
from tests.support.paths import EXTRA_WEIGHTS, VIDEOS, WEIGHTS
from tests.support.waiting import in_background


@dataclass(frozen=True)
class Model:
    weights: Path
    imgsz: int

    @property
    def id(self) -> str:
        return self.weights.stem


SHIPPED = Model(WEIGHTS, 320)
DETECTORS = [
    pytest.param(model, id=model.id) for model in (SHIPPED, Model(EXTRA_WEIGHTS, 640)) if model.weights.is_file()
]
"""Parameters over the detector models present: the shipped one, and the shared folder's when it is there."""


@cache
def detector(model: Model = SHIPPED) -> Detector:
    """One loaded detector per model for the whole session (loading costs seconds)."""
    from monitor.adapters.video.detector import load_detector

    return load_detector(DetectorConfig(weights=str(model.weights), imgsz=model.imgsz, conf=0.25))


def clip(name: str) -> Path:
    """A committed fixture clip or sidecar (fixtures/videos/NAME)."""
    path = VIDEOS / name
    assert path.is_file(), f"{path} is missing: fixtures/make_videos.py writes it, and it is committed"
    return path


def truth(name: str) -> dict:
    """The ground-truth sidecar of a clip (`name` without extension): start, occupancy, incidents, dropouts."""
    return json.loads(clip(f"{name}.truth.json").read_text(encoding="utf-8"))


def frame(name: str, second: float) -> np.ndarray:
    """The picture of clip `name` at `second` seconds from its start."""
    capture = cv2.VideoCapture(str(clip(f"{name}.mp4")))
    try:
        capture.set(cv2.CAP_PROP_POS_FRAMES, round(second * capture.get(cv2.CAP_PROP_FPS)))
        ok, image = capture.read()
    finally:
        capture.release()
    assert ok, f"{name}.mp4 has no picture at {second} s"
    return image


def seated_and_empty(name: str, window: str) -> tuple[float, float]:
    """A second of clip `name` well inside a stay of `window`'s staff member, and one well away from any."""
    spans = truth(name)["occupancy"][window]
    seated = next((a + b) / 2 for a, b in spans if b - a >= 60)
    edges = [edge for span in spans for edge in span]
    empty = next(
        s for s in range(0, 900, 10) if all(abs(s - e) >= 30 for e in edges) and not any(a <= s < b for a, b in spans)
    )
    return seated, empty


class WhiteBoxes:
    """A real, exact detector for geometry tests: it finds pure white rectangles (the tests draw the
    people), counts its calls and keeps the images it was given."""

    name = "white-boxes"

    def __init__(self) -> None:
        self.calls = 0
        self.seen: list[np.ndarray] = []

    def detect(self, image: np.ndarray) -> Detections:
        self.calls += 1
        self.seen.append(image.copy())
        mask = (image.min(axis=2) >= 250).astype(np.uint8)
        count, _, stats, _ = cv2.connectedComponentsWithStats(mask)
        boxes = [(x, y, x + w, y + h) for x, y, w, h, _ in stats[1:count]]
        if not boxes:
            return Detections.empty()
        return Detections(np.asarray(boxes, np.float32), np.ones(len(boxes), np.float32))


class PausingSource:
    """A camera's real source that stops delivering after `pause_after` frames until `release` is set: the
    test, not the clock, decides what has happened when."""

    def __init__(self, source: FrameSource, pause_after: int, release: threading.Event) -> None:
        self._source, self._pause_after, self._release = source, pause_after, release
        self._closed = threading.Event()
        self.problem: str | None = None

    def decoding(self) -> Decoding:
        return self._source.decoding()

    def frames(self) -> Iterator[Frame]:
        for count, frame in enumerate(self._source.frames()):
            if count == self._pause_after:
                while not self._release.wait(0.1):
                    if self._closed.is_set():
                        return
            yield frame

    def hold(self, frame: Frame) -> None:
        self._source.hold(frame)

    def close(self) -> None:
        self._closed.set()
        self._source.close()


SEATED_CLIP = "long_absence"
SEATED_WINDOW = "F03"
SEATED = range(20, 30)
"""Seconds of the 1 fps clip SEATED_CLIP where the truth has SEATED_WINDOW's staff member seated throughout."""


def seated_stream(directory: Path, stream_format: StreamFormat) -> Path:
    """SEATED of the fixture clip as a camera stream (for monitor.tools.streams.RtspServer, which loops it): each 1
    fps picture repeated to the format's rate. Skips the test where the system Python cannot run gst-rtsp-server."""
    if not rtsp_server_available():
        pytest.skip(f"the system Python cannot run gst-rtsp-server (apt-get install {PACKAGES})")
    assert any(a <= SEATED.start and SEATED.stop <= b for a, b in truth(SEATED_CLIP)["occupancy"][SEATED_WINDOW])
    capture = cv2.VideoCapture(str(clip(f"{SEATED_CLIP}.mp4")))
    try:
        assert capture.get(cv2.CAP_PROP_FPS) == 1
        capture.set(cv2.CAP_PROP_POS_FRAMES, SEATED.start)
        pictures = [capture.read()[1] for _ in SEATED]
    finally:
        capture.release()
    assert all(picture is not None for picture in pictures)
    frames = (picture for picture in pictures for _ in range(stream_format.fps))
    return write_stream(directory / "seated.mp4", frames, stream_format)


@contextmanager
def running_cameras(config: MonitorConfig, start: dt.datetime | None = None) -> Iterator[list[BaseException]]:
    """The camera service (every camera of `config`, files played from `start`, else from now) in a thread for the
    body of the `with`, then a clean stop; yields its failure list, for `wait_for(..., failure=...)`."""
    stop = threading.Event()
    worker, failure = in_background(lambda: run_cameras(config, stop, start=start))
    try:
        yield failure
    finally:
        stop.set()
        worker.join(timeout=60)
    assert not failure and not worker.is_alive(), failure
