"""Region-cropped detection: the detector looks at the regions around seat zones, packed into tiles.

A person detector takes a fixed input (320x320 for the *_320 exports; ultralytics letterboxes
any image to it), so a call costs the same whether it is given a whole 4-window frame or one seat.
What costs is the number of calls. So the regions around the zones that need a look (see
monitor.adapters.video.gating), from any cameras, are packed side by side into one detector-sized canvas,
`per_side` x `per_side` tiles, and one call reads them all; boxes are mapped back to their frames.

A seat's region is the zone's bounding box widened by half its width on each side (a person
overlapping the seat from the side is seen whole), raised by `REGION_ABOVE` of its height (heads),
and lowered by `REGION_BELOW` of its height: a citizen standing at the counter, whose upper body
overlaps the seat, must be seen down to the feet, because the exclusion test (monitor.adapters.video.zones)
looks at where the feet are. Boxes are only as good as the region: keep seat polygons on the seat
(as the zone editor asks) and the citizen side below it.

Resolution: with 2x2 tiles of a 320 canvas, a 480x270 camera's seat region (about 250x250 pixels)
is seen at 0.64 of its size, the same as the whole frame letterboxed to 320 (0.67); for a camera
seeing four windows at 960x540 the whole frame would be seen at 0.33, the tile still at about 0.64.
A region is never shown narrower or lower than MIN_SIDE (128) canvas pixels (or its own size) when
a larger cell can show it bigger: a tall region goes into a cell half the canvas wide and all of it
high (two a call), a wide one into the converse, and one that neither fits, alone. Measured on D1
substreams (704x576 carrying a 16:9 picture, so people are squeezed to 0.73 of their width): seat
regions of 182x296 pixels shown 98x160 in a 2x2 tile found the seated person on as few as 47% of the
frames (4 seats of 12 under 95%), shown 160x260 on all of them (docs/benchmarks.md, "Camera streams").
A stream that declares its pixels' shape (a D1 substream of a 16:9 camera: 16:11), or a camera
configured with `pixel_aspect`, has its crops widened back to true proportions on the canvas: the
same region is then 143x160 in a 2x2 tile, and the person is found there (four regions a call).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from monitor.adapters.video.detections import PAD_GREY, Detections, Detector
from monitor.adapters.video.zones import SeatZone

Rect = tuple[int, int, int, int]
"""Pixels: x1, y1, x2, y2 (x2, y2 exclusive)."""

REGION_SIDE = 0.5
"""The region reaches this fraction of the zone's width beyond each side."""
REGION_ABOVE = 0.35
"""... this fraction of its height above it,"""
REGION_BELOW = 1.0
"""... and this fraction of its height below it (feet of a citizen at the counter)."""
MAX_UPSCALE = 2.0
"""A small region is enlarged into its tile at most this much."""
MIN_SIDE = 128
"""A crop is shown at least this many canvas pixels wide and high, or in a larger cell (see `grid_for`)."""


def zone_region(zone: SeatZone, frame_shape: Sequence[int]) -> Rect:
    """The pixel rectangle around a seat zone that the detector (and the gate) look at."""
    height, width = int(frame_shape[0]), int(frame_shape[1])
    xs = [x for x, _ in zone.polygon]
    ys = [y for _, y in zone.polygon]
    x1, x2, y1, y2 = min(xs), max(xs), min(ys), max(ys)
    w, h = x2 - x1, y2 - y1
    left, right = max(0.0, x1 - REGION_SIDE * w), min(1.0, x2 + REGION_SIDE * w)
    top, bottom = max(0.0, y1 - REGION_ABOVE * h), min(1.0, y2 + REGION_BELOW * h)
    rect = (int(left * width), int(top * height), int(np.ceil(right * width)), int(np.ceil(bottom * height)))
    return rect[0], rect[1], max(rect[0] + 1, rect[2]), max(rect[1] + 1, rect[3])


@dataclass(frozen=True, slots=True)
class Crop:
    """A region of one frame to be read by the detector."""

    image: np.ndarray = field(repr=False)
    rect: Rect
    pixel_aspect: float = 1.0
    """The width of the frame's pixels against their height (`Frame.pixel_aspect`): the crop is widened by it on
    the canvas, so the detector sees people in their true proportions."""


Grid = tuple[int, int]
"""How a call's canvas is cut: columns, rows."""


@dataclass(frozen=True, slots=True)
class _Placement:
    offset: tuple[int, int]  # where the crop's top-left lies on the canvas
    size: tuple[int, int]  # the scaled crop's width and height on the canvas
    scale: tuple[float, float]  # canvas pixels per frame pixel, across and down


