"""The lean ONNX path is the same detector as ultralytics: the same boxes on the fixture clips, without PyTorch.

Both backends read the same frames (every 25th frame of every fixture clip, whole and squeezed into a
320x320 canvas as the tiles are); the persons found must be the same, box for box, within float
rounding. The shared folder's second model (640 input) is an extra case when present.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from monitor.adapters.video.detections import Detections
from monitor.adapters.video.detector import DetectorError, YoloDetector, load_detector
from monitor.adapters.video.onnx_yolo import OnnxYoloDetector
from monitor.config.video import DetectorConfig
from tests.support.paths import VIDEOS, WEIGHTS
from tests.support.video import DETECTORS, Model

REPOSITORY = Path(__file__).resolve().parents[2]


def fixture_frames(every: int) -> Iterator[np.ndarray]:
    for path in sorted(VIDEOS.glob("*.mp4")):
        capture = cv2.VideoCapture(str(path))
        index = 0
        while True:
            ok, image = capture.read()
            if not ok:
                break
            if index % every == 0:
                yield image
                yield cv2.resize(image, (320, 320))
            index += 1
        capture.release()


def ordered(found: Detections) -> tuple[np.ndarray, np.ndarray]:
    order = np.lexsort(found.xyxy.T[::-1])
    return found.xyxy[order], found.confidence[order]


@pytest.mark.parametrize("model", DETECTORS)
def test_onnxruntime_alone_finds_the_same_boxes_as_ultralytics_on_the_fixture_clips(model: Model) -> None:
    config = DetectorConfig(weights=str(model.weights), imgsz=model.imgsz, conf=0.25)
    lean = load_detector(config)
    reference = load_detector(config.model_copy(update={"backend": "ultralytics"}))
    assert isinstance(lean, OnnxYoloDetector)
    assert isinstance(reference, YoloDetector)
    images = boxes = 0
    every = 25 if model.imgsz <= 320 else 75  # a 640 model costs four times as much a call
    for image in fixture_frames(every):
        ours, theirs = lean.detect(image), reference.detect(image)
        assert len(ours) == len(theirs), f"image {images}: {ours.confidence} against {theirs.confidence}"
        (xyxy, confidence), (xyxy_ref, confidence_ref) = ordered(ours), ordered(theirs)
        np.testing.assert_allclose(xyxy, xyxy_ref, atol=0.01, err_msg=f"image {images}")
        np.testing.assert_allclose(confidence, confidence_ref, atol=1e-4, err_msg=f"image {images}")
        images += 1
        boxes += len(ours)
    assert images > 2 * 7000 / every and boxes > images / 2  # every clip read, and persons in most frames


def test_the_shipped_model_runs_without_importing_pytorch() -> None:
    script = (
        "import sys, numpy as np\n"
        "from monitor.adapters.video.detector import load_detector\n"
        "from monitor.config.video import DetectorConfig\n"
        f"found = load_detector(DetectorConfig(weights={str(WEIGHTS)!r})).detect(np.zeros((480, 640, 3), np.uint8))\n"
        "print(len(found), 'torch' in sys.modules, 'ultralytics' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPOSITORY, capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.split() == ["0", "False", "False"]


def test_backend_onnxruntime_refuses_what_it_cannot_run_the_same_way(tmp_path: Path) -> None:
    weights = tmp_path / "yolo11n.pt"
    weights.write_bytes(b"weights ultralytics would load")
    with pytest.raises(DetectorError, match=r'yolo11n\.pt.*backend = "onnxruntime" runs \.onnx exports only'):
        load_detector(DetectorConfig(weights=str(weights), backend="onnxruntime"))
    with pytest.raises(DetectorError, match=r"on the CPU only"):
        load_detector(DetectorConfig(weights=str(WEIGHTS), backend="onnxruntime", device="0"))
