"""Sampling a compressed stream (pure): which frames to decode, and which of those to use.

A camera stream is H.264/H.265 at 25 fps with a keyframe every GOP (typically 1-2 s); detection
samples it at `detect_fps` (1 a second by default). Decoding is most of the cost of a stream, and a
frame can only be decoded after every frame since its keyframe. So, with stream time in seconds:

- when keyframes come at least as often as samples are due ("keyframes"), only keyframes are
  decoded, and only those that stand for a sample: a keyframe within half a GOP of a sample's time
  is taken for it;
- otherwise ("partial"), each keyframe is decoded (a frame needs every frame since its keyframe)
  and the frames after it one by one until the GOP's last sample is taken; then decoding stops
  until the next keyframe;
- only the frames sampled are converted to pictures (the caller's job, on `take`);
- a GOP can be *held* (`hold`): its consumer found nothing new in a sample of it (with gating: every
  zone unchanged since it was last read, and settled), so the rest of that GOP is not decoded; its
  samples are still taken on the grid (`take_held`) and delivered with the last decoded picture. A
  change that starts inside a held GOP is seen on the next decoded sample: at most one GOP later, so
  only GOPs of at most HOLD_GOP_MAX are held (an NVR's usual keyframe interval is 1-2 s).

The result is the fewest frames that give the configured sampling: keyframes only when the GOP is
no longer than the sampling period ("keyframes"), the start of each GOP up to its last sample when
it is longer ("partial"), every frame until the GOP is known ("all"). The keyframe interval is
learnt from the stream; nothing about the encoder needs configuring. It is taken as the longest of
the last few intervals, and known only once two have been seen: a keyframe that comes later than
expected would cost the samples due before it, one that comes earlier only a few frames decoded
for nothing (cameras with a variable GOP, "smart codecs", decode more, never sample less).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Literal

DecodeMode = Literal["all", "partial", "keyframes"]

EPSILON = 0.0005
"""Half a millisecond: containers round timestamps."""
INTERVALS = 4
"""Keyframe intervals remembered: the GOP is the longest of them."""
HOLD_GOP_MAX = 2.0
"""Seconds: the longest GOP that may be held, and so the longest a seat change can wait for a decoded sample."""


@dataclass
class Sampler:
    """The decode and sampling decisions for one stream, packet by packet, in stream time (seconds)."""

    period: float
    """Seconds between samples (1 / detect_fps)."""
    packets: int = 0
    decoded: int = 0
    taken: int = 0
    """Samples taken, held ones included."""
    held: int = 0
    """Of the samples, taken in a held GOP: not decoded."""
    keyframes: int = 0
    """Keyframes seen: the number of the GOP being read (for `hold`)."""
    _intervals: deque[float] = field(default_factory=lambda: deque(maxlen=INTERVALS), repr=False)
    _due: float | None = field(default=None, repr=False)
    _last_key: float | None = field(default=None, repr=False)
    _skipping: bool = field(default=False, repr=False)
    _holding: bool = field(default=False, repr=False)

    def decode(self, at: float, keyframe: bool) -> bool:
        """Whether to decode the packet of stream time `at` (packets come in decoding order)."""
        self.packets += 1
        if keyframe:
            self.keyframes += 1
            self._holding = False
            if self._last_key is not None and at > self._last_key + EPSILON:
                self._intervals.append(at - self._last_key)
            self._last_key = at
            if self.mode == "keyframes":
                wanted = self._due is None or at + self._slack(keyframe=True) + EPSILON >= self._due
                self._skipping = True  # the frames between keyframes are never needed
            else:
                wanted = not self._later_than_next_key(at)
                self._skipping = not wanted
        else:
            wanted = not self._skipping
        if wanted:
            self.decoded += 1
        return wanted

    def take(self, at: float, *, keyframe: bool = False) -> bool:
        """Whether the decoded frame of stream time `at` is a sample (to convert and use). Samples keep to
        the grid of the first one (no drift; a gap is not made up); with keyframes only, a keyframe within
        half a GOP of its sample's time stands for it."""
        slack = self._slack(keyframe=keyframe)
        if self._due is None:
            self._due = at
        if at + slack + EPSILON < self._due:
            return False
        while self._due <= at + slack + EPSILON:
            self._due += self.period
        self.taken += 1
        if self.mode == "partial" and self._last_key is not None and self._later_than_next_key(self._last_key):
            self._skipping = True  # the next sample lies in a later GOP: wait for its keyframe
        return True

    def hold(self, gop: int) -> None:
        """A sample of GOP number `gop` (`keyframes` when it was decoded) showed nothing new: decode no more of
        that GOP (its remaining samples come from `take_held`). Only in partial mode, where the rest of a GOP
        would be decoded, and for GOPs of at most HOLD_GOP_MAX; a GOP that has already ended is not held."""
        if gop == self.keyframes and self.mode == "partial" and self.gop is not None and self.gop <= HOLD_GOP_MAX:
            self._holding = True
            self._skipping = True

    def take_held(self, at: float) -> bool:
        """Whether the packet of stream time `at`, not decoded because its GOP is held, stands for a sample."""
        if not self._holding or not self.take(at):
            return False
        self.held += 1
        return True

    def restart(self) -> None:
        """A new stream (a reconnect): its times start anew; what was learnt of the GOP stays."""
        self._due = None
        self._last_key = None
        self._skipping = False
        self._holding = False

    @property
    def gop(self) -> float | None:
        """Seconds between keyframes, as far as the stream has shown them (None: not known yet)."""
        return max(self._intervals) if len(self._intervals) >= 2 else None

    @property
    def mode(self) -> DecodeMode:
        if self.gop is None:
            return "all"
        return "keyframes" if self.gop <= self.period + EPSILON else "partial"

    def _slack(self, *, keyframe: bool) -> float:
        return self.gop / 2 if keyframe and self.gop is not None and self.mode == "keyframes" else 0.0

    def _later_than_next_key(self, key: float) -> bool:
        """Whether the next sample is due at or after the keyframe that follows the one at `key`."""
        return self.gop is not None and self._due is not None and self._due >= key + self.gop - EPSILON
