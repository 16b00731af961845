"""Evidence and calibration pictures: zones coloured by their reading, boxes, timestamp, JPEG."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import cv2
import numpy as np

from monitor.adapters.video.annotate import (
    EMPTY,
    EXCLUSION,
    OCCUPIED,
    PERSON,
    UNREAD,
    annotate,
    draw_detections,
    draw_grid,
    draw_zones,
    encode_jpeg,
)
from monitor.adapters.video.detections import Detections
from monitor.adapters.video.zones import SeatReading, SeatZone

GREY = np.full((270, 480, 3), 90, np.uint8)
LEFT = SeatZone("F09", ((0.1, 0.2), (0.4, 0.2), (0.4, 0.6), (0.1, 0.6)))
RIGHT = SeatZone("F10", ((0.6, 0.2), (0.9, 0.2), (0.9, 0.6), (0.6, 0.6)))
CITIZEN_SIDE = ((0.0, 0.8), (1.0, 0.8), (1.0, 1.0), (0.0, 1.0))


def share(image: np.ndarray, color: tuple[int, int, int], region: tuple[slice, slice]) -> int:
    """How many pixels of `region` are (close to) `color`."""
    patch = image[region].astype(int)
    return int(np.all(np.abs(patch - color) < 30, axis=2).sum())


def test_zones_are_coloured_by_their_reading_and_the_input_is_untouched() -> None:
    before = GREY.copy()
    readings = {"F09": SeatReading("F09", True, 0.9), "F10": SeatReading("F10", False, 0.0)}
    out = draw_zones(GREY, [LEFT, RIGHT], [CITIZEN_SIDE], readings)
    assert np.array_equal(GREY, before)
    left, right = (slice(0, 200), slice(0, 240)), (slice(0, 200), slice(240, 480))
    assert share(out, OCCUPIED, left) > 300 and share(out, OCCUPIED, right) == 0
    assert share(out, EMPTY, right) > 300 and share(out, EMPTY, left) == 0
    # The citizen side is shaded towards the exclusion colour, the rest of the frame is not.
    assert np.abs(out[250, 240].astype(int) - GREY[250, 240]).sum() > 30
    assert np.array_equal(out[120, 240], GREY[120, 240])
    assert share(out, EXCLUSION, (slice(215, 218), slice(0, 480))) > 400


def test_zones_without_readings_are_drawn_as_unread() -> None:
    out = draw_zones(GREY, [LEFT])
    assert share(out, UNREAD, (slice(0, 270), slice(0, 480))) > 300


def test_person_boxes_are_drawn() -> None:
    found = Detections(np.array([[100, 50, 160, 200]], np.float32), np.array([0.42], np.float32))
    out = draw_detections(GREY, found)
    assert share(out, PERSON, (slice(50, 51), slice(100, 161))) > 50  # the top edge
    assert share(out, PERSON, (slice(100, 150), slice(120, 140))) == 0  # the inside is left alone


def test_evidence_picture_has_the_timestamp_and_encodes_as_jpeg() -> None:
    at = datetime(2020, 11, 3, 9, 33, tzinfo=timezone(timedelta(hours=8)))
    out = annotate(GREY, camera="cam-f09", at=at, zones=[LEFT, RIGHT], exclusions=[CITIZEN_SIDE])
    assert out.shape == GREY.shape
    assert not np.array_equal(out[0:15, 0:200], GREY[0:15, 0:200])  # the label, top left
    data = encode_jpeg(out, quality=80)
    assert data[:2] == b"\xff\xd8"
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == GREY.shape
    assert np.abs(decoded.astype(int) - out).mean() < 5


def test_grid_marks_tenths() -> None:
    out = draw_grid(GREY)
    column = round(0.5 * 479)
    assert (out[100, column].astype(int) > GREY[100, column]).all()  # a vertical grid line at x = 0.5
    assert np.array_equal(out[100, column + 5], GREY[100, column + 5])
