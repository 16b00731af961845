"""Frame sources: sampling and timestamps on real clips, no-signal frames, live reconnection with backoff."""

from __future__ import annotations

import itertools
import json
import socket
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest

from monitor.adapters.video.frames import SourceError, is_no_signal
from monitor.adapters.video.source import FileSource, LiveSource, is_live, open_capture, open_source
from monitor.adapters.video.stream import StreamSource, shown, stream_url
from monitor.config.video import CameraConfig
from tests.support.paths import VIDEOS
from tests.support.waiting import in_background, wait_for

START = datetime(2020, 11, 3, 9, 30, tzinfo=UTC)


def camera(url: str | Path, **kw: object) -> CameraConfig:
    return CameraConfig.model_validate({"id": "cam", "url": str(url), **kw})


def write_clip(path: Path, levels: list[int], fps: float = 2.0) -> Path:
    """A tiny clip: frame n is a flat grey of levels[n] with its number drawn in white (0 = black, no number)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (64, 48))
    for n, level in enumerate(levels):
        image = np.full((48, 64, 3), level, np.uint8)
        if level:
            cv2.putText(image, str(n), (4, 40), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (255, 255, 255), 2)
        writer.write(image)
    writer.release()
    return path


def test_file_sampled_below_its_frame_rate_skips_frames_and_times_by_stream_position(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "c.mp4", [100] * 10, fps=2.0)
    source = open_source(camera(clip), start=START, detect_fps=1.0)
    frames = list(source.frames())
    source.close()
    assert [f.at for f in frames] == [START + timedelta(seconds=s) for s in range(5)]
    assert [f.index for f in frames] == list(range(5))
    assert all(f.camera == "cam" and f.image.shape == (48, 64, 3) for f in frames)


def test_file_sampled_at_its_frame_rate_keeps_every_frame(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "c.mp4", [100] * 6, fps=2.0)
    frames = list(open_source(camera(clip), start=START, detect_fps=2.0).frames())
    assert [f.at for f in frames] == [START + timedelta(milliseconds=500 * n) for n in range(6)]


def test_file_sampled_at_an_uneven_ratio(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "c.mp4", [100] * 10, fps=2.0)
    frames = list(open_source(camera(clip), start=START, detect_fps=0.8).frames())
    # Due every 1.25 s: frames at 0, 1.5 (first at or after 1.25), 2.5, 4.0 (after 3.75).
    assert [(f.at - START).total_seconds() for f in frames] == [0.0, 1.5, 2.5, 4.0]


def test_black_frames_are_a_dropout_not_frames(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "c.mp4", [100, 100, 0, 0, 0, 100], fps=1.0)
    frames = list(open_source(camera(clip), start=START, detect_fps=1.0).frames())
    assert [(f.at - START).total_seconds() for f in frames] == [0.0, 1.0, 5.0]
    kept = list(open_source(camera(clip, no_signal_level=0), start=START, detect_fps=1.0).frames())
    assert len(kept) == 6


def test_no_signal_level() -> None:
    dark = np.full((4, 4, 3), 12, np.uint8)
    assert is_no_signal(dark, 12)
    assert not is_no_signal(dark, 11)
    assert not is_no_signal(np.zeros((4, 4, 3), np.uint8), 0)
    dark[0, 0, 0] = 200  # one lit pixel: an image, however dark
    assert not is_no_signal(dark, 12)


def test_missing_and_unreadable_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"camera cam: video file .*nope\.mp4 does not exist"):
        open_source(camera(tmp_path / "nope.mp4"), start=START, detect_fps=1.0)
    junk = tmp_path / "junk.mp4"
    junk.write_text("not a video")
    with pytest.raises(SourceError, match="cannot read"):
        open_source(camera(junk), start=START, detect_fps=1.0)


def test_start_must_be_aware(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "c.mp4", [100])
    with pytest.raises(ValueError, match="timezone-aware"):
        open_source(camera(clip), start=datetime(2020, 11, 3, 9), detect_fps=1.0)


def test_file_without_start_is_replayed_from_the_clock(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "c.mp4", [100, 100], fps=1.0)
    source = open_source(camera(clip), start=None, detect_fps=1.0, clock=lambda: START)
    assert [f.at for f in source.frames()] == [START, START + timedelta(seconds=1)]


@pytest.mark.parametrize(
    ("url", "live"),
    [
        ("rtsp://10.0.0.5:554/stream1", True),
        ("RTSP://cam/x", True),
        ("http://nvr/mjpeg", True),
        ("https://nvr/hls.m3u8", True),
        ("0", True),
        ("2", True),
        ("fixtures/videos/late.mp4", False),
        ("/data/rec 1.mp4", False),
    ],
)
def test_url_kinds(url: str, live: bool) -> None:
    assert is_live(url) is live


def test_open_source_reads_files_and_streams_with_pyav_and_devices_with_opencv(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "c.mp4", [100, 100], fps=1.0)
    stream = open_source(camera("rtsp://127.0.0.1:9/none"), start=None, detect_fps=1.0)
    assert isinstance(stream, StreamSource)
    stream.close()  # never opened: closing is still fine
    assert isinstance(open_source(camera(clip), start=START, detect_fps=1.0), StreamSource)
    assert isinstance(open_source(camera("0"), start=None, detect_fps=1.0), LiveSource)


def test_a_file_pyav_cannot_read_is_read_with_opencv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fault no file here causes (the two read the same formats): PyAV refuses, OpenCV reads it."""
    import monitor.adapters.video.source as source_module

    def refuse(camera: CameraConfig, **kwargs: object) -> StreamSource:
        raise SourceError(f"camera {camera.id}: cannot read {camera.url}: 无法识别的视频流")

    monkeypatch.setattr(source_module, "StreamSource", refuse)
    clip = write_clip(tmp_path / "c.mp4", [100] * 4, fps=1.0)
    source = open_source(camera(clip), start=START, detect_fps=1.0)
    assert isinstance(source, FileSource)
    assert len(list(source.frames())) == 4
    assert source.decoding().mode == "all"


