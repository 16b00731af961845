"""A camera's current picture with its seat zones and citizen-side areas drawn (座位区域标定).

Shared by `monitor zones` and the console's camera page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import cv2
import numpy as np

from monitor.adapters.video.annotate import annotate, draw_grid
from monitor.adapters.video.detections import Detections
from monitor.adapters.video.source import grab_frame
from monitor.adapters.video.zones import SeatReading, exclusion_zones, read_seats, seat_zones
from monitor.config import MonitorConfig
from monitor.config.video import CameraConfig

MIN_WIDTH = 960
"""Small camera pictures are enlarged to at least this width so that labels stay readable."""


@dataclass(frozen=True, slots=True)
class ZonesPicture:
    picture: np.ndarray
    width: int
    height: int
    """The camera's own picture size (before any enlargement)."""
    readings: Mapping[str, SeatReading] | None


def zones_picture(
    config: MonitorConfig,
    camera: CameraConfig,
    *,
    offset: dt.timedelta = dt.timedelta(0),
    detect: bool = False,
    grid: bool = True,
) -> ZonesPicture:
    """Grab a picture (a file's at `offset`) and draw the zones; with `detect`, person boxes and seat scores."""
    image = grab_frame(camera, offset=offset, timeout=camera.offline_after)
    zones_, exclusions = seat_zones(camera), exclusion_zones(camera)
    detections = readings = None
    if detect:
        from monitor.adapters.video.detector import load_detector  # loads the detector runtime: only when asked

        detections = load_detector(config.detector).detect(image)
        readings = read_seats(detections, zones_, exclusions, image.shape, min_overlap=camera.min_overlap)
    height, width = image.shape[:2]
    factor = -(-MIN_WIDTH // width)  # ceil: enlarge small pictures by a whole factor
    if factor > 1:
        image = cv2.resize(image, (width * factor, height * factor), interpolation=cv2.INTER_NEAREST)
        if detections is not None:
            detections = Detections(detections.xyxy * factor, detections.confidence)
    picture = annotate(
        draw_grid(image) if grid else image,
        place=camera.place,
        at=dt.datetime.now(config.hall.tz),
        zones=zones_,
        exclusions=exclusions,
        detections=detections,
        readings=readings,
        font=config.evidence.font,
    )
    return ZonesPicture(picture, width, height, readings)
