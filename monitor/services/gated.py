"""The optimised camera loop: many cameras in one process, gated per zone, detected in shared tiled calls.

Each round takes the next sampled frame of every camera; the gate of each camera (monitor.adapters.video.gating)
says which of its zones need the detector; the regions of all those zones, from all cameras, are
packed into detector-sized canvases (monitor.adapters.video.regions) so that one call reads up to four of
them; each camera's pipeline (monitor.services.pipeline.CameraPipeline, the same presence machine, messages and
evidence as the plain worker) is then fed its frame with the person boxes of its zones: fresh boxes
for the zones read now, the boxes of their last reading for the zones the gate skipped.

Why one process: the costly parts (H.264 decoding in FFmpeg, inference in onnxruntime) release the
GIL, and with gating the detector runs a small fraction of the frames, so one process with one
inference thread keeps a 24-camera hall under one core (docs/benchmarks.md); more processes would
each load the model (memory) and contend for the same two cores.
"""

from __future__ import annotations

import logging
import time
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2

from monitor.adapters.video.detections import Detections, Detector
from monitor.adapters.video.detector import MotionDetector
from monitor.adapters.video.frames import Frame, FrameSource
from monitor.adapters.video.gating import GateSettings, ZoneGate
from monitor.adapters.video.onnx_yolo import OnnxYoloDetector, onnx_session
from monitor.adapters.video.regions import Crop, Rect, concatenate, detect_crops, pack, zone_region
from monitor.adapters.video.zones import SeatReading, read_seats
from monitor.config.video import DetectorConfig
from monitor.errors import MonitorError
from monitor.services.pipeline import CameraPipeline, Message

log = logging.getLogger(__name__)


class GatingError(MonitorError):
    """The optimised loop cannot run as configured."""


def require_stateless(detector: Detector) -> None:
    """The optimised loop needs a detector that judges each image on its own (YOLO)."""
    if isinstance(detector, MotionDetector):
        raise GatingError(
            f"the optimised camera loop needs the YOLO detector; {detector.name} (the OpenCV fallback) learns from "
            "every whole frame and cannot read tiles: run without the optimised mode, or configure [detector] weights"
        )


def camera_phase(camera: str) -> float:
    """A camera's re-verification phase (0-1), fixed by its id: spreads a hall's re-verifications over time."""
    return zlib.crc32(camera.encode()) % 1000 / 1000


@dataclass
class GateStats:
    frames: int = 0
    zones_read: int = 0
    zones_skipped: int = 0


class GatedCamera:
    """One camera of the optimised loop: its gate, the boxes of each zone's last reading, its pipeline."""

    def __init__(self, pipeline: CameraPipeline, settings: GateSettings) -> None:
        self.pipeline = pipeline
        self.settings = settings
        self.stats = GateStats()
        self._gate: ZoneGate | None = None
        self._regions: dict[str, Rect] = {}
        self._shape: tuple[int, ...] | None = None
        self._boxes: dict[str, Detections] = {}
        self._seen: tuple[Detections, dict[str, SeatReading]] | None = None
        self.quiet = False
        """The last frame finished showed nothing new (ZoneGate.steady): its source may hold the rest of its GOP."""

    @property
    def camera(self) -> str:
        return self.pipeline.camera.id

    @property
    def readings(self) -> dict[str, SeatReading]:
        """The seat readings handed to the pipeline with the last frame (read now or kept)."""
        return self._seen[1] if self._seen is not None else {}

    def plan(self, frame: Frame) -> list[tuple[str, Crop]]:
        """The zones of this frame the detector must read, with their crops."""
        shape = frame.image.shape
        if shape != self._shape:  # first frame, or the stream's resolution changed: start afresh
            self._shape = shape
            self._regions = {z.window: zone_region(z, shape) for z in self.pipeline.zones}
            self._gate = ZoneGate(self._regions, shape, self.settings, phase=camera_phase(self.camera))
            self._boxes = {}
            self._seen = None
        assert self._gate is not None
        # A held frame was not decoded (its GOP's first sample showed nothing new): its zones keep their readings,
        # and what falls due meanwhile (a re-verification) is read on the next decoded frame.
        due = () if frame.held else self._gate.due(frame.image, frame.at)
        self.stats.frames += 1
        self.stats.zones_read += len(due)
        self.stats.zones_skipped += len(self._regions) - len(due)
        return [(window, Crop(frame.image, self._regions[window], frame.pixel_aspect)) for window in due]

    def finish(self, frame: Frame, found: dict[str, Detections]) -> list[Message]:
        """Feed the pipeline the frame with the boxes of every zone; `found` has the zones read now.

        With nothing read now, the boxes, and so the readings, are the last frame's.
        """
        if found or self._seen is None:
            self._boxes.update(found)
            detections = concatenate(list(self._boxes.values()))
            readings = read_seats(
                detections,
                self.pipeline.zones,
                self.pipeline.exclusions,
                frame.image.shape,
                min_overlap=self.pipeline.camera.min_overlap,
            )
            if self._gate is not None:
                self._gate.record(frame.image, frame.at, {w: readings[w].occupied for w in found})
            self._seen = (detections, readings)
        self.quiet = not frame.held and self._gate is not None and self._gate.steady()
        return self.pipeline.on_frame(frame, *self._seen)

    def process(self, frame: Frame, detector: Detector, *, canvas_size: int, per_side: int = 2) -> list[Message]:
        """One frame of this camera alone (a single-camera worker or replay): plan, detect, finish."""
        require_stateless(detector)
        plan = self.plan(frame)
        began = time.perf_counter()
        found = detect_crops(detector, [crop for _, crop in plan], canvas_size=canvas_size, per_side=per_side)
        self.pipeline.stats.inference_seconds += time.perf_counter() - began
        return self.finish(frame, {window: boxes for (window, _), boxes in zip(plan, found, strict=True)})


