"""What every frame source delivers: sampled pictures with their times, and how it decoded them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import numpy as np

from monitor.errors import MonitorError


class SourceError(MonitorError):
    """A camera's source cannot be opened at all (a missing file, a bad URL, missing credentials)."""


@dataclass(frozen=True)
class Frame:
    """A sampled picture: `at` is aware (stream position or clock), `index` counts the frames delivered."""

    camera: str
    at: datetime
    index: int
    image: np.ndarray = field(repr=False)
    gop: int = 0
    """The keyframe interval (GOP) the frame lies in, numbered by the source; for `FrameSource.hold`."""
    held: bool = False
    """Not decoded: its GOP was held (`FrameSource.hold`), and `image` is the last picture decoded."""
    pixel_aspect: float = 1.0
    """The width of a pixel against its height: the stream's declared sample aspect ratio (16:11 for a 16:9
    picture in 704x576) or the camera's `pixel_aspect`; 1 for square pixels."""


@dataclass(frozen=True, slots=True)
class Decoding:
    """How a source decodes its stream, for the camera's statistics."""

    mode: str
    """keyframes (only keyframes decoded), partial (each GOP up to its last sample), or all."""
    packets: int
    """Compressed frames read from the stream."""
    decoded: int
    """Of those, decoded."""
    sampled: int
    """Samples delivered (before dropping 'no signal' frames), held ones included."""
    held: int = 0
    """Of the samples, delivered without decoding: their GOP was held (`FrameSource.hold`)."""


class FrameSource(Protocol):
    problem: str | None
    """Why a live source cannot deliver now (in Chinese, for the camera's status); None when it can."""

    def frames(self) -> Iterator[Frame]: ...

    def decoding(self) -> Decoding: ...

    def hold(self, frame: Frame) -> None:
        """Nothing in `frame` needs a closer look: the source may deliver the rest of its GOP's samples without
        decoding them (held frames, carrying the last picture). A source that cannot, ignores it."""

    def close(self) -> None: ...


def is_no_signal(image: np.ndarray, level: int) -> bool:
    """True when every pixel is at most `level` bright: an encoder's black 'no signal' frame."""
    return level > 0 and int(image.max()) <= level
