"""Region-cropped detection: seat regions, and crops packed into tiles whose boxes map back to their frames
(with a drawn detector; the real one on tiles: tests/video/test_video_detector.py)."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.adapters.video.detector import Detections
from monitor.adapters.video.regions import PAD_GREY, Crop, concatenate, detect_crops, zone_region
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
    seen: list[np.ndarray] = []

    class Spy(WhiteBoxes):
        def detect(self, image: np.ndarray) -> Detections:
            seen.append(image.copy())
            return super().detect(image)

    detect_crops(Spy(), [Crop(frame_with([]), (0, 0, 100, 100))], canvas_size=320, per_side=2)
    assert seen[0].shape == (320, 320, 3)
    assert (seen[0][200:, 200:] == PAD_GREY).all()


def test_per_side_must_be_positive() -> None:
    with pytest.raises(ValueError, match="per_side"):
        detect_crops(WhiteBoxes(), [], canvas_size=320, per_side=0)


def test_concatenate() -> None:
    a = Detections(np.array([[1, 2, 3, 4]], np.float32), np.array([0.5], np.float32))
    assert len(concatenate([])) == 0
    assert len(concatenate([a, Detections.empty(), a])) == 2
