"""The RTSP server child of `monitor.tools.streams.rtsp.RtspServer`: gst-rtsp-server serving H.264 files in a loop.

Runs under Debian's system Python (/usr/bin/python3 with python3-gi), which can import GStreamer's
introspection bindings where the monitor's virtualenv cannot; so it imports nothing from `monitor`.

    gst_rtsp_server.py --check     exit 0 when GStreamer, gst-rtsp-server and the elements are there
    gst_rtsp_server.py             read the settings as one JSON line on stdin, then serve:
        {"port": 8554, "mounts": {"cam1": "/abs/cam1.mp4"}, "user": null, "password": null}

Each file is demuxed once at start into its H.264 access units (Annex B, SPS/PPS before every
keyframe). Each mount's media is `appsrc ! h264parse ! rtph264pay`, fed those units endlessly, the
timestamps of each pass shifted by the file's duration so that they keep increasing across the loop;
the server's sinks pace a non-live media by its timestamps, so clients get the frames in real time.
The media is shared: all clients of a mount get the same pipeline, as from a camera.

The server listens on 127.0.0.1 once every file is loaded. It exits when its stdin closes, so it
never outlives its parent. Exit status: 2 for bad settings or an unreadable file, 3 (UNAVAILABLE)
when the bindings or elements are missing, 1 when the port cannot be bound.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from typing import Any

try:
    import gi

    gi.require_version("Gst", "1.0")
    gi.require_version("GstRtspServer", "1.0")
    from gi.repository import GLib, Gst, GstRtspServer
except (ImportError, ValueError) as exc:  # ValueError: gi is there, a typelib is not
    MISSING: Exception | None = exc
else:
    MISSING = None

UNAVAILABLE = 3
BAD_INPUT = 2
ELEMENTS = ("filesrc", "parsebin", "qtdemux", "h264parse", "appsink", "appsrc", "rtph264pay")
ROLE = "streams"
LOAD_TIMEOUT_S = 30


@dataclass(frozen=True)
class Unit:
    """One H.264 access unit of the file: a frame, with its timestamps relative to the file's start."""

    data: bytes
    pts: int
    dts: int
    keyframe: bool


@dataclass(frozen=True)
class Clip:
    """A file's access units, their caps and the duration of one pass (ns)."""

    caps: Gst.Caps
    units: list[Unit]
    period: int


def missing() -> str | None:
    """What is missing for the server to run, or None."""
    if MISSING is not None:
        return f"cannot import GStreamer's gst-rtsp-server bindings: {MISSING}"
    Gst.init(None)
    absent = [name for name in ELEMENTS if Gst.ElementFactory.find(name) is None]
    return f"GStreamer elements missing: {', '.join(absent)}" if absent else None


def load(path: str) -> Clip:
    """Demux the file's H.264 video into access units; raise ValueError when it has none or cannot be read."""
    pipeline = Gst.parse_launch(
        "filesrc name=src ! parsebin ! h264parse config-interval=-1"
        " ! video/x-h264,stream-format=byte-stream,alignment=au ! appsink name=sink sync=false emit-signals=true"
    )
    pipeline.get_by_name("src").set_property("location", path)
    samples: list[Gst.Sample] = []

    def keep(sink: Gst.Element) -> Gst.FlowReturn:
        samples.append(sink.emit("pull-sample"))
        return Gst.FlowReturn.OK

    pipeline.get_by_name("sink").connect("new-sample", keep)
    pipeline.set_state(Gst.State.PLAYING)
    message = pipeline.get_bus().timed_pop_filtered(
        LOAD_TIMEOUT_S * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR
    )
    pipeline.set_state(Gst.State.NULL)
    if message is None:
        raise ValueError(f"{path}: not read within {LOAD_TIMEOUT_S} s")
    if message.type == Gst.MessageType.ERROR:
        error, debug = message.parse_error()
        raise ValueError(f"{path}: {error.message} ({debug})")
    if not samples:
        raise ValueError(f"{path}: no H.264 video")

    buffers = [sample.get_buffer() for sample in samples]
    if any(buffer.pts == Gst.CLOCK_TIME_NONE for buffer in buffers):
        raise ValueError(f"{path}: frames without timestamps (a container file is needed, not a raw .h264)")
    caps = samples[0].get_caps()
    found, num, den = caps.get_structure(0).get_fraction("framerate")
    frame = Gst.util_uint64_scale(Gst.SECOND, den, num) if found and num > 0 else buffers[0].duration
    # Timestamps start at the earliest one (a DTS may precede the first PTS when there are B-frames).
    start = min([b.pts for b in buffers] + [b.dts for b in buffers if b.dts != Gst.CLOCK_TIME_NONE])
    units = [
        Unit(
            data=buffer.extract_dup(0, buffer.get_size()),
            pts=buffer.pts - start,
            dts=buffer.dts - start if buffer.dts != Gst.CLOCK_TIME_NONE else buffer.pts - start,
            keyframe=not buffer.has_flags(Gst.BufferFlags.DELTA_UNIT),
        )
        for buffer in buffers
    ]
    return Clip(caps=caps, units=units, period=max(unit.pts for unit in units) + frame)


