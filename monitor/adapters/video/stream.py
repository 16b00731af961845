"""Camera streams and clips through PyAV (FFmpeg), decoding only what sampling needs.

A hall's cameras send H.264/H.265 at 25 fps with a keyframe every 1-2 s; detection samples one
frame a second. OpenCV's `grab()` decodes every frame, so decoding would be most of a camera's
cost. Here packets are read without decoding, and monitor.core.sampling decides which to decode:
keyframes only when they come at least as often as samples are due, else each GOP from its
keyframe up to its last sample; only the sampled frames are converted to pictures.

- Files: a frame's time is `start + stream time` (its presentation time from the stream's start),
  so a replay gives the same times however fast it runs. The file ends the iteration.
- Live streams (RTSP over TCP, HTTP, ...): a frame's time is the clock. The stream is opened and
  read with a timeout of `offline_after`, so a stream that stalls without closing ends in a
  reconnect instead of a hang; a lost or refused stream is reopened with exponential backoff
  (`reconnect_initial` doubling up to `reconnect_max`). Why it cannot be opened (wrong
  credentials, no such stream, refused, timed out) is `problem`, in Chinese, for the camera's
  status topic, and logged once each time it changes.
- Credentials come from the environment variable the camera's `credentials_env` names
  (`user:password`); the URL shown in logs and messages never holds them.

Black "no signal" frames are dropped as in monitor.adapters.video.source.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from urllib.parse import quote, urlsplit, urlunsplit

import av
import av.container
import numpy as np

from monitor.adapters.video.frames import Decoding, Frame, SourceError, is_no_signal
from monitor.config.video import CameraConfig
from monitor.core.sampling import EPSILON, Sampler

log = logging.getLogger(__name__)


def stream_url(camera: CameraConfig) -> str:
    """The URL to open: the configured one, with user:password from $<credentials_env> when it names one."""
    if camera.credentials_env is None:
        return camera.url
    secret = os.environ.get(camera.credentials_env)
    if not secret or ":" not in secret:
        raise SourceError(
            f"camera {camera.id}: 环境变量 {camera.credentials_env} 未设置或格式不对 (credentials_env names "
            f"${camera.credentials_env}: set it to user:password for the stream)"
        )
    user, _, password = secret.partition(":")
    parts = urlsplit(camera.url)
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"
    return urlunsplit(parts._replace(netloc=netloc))


def shown(url: str) -> str:
    """The URL as logs and messages show it: without credentials."""
    if "://" not in url:
        return url
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def describe_failure(error: Exception) -> str:
    """Why a stream cannot be opened or read, as a supervisor reads it on the camera's status."""
    if isinstance(error, av.error.HTTPUnauthorizedError):
        return "认证失败：用户名或密码错误（RTSP 401），请核对 credentials_env 所指环境变量"
    if isinstance(error, av.error.HTTPForbiddenError):
        return "无权访问该码流（403），请在摄像机或录像机上为该用户开通权限"
    if isinstance(error, av.error.HTTPNotFoundError):
        return "码流地址不存在（404），请核对 URL 中的通道和码流路径"
    if isinstance(error, ConnectionRefusedError):
        return "连接被拒绝：设备未开启 RTSP 服务或端口错误"
    if isinstance(error, (av.error.ExitError, TimeoutError)):
        return "连接超时：设备无响应或网络不通"
    if isinstance(error, av.error.InvalidDataError):
        return "无法识别的视频流（不是 H.264/H.265 等视频）"
    if isinstance(error, SourceError):
        return str(error)
    if isinstance(error, OSError) and error.strerror:
        return f"无法打开码流（{error.strerror}）"
    return f"无法打开码流（{type(error).__name__}）"


