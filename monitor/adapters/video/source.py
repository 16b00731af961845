"""Frame sources: which one a camera gets (`open_source`), and the OpenCV ones.

Files and network streams go through PyAV (monitor.adapters.video.stream), which decodes only the
frames sampling needs. OpenCV reads local devices (a camera index such as 0), and files PyAV cannot
read. OpenCV's `grab()` still decodes every frame (it skips the colour conversion of the ones not
retrieved): its `decoding()` says "all".

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
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np

from monitor.adapters.video.frames import Decoding, Frame, FrameSource, SourceError, is_no_signal
from monitor.adapters.video.stream import StreamSource, read_picture
from monitor.config.video import CameraConfig

log = logging.getLogger(__name__)

LIVE_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://")


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


def _require_file(camera: CameraConfig) -> Path:
    path = Path(camera.url)
    if not path.is_file():
        raise SourceError(
            f"camera {camera.id}: video file {camera.url} does not exist (url is relative to the working "
            f"directory {Path.cwd()}; give an existing file, an rtsp:// URL or a device index)"
        )
    return path


class FileSource:
    """A recorded clip through OpenCV, sampled by stream position."""

    def __init__(self, camera: CameraConfig, *, start: datetime, detect_fps: float) -> None:
        self._capture = cv2.VideoCapture(str(_require_file(camera)))
        if not self._capture.isOpened():
            raise SourceError(f"camera {camera.id}: OpenCV cannot read {camera.url} as a video")
        self._camera = camera
        self._start = start
        self._period_ms = 1000.0 / detect_fps
        self._grabbed = self._sampled = 0
        self.problem: str | None = None

    def decoding(self) -> Decoding:
        return Decoding("all", self._grabbed, self._grabbed, self._sampled)

    def hold(self, frame: Frame) -> None:
        """OpenCV decodes every frame anyway: nothing to hold."""

    def frames(self) -> Iterator[Frame]:
        due_ms = 0.0
        index = 0
        while self._capture.grab():
            self._grabbed += 1
            position_ms = self._capture.get(cv2.CAP_PROP_POS_MSEC)
            if position_ms + 0.5 < due_ms:  # half a millisecond for rounding in the container's timestamps
                continue
            while due_ms <= position_ms + 0.5:
                due_ms += self._period_ms
            ok, image = self._capture.retrieve()
            self._sampled += 1
            if not ok or is_no_signal(image, self._camera.no_signal_level):
                continue
            yield Frame(
                self._camera.id,
                self._start + timedelta(milliseconds=position_ms),
                index,
                image,
                pixel_aspect=self._camera.pixel_aspect or 1.0,
            )
            index += 1

    def close(self) -> None:
        self._capture.release()


class LiveSource:
    """A local device (or a stream) through OpenCV, sampled by the clock, reopened with backoff when lost."""

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
        self._grabbed = self._sampled = 0
        self.problem: str | None = None

    def decoding(self) -> Decoding:
        return Decoding("all", self._grabbed, self._grabbed, self._sampled)

    def hold(self, frame: Frame) -> None:
        """OpenCV decodes every frame anyway: nothing to hold."""

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
                self.problem = None
                return
            log.warning("camera %s: cannot open the stream; retrying in %.0fs", self._camera.id, delay)
            self.problem = f"无法打开 {self._camera.url}（设备不存在或被占用）"
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
            self._grabbed += 1
            now = self._clock()
            if due is not None and now < due:
                continue
            due = now + self._period
            ok, image = self._capture.retrieve()
            self._sampled += 1
            if not ok or is_no_signal(image, self._camera.no_signal_level):
                continue
            yield Frame(self._camera.id, now, index, image, pixel_aspect=self._camera.pixel_aspect or 1.0)
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
    sleep: Callable[[float], object] | None = None,
) -> FrameSource:
    """The camera's frame source: a file replayed from `start` (default: now), or a live stream on the clock.

    Files and streams are read with PyAV, decoding only what sampling needs; a device index, and a file
    PyAV cannot read, with OpenCV."""
    if start is not None and start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    if camera.url.strip().isdigit():
        return LiveSource(camera, detect_fps=detect_fps, clock=clock, sleep=sleep or time.sleep)
    if is_live(camera.url):
        return StreamSource(camera, live=True, start=clock(), detect_fps=detect_fps, clock=clock, sleep=sleep)
    _require_file(camera)
    try:
        return StreamSource(camera, live=False, start=start or clock(), detect_fps=detect_fps, clock=clock)
    except SourceError as exc:
        log.warning("%s; reading it with OpenCV (every frame decoded)", exc)
        return FileSource(camera, start=start or clock(), detect_fps=detect_fps)


def grab_frame(camera: CameraConfig, *, offset: timedelta = timedelta(0), timeout: timedelta) -> np.ndarray:
    """One picture from the camera, for calibration: a file's first frame with a picture at or after
    `offset`, or a live source's first frame with a picture within `timeout`."""
    if not camera.url.strip().isdigit():
        live = is_live(camera.url)
        if not live:
            _require_file(camera)
        return read_picture(camera, live=live, offset=offset, timeout=timeout)
    capture = cv2.VideoCapture(_capture_target(camera.url))
    try:
        if not capture.isOpened():
            raise SourceError(f"camera {camera.id}: cannot open device {camera.url}")
        deadline = time.monotonic() + timeout.total_seconds()
        while time.monotonic() < deadline:
            ok, image = capture.read()
            if not ok:
                break
            if not is_no_signal(image, camera.no_signal_level):
                return image
        raise SourceError(f"camera {camera.id}: no picture from device {camera.url} within {timeout}")
    finally:
        capture.release()