class Clock:
    """A clock that moves `step` seconds each time it is read."""

    def __init__(self, step: float) -> None:
        self.now = START
        self.step = timedelta(seconds=step)

    def __call__(self) -> datetime:
        self.now += self.step
        return self.now


def test_live_source_samples_by_the_clock_and_reconnects_with_backoff(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "c.mp4", [100] * 4, fps=2.0)
    sleeps: list[float] = []
    opens: list[str | int] = []

    def opener(target: str | int) -> cv2.VideoCapture:
        opens.append(target)
        # The stream is down for the 2nd to 5th attempts: a real capture of a path that does not exist.
        return cv2.VideoCapture(str(clip) if len(opens) in (1, 6) else str(tmp_path / "down.mp4"))

    cam = camera(clip, reconnect_initial="1s", reconnect_max="5s")
    source = LiveSource(cam, detect_fps=1.0, clock=Clock(0.5), sleep=sleeps.append, opener=opener)
    frames = []
    for frame in source.frames():
        frames.append(frame)
        if len(frames) == 4:
            source.close()
    # The clock moves 0.5 s a frame and the source wants one a second: every other frame of each pass.
    assert len(frames) == 4
    assert [f.index for f in frames] == [0, 1, 2, 3]
    assert all((b.at - a.at) >= timedelta(seconds=1) for a, b in itertools.pairwise(frames))
    # End of the first pass = stream lost; four failed opens wait 1, 2, 4, then 5 (capped), then it is back.
    assert sleeps == [1.0, 2.0, 4.0, 5.0]
    assert len(opens) == 6


def test_live_source_closed_while_down_stops(tmp_path: Path) -> None:
    sleeps: list[float] = []
    source = LiveSource(
        camera(tmp_path / "down.mp4"),
        detect_fps=1.0,
        clock=Clock(1.0),
        sleep=lambda s: (sleeps.append(s), source.close()),
    )
    assert list(source.frames()) == []
    assert sleeps == [1.0]


# ------------------------------------------------------------------ the committed fixture clips