def open_container(camera: CameraConfig, url: str, *, live: bool) -> av.container.InputContainer:
    """The camera's stream or clip opened with PyAV (RTSP over TCP; a live stream's opening and reads time out
    after `offline_after`), its video decoded on one thread."""
    timeout = camera.offline_after.total_seconds()
    options = {"rtsp_transport": "tcp"} if url.lower().startswith(("rtsp://", "rtsps://")) else {}
    began = time.monotonic()
    try:
        container = av.open(url, options=options, timeout=(timeout, timeout) if live else None)
    except av.FFmpegError as exc:
        # FFmpeg reports an RTSP handshake cut short by the timeout (a device that accepts and never answers)
        # as invalid data: say what it was.
        if live and time.monotonic() - began >= timeout:
            raise TimeoutError(f"no answer from {shown(url)} within {timeout:g}s") from exc
        raise
    if not container.streams.video:
        container.close()
        raise SourceError(f"{shown(url)} 中没有视频流 (no video stream)")
    # A hall's cameras decode in parallel already (a reader thread each); threads per stream only add overhead.
    container.streams.video[0].codec_context.thread_count = 1
    return container


def pixel_aspect(camera: CameraConfig, container: av.container.InputContainer) -> float:
    """The width of the stream's pixels against their height: the camera's `pixel_aspect`, else the stream's
    declared sample aspect ratio, else square."""
    if camera.pixel_aspect is not None:
        return camera.pixel_aspect
    declared = container.streams.video[0].sample_aspect_ratio
    return float(declared) if declared and 0.25 < declared <= 4 else 1.0  # 0/1 is "not declared"


