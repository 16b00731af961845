"""Person detectors: the YOLO backend on the shared demo images, load errors, the OpenCV fallback."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest

from monitor.config.video import CameraConfig, DetectorConfig
from monitor.video.detector import Detections, DetectorError, MotionDetector, YoloDetector, load_detector
from monitor.video.source import open_source
from monitor.video.zones import read_seats, seat_zones

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
MODELS = SHARED / "models"
IMAGES = SHARED / "images"

needs_shared = pytest.mark.skipif(
    not (MODELS.is_dir() and IMAGES.is_dir()), reason=f"{SHARED} (shared detector weights and images) is absent"
)

# The people in the demo images (x1, y1, x2, y2), as a full-size model draws them.
BUS_PEOPLE = [(50, 398, 243, 902), (220, 408, 343, 856), (672, 373, 810, 878)]
ZIDANE_PEOPLE = [(748, 43, 1136, 708)]


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


@pytest.fixture(scope="module", params=[("yolo11n_int8_320.onnx", 320), ("yolov8n_int8.onnx", 640)], ids=str)
def yolo(request: pytest.FixtureRequest) -> YoloDetector:
    if not (MODELS / request.param[0]).is_file():
        pytest.skip(f"{MODELS / request.param[0]} is absent")
    name, size = request.param
    detector = load_detector(DetectorConfig(weights=str(MODELS / name), imgsz=size, conf=0.25))
    assert isinstance(detector, YoloDetector)
    return detector


@needs_shared
def test_yolo_finds_the_four_people_on_the_bus_and_not_the_bus(yolo: YoloDetector) -> None:
    image = cv2.imread(str(IMAGES / "bus.jpg"))
    found = yolo.detect(image)
    assert len(found) == 4
    assert found.xyxy.dtype == np.float32 and found.confidence.shape == (4,)
    assert (found.confidence >= 0.25).all()
    for person in BUS_PEOPLE:
        assert max(iou(person, tuple(box)) for box in found.xyxy.tolist()) > 0.8
    widest = (found.xyxy[:, 2] - found.xyxy[:, 0]).max()
    assert widest < 0.5 * image.shape[1]  # the bus (as wide as the picture) is not a person


@needs_shared
def test_yolo_finds_the_two_men_in_zidane(yolo: YoloDetector) -> None:
    found = yolo.detect(cv2.imread(str(IMAGES / "zidane.jpg")))
    assert 2 <= len(found) <= 3  # the full-size model also proposes a weak box on the left man's torso
    assert max(iou(ZIDANE_PEOPLE[0], tuple(box)) for box in found.xyxy.tolist()) > 0.8
    assert yolo.name.startswith("yolo:")


@needs_shared
def test_yolo_on_an_empty_image_finds_nobody(yolo: YoloDetector) -> None:
    assert len(yolo.detect(np.full((270, 480, 3), 180, np.uint8))) == 0


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
    with pytest.raises(DetectorError, match=r"broken\.onnx.*ultralytics cannot load it"):
        load_detector(DetectorConfig(weights=str(junk)))


def test_fallback_when_configured(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="monitor.video.detector"):
        detector = load_detector(DetectorConfig(weights=str(tmp_path / "none.pt"), fallback="opencv"))
    assert isinstance(detector, MotionDetector)
    assert detector.name == "opencv:mog2"
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
            "url": str(ROOT / "fixtures/videos/on_time.mp4"),
            "windows": [
                {"window": "F01", "polygon": [[0.3708, 0.2296], [0.6292, 0.2296], [0.6292, 0.6667], [0.3708, 0.6667]]}
            ],
        }
    )
    detector = MotionDetector()
    start = datetime(2020, 11, 3, 0, 57, tzinfo=UTC)
    empty, seated = [], []
    for frame in open_source(cam, start=start, detect_fps=1.0).frames():
        if frame.index > 300:
            break
        found = detector.detect(frame.image)
        occupied = read_seats(found, seat_zones(cam), (), frame.image.shape)["F01"].occupied
        if 10 <= frame.index < 84:  # the background model has settled; nobody there yet
            empty.append(occupied)
        elif frame.index >= 100:
            seated.append(occupied)
    assert not any(empty)
    assert sum(seated) / len(seated) > 0.9
