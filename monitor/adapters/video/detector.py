"""Person detectors: ultralytics YOLO, and an OpenCV-only fallback for halls without weights.

`load_detector(config)` gives a `Detector` whose `detect(image)` returns the persons in a BGR image.

The YOLO backend runs any weights ultralytics loads (.pt, .onnx through onnxruntime, an OpenVINO
directory), person class (COCO class 0) only. An ultralytics .onnx detection export with a fixed
input size (the shipped model) is run by onnxruntime alone, the same way without PyTorch
(monitor.adapters.video.onnx_yolo; `[detector] backend`). The weights path is checked before ultralytics sees
it: given a bare name such as "yolo11n.pt" that does not exist, ultralytics would try to download
it, and the hall's machines must never fetch code or weights at run time.

The fallback (`fallback = "opencv"`) is a background-subtraction blob detector (OpenCV MOG2):
it learns the empty scene and reports every foreground blob of a person's size as a "person".
Why not OpenCV's HOG people detector: it is trained on whole standing pedestrians, so it misses
staff seated behind a desk and finds the standing citizens instead (and this OpenCV build ships no
Haar cascades). The blob detector needs no weights and does see a seated person who was not there
while it learnt the scene (the fixture clips: seated staff found in over 90% of frames), but:
- the camera must be fixed; global brightness changes (auto exposure, daylight) are levelled out,
  local ones (a lamp switched on, a patch of sun) give false blobs until the model adapts, and a
  blob over a quarter of the frame is dropped as a change of scene;
- it reports anything new (a bag on the desk, a moved chair) as a person, and merges people who
  touch into one blob;
- it learns the scene in its first `FALLBACK_WARMUP` frames: start it while the seats are empty
  (before the hall opens), or a person seated then is part of the background until they leave;
- it then adapts slowly (over `FALLBACK_HISTORY` frames), so a person seated for hours without
  moving fades into the background, and a lasting change of lighting shows as blobs until learnt;
- confidence is the fraction of the blob's box that is foreground, not a probability.
It is a stopgap for a hall waiting for weights, not a replacement: the worker's presence smoothing
and the supervisor's review of evidence remain essential with it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from monitor.adapters.video.detections import PERSON_CLASS, Detections, Detector
from monitor.adapters.video.onnx_yolo import OnnxYoloDetector, onnx_session, yolo_onnx_layout
from monitor.config.video import DetectorConfig
from monitor.errors import MonitorError

log = logging.getLogger(__name__)

# Before ultralytics is first imported: never pip-install missing extras (it tries `onnx` for .onnx weights)
# and never probe the internet; a hall's machine runs what was installed.
os.environ.setdefault("YOLO_AUTOINSTALL", "False")
os.environ.setdefault("YOLO_OFFLINE", "1")

FALLBACK_HISTORY = 7200
"""Frames the fallback's background model remembers: two hours at 1 fps."""
FALLBACK_WARMUP = 30
"""Frames over which the fallback learns the scene quickly at start; then it adapts over FALLBACK_HISTORY."""
FALLBACK_MIN_AREA = 0.004
"""Smallest blob the fallback reports, as a fraction of the frame area."""
FALLBACK_MAX_AREA = 0.25
"""Largest: a blob over a quarter of the frame is a change of light or a camera move, not a person."""


class DetectorError(MonitorError):
    """The configured detector cannot be loaded."""


class YoloDetector:
    """Ultralytics YOLO, persons only."""

    def __init__(self, model: Any, config: DetectorConfig) -> None:
        self._model = model
        self._config = config
        self.name = f"yolo:{Path(config.weights).name}"

    def detect(self, image: np.ndarray) -> Detections:
        result = self._model.predict(
            image,
            conf=self._config.conf,
            imgsz=self._config.imgsz,
            device=self._config.device,
            classes=[PERSON_CLASS],
            verbose=False,
        )[0]
        boxes = result.boxes  # persons only: `classes` filters them inside ultralytics' NMS
        return Detections(
            boxes.xyxy.cpu().numpy().astype(np.float32).reshape(-1, 4),
            boxes.conf.cpu().numpy().astype(np.float32),
        )


