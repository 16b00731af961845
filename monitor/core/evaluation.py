"""Scoring a replay against a clip's ground truth (pure): matching, precision, recall, timing error.

The ground truth is the `.truth.json` sidecar of a clip (fixtures/videos/README.md documents it).
A found incident matches a true one of the same kind and window whose start (for a late arrival:
the arrival) lies within the tolerance (by default one sampling interval plus the longer
confirmation time: that is how far a correct machine may misdate a change); each is matched at
most once, closest start first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from monitor.core.incident import LATE_ARRIVAL
from monitor.core.presence import IncidentChange
from monitor.errors import InputError

KINDS = ("late_arrival", "empty_post", "early_leave")


@dataclass(frozen=True, slots=True)
class FoundIncident:
    """An incident as a replay reports it: the last word of its lifecycle."""

    id: str
    kind: str
    window: str
    started_at: dt.datetime
    ended_at: dt.datetime | None
    minutes: int
    minutes_late: int | None

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "kind": self.kind,
            "window": self.window,
            "started_at": self.started_at.isoformat(),
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "minutes": self.minutes,
            "minutes_late": self.minutes_late,
        }


def summarize(changes: list[IncidentChange], tz: dt.tzinfo) -> list[FoundIncident]:
    """One entry per incident id, from its latest event, in order of start."""
    latest: dict[str, IncidentChange] = {}
    for change in changes:
        latest[change.id] = change
    return sorted(
        (
            FoundIncident(
                id=c.id,
                kind=c.kind,
                window=c.window,
                started_at=c.started_at.astimezone(tz),
                ended_at=c.ended_at.astimezone(tz) if c.ended_at else None,
                minutes=c.minutes,
                minutes_late=c.minutes if c.kind == LATE_ARRIVAL else None,
            )
            for c in latest.values()
        ),
        key=lambda f: (f.started_at, f.window, f.kind),
    )


@dataclass(frozen=True, slots=True)
class TrueIncident:
    kind: str
    window: str
    started_at: dt.datetime
    ended_at: dt.datetime | None
    minutes_late: int | None

    @property
    def moment(self) -> dt.datetime:
        """What a found incident's start is compared with: the arrival for a late arrival, else the start.

        A sidecar may write a late arrival as the late interval (session start to arrival) or, as the
        MQTT contract does, as the arrival itself (start = end = arrival): the arrival is its end.
        """
        if self.kind == LATE_ARRIVAL and self.ended_at is not None:
            return self.ended_at
        return self.started_at


@dataclass(frozen=True, slots=True)
class Truth:
    camera: str
    start: dt.datetime
    incidents: tuple[TrueIncident, ...]
    description: str = ""


@dataclass(frozen=True, slots=True)
class Match:
    truth: TrueIncident
    found: FoundIncident

    @property
    def start_error(self) -> dt.timedelta:
        return abs(self.found.started_at - self.truth.moment)

    @property
    def end_error(self) -> dt.timedelta | None:
        if self.truth.kind == LATE_ARRIVAL or self.truth.ended_at is None or self.found.ended_at is None:
            return None
        return abs(self.found.ended_at - self.truth.ended_at)


@dataclass(frozen=True, slots=True)
class ClipScore:
    clip: str
    matches: tuple[Match, ...]
    missed: tuple[TrueIncident, ...]
    spurious: tuple[FoundIncident, ...]

    @property
    def true_count(self) -> int:
        return len(self.matches) + len(self.missed)

    @property
    def found_count(self) -> int:
        return len(self.matches) + len(self.spurious)

    @property
    def precision(self) -> float:
        return len(self.matches) / self.found_count if self.found_count else 1.0

    @property
    def recall(self) -> float:
        return len(self.matches) / self.true_count if self.true_count else 1.0

    @property
    def max_start_error(self) -> dt.timedelta | None:
        return max((m.start_error for m in self.matches), default=None)

    @property
    def max_end_error(self) -> dt.timedelta | None:
        return max((e for m in self.matches if (e := m.end_error) is not None), default=None)


def _time(value: object, where: str) -> dt.datetime:
    if not isinstance(value, str):
        raise InputError(f"{where}: expected an ISO 8601 time string, got {value!r}")
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise InputError(f"{where}: {value!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise InputError(f"{where}: {value!r} has no timezone (write e.g. +08:00)")
    return moment


def parse_truth(data: object, path: str) -> Truth:
    """A `.truth.json` sidecar's content (read from `path`); an InputError names the file and key at fault."""
    if not isinstance(data, dict):
        raise InputError(f"{path}: the ground truth must be a JSON object")
    for key in ("camera", "start", "incidents"):
        if key not in data:
            raise InputError(f"{path}: key {key!r} is missing")
    if not isinstance(data["incidents"], list):
        raise InputError(f"{path}: incidents: expected a list")
    incidents = []
    for index, item in enumerate(data["incidents"]):
        where = f"{path}: incidents[{index}]"
        if not isinstance(item, dict):
            raise InputError(f"{where}: expected an object")
        if item.get("kind") not in KINDS:
            raise InputError(f"{where}.kind: {item.get('kind')!r} is not one of {', '.join(KINDS)}")
        if not isinstance(item.get("window"), str):
            raise InputError(f"{where}.window: expected a window id")
        ended = item.get("ended_at")
        late = item.get("minutes_late")
        if late is not None and not isinstance(late, int):
            raise InputError(f"{where}.minutes_late: expected an integer or null")
        incidents.append(
            TrueIncident(
                kind=item["kind"],
                window=item["window"],
                started_at=_time(item.get("started_at"), f"{where}.started_at"),
                ended_at=None if ended is None else _time(ended, f"{where}.ended_at"),
                minutes_late=late,
            )
        )
    return Truth(
        camera=str(data["camera"]),
        start=_time(data["start"], f"{path}: start"),
        incidents=tuple(incidents),
        description=str(data.get("description", "")),
    )


def match_clip(
    clip: str, truth: Sequence[TrueIncident], found: Sequence[FoundIncident], tolerance: dt.timedelta
) -> ClipScore:
    """Pair true and found incidents (same kind and window, start within `tolerance`), closest first."""
    candidates = sorted(
        (abs(f.started_at - t.moment), ti, fi)
        for ti, t in enumerate(truth)
        for fi, f in enumerate(found)
        if t.kind == f.kind and t.window == f.window and abs(f.started_at - t.moment) <= tolerance
    )
    used_truth: set[int] = set()
    used_found: set[int] = set()
    matches: list[tuple[int, Match]] = []
    for _error, ti, fi in candidates:
        if ti in used_truth or fi in used_found:
            continue
        used_truth.add(ti)
        used_found.add(fi)
        matches.append((ti, Match(truth[ti], found[fi])))
    return ClipScore(
        clip=clip,
        matches=tuple(m for _, m in sorted(matches, key=lambda pair: pair[0])),
        missed=tuple(t for i, t in enumerate(truth) if i not in used_truth),
        spurious=tuple(f for i, f in enumerate(found) if i not in used_found),
    )


def total(scores: Sequence[ClipScore]) -> ClipScore:
    """All clips together (precision and recall over every incident, not averaged per clip)."""
    return ClipScore(
        clip="total",
        matches=tuple(m for s in scores for m in s.matches),
        missed=tuple(t for s in scores for t in s.missed),
        spurious=tuple(f for s in scores for f in s.spurious),
    )
