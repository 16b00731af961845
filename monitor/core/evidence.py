"""Evidence names and captions (pure): what each picture of an incident shows, and when.

A camera names every picture it sends after what it shows and the moment of its frame,
``<UTC time>-<kind>.jpg`` (``20201201T010341Z-arrival.jpg``), and the clip ``<UTC time>-clip.mp4`` after its
first frame. The name is signed with the incident's events (its digest), so the caption a supervisor reads —
"上班时间 09:00:00 座位无人", "09:03:41 到岗" — is derived from what the camera vouched for, and sorting by the
moment puts every incident's evidence in time order, on the console and in the notices alike. Names from
before this scheme (``last_seen.jpg`` …) have no time: they keep their lifecycle order and a caption without one.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal, get_args

PictureKind = Literal["session_start", "last_seen", "arrival", "threshold", "absent", "return", "session_end", "clip"]
"""What a picture shows: the seat at the duty period's start; the last frame with the person present; the arrival;
the frame that confirmed the post empty; the post still empty (every `[evidence] picture_every`); the return;
the period's end; and the clip around the incident's start."""

KINDS: tuple[PictureKind, ...] = get_args(PictureKind)

_LABELS: dict[PictureKind, str] = {
    "session_start": "上班时间 {t} 座位无人",
    "last_seen": "{t} 最后在岗",
    "arrival": "{t} 到岗",
    "threshold": "{t} 确认空岗",
    "absent": "{t} 仍空岗",
    "return": "{t} 回岗",
    "session_end": "下班时间 {t} 座位无人",
    "clip": "录像 {t} 起",
}
_LEGACY: dict[str, PictureKind] = {
    "last_seen.jpg": "last_seen",
    "threshold.jpg": "threshold",
    "arrival.jpg": "arrival",
    "return.jpg": "return",
    "session_end.jpg": "session_end",
}
_NAME = re.compile(r"^(\d{8}T\d{6}Z)-([a-z_]+)\.(jpg|mp4)$")
_STAMP = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True, slots=True)
class Picture:
    """One stored evidence item, as its name describes it."""

    name: str
    kind: PictureKind | None
    """None for a name this scheme does not know (shown by its name, last)."""
    at: dt.datetime | None
    """The frame's moment (UTC), None for the older names without one."""

    @property
    def is_clip(self) -> bool:
        return self.kind == "clip"

    def caption(self, tz: dt.tzinfo) -> str:
        """What it shows and when, as a supervisor reads it: "09:03:41 到岗"."""
        if self.kind is None:
            return "截图"
        moment = self.at.astimezone(tz).strftime("%H:%M:%S") if self.at is not None else ""
        return " ".join(_LABELS[self.kind].format(t=moment).split())  # without a time: no gap left where it was


def picture_name(kind: PictureKind, at: dt.datetime) -> str:
    """The name a camera gives the picture of `kind` taken at `at` (aware)."""
    extension = "mp4" if kind == "clip" else "jpg"
    return f"{at.astimezone(dt.UTC):{_STAMP}}-{kind}.{extension}"


def parse_picture(name: str) -> Picture:
    match = _NAME.match(name)
    if match is not None and match.group(2) in KINDS:
        kind: PictureKind = match.group(2)  # type: ignore[assignment]
        try:
            at = dt.datetime.strptime(match.group(1), _STAMP).replace(tzinfo=dt.UTC)
        except ValueError:
            return Picture(name, None, None)
        return Picture(name, kind, at)
    legacy = _LEGACY.get(name)
    return Picture(name, legacy, None)


def in_order(names: list[str] | tuple[str, ...]) -> list[Picture]:
    """An incident's evidence in time order (the clip with the pictures, by its first frame); names without a
    time after those with one, in lifecycle order; unknown names last."""
    legacy_rank = {kind: n for n, kind in enumerate(_LEGACY.values())}

    def key(picture: Picture) -> tuple[int, dt.datetime, int, str]:
        if picture.at is not None:
            return (0, picture.at, 0, picture.name)
        rank = legacy_rank.get(picture.kind, len(legacy_rank)) if picture.kind is not None else len(legacy_rank)
        return (1 if picture.kind is not None else 2, dt.datetime.min.replace(tzinfo=dt.UTC), rank, picture.name)

    return sorted((parse_picture(name) for name in names), key=key)
