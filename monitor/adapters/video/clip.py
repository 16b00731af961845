"""Evidence clips: sampled frames kept small (JPEG), and written as an H.264 MP4 through PyAV.

A camera keeps its recent sampled frames as small JPEGs (a few kB each, `shrink`), so that when an incident is
found the frames around it are still there; only then does it write the MP4 (`encode_mp4`), at the sampling rate:
a clip of two minutes at one frame a second is 120 frames, about 100 kB. The MP4 starts with its index
(faststart), so a browser plays it before the whole file has arrived.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

CLIP_QUALITY = 70
"""JPEG quality of a kept frame: the clip is re-encoded from it, so a little better than the clip needs."""


def shrink(image: np.ndarray, width: int) -> bytes:
    """`image` (BGR) scaled down by a whole factor to at most `width` pixels wide (OpenCV averages whole blocks
    of pixels many times faster than a fractional scale), as a JPEG."""
    height, current = image.shape[0], image.shape[1]
    factor = -(-current // width)
    if factor > 1:
        size = (max(2, current // factor), max(2, height // factor))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, CLIP_QUALITY])
    if not ok:
        raise ValueError(f"cannot encode a {image.shape} frame as JPEG")
    return data.tobytes()


def encode_mp4(pictures: Sequence[np.ndarray], fps: float) -> bytes:
    """The `pictures` (BGR) as an H.264 MP4 at `fps` (the sampling rate, so the clip plays in real time)."""
    if not pictures:
        raise ValueError("a clip needs at least one frame")
    height, width = pictures[0].shape[0] & ~1, pictures[0].shape[1] & ~1  # 4:2:0 needs even sizes
    rate = Fraction(fps).limit_denominator(1000)
    # faststart moves the index to the front after writing, which needs a file (not a memory buffer).
    with tempfile.TemporaryDirectory(prefix="clip-") as folder:
        path = Path(folder) / "clip.mp4"
        _write(path, pictures, width, height, rate)
        return path.read_bytes()


def _write(path: Path, pictures: Sequence[np.ndarray], width: int, height: int, rate: Fraction) -> None:
    with av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"}) as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "26", "tune": "stillimage"}
        for n, picture in enumerate(pictures):
            if picture.shape[0] != height or picture.shape[1] != width:
                picture = cv2.resize(picture, (width, height), interpolation=cv2.INTER_AREA)
            frame = av.VideoFrame.from_ndarray(picture, format="bgr24")
            frame.pts = n
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