class StreamSource:
    """A clip or a live stream of one camera, read with PyAV and sampled at `detect_fps`."""

    def __init__(
        self,
        camera: CameraConfig,
        *,
        live: bool,
        start: datetime,
        detect_fps: float,
        clock: Callable[[], datetime],
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        self._camera = camera
        self._live = live
        self._start = start
        self._clock = clock
        self._closed = threading.Event()
        self._sleep = sleep or self._closed.wait
        self._url = stream_url(camera)
        self._shown = shown(camera.url)
        self.sampler = Sampler(period=1.0 / detect_fps)
        self.problem: str | None = None
        """Why the live stream cannot be opened now (Chinese, for the camera's status); None while it plays."""
        self._container: av.container.InputContainer | None = None
        self._reading = threading.Lock()  # held while frames() is inside the container
        self._sampling = threading.Lock()  # the reader's decisions against hold() from the consumer's thread
        if not live:
            try:
                self._container = self._open()
            except (av.FFmpegError, SourceError) as exc:
                raise SourceError(f"camera {camera.id}: cannot read {self._shown}: {describe_failure(exc)}") from None

    def decoding(self) -> Decoding:
        sampler = self.sampler
        return Decoding(sampler.mode, sampler.packets, sampler.decoded, sampler.taken, sampler.held)

    def hold(self, frame: Frame) -> None:
        """Decode no more of `frame`'s GOP: its remaining samples are delivered held (partial mode only)."""
        with self._sampling:
            self.sampler.hold(frame.gop)

    def _open(self) -> av.container.InputContainer:
        return open_container(self._camera, self._url, live=self._live)

    def _connect(self) -> av.container.InputContainer | None:
        """Block until the live stream opens (or the source is closed), waiting longer after each failure."""
        delay = self._camera.reconnect_initial.total_seconds()
        while not self._closed.is_set():
            try:
                container = self._open()
            except (av.FFmpegError, SourceError, TimeoutError) as exc:
                problem = describe_failure(exc)
                if problem != self.problem:
                    log.error(
                        "camera %s: cannot open %s: %s; retrying with backoff (up to %.0fs)",
                        self._camera.id,
                        self._shown,
                        problem,
                        self._camera.reconnect_max.total_seconds(),
                    )
                    self.problem = problem
                self._sleep(delay)
                delay = min(delay * 2, self._camera.reconnect_max.total_seconds())
                continue
            if self.problem is not None:
                log.info("camera %s: %s open again", self._camera.id, self._shown)
            else:
                log.info("camera %s: %s open", self._camera.id, self._shown)
            self.problem = None
            return container
        return None

    def frames(self) -> Iterator[Frame]:
        index = 0
        while not self._closed.is_set():
            container = self._container if self._container is not None else self._connect() if self._live else None
            if container is None:
                return
            self._container = container
            try:
                aspect = pixel_aspect(self._camera, container)
                with self._reading:
                    for at, image, gop, held in self._decode(container):
                        at = self._clock() if self._live else at
                        yield Frame(self._camera.id, at, index, image, gop, held, aspect)
                        index += 1
            except av.FFmpegError as exc:
                if not self._live:
                    raise SourceError(f"camera {self._camera.id}: {self._shown}: {describe_failure(exc)}") from None
                log.warning("camera %s: stream lost (%s); reconnecting", self._camera.id, describe_failure(exc))
            else:
                if self._live and not self._closed.is_set():
                    log.warning("camera %s: the stream ended; reconnecting", self._camera.id)
            finally:
                self._container = None
                container.close()
            if not self._live:
                return
            self.sampler.restart()

    def _decode(self, container: av.container.InputContainer) -> Iterator[tuple[datetime, np.ndarray, int, bool]]:
        """The samples of the stream: stream time (start + position), picture, GOP number, held or decoded."""
        stream = container.streams.video[0]
        base: int | None = stream.start_time
        time_base = float(stream.time_base) if stream.time_base is not None else 0.0
        sampler = self.sampler
        last: np.ndarray | None = None  # the last picture delivered: what a held sample shows
        for packet in container.demux(stream):
            if self._closed.is_set():
                return
            if packet.pts is None:  # the end: flush what the decoder holds
                chosen = packet.decode()
            else:
                base = packet.pts if base is None else base
                position = (packet.pts - base) * time_base
                with self._sampling:
                    wanted = sampler.decode(position, packet.is_keyframe)
                    held = not wanted and last is not None and sampler.take_held(position)
                if held:
                    yield self._start + timedelta(seconds=position), last, sampler.keyframes, True
                if not wanted:
                    continue
                chosen = packet.decode()
            for frame in chosen:
                if frame.pts is None:
                    continue
                base = frame.pts if base is None else base
                position = (frame.pts - base) * time_base
                with self._sampling:
                    if not sampler.take(position, keyframe=frame.key_frame):
                        continue
                    gop = sampler.keyframes
                image = frame.to_ndarray(format="bgr24")
                if is_no_signal(image, self._camera.no_signal_level):
                    continue
                last = image
                yield self._start + timedelta(seconds=position), image, gop, False

    def close(self) -> None:
        """Stop: a reader inside the stream leaves at its next packet (or read timeout) and closes it."""
        self._closed.set()
        if self._reading.acquire(blocking=False):  # nobody reads: close it here
            try:
                if self._container is not None:
                    self._container.close()
                    self._container = None
            finally:
                self._reading.release()


def read_picture(camera: CameraConfig, *, live: bool, offset: timedelta, timeout: timedelta) -> np.ndarray:
    """One picture, for calibration: a clip's first frame with a picture at or after `offset`, or a live
    stream's first within `timeout`; a clear SourceError otherwise."""
    url = stream_url(camera)
    try:
        container = open_container(camera, url, live=live)
    except (av.FFmpegError, SourceError, TimeoutError) as exc:
        raise SourceError(f"camera {camera.id}: cannot open {shown(url)}: {describe_failure(exc)}") from None
    deadline = time.monotonic() + timeout.total_seconds()
    try:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            if live and time.monotonic() > deadline:
                break
            if not live and (frame.time or 0.0) + EPSILON < offset.total_seconds():
                continue
            image = frame.to_ndarray(format="bgr24")
            if not is_no_signal(image, camera.no_signal_level):
                return image
    except av.FFmpegError as exc:
        raise SourceError(f"camera {camera.id}: {shown(url)}: {describe_failure(exc)}") from None
    finally:
        container.close()
    where = f"after {offset}" if not live else f"within {timeout}"
    raise SourceError(f"camera {camera.id}: no picture from {shown(url)} {where} (only 'no signal' or nothing)")
