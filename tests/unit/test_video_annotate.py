"""Evidence and calibration pictures: zones coloured by their reading, boxes, timestamp, JPEG."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.adapters.video.annotate import (
    EMPTY,
    EXCLUSION,
    OCCUPIED,
    PERSON,
    UNREAD,
    FontError,
    annotate,
    blur_jpeg,
    blur_polygons,
    citizen_areas,
    draw_detections,
    draw_grid,
    draw_labels,
    draw_zones,
    encode_jpeg,
    info_parts,
    label_font,
    load_font,
    zone_labels,
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
    # No text: the labels are `zone_labels`, drawn in the CJK font by `draw_labels`.
    assert np.array_equal(out[30:52, 40:200], GREY[30:52, 40:200])


def test_zones_without_readings_are_drawn_as_unread() -> None:
    out = draw_zones(GREY, [LEFT])
    assert share(out, UNREAD, (slice(0, 270), slice(0, 480))) > 300


def test_person_boxes_are_drawn() -> None:
    found = Detections(np.array([[100, 50, 160, 200]], np.float32), np.array([0.42], np.float32))
    out = draw_detections(GREY, found)
    assert share(out, PERSON, (slice(50, 51), slice(100, 161))) > 50  # the top edge
    assert share(out, PERSON, (slice(100, 150), slice(120, 140))) == 0  # the inside is left alone
    # Nothing but the box's outline: no class name, no score.
    changed = np.argwhere(np.any(out != GREY, axis=2))
    on_edge = (np.abs(changed[:, 0, None] - [50, 200]) <= 1).any(axis=1) | (
        np.abs(changed[:, 1, None] - [100, 160]) <= 1
    ).any(axis=1)
    assert len(changed) > 0 and on_edge.all()


def test_evidence_picture_has_its_band_clear_of_the_citizen_side_and_encodes_as_jpeg() -> None:
    at = datetime(2020, 11, 3, 9, 33, tzinfo=timezone(timedelta(hours=8)))
    out = annotate(
        GREY, place="东区大厅", at=at, zones=[LEFT, RIGHT], exclusions=[CITIZEN_SIDE], caption="09:33:00 到岗"
    )
    assert out.shape == GREY.shape
    # The citizen side covers the bottom: the band (dark, with white text) is at the top, where a blurred
    # citizen side cannot blur it.
    top = out[0:12, 0:480].astype(int)
    assert (top < 60).mean() > 0.5 and (top > 200).any()
    assert (out[230:265, 100:480].max(axis=2) > 80).all()  # the citizen side only shaded: no band there
    data = encode_jpeg(out, quality=80)
    assert data[:2] == b"\xff\xd8"
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == GREY.shape
    assert np.abs(decoded.astype(int) - out).mean() < 5


def test_the_band_is_at_the_bottom_without_a_citizen_side_and_wraps_what_does_not_fit() -> None:
    at = datetime(2020, 11, 3, 9, 33, tzinfo=timezone(timedelta(hours=8)))
    one = annotate(GREY, place="东区", at=at, zones=[LEFT])
    assert np.array_equal(one[0:30], GREY[0:30])
    line = int(((one[:, 478] < 60).all(axis=1)).sum())  # the band's rows, right of any text
    assert line >= 14 and (one[270 - line :, 478] < 60).all()
    long = annotate(GREY, place="东区综合服务大厅北侧第三排", at=at, zones=[LEFT], caption="F09窗口 09:33:00 到岗")
    assert int(((long[:, 478] < 60).all(axis=1)).sum()) == 2 * line  # two lines: nothing cut off at the edge


def test_grid_marks_tenths() -> None:
    out = draw_grid(GREY)
    column = round(0.5 * 479)
    assert (out[100, column].astype(int) > GREY[100, column]).all()  # a vertical grid line at x = 0.5
    assert np.array_equal(out[100, column + 5], GREY[100, column + 5])


def test_the_labels_font_draws_chinese() -> None:
    """Each character its own glyph, none the missing-glyph box (tofu): the font of the hall's pictures."""
    font = label_font("auto", 24)
    masks = {text: bytes(font.getmask(text)) for text in ("在", "岗", "群", "\ufdd0")}
    assert len(set(masks.values())) == 4
    assert all(sum(mask) > 0 for mask in masks.values())


def test_a_font_that_draws_no_chinese_is_one_clear_error(tmp_path: Path) -> None:
    assert load_font("auto").path.endswith((".ttc", ".ttf", ".otf"))
    with pytest.raises(FontError, match="fonts-noto-cjk"):
        load_font(str(tmp_path / "missing.ttc"))
    not_a_font = tmp_path / "font.ttf"
    not_a_font.write_bytes(b"no font here")
    with pytest.raises(FontError, match="not a font that draws Chinese"):
        load_font(str(not_a_font))


