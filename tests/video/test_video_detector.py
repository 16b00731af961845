"""Person detectors: YOLO on frames of the fixture clips (and on tiles of them), load errors, the OpenCV
fallback; the ultralytics demo photographs as extra cases when the workplace's shared folder is there.

Every YOLO test runs on the shipped model (models/yolo11n_int8_320.onnx), and on the shared folder's
second model as an extra case when it is present.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest

from monitor.adapters.video.detections import Detections
from monitor.adapters.video.detector import DetectorError, MotionDetector, load_detector
from monitor.adapters.video.onnx_yolo import OnnxYoloDetector
from monitor.adapters.video.regions import Crop, detect_crops
from monitor.adapters.video.source import open_source
from monitor.adapters.video.zones import exclusion_zones, read_seats, seat_zones
from monitor.config import MonitorConfig
from monitor.config.video import CameraConfig, DetectorConfig
from tests.support.config import hall_config
from tests.support.paths import DEMO_IMAGES, VIDEOS
from tests.support.video import DETECTORS, Model, detector, frame, seated_and_empty, truth

needs_demo_images = pytest.mark.skipif(
    not (DEMO_IMAGES / "bus.jpg").is_file() or not (DEMO_IMAGES / "zidane.jpg").is_file(),
    reason=f"the ultralytics demo photographs bus.jpg and zidane.jpg are absent ({DEMO_IMAGES}, the workplace's "
    "shared folder beside the repository); the fixture-clip cases test the same",
)

# The people in the demo images (x1, y1, x2, y2), as a full-size model draws them.
BUS_PEOPLE = [(50, 398, 243, 902), (220, 408, 343, 856), (672, 373, 810, 878)]
ZIDANE_PEOPLE = [(748, 43, 1136, 708)]


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


@pytest.fixture(scope="module", params=DETECTORS)
def model(request: pytest.FixtureRequest) -> Model:
    return request.param


@pytest.fixture(scope="module")
def yolo(model: Model) -> OnnxYoloDetector:
    found = detector(model)
    assert isinstance(found, OnnxYoloDetector)  # .onnx exports run on onnxruntime alone
    assert found.name.startswith("yolo:")
    return found


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory) -> MonitorConfig:
    return hall_config(tmp_path_factory.mktemp("hall"), hall="fixture").config


# --- on the fixture clips: always there


@pytest.mark.parametrize("clip", ["on_time", "late", "long_absence"])
def test_yolo_finds_the_seated_person_in_the_seat_zone_and_nobody_at_an_empty_seat(
    yolo: OnnxYoloDetector, hall: MonitorConfig, clip: str
) -> None:
    """A frame where the truth has the staff member seated, and one where the seat (and the scene) is empty."""
    camera = next(c for c in hall.cameras if c.id == truth(clip)["camera"])
    (window,) = [z.window for z in camera.windows]
    seated, empty = seated_and_empty(clip, window)

    def look(second: float) -> tuple[Detections, bool]:
        image = frame(clip, second)
        found = yolo.detect(image)
        readings = read_seats(
            found, seat_zones(camera), exclusion_zones(camera), image.shape, min_overlap=camera.min_overlap
        )
        return found, readings[window].occupied

    found, occupied = look(seated)
    assert len(found) == 1 and occupied, f"{clip} at {seated} s: the seated staff member"
    assert found.xyxy.dtype == np.float32 and found.confidence.shape == (1,)
    assert (found.confidence >= 0.25).all()
    found, occupied = look(empty)
    assert len(found) == 0 and not occupied, f"{clip} at {empty} s: nobody in the picture"


def test_yolo_finds_a_person_cropped_into_a_tile_where_the_whole_frame_finds_him(
    yolo: OnnxYoloDetector, model: Model
) -> None:
    """The citizen at F05's counter (the right-hand person), cropped into one of four tiles of one detector
    call, is found where the whole frame finds him; a crop of bare wall in another tile finds nobody."""
    image = frame("citizen_at_counter", 120)  # 09:32:00: the citizen stands beside the seated staff member
    whole = yolo.detect(image)
    assert len(whole) == 2
    citizen = max(whole.xyxy.tolist(), key=lambda b: b[0])
    height, width = image.shape[:2]
    crops = [Crop(image, (width // 2, 0, width, height)), Crop(image, (0, 0, 150, 150))]
    found = detect_crops(yolo, crops, canvas_size=model.imgsz, per_side=2)
    assert len(found[0]) >= 1 and len(found[1]) == 0
    best = max(found[0].xyxy.tolist(), key=lambda b: b[0])
    assert iou(citizen, best) > 0.7


def test_yolo_on_an_empty_image_finds_nobody(yolo: OnnxYoloDetector) -> None:
    assert len(yolo.detect(np.full((270, 480, 3), 180, np.uint8))) == 0


# --- on the demo photographs: extra cases when the shared folder is there


@needs_demo_images
def test_yolo_finds_the_four_people_on_the_bus_and_not_the_bus(yolo: OnnxYoloDetector) -> None:
    image = cv2.imread(str(DEMO_IMAGES / "bus.jpg"))
    found = yolo.detect(image)
    assert len(found) == 4
    assert found.xyxy.dtype == np.float32 and found.confidence.shape == (4,)
    assert (found.confidence >= 0.25).all()
    for person in BUS_PEOPLE:
        assert max(iou(person, tuple(box)) for box in found.xyxy.tolist()) > 0.8
    widest = (found.xyxy[:, 2] - found.xyxy[:, 0]).max()
    assert widest < 0.5 * image.shape[1]  # the bus (as wide as the picture) is not a person


@needs_demo_images
def test_yolo_finds_the_two_men_in_zidane(yolo: OnnxYoloDetector) -> None:
    found = yolo.detect(cv2.imread(str(DEMO_IMAGES / "zidane.jpg")))
    assert 2 <= len(found) <= 3  # the full-size model also proposes a weak box on the left man's torso
    assert max(iou(ZIDANE_PEOPLE[0], tuple(box)) for box in found.xyxy.tolist()) > 0.8


@needs_demo_images
def test_yolo_finds_the_person_in_a_tile_of_zidane_where_the_whole_frame_finds_him(
    yolo: OnnxYoloDetector, model: Model
) -> None:
    """zidane.jpg's right-hand man, cropped into one of four tiles, is found where he stands in the frame."""
    image = cv2.imread(str(DEMO_IMAGES / "zidane.jpg"))
    man = max(yolo.detect(image).xyxy.tolist(), key=lambda b: b[0])  # the right-hand person
    crops = [Crop(image, (700, 0, 1280, 720)), Crop(image, (0, 0, 300, 300))]
    found = detect_crops(yolo, crops, canvas_size=model.imgsz, per_side=2)
    assert len(found[0]) >= 1
    best = max(found[0].xyxy.tolist(), key=lambda b: b[0])
    assert iou(man, best) > 0.7


