"""What a person detector gives: boxes and confidences, and the protocol every detector follows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

PERSON_CLASS = 0
"""COCO's person class: the only one the detectors report."""
PAD_GREY = 114
"""The grey YOLO letterboxes images with (ultralytics' padding value): what a canvas is filled with."""


@dataclass(frozen=True)
class Detections:
    """Persons found in one image: boxes in pixels (x1, y1, x2, y2) and their confidences."""

    xyxy: np.ndarray = field(repr=False)
    confidence: np.ndarray = field(repr=False)

    def __post_init__(self) -> None:
        if self.xyxy.shape != (len(self.confidence), 4):
            raise ValueError(f"xyxy must be (N, 4) for N confidences, got {self.xyxy.shape}")

    def __len__(self) -> int:
        return len(self.confidence)

    @classmethod
    def empty(cls) -> Detections:
        return cls(np.zeros((0, 4), dtype=np.float32), np.zeros((0,), dtype=np.float32))


class Detector(Protocol):
    name: str

    def detect(self, image: np.ndarray) -> Detections: ...
