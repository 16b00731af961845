"""Camera streams for real: H.264 files as cameras encode them, served by a real RTSP server, read by FFmpeg.

The files are checked packet by packet (keyframes every GOP frames, size, rate); the server with
PyAV as the client, over RTSP/TCP as the camera workers connect: real-time pacing, the endless
loop, several mounts, Basic authentication, and a camera that goes away, comes back or hangs.
Timing is only bounded generously. The server tests are skipped where the system Python lacks
gst-rtsp-server (`.ci/run` installs it).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import av
import av.container
import numpy as np
import pytest

from monitor.errors import InputError
from monitor.tools.streams import rtsp
from monitor.tools.streams.encode import D1, StreamFormat, write_stream
from monitor.tools.streams.rtsp import PACKAGES, RtspServer, RtspServerError, RtspUnavailable, rtsp_server_available

CIF = StreamFormat(352, 288, gop=25)
"""A second camera, smaller, so that a client can tell the mounts apart."""
CLIP_FORMAT = StreamFormat(D1.width, D1.height, gop=25)
CLIP_FRAMES = 50
"""Two seconds at 25 fps: a client reading for four gets past the end, into the loop."""


def moving_box(count: int, width: int = 640, height: int = 480) -> Iterator[np.ndarray]:
    """A box crossing a grey frame, one step per frame (BGR)."""
    for i in range(count):
        frame = np.full((height, width, 3), 90, np.uint8)
        x = (i * 13) % (width - 80)
        frame[height // 3 : height // 3 + 80, x : x + 80] = (0, 180, 255)
        yield frame


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two camera files, cam1 (D1) and cam2 (CIF), of two seconds each; skips without gst-rtsp-server."""
    if not rtsp_server_available():
        pytest.skip(f"the system Python cannot run gst-rtsp-server (apt-get install {PACKAGES})")
    folder = tmp_path_factory.mktemp("streams")
    return {
        "cam1": write_stream(folder / "cam1.mp4", moving_box(CLIP_FRAMES), CLIP_FORMAT),
        "cam2": write_stream(folder / "cam2.mp4", moving_box(CLIP_FRAMES), CIF),
    }


def client(url: str, timeout: float = 5) -> av.container.InputContainer:
    """An RTSP client as the camera workers open one: TCP, with a timeout to open and to read."""
    return av.open(url, options={"rtsp_transport": "tcp"}, timeout=(timeout, timeout))


def first_frame(url: str) -> av.VideoFrame:
    with client(url) as container:
        return next(container.decode(video=0))


# --- the files ---


def test_write_stream_has_keyframes_every_gop_at_the_size_and_rate_asked(tmp_path: Path) -> None:
    fmt = StreamFormat(D1.width, D1.height, gop=10)
    path = write_stream(tmp_path / "cam.mp4", moving_box(35), fmt)  # 640x480 frames: scaled to D1

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (704, 576)
        assert stream.average_rate == 25
        assert stream.codec_context.profile == "Main"
        packets = [packet for packet in container.demux(stream) if packet.size]
    assert len(packets) == 35
    assert [i for i, packet in enumerate(packets) if packet.is_keyframe] == [0, 10, 20, 30]

    with av.open(str(path)) as container:
        frames = list(container.decode(video=0))
    assert [frame.time for frame in frames] == pytest.approx([i / 25 for i in range(35)])
    assert {(frame.width, frame.height, frame.format.name) for frame in frames} == {(704, 576, "yuv420p")}


