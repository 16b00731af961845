"""The hall worker: every camera of the hall in one process, live, around one shared detector.

Each camera has a reader thread that keeps only its latest sampled frame (monitor.worker.start_reader:
a live frame that waits goes stale and is dropped, a file's frames all count), and its own link to the
broker (monitor.worker.CameraLink: MQTT client with the last will on its availability, the durable
outbox, statistics) — the very pieces of the single-camera `run_worker`, with the same outbox file
per camera. The main loop runs in rounds: it takes the frames that arrived, and with `[detector]
gating` reads the due zones of all of them in shared tiled detector calls (monitor.video.batch);
without it, each frame goes through the plain CameraPipeline.on_frame over the same detector. A
camera without frames is watched by its pipeline's no-frames watchdog (windows unknown, status
offline); the other cameras keep going. Why one process: docs/benchmarks.md (one model in memory,
one inference thread, decoding and inference release the GIL).
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import time
from dataclasses import dataclass, field

from monitor.config import CameraConfig, MonitorConfig
from monitor.errors import InputError, MonitorError
from monitor.video.batch import GatedCamera, LoopStats, detect_round, gate_settings, require_stateless, tune
from monitor.video.detector import load_detector
from monitor.video.source import Frame, FrameSource, open_source
from monitor.worker import CameraLink, CameraPipeline, FrameClock, Message, find_camera, start_reader

log = logging.getLogger(__name__)

WATCHDOG_EVERY = 1.0  # seconds of silence between two watchdog calls of a camera, as in run_worker
IDLE_WAIT = 0.5  # seconds the loop sleeps when no camera has a frame (a new frame wakes it at once)
READER_WAIT = 2.0  # seconds a clean stop waits, for all readers together, for them to leave their sources
CLOSE_WAIT = 5.0  # seconds a clean stop waits, for all cameras together, for the broker to take their last words
TILES_PER_SIDE = 2  # the optimised loop packs up to 2 x 2 zone crops into one detector call


@dataclass
class _Camera:
    """One camera of the hall: its pipeline (and gate), its link to the broker, its frames."""

    config: CameraConfig
    pipeline: CameraPipeline
    gated: GatedCamera | None
    link: CameraLink
    frames: queue.Queue[Frame] = field(default_factory=lambda: queue.Queue(maxsize=1))
    clock: FrameClock = field(default_factory=FrameClock)
    source: FrameSource | None = None
    next_watch: float = 0.0

    def take(self) -> Frame | None:
        try:
            return self.frames.get_nowait()
        except queue.Empty:
            return None

    def watch(self) -> list[Message]:
        """The no-frames watchdog, at most every WATCHDOG_EVERY seconds while the camera is silent."""
        moment = time.monotonic()
        if self.clock.silent_for() < WATCHDOG_EVERY or moment < self.next_watch:
            return []
        self.next_watch = moment + WATCHDOG_EVERY
        return self.pipeline.watchdog(self.clock.now())


def run_hall(config: MonitorConfig, stop: threading.Event, *, start: dt.datetime | None = None) -> None:
    """Every camera of `config.cameras` in this process until `stop` is set (`monitor run`).

    File sources are replayed from `start` (default: now), as `monitor replay --start` does; live
    streams are on the clock. A camera whose source cannot be opened is logged and stays offline
    (its windows unknown); the others run.
    """
    if not config.cameras:
        raise InputError("no cameras in the configuration: add [[cameras]] with seat zones to watch windows")
    cameras = [find_camera(config, c.id) for c in config.cameras]
    detector = load_detector(config.detector)
    tune(detector, config.detector)
    gate = gate_settings(config.detector)
    if gate is not None:
        require_stateless(detector)
    arrived = threading.Event()  # set by every reader after each frame: wakes the idle loop
    halt = threading.Event()  # stops the readers, however the loop ends
    readers: list[threading.Thread] = []
    hall: list[_Camera] = []
    stats = LoopStats()
    try:
        for camera in cameras:
            pipeline = CameraPipeline(config, camera, detector)
            gated = GatedCamera(pipeline, gate) if gate is not None else None
            member = _Camera(camera, pipeline, gated, CameraLink(config, camera))
            hall.append(member)
            try:
                member.source = open_source(camera, start=start, detect_fps=camera.detect_fps)
            except MonitorError as exc:
                log.error("camera %s: %s; its windows stay unknown", camera.id, exc)
                continue
            readers.append(start_reader(camera, member.source, member.frames, halt, pipeline.stats, arrived=arrived))
        log.info(
            "hall worker: %d camera(s), %d window(s), %s",
            len(hall),
            sum(len(c.windows) for c in cameras),
            "optimised loop (gated, batched)" if gate is not None else "plain pipeline",
        )
        while not stop.is_set():
            arrived.clear()
            ready = [(member, frame) for member in hall if (frame := member.take()) is not None]
            if gate is not None and ready:
                round_ = [(member.gated, frame) for member, frame in ready if member.gated is not None]
                results = detect_round(round_, detector, config.detector.imgsz, TILES_PER_SIDE, stats)
            else:
                results = [member.pipeline.on_frame(frame) for member, frame in ready]
            stats.frames += len(ready)
            for (member, frame), messages in zip(ready, results, strict=True):
                member.clock.seen(frame)
                member.link.send(messages)
            fed = {id(member) for member, _ in ready}
            for member in hall:
                if id(member) not in fed:
                    member.link.send(member.watch())
                member.link.stats_due(member.pipeline.stats)
            if not ready:
                arrived.wait(IDLE_WAIT)
    finally:
        halt.set()
        deadline = time.monotonic() + READER_WAIT
        for reader in readers:  # a source is closed once its reader is out of it (or has had its time)
            reader.join(timeout=max(0.0, deadline - time.monotonic()))
        for member in hall:
            if member.source is not None:
                member.source.close()
        for member in hall:  # every camera's last words first, then one shared wait for the broker
            member.link.send(member.pipeline.close(member.clock.now()))
        deadline = time.monotonic() + CLOSE_WAIT
        for member in hall:
            member.link.close([], timeout=max(0.0, deadline - time.monotonic()))
        log.info("hall worker stopped: %d frames, %d detector calls", stats.frames, stats.detector_calls)
