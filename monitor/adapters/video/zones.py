"""Which window seats are occupied in one frame: person boxes against seat and exclusion polygons.

Pure functions of their inputs. Zones are relative (0-1) so they survive a resolution change;
boxes are pixels and are made relative with the frame's shape.

Why not the box's bottom-centre anchor (Frigate, supervision)? Staff sit behind a desk: their legs
are hidden, the box ends somewhere on the desk or the counter, and that anchor often falls outside
the seat. So a seat's score is the fraction of the person's *upper* box (the top `UPPER_PART` of
it: head and torso, which a seated person always shows) inside the seat polygon:
- a seated person whose box bottom lies on the counter still scores high;
- a colleague passing behind, whose box only grazes the seat, scores low (and a walk-through that
  does overlap lasts seconds, which the presence machine's confirmation time absorbs);
- a citizen standing on the other side of the counter is excluded outright: a person whose box
  bottom-centre (feet) lies in an exclusion polygon, or half of whose box does, occupies no seat.
A person occupies at most one seat (the one it overlaps most), so one person between two adjacent
seats never staffs both.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from shapely.geometry import Point, Polygon, box
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from monitor.adapters.video.detections import Detections
from monitor.config.video import CameraConfig

Polygon2D = tuple[tuple[float, float], ...]

UPPER_PART = 0.5
"""The top fraction of a person's box taken as head and torso."""
DEFAULT_MIN_OVERLAP = 0.35
"""Default fraction of the upper box inside a seat for the seat to count as occupied."""
EXCLUDED_PART = 0.5
"""A person with at least this fraction of the whole box inside the exclusion area is a citizen."""


@dataclass(frozen=True)
class SeatZone:
    window: str
    polygon: Polygon2D


@dataclass(frozen=True)
class SeatReading:
    """One window's seat in one frame; `score` is the best person's upper-box fraction inside the seat (0-1)."""

    window: str
    occupied: bool
    score: float


def seat_zones(camera: CameraConfig) -> tuple[SeatZone, ...]:
    return tuple(SeatZone(z.window, tuple((float(x), float(y)) for x, y in z.polygon)) for z in camera.windows)


def exclusion_zones(camera: CameraConfig) -> tuple[Polygon2D, ...]:
    return tuple(tuple((float(x), float(y)) for x, y in p) for p in camera.exclusions)


def _relative_boxes(detections: Detections, frame_shape: Sequence[int]) -> list[tuple[float, float, float, float]]:
    height, width = float(frame_shape[0]), float(frame_shape[1])
    out = []
    for x1, y1, x2, y2 in detections.xyxy.tolist():
        out.append((x1 / width, y1 / height, x2 / width, y2 / height))
    return out


def is_excluded(person: tuple[float, float, float, float], exclusion: Polygon | None) -> bool:
    """True for a person standing on the citizen side: feet (box bottom-centre) or half the box in the area."""
    if exclusion is None or exclusion.is_empty:
        return False
    x1, y1, x2, y2 = person
    if exclusion.covers(Point((x1 + x2) / 2, y2)):
        return True
    whole = box(x1, y1, x2, y2)
    return whole.area > 0 and whole.intersection(exclusion).area / whole.area >= EXCLUDED_PART


def upper_overlap(person: tuple[float, float, float, float], seat: Polygon) -> float:
    """Fraction of the person's upper box (head and torso) that lies inside the seat polygon."""
    x1, y1, x2, y2 = person
    upper = box(x1, y1, x2, y1 + (y2 - y1) * UPPER_PART)
    if upper.area <= 0:
        return 0.0
    return upper.intersection(seat).area / upper.area


@lru_cache(maxsize=256)
def _geometry(
    zones: tuple[SeatZone, ...], exclusions: tuple[Polygon2D, ...]
) -> tuple[dict[str, Polygon], BaseGeometry | None]:
    """The shapely shapes of a camera's zones, built once, not on every frame (they are immutable)."""
    seats = {z.window: Polygon(z.polygon) for z in zones}
    exclusion_polygons = [Polygon(p) for p in exclusions]
    return seats, unary_union(exclusion_polygons) if exclusion_polygons else None


def read_seats(
    detections: Detections,
    zones: Iterable[SeatZone],
    exclusions: Iterable[Polygon2D],
    frame_shape: Sequence[int],
    *,
    min_overlap: float = DEFAULT_MIN_OVERLAP,
) -> dict[str, SeatReading]:
    """Each zone's reading for one frame's detections; every zone gets a reading, occupied or not."""
    seats, exclusion = _geometry(tuple(zones), tuple(exclusions))
    best = dict.fromkeys(seats, 0.0)
    for person in _relative_boxes(detections, frame_shape):
        if is_excluded(person, exclusion):
            continue
        overlaps = {window: upper_overlap(person, seat) for window, seat in seats.items()}
        if not overlaps:
            continue
        window = max(overlaps, key=lambda w: overlaps[w])
        best[window] = max(best[window], overlaps[window])
    # Scores are rounded first, so that `occupied` agrees with the score a reader sees (0.5 means 0.5).
    scores = {w: round(score, 4) for w, score in best.items()}
    return {w: SeatReading(w, score >= min_overlap, score) for w, score in scores.items()}
