"""Frame sources: video files, live streams (RTSP/HTTP) and local devices, through OpenCV.

A source samples frames at `detect_fps`. Frames not needed are skipped with `grab()` (no decoding);
only the sampled ones are `retrieve()`d.

- Files: a frame's time is `start + stream position` (CAP_PROP_POS_MSEC), so replaying a clip
  gives the same times however fast it runs. The file ends the iteration.
- Live streams and devices: a frame's time is the clock. A lost stream is reopened with
  exponential backoff (`reconnect_initial` doubling up to `reconnect_max`); while it is down the
  iterator yields nothing, and the worker's watchdog turns `offline_after` without frames into
  "unknown".

Camera dropouts: encoders and NVRs deliver black "no signal" frames while a camera is down, and
the fixture clips record a dropout the same way. A frame whose every pixel is at most
`camera.no_signal_level` is such a frame: the source drops it, so a dropout is a gap in the frames
(the watchdog sees no frames), never an image of an empty seat.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from monitor.config.video import CameraConfig
from monitor.errors import MonitorError

log = logging.getLogger(__name__)

LIVE_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://")


class SourceError(MonitorError):
    """A camera's source cannot be opened at all (a missing file, a bad URL)."""


@dataclass(frozen=True)
class Frame:
    """A sampled picture: `at` is aware (stream position or clock), `index` counts the frames delivered."""

    camera: str
    at: datetime
    index: int
    image: np.ndarray = field(repr=False)


class FrameSource(Protocol):
    def frames(self) -> Iterator[Frame]: ...

    def close(self) -> None: ...


def is_no_signal(image: np.ndarray, level: int) -> bool:
    """True when every pixel is at most `level` bright: an encoder's black 'no signal' frame."""
    return level > 0 and int(image.max()) <= level


def is_live(url: str) -> bool:
    return url.lower().startswith(LIVE_SCHEMES) or url.strip().isdigit()


def _capture_target(url: str) -> str | int:
    return int(url) if url.strip().isdigit() else url


def open_capture(target: str | int, timeout: timedelta) -> cv2.VideoCapture:
    """An OpenCV capture; a stream URL gets FFmpeg open and read timeouts, so a stalled stream ends in
    a failed read (and a reconnect) instead of blocking forever."""
    if isinstance(target, int):
        return cv2.VideoCapture(target)
    ms = max(1000, int(timeout.total_seconds() * 1000))
    return cv2.VideoCapture(
        target, cv2.CAP_FFMPEG, [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms]
    )


class FileSource:
    """A recorded clip, sampled by stream position."""

    def __init__(self, camera: CameraConfig, *, start: datetime, detect_fps: float) -> None:
        path = Path(camera.url)
        if not path.is_file():
            raise SourceError(
                f"camera {camera.id}: video file {camera.url} does not exist (url is relative to the working "
                f"directory {Path.cwd()}; give an existing file, an rtsp:// URL or a device index)"
            )
        self._capture = cv2.VideoCapture(str(path))
        if not self._capture.isOpened():
            raise SourceError(f"camera {camera.id}: OpenCV cannot read {camera.url} as a video")
        self._camera = camera
        self._start = start
        self._period_ms = 1000.0 / detect_fps

    def frames(self) -> Iterator[Frame]:
        due_ms = 0.0
        index = 0
        while self._capture.grab():
            position_ms = self._capture.get(cv2.CAP_PROP_POS_MSEC)
            if position_ms + 0.5 < due_ms:  # half a millisecond for rounding in the container's timestamps
                continue
            while due_ms <= position_ms + 0.5:
                due_ms += self._period_ms
            ok, image = self._capture.retrieve()
            if not ok or is_no_signal(image, self._camera.no_signal_level):
                continue
            yield Frame(self._camera.id, self._start + timedelta(milliseconds=position_ms), index, image)
            index += 1

    def close(self) -> None:
        self._capture.release()


