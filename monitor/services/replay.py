"""Replaying a video file as if it were live from a given wall-clock time, as fast as the machine allows.

The frames go through the worker's own `CameraPipeline`, so a replay finds exactly what a live
worker would have found (same states, incidents and incident ids). Offline, the messages are
dropped and only the incidents are kept; online, they are published through the outbox, and the end of the file
is the camera going dark: its windows become unknown rather than keep their last state for ever.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from pathlib import Path

import cv2

from monitor.adapters.keys import key_from
from monitor.adapters.video.detections import Detector
from monitor.adapters.video.detector import load_detector
from monitor.adapters.video.gating import GateSettings
from monitor.adapters.video.source import open_source
from monitor.config import MonitorConfig
from monitor.core.evaluation import FoundIncident, summarize
from monitor.core.presence import IncidentChange
from monitor.errors import InputError
from monitor.services.gated import GatedCamera
from monitor.services.pipeline import CameraPipeline, Message, find_camera

log = logging.getLogger(__name__)


def video_seconds(path: Path) -> float | None:
    """The clip's length in seconds, when the container says (for the progress bar)."""
    capture = cv2.VideoCapture(str(path))
    try:
        fps = capture.get(cv2.CAP_PROP_FPS)
        count = capture.get(cv2.CAP_PROP_FRAME_COUNT)
        return count / fps if fps > 0 and count > 0 else None
    finally:
        capture.release()


def replay(
    config: MonitorConfig,
    camera_id: str,
    video: Path,
    start: dt.datetime,
    *,
    publish: Callable[[Message], None] | None = None,
    progress: Callable[[float], None] | None = None,
    detector: Detector | None = None,
    gate: GateSettings | None = None,
) -> list[FoundIncident]:
    """Process `video` as camera `camera_id` from `start`; messages go to `publish` (None: offline).

    `progress` is told the seconds of video processed so far. With `gate`, the optimised mode: the
    detector reads only the seat zones the motion gate says need it (monitor.services.gated).
    """
    if start.tzinfo is None:
        raise InputError(f"--start {start.isoformat()}: give a timezone, e.g. {start.isoformat()}+08:00")
    if not video.is_file():
        raise InputError(f"{video}: no such video file")
    camera = find_camera(config, camera_id).model_copy(update={"url": str(video)})
    detector = detector or load_detector(config.detector)
    changes: list[IncidentChange] = []
    signer = key_from(config.paths.signing_key) if publish is not None else None
    pipeline = CameraPipeline(
        config, camera, detector, evidence=publish is not None, signer=signer, on_incident=changes.append
    )
    gated = GatedCamera(pipeline, gate) if gate is not None else None
    source = open_source(camera, start=start, detect_fps=camera.detect_fps)
    last: dt.datetime | None = None
    try:
        for frame in source.frames():
            if gated is not None:
                messages = gated.process(frame, detector, canvas_size=config.detector.imgsz)
                if gated.quiet:
                    source.hold(frame)
            else:
                messages = pipeline.on_frame(frame)
            for message in messages:
                if publish is not None:
                    publish(message)
            if progress is not None:
                progress((frame.at - start).total_seconds())
            last = frame.at
        if publish is not None:  # the recording ends: the camera goes dark (windows unknown, not their last state)
            for message in pipeline.close(last + pipeline.interval if last is not None else start):
                publish(message)
    finally:
        source.close()
    return summarize(changes, config.hall.tz)
