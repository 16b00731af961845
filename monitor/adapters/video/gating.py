"""Per-zone motion gating: run the detector on a seat only when its picture changed, or when it is due.

Most of a service hall's day is static: staff sit, seats stay empty. A detector call on every
sampled frame of every camera (what region counters and most 离岗检测 scripts do) spends nearly all
its time confirming that nothing changed. Frigate fits many cameras on a CPU by detecting only where
motion says something changed; this gate does the same per seat zone.

For each zone the gate keeps a *reference*: the zone's region (the seat and the margin around it
where a person reading it could stand, see monitor.adapters.video.regions) as a small blurred grey image,
taken when the detector last looked at it. A zone is **due** for the detector when
- it has never been read;
- its region differs from the reference: more than `changed_fraction` of its pixels moved by more
  than `pixel_threshold` grey levels, after removing the region's median shift (so a lighting
  drift or an auto-exposure step does not count as motion);
- its last readings do not yet agree (`settle` detector readings in a row with the same answer):
  a low-confidence seated person may be missed once, and a miss must not be frozen in place;
- a re-verification is due: time is cut into periods of `reverify`, and a zone not read yet in the
  current period is read on its first frame. So no zone goes unread for longer than `reverify` plus
  the wait for a frame, and every zone is read on the first frame after a longer gap (the camera was
  dark: anything may have changed). Each camera's periods start at its own `phase`, so that the
  re-verifications of a hall's cameras are spread over the period instead of all falling on one frame.

A zone the gate skips keeps its last reading, because its picture has not changed since that
reading was taken. The gate never makes a reading up: a zone that was never read is always due, and
"unknown" (no frames) is the worker's watchdog's business, before and after the gate.

The extra delay the gate can add to a seat change is therefore bounded: a change the motion test
sees is read on that frame (no delay); one it misses entirely (a person who sits down perfectly
still between two frames and changes nothing in the region) is read at the next re-verification,
at most `reverify` (and the wait for the next frame) later. When a frame shows nothing new (`steady`:
no zone moved or unsettled, and any re-verification confirmed its zone), its camera lets the source
hold the rest of the frame's GOP (monitor.core.sampling): a change that starts there is seen on the
next decoded frame, at most one GOP (2 s at most) later.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import cv2
import numpy as np

from monitor.adapters.video.regions import Rect

GATE_WIDTH = 320
"""Frames are shrunk to at most this width before comparing: motion needs no detail, and it is cheap."""


@dataclass(frozen=True, slots=True)
class GateSettings:
    reverify: dt.timedelta = dt.timedelta(seconds=10)
    """A static zone is read again at least this often."""
    pixel_threshold: int = 18
    """Grey levels (0-255) a pixel must change by, after the region's median shift, to count as moved."""
    changed_fraction: float = 0.03
    """Fraction of a region's pixels that must move for the zone to count as changed."""
    settle: int = 2
    """Detector readings in a row that must agree before an unchanged zone may be skipped."""

    def __post_init__(self) -> None:
        if self.reverify <= dt.timedelta(0):
            raise ValueError("reverify must be longer than 0s")
        if self.settle < 1:
            raise ValueError("settle must be at least 1")


@dataclass(slots=True)
class _ZoneMemory:
    reference: np.ndarray | None = None
    read_at: dt.datetime | None = None
    answers: list[bool] = field(default_factory=list)


class ZoneGate:
    """The gate of one camera: which of its zones need the detector on this frame."""

    def __init__(
        self,
        regions: Mapping[str, Rect],
        frame_shape: tuple[int, ...],
        settings: GateSettings,
        phase: float = 0.0,
    ) -> None:
        """`phase`: where this camera's re-verification periods start, as a fraction (0-1) of `reverify`."""
        height, width = int(frame_shape[0]), int(frame_shape[1])
        self._scale = min(1.0, GATE_WIDTH / width)
        self._size = (max(1, round(width * self._scale)), max(1, round(height * self._scale)))
        self._regions = {window: self._shrink(rect) for window, rect in regions.items()}
        self._settings = settings
        self._phase = phase % 1.0
        self._memory = {window: _ZoneMemory() for window in regions}
        self._small: np.ndarray | None = None
        self._small_at: dt.datetime | None = None
        self._news = True  # the last frame planned had a zone moved, unsettled or never read

    def _shrink(self, rect: Rect) -> tuple[int, int, int, int]:
        x1, y1, x2, y2 = (round(v * self._scale) for v in rect)
        w, h = self._size
        x1, y1 = min(max(0, x1), w - 1), min(max(0, y1), h - 1)
        return x1, y1, max(x1 + 1, min(w, x2)), max(y1 + 1, min(h, y2))

    def _grey(self, image: np.ndarray, at: dt.datetime) -> np.ndarray:
        if self._small_at != at or self._small is None:
            # Nearest-neighbour shrinking is five times cheaper than area averaging; the blur does the averaging.
            small = cv2.resize(image, self._size, interpolation=cv2.INTER_NEAREST)
            grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
            self._small = cv2.GaussianBlur(grey, (5, 5), 0)
            self._small_at = at
        return self._small

    def moved(self, window: str, image: np.ndarray, at: dt.datetime) -> bool:
        """Whether the zone's region differs from its reference (True when there is no reference)."""
        reference = self._memory[window].reference
        if reference is None:
            return True
        x1, y1, x2, y2 = self._regions[window]
        current = self._grey(image, at)[y1:y2, x1:x2].astype(np.int16)
        difference = current - reference.astype(np.int16)
        difference -= np.int16(np.median(difference))
        moved = np.count_nonzero(np.abs(difference) > self._settings.pixel_threshold)
        return moved > self._settings.changed_fraction * difference.size

    def _period(self, at: dt.datetime) -> int:
        return math.floor(at.timestamp() / self._settings.reverify.total_seconds() - self._phase)

    def due(self, image: np.ndarray, at: dt.datetime) -> tuple[str, ...]:
        """The zones to read with the detector on this frame (in the order the regions were given)."""
        out = []
        self._news = False
        for window, memory in self._memory.items():
            news = memory.read_at is None or not self._settled(memory) or self.moved(window, image, at)
            self._news |= news
            if news or (memory.read_at is not None and self._period(at) > self._period(memory.read_at)):
                out.append(window)
        return tuple(out)

    def steady(self) -> bool:
        """Whether the last frame showed nothing new: no zone moved or unsettled when it was planned, and every
        zone's readings agree after it was read (a re-verification that confirmed its zone changes nothing)."""
        return not self._news and all(self._settled(memory) for memory in self._memory.values())

    def _settled(self, memory: _ZoneMemory) -> bool:
        return len(memory.answers) >= self._settings.settle and len(set(memory.answers)) == 1

    def record(self, image: np.ndarray, at: dt.datetime, occupied: Mapping[str, bool]) -> None:
        """The detector read these zones on this frame: their references and answers move on."""
        grey = self._grey(image, at)
        for window, answer in occupied.items():
            memory = self._memory[window]
            x1, y1, x2, y2 = self._regions[window]
            memory.reference = grey[y1:y2, x1:x2].copy()
            memory.read_at = at
            memory.answers = [*memory.answers, answer][-self._settings.settle :]