# --- loading, and the OpenCV fallback


def test_missing_weights_are_one_clear_error_and_never_a_download(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # a bare name ultralytics would otherwise fetch from the internet
    with pytest.raises(DetectorError) as caught:
        load_detector(DetectorConfig(weights="yolo11n.pt"))
    message = str(caught.value)
    assert "'yolo11n.pt': no such file" in message and 'fallback = "opencv"' in message
    assert not (tmp_path / "yolo11n.pt").exists()


def test_unloadable_weights_are_a_clear_error(tmp_path: Path) -> None:
    junk = tmp_path / "broken.onnx"
    junk.write_bytes(b"\x00not an onnx model")
    with pytest.raises(DetectorError, match=r"broken\.onnx.*onnxruntime cannot load it"):
        load_detector(DetectorConfig(weights=str(junk)))


def test_fallback_when_configured(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="monitor.adapters.video.detector"):
        found = load_detector(DetectorConfig(weights=str(tmp_path / "none.pt"), fallback="opencv"))
    assert isinstance(found, MotionDetector)
    assert found.name == "opencv:mog2"
    assert "no such file" in caplog.text and "OpenCV fallback" in caplog.text


def test_detections_shape_is_checked() -> None:
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        Detections(np.zeros((2, 4)), np.zeros(3))
    assert len(Detections.empty()) == 0


def test_fallback_sees_a_seated_person_arrive_in_a_fixture_clip() -> None:
    """The fallback on the on_time clip: the empty counter for 84 s, then the staff member walks in and sits."""
    cam = CameraConfig.model_validate(
        {
            "id": "cam-f01",
            "url": str(VIDEOS / "on_time.mp4"),
            "windows": [
                {"window": "F01", "polygon": [[0.3708, 0.2296], [0.6292, 0.2296], [0.6292, 0.6667], [0.3708, 0.6667]]}
            ],
        }
    )
    fallback = MotionDetector()
    start = datetime(2020, 11, 3, 0, 57, tzinfo=UTC)
    empty, seated = [], []
    for picture in open_source(cam, start=start, detect_fps=1.0).frames():
        if picture.index > 300:
            break
        found = fallback.detect(picture.image)
        occupied = read_seats(found, seat_zones(cam), (), picture.image.shape)["F01"].occupied
        if 10 <= picture.index < 84:  # the background model has settled; nobody there yet
            empty.append(occupied)
        elif picture.index >= 100:
            seated.append(occupied)
    assert not any(empty)
    assert sum(seated) / len(seated) > 0.9