@dataclass(frozen=True, slots=True)
class Processed:
    """One frame through the loop: its messages, and how long it waited from decoding to them (seconds)."""

    camera: str
    frame: Frame
    messages: list[Message]
    latency: float


@dataclass
class LoopStats:
    frames: int = 0
    detector_calls: int = 0
    crops: int = 0


def run_gated(
    cameras: Sequence[tuple[GatedCamera, FrameSource]],
    detector: Detector,
    *,
    canvas_size: int,
    per_side: int = 2,
    stats: LoopStats | None = None,
) -> Iterator[Processed]:
    """Run the cameras in rounds until every source ends; yields each frame's result as it is done."""
    require_stateless(detector)
    stats = stats if stats is not None else LoopStats()
    streams = [(camera, iter(source.frames())) for camera, source in cameras]
    sources = {camera.camera: source for camera, source in cameras}
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
        stats.frames += len(arrived)
        round_ = [(camera, frame) for camera, frame, _ in arrived]
        results = detect_round(round_, detector, canvas_size, per_side, stats)
        for (camera, frame, at), messages in zip(arrived, results, strict=True):
            if camera.quiet:
                sources[camera.camera].hold(frame)
            yield Processed(camera.camera, frame, messages, time.perf_counter() - at)


def detect_round(
    arrived: Sequence[tuple[GatedCamera, Frame]],
    detector: Detector,
    canvas_size: int,
    per_side: int,
    stats: LoopStats,
) -> list[list[Message]]:
    """One round of the loop: plan every camera's frame, read all due zones in shared tiled detector calls,
    finish each camera. Returns each frame's messages, in order. The time of the shared calls is shared out
    among the cameras' statistics by their number of crops."""
    plans = [camera.plan(frame) for camera, frame in arrived]
    crops = [crop for plan in plans for _, crop in plan]
    began = time.perf_counter()
    found = detect_crops(detector, crops, canvas_size=canvas_size, per_side=per_side) if crops else []
    took = time.perf_counter() - began
    stats.detector_calls += len(pack(crops, canvas_size=canvas_size, per_side=per_side))
    stats.crops += len(crops)
    results: list[list[Message]] = []
    position = 0
    for (camera, frame), plan in zip(arrived, plans, strict=True):
        mine = {window: found[position + i] for i, (window, _) in enumerate(plan)}
        position += len(plan)
        if crops:
            camera.pipeline.stats.inference_seconds += took * len(plan) / len(crops)
        results.append(camera.finish(frame, mine))
    return results


def limit_threads(detector: Detector, weights: str | Path, threads: int) -> bool:
    """Give an ONNX YOLO detector an onnxruntime session with `threads` inference threads and no spinning
    (monitor.adapters.video.onnx_yolo.onnx_session says why). Returns False (and changes nothing) for
    detectors that do not run .onnx weights."""
    if isinstance(detector, OnnxYoloDetector):
        detector.use_threads(threads)
        return True
    predictor = getattr(getattr(detector, "_model", None), "predictor", None)
    backend = getattr(getattr(predictor, "model", None), "backend", None)
    session = getattr(backend, "session", None)
    if session is None or not str(weights).endswith(".onnx"):
        return False
    backend.session = onnx_session(weights, threads, session.get_providers())
    return True


def gate_settings(config: DetectorConfig, *, force: bool = False) -> GateSettings | None:
    """The optimised mode's settings when `[detector] gating` is on (or `force`d), else None: the plain pipeline."""
    return GateSettings(reverify=config.reverify) if config.gating or force else None


def one_opencv_thread() -> None:
    """OpenCV's own thread pool off: the camera loop is one thread whose OpenCV work is on small pictures (zone
    crops, scaling a frame down for its evidence clip), where OpenCV's threads double the CPU for a few tens of
    microseconds of wall time (docs/benchmarks.md, "Evidence"). Decoding (FFmpeg) and the detector (onnxruntime)
    keep their own threads."""
    cv2.setNumThreads(1)


def tune(detector: Detector, config: DetectorConfig) -> None:
    """Apply `[detector] threads` (0: leave onnxruntime's default), with one OpenCV thread (`one_opencv_thread`)."""
    one_opencv_thread()
    if config.threads and not limit_threads(detector, config.weights, config.threads):
        log.info(
            "[detector] threads = %d applies to .onnx weights only; %s keeps its own", config.threads, detector.name
        )