def test_write_stream_refuses_no_frames(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no frames"):
        write_stream(tmp_path / "empty.mp4", [], D1)


# --- the server ---


def test_a_client_gets_frames_in_real_time_and_past_the_end_of_the_file(clips: dict[str, Path]) -> None:
    with RtspServer({"cam1": clips["cam1"]}) as server, client(server.url("cam1")) as container:
        frames = container.decode(video=0)
        # What the client buffered while it probed the stream comes at once: drain it, then count.
        drained = 0
        started = time.monotonic()
        while time.monotonic() - started < 1:
            next(frames)
            drained += 1
        counted = []
        started = time.monotonic()
        while time.monotonic() - started < 3:
            counted.append(next(frames))

    assert 40 <= len(counted) <= 110, f"{len(counted)} frames in 3 s, not about 75 (25 fps)"
    assert drained + len(counted) > CLIP_FRAMES + 20, "the file was not looped"
    assert {(frame.width, frame.height) for frame in counted} == {(704, 576)}
    times = [frame.time for frame in counted if frame.time is not None]
    assert times == sorted(times), "the timestamps went back at the loop"
    assert times[-1] - times[0] == pytest.approx(3, abs=1)


def test_two_mounts_at_once_and_two_clients_of_one(clips: dict[str, Path]) -> None:
    with (
        RtspServer(clips) as server,
        client(server.url("cam1")) as one,
        client(server.url("cam2")) as two,
        client(server.url("cam1")) as three,
    ):
        sizes = [(frame.width, frame.height) for frame in (next(c.decode(video=0)) for c in (one, two, three))]
    assert sizes == [(704, 576), (352, 288), (704, 576)]


def test_credentials_are_required_when_set(clips: dict[str, Path]) -> None:
    with RtspServer({"cam1": clips["cam1"]}, user="patrol", password="p@ss:word") as server:
        url = server.url("cam1", with_credentials=True)
        assert url.startswith("rtsp://patrol:p%40ss%3Aword@127.0.0.1:")
        assert first_frame(url).width == 704

        with pytest.raises(av.error.FFmpegError, match="401 Unauthorized"):
            client(server.url("cam1"))
        with pytest.raises(av.error.FFmpegError, match="401 Unauthorized"):
            client(server.url("cam1").replace("rtsp://", "rtsp://patrol:wrong@"))


def test_a_stalled_server_times_clients_out_and_serves_again_once_resumed(clips: dict[str, Path]) -> None:
    with RtspServer({"cam1": clips["cam1"]}) as server:
        with client(server.url("cam1"), timeout=2) as reading:
            frames = reading.decode(video=0)
            next(frames)
            server.stall()
            stalled = time.monotonic()
            # What was already in flight still arrives (a fraction of a second of frames), then nothing.
            with pytest.raises(av.error.ExitError):
                for _ in range(100):
                    next(frames)
            assert 1.5 <= time.monotonic() - stalled <= 8

        opening = time.monotonic()
        with pytest.raises(av.error.FFmpegError):  # the connection is accepted, and never answered
            client(server.url("cam1"), timeout=2).close()
        assert time.monotonic() - opening <= 8

        server.resume()
        assert first_frame(server.url("cam1")).width == 704


def test_stop_refuses_connections_and_restart_serves_on_the_same_url(clips: dict[str, Path]) -> None:
    with RtspServer({"cam1": clips["cam1"]}) as server:
        url = server.url("cam1")
        server.stop()
        with pytest.raises(av.error.ConnectionRefusedError):
            client(url)

        server.restart()
        assert server.url("cam1") == url
        assert first_frame(url).width == 704


def test_a_file_that_is_not_video_fails_start_with_the_servers_error(clips: dict[str, Path], tmp_path: Path) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n")
    server = RtspServer({"cam1": clips["cam1"], "bad": text})
    with pytest.raises(RtspServerError, match=r"notes\.mp4") as failure:
        server.start()
    assert not isinstance(failure.value, RtspUnavailable)
    server.stop()  # nothing left to stop: start cleaned up after itself


def test_without_gstreamer_start_names_the_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    # The virtualenv's Python, like a system Python without python3-gi, cannot import the bindings.
    monkeypatch.setattr(rtsp, "SYSTEM_PYTHON", Path(sys.executable))
    server = RtspServer({"cam1": Path(__file__)})
    with pytest.raises(RtspUnavailable, match=r"gir1\.2-gst-rtsp-server-1\.0"):
        server.start()


def test_mounts_must_be_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        RtspServer({"cam1": tmp_path / "missing.mp4"})
