"""A camera's evidence clips: the frames around each window's state changes, kept until an incident wants them.

An incident is known only some time after it starts (an arrival is confirmed `arrive_after` later, an empty post
`empty_post_after` later), so its clip cannot be cut from a buffer of the last minute. Instead the keeper holds a
short ring of recent frames (small JPEGs, monitor.adapters.video.clip) and, at every change of a window to present
or absent — which is where any incident of that window starts — opens a *take*: the ring's frames from
`clip_before` before the change, then each new frame until `clip_after` after it. A window keeps its last two
takes (an early leave is found at the session's end, after the off-duty change); an incident asks for the take
that starts at its own start.

Every sampled frame is kept, so keeping must cost next to nothing: a frame is scaled down by a whole factor and
encoded once (a held frame — its GOP not decoded, the picture unchanged — reuses the last JPEG), and what must
not be shown (`hide`: the citizens) is worked out and blurred only for the frames that go into a clip, when it is
written, from what each frame noted (its size and detections).
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from monitor.adapters.video.clip import encode_mp4, shrink
from monitor.adapters.video.detections import Detections

TAKES_PER_WINDOW = 2

Hide = Callable[[np.ndarray, tuple[int, ...], Detections], np.ndarray]
"""What a clip frame may show: (the small picture, the frame's original shape, its detections) -> the picture."""


@dataclass(frozen=True, slots=True)
class KeptFrame:
    at: dt.datetime
    data: bytes
    """The frame, small, as a JPEG (shared with the frames before it while the picture did not change)."""
    shape: tuple[int, ...]
    detections: Detections


@dataclass(slots=True)
class Take:
    """The frames around one state change of one window."""

    window: str
    since: dt.datetime
    until: dt.datetime
    frames: list[KeptFrame] = field(default_factory=list)

    @property
    def first(self) -> dt.datetime | None:
        return self.frames[0].at if self.frames else None


class ClipKeeper:
    """The ring and the takes of one camera. Frames come in time order (`add`), before the state changes they
    cause are announced (`mark`)."""

    def __init__(
        self,
        before: dt.timedelta,
        after: dt.timedelta,
        keep: dt.timedelta,
        width: int,
        fps: float,
        hide: Hide | None = None,
    ) -> None:
        self.before, self.after, self.width, self.fps, self.hide = before, after, width, fps, hide
        self._keep = max(keep, before)
        self._ring: deque[KeptFrame] = deque()
        self._last: tuple[np.ndarray, bytes] | None = None
        self._takes: dict[str, deque[Take]] = {}
        self.latest: dt.datetime | None = None

    @property
    def enabled(self) -> bool:
        return self.before > dt.timedelta(0) or self.after > dt.timedelta(0)

    def add(self, at: dt.datetime, image: np.ndarray, detections: Detections) -> None:
        """One sampled frame (the same array as the previous one when its GOP was held: its JPEG is reused)."""
        if not self.enabled:
            return
        if self._last is not None and self._last[0] is image:
            data = self._last[1]
        else:
            data = shrink(image, self.width)
            self._last = (image, data)
        kept = KeptFrame(at, data, image.shape, detections)
        self.latest = at
        self._ring.append(kept)
        while self._ring and self._ring[0].at < at - self._keep:
            self._ring.popleft()
        for takes in self._takes.values():
            for take in takes:
                if take.since - self.before <= at <= take.until and (not take.frames or take.frames[-1].at < at):
                    take.frames.append(kept)

    def mark(self, window: str, since: dt.datetime) -> None:
        """`window` changed to present or absent at `since`: open its take from the ring."""
        if not self.enabled:
            return
        take = Take(window, since, since + self.after, [f for f in self._ring if since - self.before <= f.at])
        takes = self._takes.setdefault(window, deque(maxlen=TAKES_PER_WINDOW))
        if takes and takes[-1].since == since:
            takes.pop()
        takes.append(take)

    def take(self, window: str, since: dt.datetime) -> Take | None:
        """The take of the change at `since`, None when there is none (the camera was not watching then)."""
        return next((t for t in self._takes.get(window, ()) if t.since == since), None)

    def complete(self, take: Take) -> bool:
        """Whether the frames have reached the take's end."""
        return self.latest is not None and self.latest >= take.until

    def encode(self, take: Take) -> bytes | None:
        """The take as an MP4 (what there is of it), each frame with `hide` applied; None without frames."""
        if not take.frames:
            return None
        pictures = [cv2.imdecode(np.frombuffer(f.data, np.uint8), cv2.IMREAD_COLOR) for f in take.frames]
        if self.hide is not None:
            hide = self.hide
            pictures = [hide(p, f.shape, f.detections) for p, f in zip(pictures, take.frames, strict=True)]
        return encode_mp4(pictures, self.fps)