def fixture_clip(name: str) -> tuple[CameraConfig, dict]:
    truth = json.loads((VIDEOS / f"{name}.truth.json").read_text(encoding="utf-8"))
    return camera(VIDEOS / f"{name}.mp4"), truth


def test_fixture_clip_at_2fps_sampled_at_1fps() -> None:
    cam, truth = fixture_clip("on_time")
    start = datetime.fromisoformat(truth["start"])
    source = open_source(cam, start=start, detect_fps=1.0)
    times = [f.at for f in source.frames()]
    source.close()
    assert times == [start + timedelta(seconds=s) for s in range(480)]


def test_fixture_clip_dropout_delivers_no_frames() -> None:
    cam, truth = fixture_clip("camera_dropout")
    start = datetime.fromisoformat(truth["start"])
    seconds = [round((f.at - start).total_seconds()) for f in open_source(cam, start=start, detect_fps=1.0).frames()]
    (gap,) = truth["dropouts"]
    assert seconds == [s for s in range(600) if not gap["from_s"] <= s < gap["to_s"]]


def test_a_stream_nobody_serves_fails_to_open() -> None:
    capture = open_capture("rtsp://127.0.0.1:9/none", timedelta(seconds=2))  # connection refused
    assert not capture.isOpened()


@pytest.mark.parametrize(("timeout", "ms"), [(timedelta(seconds=2), 2000), (timedelta(milliseconds=200), 1000)])
def test_a_stream_is_opened_with_ffmpeg_open_and_read_timeouts(
    timeout: timedelta, ms: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The camera's timeout goes to FFmpeg (at least a second), so a stalled stream cannot block for long."""
    calls: list[tuple[object, ...]] = []
    real = cv2.VideoCapture

    def spy(*args: object) -> cv2.VideoCapture:
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(cv2, "VideoCapture", spy)
    open_capture("rtsp://127.0.0.1:9/none", timeout)
    ((url, backend, params),) = calls
    assert (url, backend) == ("rtsp://127.0.0.1:9/none", cv2.CAP_FFMPEG)
    assert dict(zip(params[::2], params[1::2], strict=True)) == {
        cv2.CAP_PROP_OPEN_TIMEOUT_MSEC: ms,
        cv2.CAP_PROP_READ_TIMEOUT_MSEC: ms,
    }


def test_a_stalled_stream_ends_in_a_failed_open_not_a_hang() -> None:
    """A server that accepts the connection and never answers: opening gives up (after its timeout)."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    threading.Thread(target=lambda: accepted.append(server.accept()[0]), daemon=True).start()
    url = f"rtsp://127.0.0.1:{server.getsockname()[1]}/stream"
    opened: list[bool] = []
    thread, failure = in_background(lambda: opened.append(open_capture(url, timedelta(seconds=1)).isOpened()))
    try:
        wait_for(lambda: not thread.is_alive(), timeout=120, what="open_capture to give up", failure=failure)
        wait_for(lambda: accepted, what="the capture to have connected to the stalled server")
    finally:
        thread.join()
        server.close()
        for connection in accepted:
            connection.close()
    assert opened == [False]


def test_credentials_come_from_the_environment_and_are_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    cam = camera("rtsp://10.0.0.5:554/Streaming/Channels/102", credentials_env="CAM_C20")
    monkeypatch.setenv("CAM_C20", "admin:p@ss:w/rd")
    url = stream_url(cam)
    assert url == "rtsp://admin:p%40ss%3Aw%2Frd@10.0.0.5:554/Streaming/Channels/102"
    assert shown(url) == "rtsp://10.0.0.5:554/Streaming/Channels/102"
    monkeypatch.delenv("CAM_C20")
    with pytest.raises(SourceError, match="CAM_C20"):
        stream_url(cam)
    assert stream_url(camera("rtsp://10.0.0.5/x")) == "rtsp://10.0.0.5/x"  # no credentials_env: as configured


def test_a_password_in_the_configured_url_is_refused() -> None:
    with pytest.raises(ValueError, match="credentials_env"):
        camera("rtsp://admin:secret@10.0.0.5/x")
    assert camera("rtsp://viewer@10.0.0.5/x").url == "rtsp://viewer@10.0.0.5/x"  # a user alone is no secret


@pytest.mark.parametrize(("gop", "mode"), [(2, "keyframes"), (6, "partial")])
def test_a_clip_decodes_only_what_its_sampling_needs(tmp_path: Path, gop: int, mode: str) -> None:
    from monitor.tools.streams.encode import StreamFormat, write_stream

    pictures = [np.full((48, 64, 3), 40 + 10 * (n // 2), np.uint8) for n in range(24)]  # 12 s at 2 fps
    clip = write_stream(tmp_path / "c.mp4", pictures, StreamFormat(64, 48, fps=2, gop=gop))
    source = open_source(camera(clip), start=START, detect_fps=1.0)
    frames = list(source.frames())
    source.close()
    assert [f.at for f in frames] == [START + timedelta(seconds=s) for s in range(12)]
    decoding = source.decoding()
    assert (decoding.mode, decoding.packets, decoding.sampled) == (mode, 24, 12)
    assert decoding.decoded < 24


def test_a_held_gop_delivers_its_samples_without_decoding_them(tmp_path: Path) -> None:
    """The consumer saw nothing new in the first sample of a GOP: the rest of that GOP is not decoded, its
    samples come on time with the last picture, and the next GOP is decoded again."""
    from monitor.tools.streams.encode import StreamFormat, write_stream

    pictures = [np.full((48, 64, 3), 20 + 4 * n, np.uint8) for n in range(48)]  # 12 s at 4 fps, GOP 2 s
    clip = write_stream(tmp_path / "c.mp4", pictures, StreamFormat(64, 48, fps=4, gop=8))
    source = open_source(camera(clip), start=START, detect_fps=1.0)
    frames = []
    for frame in source.frames():
        frames.append(frame)
        if frame.at >= START + timedelta(seconds=6) and not frame.held:
            source.hold(frame)  # the GOPs of 6, 8 and 10 s: held after their first sample
    source.close()
    assert [f.at for f in frames] == [START + timedelta(seconds=s) for s in range(12)]
    held = [int((f.at - START).total_seconds()) for f in frames if f.held]
    assert held == [7, 9, 11]
    by_second = {int((f.at - START).total_seconds()): f for f in frames}
    assert by_second[7].image is by_second[6].image and by_second[11].image is by_second[10].image
    assert by_second[8].gop == by_second[6].gop + 1 and not by_second[8].held
    decoding = source.decoding()
    assert (decoding.mode, decoding.sampled, decoding.held) == ("partial", 12, 3)
    # GOPs at 0 and 2 s: every frame (the GOP is known once two intervals are seen); 4 s: up to its second
    # sample (5 frames); 6, 8 and 10 s: their keyframes alone.
    assert decoding.decoded == 16 + 5 + 3


def test_a_stream_s_declared_pixel_shape_reaches_its_frames_unless_the_camera_says_otherwise(tmp_path: Path) -> None:
    from fractions import Fraction

    from monitor.tools.streams.encode import StreamFormat, write_stream

    pictures = [np.full((48, 64, 3), 60, np.uint8)] * 4
    squeezed = write_stream(tmp_path / "d1.mp4", pictures, StreamFormat(64, 48, fps=2, sample_aspect=Fraction(16, 11)))
    square = write_stream(tmp_path / "sq.mp4", pictures, StreamFormat(64, 48, fps=2))

    def aspects(cam: CameraConfig) -> set[float]:
        source = open_source(cam, start=START, detect_fps=1.0)
        try:
            return {frame.pixel_aspect for frame in source.frames()}
        finally:
            source.close()

    assert aspects(camera(squeezed)) == {16 / 11}
    assert aspects(camera(square)) == {1.0}
    assert aspects(camera(square, pixel_aspect=1.4545)) == {1.4545}  # a substream that does not declare it
    assert aspects(camera(squeezed, pixel_aspect=1.0)) == {1.0}