class MotionDetector:
    """The OpenCV-only fallback: foreground blobs against a learned background (see the module docstring)."""

    name = "opencv:mog2"

    def __init__(self) -> None:
        self._model = cv2.createBackgroundSubtractorMOG2(history=FALLBACK_HISTORY, detectShadows=False)
        self._kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
        self._seen = 0
        self._brightness = 0.0

    def detect(self, image: np.ndarray) -> Detections:
        self._seen += 1
        rate = 1.0 / self._seen if self._seen <= FALLBACK_WARMUP else 1.0 / FALLBACK_HISTORY
        # Undo global brightness changes (auto exposure, daylight) against the learnt scene's brightness.
        brightness = float(image.mean()) or 1.0
        self._brightness += rate * (brightness - self._brightness)  # the first frame's rate is 1: its brightness
        levelled = cv2.convertScaleAbs(image, alpha=self._brightness / brightness)
        mask = self._model.apply(levelled, learningRate=rate)
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, self._kernel)
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, self._kernel, iterations=2)
        count, _, stats, _ = cv2.connectedComponentsWithStats(mask)
        frame_area = image.shape[0] * image.shape[1]
        boxes, scores = [], []
        for x, y, w, h, area in stats[1:count]:
            if FALLBACK_MIN_AREA * frame_area <= area <= FALLBACK_MAX_AREA * frame_area:
                boxes.append((x, y, x + w, y + h))
                scores.append(area / float(w * h))
        if not boxes:
            return Detections.empty()
        return Detections(np.asarray(boxes, dtype=np.float32), np.asarray(scores, dtype=np.float32))


def _check_person(config: DetectorConfig, names: dict[int, str]) -> None:
    if names.get(PERSON_CLASS) != "person":
        raise DetectorError(
            f"detector.weights = {config.weights!r}: class 0 is {names.get(PERSON_CLASS)!r}, not 'person': "
            "use COCO-trained detection weights"
        )


def _load_onnx(config: DetectorConfig) -> OnnxYoloDetector | None:
    """The export run by onnxruntime alone, or None when it is not an export this path runs the same way."""
    if config.backend == "ultralytics":
        return None
    if not config.weights.endswith(".onnx"):
        if config.backend == "onnxruntime":
            raise DetectorError(
                f'detector.weights = {config.weights!r}: backend = "onnxruntime" runs .onnx exports only; use '
                'backend = "auto" (ultralytics runs other weights)'
            )
        return None
    try:
        session = onnx_session(config.weights, config.threads)
    except Exception as exc:  # onnxruntime raises its own errors for a corrupt or foreign file
        raise DetectorError(
            f"detector.weights = {config.weights!r}: onnxruntime cannot load it ({type(exc).__name__}: {exc}). "
            "Use a YOLO detection export (.onnx) or .pt weights"
        ) from None
    if yolo_onnx_layout(session) is None or config.device != "cpu":
        if config.backend == "onnxruntime":
            raise DetectorError(
                f'detector.weights = {config.weights!r}: backend = "onnxruntime" runs ultralytics detection '
                'exports with a fixed input size on the CPU only; use backend = "auto" or "ultralytics"'
            )
        return None
    detector = OnnxYoloDetector(config.weights, session, conf=config.conf, threads=config.threads)
    _check_person(config, detector.layout.names)
    detector.detect(np.zeros((64, 64, 3), dtype=np.uint8))  # load the runtime now, not at the first frame
    return detector


def _load_yolo(config: DetectorConfig) -> Detector:
    path = Path(config.weights)
    if not path.exists():
        raise DetectorError(
            f"detector.weights = {config.weights!r}: no such file (relative to {Path.cwd()}). Put the weights "
            'there (e.g. yolo11n.pt or an .onnx export in models/), fix the path, or set fallback = "opencv" '
            "to run the weaker OpenCV-only detector"
        )
    lean = _load_onnx(config)
    if lean is not None:
        return lean
    try:
        # ultralytics binds its log handler to sys.stdout when first imported, and logs its settings banner
        # (on a new machine) and each model load there; stdout is for results (`replay --json`, the demo).
        with contextlib.redirect_stdout(sys.stderr):
            from ultralytics import YOLO
        logging.getLogger("ultralytics").setLevel(logging.WARNING)
        model = YOLO(str(path), task="detect")
        _check_person(config, model.names)
        detector = YoloDetector(model, config)
        detector.detect(np.zeros((64, 64, 3), dtype=np.uint8))  # load the runtime now, not at the first frame
    except DetectorError:
        raise
    except Exception as exc:  # ultralytics raises anything from a corrupt or foreign file
        raise DetectorError(
            f"detector.weights = {config.weights!r}: ultralytics cannot load it ({type(exc).__name__}: {exc}). "
            "Use detection weights ultralytics reads (.pt, .onnx, OpenVINO directory)"
        ) from None
    return detector


def load_detector(config: DetectorConfig) -> Detector:
    """The configured detector; the OpenCV fallback (with a warning) when the weights fail and it is allowed."""
    try:
        return _load_yolo(config)
    except DetectorError as exc:
        if config.fallback != "opencv":
            raise
        log.warning("%s; using the OpenCV fallback detector (%s)", exc, MotionDetector.name)
        return MotionDetector()
