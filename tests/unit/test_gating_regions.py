"""Region-cropped detection: seat regions, and crops packed into tiles whose boxes map back to their frames
(with a drawn detector; the real one on tiles: tests/video/test_video_detector.py)."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.adapters.video.detections import PAD_GREY, Detections
from monitor.adapters.video.regions import (
    MIN_SIDE,
    Crop,
    concatenate,
    detect_crops,
    grid_for,
    pack,
    zone_region,
)
from monitor.adapters.video.zones import SeatZone
from tests.support.video import WhiteBoxes


def test_a_region_widens_the_seat_and_reaches_down_to_the_counter() -> None:
    zone = SeatZone("F01", ((0.4, 0.2), (0.6, 0.2), (0.6, 0.6), (0.4, 0.6)))
    x1, y1, x2, y2 = zone_region(zone, (270, 480, 3))
    assert (x1, x2) == (int(0.3 * 480), int(np.ceil(0.7 * 480)))  # half the width on each side
    assert y1 == int((0.2 - 0.35 * 0.4) * 270)
    assert y2 == 270  # 0.6 + 0.4 reaches the frame's bottom: a citizen's feet are inside


def test_a_region_stays_inside_the_frame() -> None:
    zone = SeatZone("F01", ((0.0, 0.0), (0.3, 0.0), (0.3, 0.9), (0.0, 0.9)))
    assert zone_region(zone, (100, 200, 3)) == (0, 0, int(np.ceil(0.45 * 200)), 100)


def frame_with(boxes: list[tuple[int, int, int, int]], shape: tuple[int, int] = (540, 960)) -> np.ndarray:
    image = np.full((*shape, 3), 80, np.uint8)
    for x1, y1, x2, y2 in boxes:
        image[y1:y2, x1:x2] = 255
    return image


def test_crops_from_several_frames_share_one_call_and_map_back() -> None:
    first = frame_with([(100, 100, 160, 220)])
    second = frame_with([(600, 300, 700, 420)])
    crops = [
        Crop(first, (50, 50, 300, 300)),
        Crop(second, (500, 250, 800, 500)),
        Crop(second, (0, 0, 200, 200)),  # nothing there
    ]
    detector = WhiteBoxes()
    found = detect_crops(detector, crops, canvas_size=320, per_side=2)
    assert detector.calls == 1
    assert len(found[2]) == 0
    # Scaled down into a 160 px tile and back: within a couple of pixels.
    np.testing.assert_allclose(found[0].xyxy, [[100, 100, 160, 220]], atol=2.5)
    np.testing.assert_allclose(found[1].xyxy, [[600, 300, 700, 420]], atol=2.5)


def test_more_crops_than_tiles_take_more_calls() -> None:
    image = frame_with([(10, 10, 40, 40)])
    detector = WhiteBoxes()
    found = detect_crops(detector, [Crop(image, (0, 0, 100, 100))] * 5, canvas_size=320, per_side=2)
    assert detector.calls == 2
    assert [len(f) for f in found] == [1] * 5


def test_a_box_cut_by_the_region_is_clipped_to_it() -> None:
    image = frame_with([(80, 80, 200, 200)])
    (found,) = detect_crops(WhiteBoxes(), [Crop(image, (100, 100, 300, 300))], canvas_size=320, per_side=2)
    np.testing.assert_allclose(found.xyxy, [[100, 100, 200, 200]], atol=2.5)


def test_the_canvas_background_is_the_letterbox_grey() -> None:
    spy = WhiteBoxes()
    detect_crops(spy, [Crop(frame_with([]), (0, 0, 100, 100))], canvas_size=320, per_side=2)
    assert spy.seen[0].shape == (320, 320, 3)
    assert (spy.seen[0][200:, 200:] == PAD_GREY).all()


@pytest.mark.parametrize(
    ("rect", "per_side", "grid"),
    [
        ((0, 0, 250, 280), 2, (2, 2)),  # a 960x540 mosaic's seat: 143x160 in a quarter of the canvas
        ((85, 22, 267, 318), 2, (2, 1)),  # a D1 mosaic's seat (squeezed): 98x160 in a quarter, 160x260 in a half
        ((0, 0, 600, 300), 2, (1, 2)),  # wide: one above the other
        ((0, 0, 60, 90), 2, (2, 2)),  # small: a quarter shows it larger than it is
        ((0, 0, 250, 280), 3, (2, 2)),  # a ninth would show it 95x106: a quarter
        ((0, 0, 1000, 300), 2, (1, 1)),  # only the whole canvas shows it nearly 128 high
    ],
)
def test_a_crop_gets_the_densest_cell_that_shows_it_large_enough(
    rect: tuple[int, int, int, int], per_side: int, grid: tuple[int, int]
) -> None:
    assert grid_for(rect, 320, per_side) == grid


def test_tall_crops_go_two_a_call_side_by_side_and_map_back() -> None:
    image = frame_with([(120, 80, 200, 260)], shape=(576, 704))
    crops = [Crop(image, (85, 22, 267, 318)), Crop(image, (0, 0, 250, 280)), Crop(image, (85, 22, 267, 318))]
    spy = WhiteBoxes()
    found = detect_crops(spy, crops, canvas_size=320, per_side=2)
    assert len(spy.seen) == len(pack(crops, canvas_size=320, per_side=2)) == 2  # the two tall ones share a call
    tall = next(canvas for canvas in spy.seen if (canvas[:, 160:] != PAD_GREY).any())
    person = np.argwhere(tall[:, :160, 0] == 255)
    assert person[:, 1].max() - person[:, 1].min() + 1 >= 0.85 * 80 > MIN_SIDE / 2  # shown at 0.88, not 0.54
    for boxes in found:
        np.testing.assert_allclose(boxes.xyxy, [[120, 80, 200, 260]], atol=2.5)


D1_ASPECT = 16 / 11
"""A 16:9 camera's D1 substream (704x576) declares its pixels this much wider than high."""


def test_a_squeezed_stream_s_crops_are_widened_back_and_go_four_a_call() -> None:
    assert grid_for((85, 22, 267, 318), 320, 2, D1_ASPECT) == (2, 2)  # 143x160 in a quarter, true proportions
    person = (120, 80, 200, 260)  # 80 pixels wide in the squeezed frame: 116 in true proportions
    image = frame_with([person], shape=(576, 704))
    crops = [Crop(image, (85, 22, 267, 318), D1_ASPECT)] * 4
    spy = WhiteBoxes()
    found = detect_crops(spy, crops, canvas_size=320, per_side=2)
    assert len(spy.seen) == 1
    shown = np.argwhere(spy.seen[0][:160, :160, 0] == 255)
    width, height = np.ptp(shown[:, 1]) + 1, np.ptp(shown[:, 0]) + 1
    assert width / height == pytest.approx(80 * D1_ASPECT / 180, rel=0.03)  # the person's true shape
    for boxes in found:  # and the boxes back in the squeezed frame's pixels
        np.testing.assert_allclose(boxes.xyxy, [person], atol=2.5)


def test_per_side_must_be_positive() -> None:
    with pytest.raises(ValueError, match="per_side"):
        detect_crops(WhiteBoxes(), [], canvas_size=320, per_side=0)


def test_concatenate() -> None:
    a = Detections(np.array([[1, 2, 3, 4]], np.float32), np.array([0.5], np.float32))
    assert len(concatenate([])) == 0
    assert len(concatenate([a, Detections.empty(), a])) == 2
