"""Drawing on frames: seat zones with window ids, exclusion areas, person boxes, a timestamp; JPEG encoding.

Used for evidence snapshots (what the camera saw when an incident opened) and for `monitor zones`
(calibration). Text is ASCII (window ids, times) because OpenCV's fonts have no CJK glyphs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

import cv2
import numpy as np

from monitor.adapters.video.detections import Detections
from monitor.adapters.video.zones import Polygon2D, SeatReading, SeatZone

OCCUPIED = (60, 200, 60)
EMPTY = (40, 40, 230)
UNREAD = (0, 200, 255)
EXCLUSION = (200, 120, 40)
PERSON = (255, 255, 255)
FONT = cv2.FONT_HERSHEY_SIMPLEX


def _pixels(polygon: Polygon2D, shape: tuple[int, ...]) -> np.ndarray:
    height, width = shape[0], shape[1]
    return np.array([[round(x * (width - 1)), round(y * (height - 1))] for x, y in polygon], dtype=np.int32)


def _label(image: np.ndarray, text: str, origin: tuple[int, int], color: tuple[int, int, int]) -> None:
    """Text on a filled box in `color`, readable on any background."""
    scale = max(0.4, image.shape[0] / 700)
    thickness = 1 if scale < 0.8 else 2
    (w, h), base = cv2.getTextSize(text, FONT, scale, thickness)
    x = min(max(origin[0], 0), max(image.shape[1] - w - 4, 0))
    y = min(max(origin[1], h + base + 2), image.shape[0] - 1)
    cv2.rectangle(image, (x, y - h - base - 2), (x + w + 4, y), color, -1)
    cv2.putText(image, text, (x + 2, y - base), FONT, scale, (0, 0, 0), thickness, cv2.LINE_AA)


def draw_grid(image: np.ndarray, step: float = 0.1) -> np.ndarray:
    """A copy of `image` with a relative-coordinate grid (0-1, every `step`), for writing zone polygons by eye."""
    out = image.copy()
    height, width = out.shape[0], out.shape[1]
    lines = out.copy()
    count = round(1 / step)
    for n in range(1, count):
        x, y = round(n * step * (width - 1)), round(n * step * (height - 1))
        cv2.line(lines, (x, 0), (x, height - 1), (255, 255, 255), 1)
        cv2.line(lines, (0, y), (width - 1, y), (255, 255, 255), 1)
    cv2.addWeighted(lines, 0.35, out, 0.65, 0, dst=out)
    scale = max(0.35, height / 1000)
    for n in range(1, count):
        text = f"{n * step:.1f}"
        x, y = round(n * step * (width - 1)), round(n * step * (height - 1))
        cv2.putText(out, text, (x + 2, height - 4), FONT, scale, (255, 255, 255), 1, cv2.LINE_AA)
        cv2.putText(out, text, (2, y - 2), FONT, scale, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def draw_zones(
    image: np.ndarray,
    zones: Iterable[SeatZone],
    exclusions: Iterable[Polygon2D] = (),
    readings: Mapping[str, SeatReading] | None = None,
) -> np.ndarray:
    """A copy of `image` with exclusion areas shaded and each seat outlined and labelled with its window.

    With `readings`, a seat is green when occupied, red when empty (with the score); without, yellow.
    """
    out = image.copy()
    shade = out.copy()
    for polygon in exclusions:
        cv2.fillPoly(shade, [_pixels(polygon, out.shape)], EXCLUSION)
    cv2.addWeighted(shade, 0.35, out, 0.65, 0, dst=out)
    for polygon in exclusions:
        points = _pixels(polygon, out.shape)
        cv2.polylines(out, [points], True, EXCLUSION, 1, cv2.LINE_AA)
        _label(out, "citizen side", (int(points[:, 0].min()) + 2, int(points[:, 1].max()) - 2), EXCLUSION)
    thickness = max(1, out.shape[0] // 300)
    for zone in zones:
        points = _pixels(zone.polygon, out.shape)
        reading = readings.get(zone.window) if readings is not None else None
        if reading is None:
            color, text = UNREAD, zone.window
        else:
            color = OCCUPIED if reading.occupied else EMPTY
            text = f"{zone.window} {reading.score:.2f}"
        cv2.polylines(out, [points], True, color, thickness + 1, cv2.LINE_AA)
        _label(out, text, (int(points[:, 0].min()), int(points[:, 1].min())), color)
    return out


def draw_detections(image: np.ndarray, detections: Detections) -> np.ndarray:
    """A copy of `image` with each person box and its confidence."""
    out = image.copy()
    for (x1, y1, x2, y2), confidence in zip(detections.xyxy.tolist(), detections.confidence.tolist(), strict=True):
        cv2.rectangle(out, (round(x1), round(y1)), (round(x2), round(y2)), PERSON, 1, cv2.LINE_AA)
        _label(out, f"person {confidence:.2f}", (round(x1), round(y2)), PERSON)
    return out


def draw_timestamp(image: np.ndarray, at: datetime, camera: str) -> np.ndarray:
    """A copy of `image` with the camera id and the local time the frame was taken, top left."""
    out = image.copy()
    _label(out, f"{camera}  {at:%Y-%m-%d %H:%M:%S %z}", (0, 0), (230, 230, 230))
    return out


def annotate(
    image: np.ndarray,
    *,
    camera: str,
    at: datetime,
    zones: Iterable[SeatZone],
    exclusions: Iterable[Polygon2D] = (),
    detections: Detections | None = None,
    readings: Mapping[str, SeatReading] | None = None,
) -> np.ndarray:
    """The evidence picture: zones (coloured by readings), person boxes and the timestamp."""
    out = draw_zones(image, zones, exclusions, readings)
    if detections is not None:
        out = draw_detections(out, detections)
    return draw_timestamp(out, at, camera)


def encode_jpeg(image: np.ndarray, quality: int = 85) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError(f"cannot encode a {image.shape} image as JPEG")
    return data.tobytes()
