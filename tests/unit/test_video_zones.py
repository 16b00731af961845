"""Seat occupancy from person boxes: pure geometry, tested case by case and by property."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.adapters.video.detections import Detections
from monitor.adapters.video.zones import (
    DEFAULT_MIN_OVERLAP,
    SeatReading,
    SeatZone,
    exclusion_zones,
    is_excluded,
    read_seats,
    seat_zones,
    upper_overlap,
)
from monitor.config.video import CameraConfig

SHAPE = (200, 100, 3)  # height 200, width 100: a pixel box (x1, y1, x2, y2) is (x1/100, y1/200, ...) relative
SEAT = SeatZone("F01", ((0.3, 0.2), (0.7, 0.2), (0.7, 0.6), (0.3, 0.6)))
NEIGHBOUR = SeatZone("F02", ((0.7, 0.2), (1.0, 0.2), (1.0, 0.6), (0.7, 0.6)))
CITIZEN_SIDE = ((0.0, 0.8), (1.0, 0.8), (1.0, 1.0), (0.0, 1.0))


def boxes(*relative: tuple[float, float, float, float], confidence: float = 0.5) -> Detections:
    """Detections from relative boxes, in pixels of SHAPE."""
    xyxy = np.array([(x1 * 100, y1 * 200, x2 * 100, y2 * 200) for x1, y1, x2, y2 in relative], dtype=np.float32)
    return Detections(xyxy.reshape(-1, 4), np.full(len(relative), confidence, dtype=np.float32))


def read(detections: Detections, zones=(SEAT,), exclusions=(CITIZEN_SIDE,), **kw) -> dict[str, SeatReading]:
    return read_seats(detections, zones, exclusions, SHAPE, **kw)


def test_no_one_leaves_every_seat_empty_with_score_zero() -> None:
    assert read(Detections.empty(), zones=(SEAT, NEIGHBOUR)) == {
        "F01": SeatReading("F01", False, 0.0),
        "F02": SeatReading("F02", False, 0.0),
    }


def test_seated_person_whose_box_bottom_is_outside_the_seat_still_occupies_it() -> None:
    # Head and torso inside the seat; the box runs on down over the desk to 0.75, below the seat (0.6),
    # and its bottom-centre is outside the seat polygon.
    reading = read(boxes((0.35, 0.25, 0.65, 0.75)))["F01"]
    assert reading.occupied
    assert reading.score == 1.0


def test_only_the_upper_part_of_the_box_counts() -> None:
    # Upper half (0.1-0.4 of a 0.1-0.7 box) lies in the seat from 0.2: 2/3 of it.
    assert read(boxes((0.35, 0.1, 0.65, 0.7)))["F01"].score == pytest.approx(2 / 3, abs=1e-4)
    assert upper_overlap((0.35, 0.1, 0.65, 0.7), _poly(SEAT)) == pytest.approx(2 / 3)


def test_citizen_standing_in_the_exclusion_area_does_not_occupy_the_seat() -> None:
    # A tall citizen right in front of the seat: the upper box covers the seat, the feet stand at 0.95.
    citizen = (0.35, 0.2, 0.65, 0.95)
    assert upper_overlap(citizen, _poly(SEAT)) > DEFAULT_MIN_OVERLAP
    assert read(boxes(citizen))["F01"] == SeatReading("F01", False, 0.0)


def test_citizen_with_half_the_box_in_the_exclusion_area_is_excluded_even_if_the_feet_are_cut_off() -> None:
    # Box from 0.3 to 0.79 with an exclusion starting at 0.5: feet (0.79) are outside this exclusion, but
    # 0.29 / 0.49 of the box is inside it.
    exclusion = ((0.0, 0.5), (1.0, 0.5), (1.0, 1.0), (0.0, 1.0))
    person = (0.35, 0.3, 0.65, 0.79)
    assert read(boxes(person), exclusions=(exclusion,))["F01"].occupied is False
    assert read(boxes(person), exclusions=())["F01"].occupied is True


def test_person_passing_behind_with_small_overlap_does_not_occupy_the_seat() -> None:
    # A colleague at the seat's edge: only a sliver of the upper box lies inside it.
    passer = (0.62, 0.05, 0.85, 0.5)
    reading = read(boxes(passer))["F01"]
    assert 0.0 < reading.score < DEFAULT_MIN_OVERLAP
    assert not reading.occupied


def test_one_person_between_two_seats_occupies_only_the_one_overlapped_most() -> None:
    readings = read(boxes((0.5, 0.25, 0.8, 0.55)), zones=(SEAT, NEIGHBOUR))
    assert readings["F01"].occupied
    assert not readings["F02"].occupied
    assert readings["F02"].score == 0.0


def test_two_people_in_two_seats_occupy_both() -> None:
    readings = read(boxes((0.35, 0.25, 0.65, 0.55), (0.75, 0.25, 0.95, 0.55)), zones=(SEAT, NEIGHBOUR))
    assert readings["F01"].occupied and readings["F02"].occupied


def test_the_best_person_sets_the_score() -> None:
    readings = read(boxes((0.62, 0.05, 0.85, 0.5), (0.35, 0.25, 0.65, 0.55)))
    assert readings["F01"].score == 1.0


def test_the_threshold_is_inclusive_and_configurable() -> None:
    person = (0.5, 0.2, 0.9, 0.6)  # upper box 0.5-0.9 x 0.2-0.4: half of it inside the seat (x <= 0.7)
    assert read(boxes(person))["F01"].score == 0.5
    assert read(boxes(person), min_overlap=0.5)["F01"].occupied
    assert not read(boxes(person), min_overlap=0.51)["F01"].occupied


def test_a_degenerate_box_occupies_nothing() -> None:
    assert read(boxes((0.4, 0.3, 0.4, 0.5), (0.4, 0.3, 0.6, 0.3)))["F01"] == SeatReading("F01", False, 0.0)


def test_a_person_outside_every_seat_occupies_nothing() -> None:
    assert not read(boxes((0.0, 0.0, 0.2, 0.15)), zones=(SEAT, NEIGHBOUR))["F01"].occupied


def test_exclusion_by_feet_alone() -> None:
    citizen_side = _poly(SeatZone("x", CITIZEN_SIDE))
    assert is_excluded((0.1, 0.1, 0.3, 0.85), citizen_side)  # feet in, most of the box out
    assert not is_excluded((0.1, 0.1, 0.3, 0.79), citizen_side)
    assert not is_excluded((0.1, 0.1, 0.3, 0.85), None)


def test_zones_from_camera_config() -> None:
    camera = CameraConfig.model_validate(
        {
            "id": "cam",
            "url": "x.mp4",
            "windows": [{"window": "F01", "polygon": [[0.3, 0.2], [0.7, 0.2], [0.7, 0.6]]}],
            "exclusions": [[[0, 0.8], [1, 0.8], [1, 1]]],
        }
    )
    assert seat_zones(camera) == (SeatZone("F01", ((0.3, 0.2), (0.7, 0.2), (0.7, 0.6))),)
    assert exclusion_zones(camera) == (((0.0, 0.8), (1.0, 0.8), (1.0, 1.0)),)


def _poly(zone: SeatZone):
    from shapely.geometry import Polygon

    return Polygon(zone.polygon)


relative = st.floats(0.0, 1.0, allow_nan=False)


@st.composite
def relative_boxes(draw: st.DrawFn) -> tuple[float, float, float, float]:
    x1, x2 = sorted((draw(relative), draw(relative)))
    y1, y2 = sorted((draw(relative), draw(relative)))
    return (x1, y1, x2, y2)


@given(st.lists(relative_boxes(), max_size=6), st.floats(0.05, 1.0))
def test_properties(people: list[tuple[float, float, float, float]], min_overlap: float) -> None:
    readings = read(boxes(*people), zones=(SEAT, NEIGHBOUR), min_overlap=min_overlap)
    assert set(readings) == {"F01", "F02"}
    for reading in readings.values():
        assert 0.0 <= reading.score <= 1.0
        assert reading.occupied == (reading.score >= min_overlap)
    # Order does not matter.
    assert read(boxes(*reversed(people)), zones=(SEAT, NEIGHBOUR), min_overlap=min_overlap) == readings
    # A citizen on the citizen side changes nothing.
    citizen = (0.3, 0.2, 0.7, 0.95)
    assert read(boxes(*people, citizen), zones=(SEAT, NEIGHBOUR), min_overlap=min_overlap) == readings


@given(st.lists(relative_boxes(), max_size=4), st.sampled_from([(270, 480, 3), (1080, 1920, 3), (75, 133, 3)]))
def test_resolution_does_not_matter(
    people: list[tuple[float, float, float, float]], shape: tuple[int, int, int]
) -> None:
    h, w = shape[0], shape[1]
    scaled = Detections(
        np.array([(x1 * w, y1 * h, x2 * w, y2 * h) for x1, y1, x2, y2 in people], dtype=np.float64).reshape(-1, 4),
        np.full(len(people), 0.5),
    )
    unit = Detections(np.array(people, dtype=np.float64).reshape(-1, 4), np.full(len(people), 0.5))
    at_scale = read_seats(scaled, (SEAT, NEIGHBOUR), (CITIZEN_SIDE,), shape)
    at_unit = read_seats(unit, (SEAT, NEIGHBOUR), (CITIZEN_SIDE,), (1, 1, 3))
    for window, reading in at_unit.items():
        assert at_scale[window].score == pytest.approx(reading.score, abs=2e-4)
