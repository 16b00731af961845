"""The optimised camera loop: many cameras in one process, gated per zone, detected in shared tiled calls.

Each round takes the next sampled frame of every camera; the gate of each camera (monitor.video.gating)
says which of its zones need the detector; the regions of all those zones, from all cameras, are
packed into detector-sized canvases (monitor.video.regions) so that one call reads up to four of
them; each camera's pipeline (monitor.worker.CameraPipeline, the same presence machine, messages and
evidence as the plain worker) is then fed its frame with the person boxes of its zones: fresh boxes
for the zones read now, the boxes of their last reading for the zones the gate skipped.

Why one process: the costly parts (H.264 decoding in OpenCV, inference in onnxruntime) release the
GIL, and with gating the detector runs a small fraction of the frames, so one process with one
inference thread keeps a 24-camera hall under one core (docs/benchmarks.md); more processes would
each load the model (memory) and contend for the same two cores.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from monitor.video.detector import Detections, Detector
from monitor.video.gating import GateSettings, ZoneGate
from monitor.video.regions import Crop, Rect, concatenate, detect_crops, zone_region
from monitor.video.source import Frame, FrameSource
from monitor.video.zones import read_seats
from monitor.worker import CameraPipeline, Message


class Handover:
    """A `Detector` for a CameraPipeline whose boxes were found elsewhere (the shared, tiled calls)."""

    name = "handover"

    def __init__(self) -> None:
        self._next: Detections | None = None

    def give(self, detections: Detections) -> None:
        self._next = detections

    def detect(self, image: np.ndarray) -> Detections:
        if self._next is None:
            raise RuntimeError("Handover.detect called without detections handed over for this frame")
        detections, self._next = self._next, None
        return detections


@dataclass
class GateStats:
    frames: int = 0
    zones_read: int = 0
    zones_skipped: int = 0


class GatedCamera:
    """One camera of the optimised loop: its gate, the boxes of each zone's last reading, its pipeline.

    The pipeline must have been built with `handover` as its detector.
    """

    def __init__(self, pipeline: CameraPipeline, handover: Handover, settings: GateSettings) -> None:
        self.pipeline = pipeline
        self.handover = handover
        self.settings = settings
        self.stats = GateStats()
        self._gate: ZoneGate | None = None
        self._regions: dict[str, Rect] = {}
        self._shape: tuple[int, ...] | None = None
        self._boxes: dict[str, Detections] = {}

    @property
    def camera(self) -> str:
        return self.pipeline.camera.id

    def plan(self, frame: Frame) -> list[tuple[str, Crop]]:
        """The zones of this frame the detector must read, with their crops."""
        shape = frame.image.shape
        if shape != self._shape:  # first frame, or the stream's resolution changed: start afresh
            self._shape = shape
            self._regions = {z.window: zone_region(z, shape) for z in self.pipeline.zones}
            self._gate = ZoneGate(self._regions, shape, self.settings)
            self._boxes = {}
        assert self._gate is not None
        due = self._gate.due(frame.image, frame.at)
        self.stats.frames += 1
        self.stats.zones_read += len(due)
        self.stats.zones_skipped += len(self._regions) - len(due)
        return [(window, Crop(frame.image, self._regions[window])) for window in due]

    def finish(self, frame: Frame, found: dict[str, Detections]) -> list[Message]:
        """Feed the pipeline the frame with the boxes of every zone; `found` has the zones read now."""
        self._boxes.update(found)
        detections = concatenate(list(self._boxes.values()))
        camera = self.pipeline.camera
        if found and self._gate is not None:
            readings = read_seats(
                detections,
                [z for z in self.pipeline.zones if z.window in found],
                self.pipeline.exclusions,
                frame.image.shape,
                min_overlap=camera.min_overlap,
            )
            self._gate.record(frame.image, frame.at, {w: r.occupied for w, r in readings.items()})
        self.handover.give(detections)
        return self.pipeline.on_frame(frame)


@dataclass(frozen=True, slots=True)
class Processed:
    """One frame through the loop: its messages, and how long it waited from decoding to them (seconds)."""

    camera: str
    frame: Frame
    messages: list[Message]
    latency: float


@dataclass
class LoopStats:
    rounds: int = 0
    detector_calls: int = 0
    crops: int = 0
    detector_seconds: float = 0.0
    frames: int = field(default=0)


def run_gated(
    cameras: Sequence[tuple[GatedCamera, FrameSource]],
    detector: Detector,
    *,
    canvas_size: int,
    per_side: int = 2,
    stats: LoopStats | None = None,
) -> Iterator[Processed]:
    """Run the cameras in rounds until every source ends; yields each frame's result as it is done."""
    stats = stats if stats is not None else LoopStats()
    streams = [(camera, iter(source.frames())) for camera, source in cameras]
    while streams:
        arrived: list[tuple[GatedCamera, Frame, float]] = []
        for camera, stream in list(streams):
            frame = next(stream, None)
            if frame is None:
                streams.remove((camera, stream))
                continue
            arrived.append((camera, frame, time.perf_counter()))
        if not arrived:
            break
        stats.rounds += 1
        stats.frames += len(arrived)
        plans = [camera.plan(frame) for camera, frame, _ in arrived]
        crops = [crop for plan in plans for _, crop in plan]
        began = time.perf_counter()
        found = detect_crops(detector, crops, canvas_size=canvas_size, per_side=per_side) if crops else []
        stats.detector_seconds += time.perf_counter() - began
        stats.detector_calls += -(-len(crops) // (per_side * per_side))
        stats.crops += len(crops)
        position = 0
        for (camera, frame, at), plan in zip(arrived, plans, strict=True):
            mine = {window: found[position + i] for i, (window, _) in enumerate(plan)}
            position += len(plan)
            messages = camera.finish(frame, mine)
            yield Processed(camera.camera, frame, messages, time.perf_counter() - at)


def limit_threads(detector: Detector, weights: str | Path, threads: int) -> bool:
    """Give an ONNX YOLO detector an onnxruntime session with `threads` inference threads and no spinning.

    onnxruntime's default (one thread per core, spinning while waiting for work) costs about twice
    the CPU per call on a busy 2-core machine for the same result; with many cameras the parallelism
    comes from the loop, not from inside one call. Returns False (and changes nothing) for detectors
    that are not ultralytics ONNX models.
    """
    predictor = getattr(getattr(detector, "_model", None), "predictor", None)
    backend = getattr(getattr(predictor, "model", None), "backend", None)
    session = getattr(backend, "session", None)
    if session is None or not str(weights).endswith(".onnx"):
        return False
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    backend.session = onnxruntime.InferenceSession(str(weights), options, providers=session.get_providers())
    return True