class Feeder:
    """Feeds one media's appsrc with a clip's access units, pass after pass, timestamps increasing."""

    def __init__(self, clip: Clip) -> None:
        self.clip = clip
        self.index = 0

    def need_data(self, src: Gst.Element, _length: int) -> None:
        count = len(self.clip.units)
        unit = self.clip.units[self.index % count]
        offset = (self.index // count) * self.clip.period
        buffer = Gst.Buffer.new_wrapped(unit.data)
        buffer.pts = offset + unit.pts
        buffer.dts = offset + unit.dts
        if not unit.keyframe:
            buffer.set_flags(Gst.BufferFlags.DELTA_UNIT)
        self.index += 1
        src.emit("push-buffer", buffer)


def configure(_factory: GstRtspServer.RTSPMediaFactory, media: GstRtspServer.RTSPMedia, clip: Clip) -> None:
    """A new media of the mount (the first client, or the first after all had left): feed it from the start."""
    src = media.get_element().get_child_by_name("src")
    src.set_property("caps", clip.caps)
    src.connect("need-data", Feeder(clip).need_data)


def factory_for(clip: Clip, permissions: GstRtspServer.RTSPPermissions | None) -> GstRtspServer.RTSPMediaFactory:
    factory = GstRtspServer.RTSPMediaFactory()
    # Non-live, time format: the server's sinks then pace the buffers by their timestamps.
    # config-interval=0: the units carry SPS/PPS before every keyframe already; rtph264pay's -1 would insert them
    # again before every IDR slice, and a multi-slice keyframe (x264 with sliced threads) would reach clients
    # split in two (FFmpeg's parser starts a new frame at SPS/PPS), each half decoded as a whole picture.
    factory.set_launch(
        "( appsrc name=src is-live=false format=time stream-type=stream"
        " ! h264parse ! rtph264pay name=pay0 pt=96 config-interval=0 )"
    )
    factory.set_shared(True)
    factory.connect("media-configure", configure, clip)
    if permissions is not None:
        factory.set_permissions(permissions)
    return factory


def authentication(user: str, password: str) -> tuple[GstRtspServer.RTSPAuth, GstRtspServer.RTSPPermissions]:
    """HTTP Basic authentication of one user, and the permissions that let that user play every mount.

    Without a default token, a client without (or with wrong) credentials gets 401 Unauthorized.
    """
    auth = GstRtspServer.RTSPAuth()
    token = GstRtspServer.RTSPToken()
    token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, ROLE)
    auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
    permissions = GstRtspServer.RTSPPermissions()
    permissions.add_role_from_structure(
        Gst.Structure.new_from_string(
            f"{ROLE}, {GstRtspServer.RTSP_PERM_MEDIA_FACTORY_ACCESS}=(boolean)true,"
            f" {GstRtspServer.RTSP_PERM_MEDIA_FACTORY_CONSTRUCT}=(boolean)true"
        )
    )
    return auth, permissions


def serve(settings: dict[str, Any]) -> int:
    clips = {mount: load(path) for mount, path in settings["mounts"].items()}
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(settings["port"]))
    permissions = None
    if settings.get("user") is not None:
        auth, permissions = authentication(settings["user"], settings["password"] or "")
        server.set_auth(auth)
    mounts = server.get_mount_points()
    for mount, clip in clips.items():
        mounts.add_factory(f"/{mount}", factory_for(clip, permissions))

    loop = GLib.MainLoop()

    def parent_gone(fd: int, _condition: GLib.IOCondition) -> bool:
        if os.read(fd, 4096):
            return True
        loop.quit()
        return False

    GLib.io_add_watch(
        sys.stdin.fileno(), GLib.PRIORITY_DEFAULT, GLib.IOCondition.IN | GLib.IOCondition.HUP, parent_gone
    )
    if server.attach(None) == 0:
        print(f"cannot listen on 127.0.0.1:{settings['port']}", file=sys.stderr)
        return 1
    loop.run()
    return 0


def main(argv: list[str]) -> int:
    problem = missing()
    if problem is not None:
        print(problem, file=sys.stderr)
        return UNAVAILABLE
    if argv[1:] == ["--check"]:
        return 0
    try:
        return serve(json.loads(sys.stdin.readline()))
    except (ValueError, KeyError, TypeError) as error:
        print(f"bad settings or file: {error}", file=sys.stderr)
        return BAD_INPUT


if __name__ == "__main__":
    sys.exit(main(sys.argv))
