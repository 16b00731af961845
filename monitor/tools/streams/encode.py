"""Write a camera stream file from BGR frames: H.264 as an IP camera or NVR encodes it.

The camera workers decode what a hall's NVR sends: H.264 main profile at 25 fps, no B-frames, a
keyframe every GOP frames, at D1 (704x576) or 1080p. `write_stream` produces exactly that from
numpy frames, so that tests and benchmarks decode streams shaped like the real ones (a decoder that
joins mid-stream waits for the next keyframe; a seek lands on one), and `monitor.tools.streams.rtsp`
serves them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

PRESET = "veryfast"
"""libx264's preset. Measured on the 2-core development machine with synthetic frames (a gradient,
light noise, a moving rectangle), BGR to YUV conversion included: 170-240 frames/s at D1 (7-10 times
real time) and 63 frames/s at 1080p (2.5 times). "ultrafast" was no faster there (the conversion
takes a third to a half of the time) and its files were 3-4 times larger."""


@dataclass(frozen=True, slots=True)
class StreamFormat:
    """What a camera stream is: its size, frame rate, keyframe interval and quality."""

    width: int
    height: int
    fps: int = 25
    gop: int = 50
    """Frames from one keyframe to the next, fixed (no extra keyframes on scene cuts), as cameras do."""
    crf: int = 23
    """libx264's constant rate factor: lower is better quality and larger files (when no bitrate is set)."""
    bitrate: int | None = None
    """Average bits a second instead of a constant quality, as cameras are set (the decoder's work grows
    with it)."""
    sample_aspect: Fraction = Fraction(1)
    """The width of a pixel against its height, declared in the stream (H.264 VUI): 16:11 for a 16:9
    picture carried in 704x576, as D1 substreams of widescreen cameras do."""


D1 = StreamFormat(704, 576, bitrate=768_000, sample_aspect=Fraction(16, 11))
"""An NVR's substream of a 16:9 camera: D1 at 768 kbit/s, pixels declared 16:11."""
HD1080 = StreamFormat(1920, 1080, bitrate=4_000_000)
"""A camera's main stream: 1080p at 4 Mbit/s."""


def write_stream(path: Path, frames: Iterable[np.ndarray], fmt: StreamFormat) -> Path:
    """Encode `frames` (H x W x 3 uint8, BGR as OpenCV has them) to an H.264 MP4 at `path`; return `path`.

    MP4 rather than MKV because it is what an NVR exports and what GStreamer's qtdemux and every
    player read; its frame durations are exact (the stream's timescale is a multiple of the rate),
    where MKV rounds timestamps to milliseconds. Frame i has pts i in 1/fps units.

    yuv420p, main profile, no B-frames (so decode order is display order, as on most IP cameras), an
    IDR keyframe exactly every `fmt.gop` frames from the first. Frames of another size are scaled
    to the format's size (not letterboxed). Raises ValueError when there are no frames.
    """
    rate = Fraction(fmt.fps)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.width = fmt.width
        stream.height = fmt.height
        stream.pix_fmt = "yuv420p"
        stream.codec_context.sample_aspect_ratio = fmt.sample_aspect
        stream.codec_context.time_base = 1 / rate
        options = {
            "preset": PRESET,
            "profile": "main",
            # scenecut=0: keyframes only every keyint frames (min-keyint then plays no part).
            "x264-params": f"keyint={fmt.gop}:scenecut=0:bframes=0",
        }
        if fmt.bitrate is None:
            options["crf"] = str(fmt.crf)
        else:
            stream.codec_context.bit_rate = fmt.bitrate
        stream.codec_context.options = options
        count = 0
        for count, image in enumerate(frames, start=1):
            frame = av.VideoFrame.from_ndarray(image, format="bgr24").reformat(
                width=fmt.width, height=fmt.height, format="yuv420p"
            )
            frame.pts = count - 1
            frame.time_base = stream.codec_context.time_base
            container.mux(stream.encode(frame))
        if count == 0:
            raise ValueError(f"no frames to write to {path}")
        container.mux(stream.encode(None))
    return path
