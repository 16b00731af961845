"""A real, exact detector for geometry tests: it finds pure white rectangles (the tests draw the people)."""

from __future__ import annotations

import cv2
import numpy as np

from monitor.video.detector import Detections


class WhiteBoxes:
    """Detects pure white rectangles and counts its calls."""

    name = "white-boxes"

    def __init__(self) -> None:
        self.calls = 0

    def detect(self, image: np.ndarray) -> Detections:
        self.calls += 1
        mask = (image.min(axis=2) >= 250).astype(np.uint8)
        count, _, stats, _ = cv2.connectedComponentsWithStats(mask)
        boxes = [(x, y, x + w, y + h) for x, y, w, h, _ in stats[1:count]]
        if not boxes:
            return Detections.empty()
        return Detections(np.asarray(boxes, np.float32), np.ones(len(boxes), np.float32))