STATES = st.sampled_from(["present", "absent", "unknown", "off_duty", "leave"])
READINGS = st.builds(lambda w, o, s: SeatReading(w, o, s), st.just("F09"), st.booleans(), st.floats(0, 1))
LABEL = re.compile(r"群众区|F(09|10)( (在岗|空岗|未知|非工作时间|请假|有人|无人))?")


@given(
    states=st.none() | st.dictionaries(st.sampled_from(["F09", "F10"]), STATES),
    reading=st.none() | READINGS,
    boxes=st.lists(st.tuples(st.floats(0, 200), st.floats(0, 100), st.floats(1, 200)), max_size=4),
)
def test_no_text_on_a_picture_is_english_or_names_a_detector_class(
    states: dict[str, str] | None, reading: SeatReading | None, boxes: list[tuple[float, float, float]]
) -> None:
    """What `annotate` writes is exactly `zone_labels` and `info_parts` (the same picture drawn from them), and
    they are the window ids and Chinese words: no class name, score or English, whatever the detector found."""
    at = datetime(2020, 11, 3, 9, 33, 5, tzinfo=timezone(timedelta(hours=8)))
    found = Detections(
        np.array([[x, y, x + w, y + w] for x, y, w in boxes], np.float32).reshape(-1, 4),
        np.full(len(boxes), 0.87, np.float32),
    )
    readings = {"F09": reading} if reading is not None else None
    zones, exclusions = [LEFT, RIGHT], [CITIZEN_SIDE]
    out = annotate(GREY, place="东区大厅", at=at, zones=zones, exclusions=exclusions, detections=found,
                   readings=readings, states=states, caption="09:33:05 到岗")  # fmt: skip
    labels = zone_labels(GREY.shape, zones, exclusions, readings, states)
    band = info_parts("东区大厅", at, "09:33:05 到岗")
    drawn = draw_labels(draw_detections(draw_zones(GREY, zones, exclusions, readings, states), found), labels, band,
                        exclusions=exclusions)  # fmt: skip
    assert np.array_equal(out, drawn)
    assert band == ["东区大厅", "2020-11-03 09:33:05", "09:33:05 到岗"]
    assert labels[0].text == "群众区"
    for label in labels:
        assert LABEL.fullmatch(label.text), label.text
    words = {"present": "在岗", "absent": "空岗", "unknown": "未知", "off_duty": "非工作时间", "leave": "请假"}
    if states is not None and "F09" in states:
        assert labels[1].text == f"F09 {words[states['F09']]}"
    elif reading is not None:
        assert labels[1].text == ("F09 有人" if reading.occupied else "F09 无人")
    else:
        assert labels[1].text == "F09"


def test_the_citizen_side_is_blurred_past_recognition_and_nothing_else() -> None:
    texture = np.random.default_rng(7).integers(0, 256, (270, 480, 3), dtype=np.uint8)
    texture = cv2.resize(texture[::6, ::6], (480, 270), interpolation=cv2.INTER_NEAREST)  # 6-pixel detail
    out = blur_polygons(texture, [CITIZEN_SIDE])
    inside, outside = (slice(220, 270), slice(0, 480)), (slice(0, 214), slice(0, 480))
    assert out[inside].astype(float).std() < 0.25 * texture[inside].astype(float).std()
    assert np.array_equal(out[outside], texture[outside])
    assert np.array_equal(blur_polygons(texture, []), texture)


def test_a_citizen_box_is_blurred_with_the_citizen_side() -> None:
    citizen = Detections(np.array([[300, 60, 340, 260], [100, 40, 160, 150]], np.float32), np.ones(2, np.float32))
    areas = citizen_areas(GREY.shape, [CITIZEN_SIDE], citizen)
    assert areas[0] == CITIZEN_SIDE and len(areas) == 2  # the seated person is no citizen
    (x1, y1), (x2, _), (_, y2), _ = areas[1]
    assert (round(x1 * 480), round(y1 * 270), round(x2 * 480), round(y2 * 270)) == (300, 60, 340, 260)
    assert citizen_areas(GREY.shape, [CITIZEN_SIDE]) == (CITIZEN_SIDE,)


def test_a_jpeg_is_blurred_on_its_way_out_and_unreadable_bytes_are_refused() -> None:
    texture = np.random.default_rng(3).integers(0, 256, (90, 160, 3), dtype=np.uint8)
    data = encode_jpeg(cv2.resize(texture, (480, 270), interpolation=cv2.INTER_NEAREST))
    assert blur_jpeg(data, []) == data
    blurred = cv2.imdecode(np.frombuffer(blur_jpeg(data, [CITIZEN_SIDE]), np.uint8), cv2.IMREAD_COLOR)
    original = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert blurred[230:].std() < 0.25 * original[230:].std()
    with pytest.raises(ValueError):
        blur_jpeg(b"\xff\xd8 not a picture", [CITIZEN_SIDE])