class LiveSource:
    """A live stream or device, sampled by the clock, reopened with backoff when lost."""

    def __init__(
        self,
        camera: CameraConfig,
        *,
        detect_fps: float,
        clock: Callable[[], datetime],
        sleep: Callable[[float], None],
        opener: Callable[[str | int], cv2.VideoCapture] | None = None,
    ) -> None:
        self._camera = camera
        self._period = timedelta(seconds=1.0 / detect_fps)
        self._clock = clock
        self._sleep = sleep
        self._opener = opener or (lambda target: open_capture(target, camera.offline_after))
        self._capture: cv2.VideoCapture | None = None
        self._closed = False

    def _open(self) -> cv2.VideoCapture | None:
        capture = self._opener(_capture_target(self._camera.url))
        if capture.isOpened():
            return capture
        capture.release()
        return None

    def _reconnect(self) -> None:
        """Block until the stream is open again (or the source is closed), waiting longer each time."""
        delay = self._camera.reconnect_initial.total_seconds()
        while not self._closed:
            self._capture = self._open()
            if self._capture is not None:
                log.info("camera %s: stream open", self._camera.id)
                return
            log.warning("camera %s: cannot open the stream; retrying in %.0fs", self._camera.id, delay)
            self._sleep(delay)
            delay = min(delay * 2, self._camera.reconnect_max.total_seconds())

    def frames(self) -> Iterator[Frame]:
        index = 0
        due: datetime | None = None
        while not self._closed:
            if self._capture is None:
                self._reconnect()
                continue
            if not self._capture.grab():
                log.warning("camera %s: stream lost; reconnecting", self._camera.id)
                self._capture.release()
                self._capture = None
                continue
            now = self._clock()
            if due is not None and now < due:
                continue
            due = now + self._period
            ok, image = self._capture.retrieve()
            if not ok or is_no_signal(image, self._camera.no_signal_level):
                continue
            yield Frame(self._camera.id, now, index, image)
            index += 1

    def close(self) -> None:
        self._closed = True
        if self._capture is not None:
            self._capture.release()
            self._capture = None


def _utc_now() -> datetime:
    return datetime.now(UTC)


def open_source(
    camera: CameraConfig,
    *,
    start: datetime | None,
    detect_fps: float,
    clock: Callable[[], datetime] = _utc_now,
    sleep: Callable[[float], None] = time.sleep,
) -> FrameSource:
    """The camera's frame source: a file replayed from `start` (default: now), or a live stream on the clock."""
    if start is not None and start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    if is_live(camera.url):
        return LiveSource(camera, detect_fps=detect_fps, clock=clock, sleep=sleep)
    return FileSource(camera, start=start or clock(), detect_fps=detect_fps)


def grab_frame(camera: CameraConfig, *, offset: timedelta = timedelta(0), timeout: timedelta) -> np.ndarray:
    """One picture from the camera, for calibration: a file's first frame with a picture at or after
    `offset`, or a live source's first frame with a picture within `timeout`."""
    live = is_live(camera.url)
    if not live and not Path(camera.url).is_file():
        raise SourceError(f"camera {camera.id}: video file {camera.url} does not exist (relative to {Path.cwd()})")
    capture = cv2.VideoCapture(_capture_target(camera.url))
    try:
        if not capture.isOpened():
            raise SourceError(f"camera {camera.id}: cannot open {camera.url}")
        if not live and offset > timedelta(0):
            capture.set(cv2.CAP_PROP_POS_MSEC, offset.total_seconds() * 1000)
        deadline = time.monotonic() + timeout.total_seconds()
        while not live or time.monotonic() < deadline:
            ok, image = capture.read()
            if not ok:
                break
            if not is_no_signal(image, camera.no_signal_level):
                return image
        where = f"after {offset}" if not live else f"within {timeout}"
        raise SourceError(f"camera {camera.id}: no picture from {camera.url} {where} (only 'no signal' or nothing)")
    finally:
        capture.release()