def _shown(rect: Rect, cell: tuple[int, int], pixel_aspect: float = 1.0) -> tuple[tuple[float, float], tuple[int, int]]:
    """The scales (across, down) of a crop fitted into a cell (width, height) with its pixels made square, and its
    size there."""
    x1, y1, x2, y2 = rect
    w, h = (x2 - x1) * pixel_aspect, y2 - y1  # in square pixels
    scale = min(cell[0] / w, cell[1] / h, MAX_UPSCALE)
    size = max(1, min(cell[0], round(w * scale))), max(1, min(cell[1], round(h * scale)))
    return (scale * pixel_aspect, scale), size


def grid_for(rect: Rect, canvas_size: int, per_side: int, pixel_aspect: float = 1.0) -> Grid:
    """The densest grid whose cell shows this crop at least MIN_SIDE pixels wide and high (or at its own
    size, when that is smaller): per_side x per_side, else fewer cells (more columns than rows for tall
    crops, the converse for wide ones), else the whole canvas."""
    x1, y1, x2, y2 = rect
    need = (min(MIN_SIDE, round((x2 - x1) * pixel_aspect)), min(MIN_SIDE, y2 - y1))
    grids = sorted(
        ((columns, rows) for columns in range(1, per_side + 1) for rows in range(1, per_side + 1)),
        key=lambda grid: -grid[0] * grid[1],
    )
    for grid in grids:
        _, size = _shown(rect, (canvas_size // grid[0], canvas_size // grid[1]), pixel_aspect)
        if size[0] >= need[0] and size[1] >= need[1]:
            return grid
    return 1, 1


def pack(crops: Sequence[Crop], *, canvas_size: int, per_side: int) -> list[tuple[Grid, list[int]]]:
    """The detector calls that read `crops`: each call's grid and the crops (indexes) in its cells."""
    if per_side < 1:
        raise ValueError("per_side must be at least 1")
    by_grid: dict[Grid, list[int]] = {}
    for index, crop in enumerate(crops):
        by_grid.setdefault(grid_for(crop.rect, canvas_size, per_side, crop.pixel_aspect), []).append(index)
    calls = []
    for grid, indexes in by_grid.items():
        cells = grid[0] * grid[1]
        calls += [(grid, indexes[first : first + cells]) for first in range(0, len(indexes), cells)]
    return calls


def _place(crop: Crop, grid: Grid, slot: int, canvas: np.ndarray) -> _Placement:
    cell = (canvas.shape[1] // grid[0], canvas.shape[0] // grid[1])
    scale, size = _shown(crop.rect, cell, crop.pixel_aspect)
    x1, y1, x2, y2 = crop.rect
    ox, oy = (slot % grid[0]) * cell[0], (slot // grid[0]) * cell[1]
    part = crop.image[y1:y2, x1:x2]
    interpolation = cv2.INTER_AREA if max(scale) < 1 else cv2.INTER_LINEAR
    canvas[oy : oy + size[1], ox : ox + size[0]] = cv2.resize(part, size, interpolation=interpolation)
    return _Placement((ox, oy), size, scale)


def _boxes_in(found: Detections, crop: Crop, placement: _Placement) -> Detections:
    """The boxes whose centre lies in the crop's cell, clipped to it and mapped back to frame pixels."""
    ox, oy = placement.offset
    w, h = placement.size
    xyxy, confidence = found.xyxy, found.confidence
    cx, cy = (xyxy[:, 0] + xyxy[:, 2]) / 2, (xyxy[:, 1] + xyxy[:, 3]) / 2
    keep = (cx >= ox) & (cx < ox + w) & (cy >= oy) & (cy < oy + h)
    if not keep.any():
        return Detections.empty()
    boxes = xyxy[keep].copy()
    boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]], ox, ox + w)
    boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]], oy, oy + h)
    boxes[:, [0, 2]] = (boxes[:, [0, 2]] - ox) / placement.scale[0] + crop.rect[0]
    boxes[:, [1, 3]] = (boxes[:, [1, 3]] - oy) / placement.scale[1] + crop.rect[1]
    return Detections(boxes.astype(np.float32), confidence[keep].astype(np.float32))


def detect_crops(detector: Detector, crops: Sequence[Crop], *, canvas_size: int, per_side: int) -> list[Detections]:
    """Persons in each crop (in its frame's pixels), reading up to `per_side`² crops per detector call."""
    out: list[Detections] = [Detections.empty()] * len(crops)
    for grid, indexes in pack(crops, canvas_size=canvas_size, per_side=per_side):
        canvas = np.full((canvas_size, canvas_size, 3), PAD_GREY, dtype=np.uint8)
        placements = [_place(crops[index], grid, slot, canvas) for slot, index in enumerate(indexes)]
        found = detector.detect(canvas)
        for index, placement in zip(indexes, placements, strict=True):
            out[index] = _boxes_in(found, crops[index], placement)
    return out


def concatenate(parts: Sequence[Detections]) -> Detections:
    parts = [p for p in parts if len(p)]
    if not parts:
        return Detections.empty()
    return Detections(np.concatenate([p.xyxy for p in parts]), np.concatenate([p.confidence for p in parts]))
