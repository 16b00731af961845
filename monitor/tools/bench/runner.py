"""Running one pipeline over the synthetic hall, in a fresh child process so that its CPU time and peak
memory are its own.

The naive pipeline reads its streams as the worker first did, with OpenCV (every frame decoded); the
optimised one with the worker's sources now (monitor.adapters.video.source.open_source: PyAV, only
the frames sampling needs). The CPU of the whole process is split three ways: decoding (the sources'
reads), the detector's calls, and everything else (seat zones, gating, the presence machine,
messages). Each is the process's CPU time over those calls, so the detector's inference threads
count; the loop runs on one thread, so nothing else runs meanwhile.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import resource
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from monitor.adapters.video.detections import Detections, Detector
from monitor.adapters.video.frames import Decoding, Frame, FrameSource
from monitor.adapters.video.gating import GateSettings
from monitor.config import MonitorConfig
from monitor.errors import InputError
from monitor.tools.bench.hall import BenchSpec, SyntheticHall


@dataclass(frozen=True, slots=True)
class Published:
    window: str
    state: str
    video_seconds: float  # the publishing frame's time since the hall's start
    latency: float  # that frame's wall seconds from decoding to its messages


@dataclass(frozen=True, slots=True)
class RunResult:
    mode: str
    frames: int
    detector_calls: int
    zones_read: int
    zones_total: int
    cpu_seconds: float
    wall_seconds: float
    peak_memory_mb: float
    baseline_memory_mb: float = 0.0  # RSS with the detector loaded, before any camera's source is opened
    running_memory_mb: float = 0.0  # RSS at the end of the run, every camera's source still open
    video_seconds: float = 0.0  # the hall's seconds the run covered (all of them for files; the wall time live)
    decode_cpu_seconds: float = 0.0
    detector_cpu_seconds: float = 0.0
    stream_frames: int = 0  # compressed frames the sources read
    decoded_frames: int = 0  # of those, decoded
    held_frames: int = 0  # samples delivered without decoding (their GOP held: nothing new in its first sample)
    decode_modes: tuple[str, ...] = ()
    published: tuple[Published, ...] = field(default=())
    latencies: tuple[float, ...] = field(default=())  # every frame's wall seconds from decoding to its messages


@dataclass
class Meter:
    """CPU seconds of the process spent in the sources' reads and in the detector's calls."""

    decode: float = 0.0
    detect: float = 0.0


class MeteredSource:
    """A frame source whose reads are counted as decoding."""

    def __init__(self, source: FrameSource, meter: Meter) -> None:
        self._source, self._meter = source, meter
        self.problem: str | None = None

    def frames(self) -> Iterator[Frame]:
        stream = iter(self._source.frames())
        while True:
            began = time.process_time()
            frame = next(stream, None)
            self._meter.decode += time.process_time() - began
            if frame is None:
                return
            yield frame

    def decoding(self) -> Decoding:
        return self._source.decoding()

    def hold(self, frame: Frame) -> None:
        self._source.hold(frame)

    def close(self) -> None:
        self._source.close()


class MeteredDetector:
    """A detector whose calls are counted; everything else is the detector's own."""

    def __init__(self, detector: Detector, meter: Meter) -> None:
        self._detector, self._meter = detector, meter

    def detect(self, image: np.ndarray) -> Detections:
        began = time.process_time()
        try:
            return self._detector.detect(image)
        finally:
            self._meter.detect += time.process_time() - began

    def __getattr__(self, name: str) -> Any:
        return getattr(self._detector, name)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_memory_mb() -> float:
    """The process's peak resident memory so far (ru_maxrss: kB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _resident_mb() -> float:
    """The process's resident memory now (/proc/self/statm on Linux; elsewhere the peak so far)."""
    statm = Path("/proc/self/statm")
    if not statm.exists():
        return _peak_memory_mb()
    return int(statm.read_text().split()[1]) * resource.getpagesize() / 1024**2


def _sources(mode: str, config: MonitorConfig, start: dt.datetime) -> list[FrameSource]:
    """naive: OpenCV, every frame decoded, as the worker first read its streams; else the worker's sources."""
    from monitor.adapters.video.source import FileSource, LiveSource, is_live, open_source

    if not mode.startswith("naive"):
        return [open_source(c, start=start, detect_fps=c.detect_fps) for c in config.cameras]
    return [
        LiveSource(c, detect_fps=c.detect_fps, clock=lambda: dt.datetime.now(dt.UTC), sleep=time.sleep)
        if is_live(c.url)
        else FileSource(c, start=start, detect_fps=c.detect_fps)
        for c in config.cameras
    ]


def run_pipeline(mode: str, config_file: Path, start: dt.datetime, spec: BenchSpec) -> RunResult:
    """Run every camera of the hall through one pipeline, in this process; frames in lockstep rounds. Files
    run as fast as the pipeline goes; live streams (rtsp) for `spec.seconds` of wall time."""
    import contextlib
    import logging

    from monitor.adapters.video.detector import load_detector
    from monitor.contract import WindowState
    from monitor.services.gated import GatedCamera, LoopStats, limit_threads, one_opencv_thread, run_gated
    from monitor.services.pipeline import CameraPipeline

    logging.getLogger("ultralytics").setLevel(logging.ERROR)
    config = MonitorConfig.model_validate_json(config_file.read_text(encoding="utf-8"))
    with contextlib.redirect_stdout(sys.stderr):
        raw = load_detector(config.detector)
    if mode != "naive":
        limit_threads(raw, config.detector.weights, spec.threads)
        one_opencv_thread()  # as the camera service runs (monitor.services.gated.tune)
    meter = Meter()
    detector = MeteredDetector(raw, meter)
    baseline = _resident_mb()
    plain = _sources(mode, config, start)
    sources = [MeteredSource(source, meter) for source in plain]
    live = spec.transport == "rtsp"
    published: list[Published] = []
    state_prefix = f"{config.mqtt.topic_prefix}/windows/"

    latencies: list[float] = []
    first: list[dt.datetime] = []  # live: the first frame's clock time stands for the hall's start

    def note(messages: list, at: dt.datetime, latency: float) -> None:
        latencies.append(latency)
        if live and not first:
            first.append(at)
        moment = (at - first[0]).total_seconds() if live else (at - start).total_seconds()
        for message in messages:
            if message.topic.startswith(state_prefix) and message.topic.endswith("/state"):
                payload = WindowState.from_json(message.payload)
                published.append(Published(payload.window, payload.state, moment, latency))

    cpu, wall = _cpu(), time.perf_counter()
    deadline = wall + spec.seconds
    if mode.startswith("naive"):
        pipelines = [CameraPipeline(config, camera, detector, evidence=False) for camera in config.cameras]
        streams = [(p, iter(s.frames())) for p, s in zip(pipelines, sources, strict=True)]
        frames = 0
        while streams and not (live and time.perf_counter() > deadline):
            for pipeline, stream in list(streams):
                frame = next(stream, None)
                if frame is None:
                    streams.remove((pipeline, stream))
                    continue
                arrived = time.perf_counter()
                messages = pipeline.on_frame(frame)
                frames += 1
                note(messages, frame.at, time.perf_counter() - arrived)
        calls = frames
        read = total = sum(p.stats.frames * len(p.zones) for p in pipelines)
    else:
        settings = GateSettings(reverify=spec.reverify)
        evidence = mode == "evidence"
        cameras = [
            GatedCamera(CameraPipeline(config, camera, detector, evidence=evidence), settings)
            for camera in config.cameras
        ]
        stats = LoopStats()
        for done in run_gated(
            list(zip(cameras, sources, strict=True)),
            detector,
            canvas_size=config.detector.imgsz,
            per_side=spec.per_side,
            stats=stats,
        ):
            note(done.messages, done.frame.at, done.latency)
            if live and time.perf_counter() > deadline:
                break
        frames, calls = stats.frames, stats.detector_calls
        read = sum(c.stats.zones_read for c in cameras)
        total = read + sum(c.stats.zones_skipped for c in cameras)
    cpu, wall = _cpu() - cpu, time.perf_counter() - wall
    decodings = [source.decoding() for source in sources]
    running = _resident_mb()
    for source in sources:
        source.close()
    return RunResult(
        mode,
        frames,
        calls,
        read,
        total,
        cpu,
        wall,
        _peak_memory_mb(),
        baseline_memory_mb=baseline,
        running_memory_mb=running,
        video_seconds=min(wall, spec.seconds) if live else float(spec.seconds),
        decode_cpu_seconds=meter.decode,
        detector_cpu_seconds=meter.detect,
        stream_frames=sum(d.packets for d in decodings),
        decoded_frames=sum(d.decoded for d in decodings),
        held_frames=sum(d.held for d in decodings),
        decode_modes=tuple(sorted({d.mode for d in decodings})),
        published=tuple(published),
        latencies=tuple(latencies),
    )


def _child(
    mode: str, config_file: str, start: str, spec: BenchSpec, pipe: multiprocessing.connection.Connection
) -> None:
    try:
        pipe.send(run_pipeline(mode, Path(config_file), dt.datetime.fromisoformat(start), spec))
    except BaseException as exc:  # the parent reports it; a child's traceback would be lost
        pipe.send(f"{type(exc).__name__}: {exc}")
    finally:
        pipe.close()


def run_isolated(mode: str, hall: SyntheticHall, spec: BenchSpec) -> RunResult:
    """`run_pipeline` in a fresh process, so that its CPU time and peak memory are its own."""
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(mode, str(hall.config_file), hall.start.isoformat(), spec, sender))
    child.start()
    sender.close()
    try:
        result = receiver.recv()
    except EOFError:
        result = f"the {mode} process ended without a result (exit status {child.exitcode})"
    child.join()
    if isinstance(result, str):
        raise InputError(f"bench: the {mode} pipeline failed: {result}")
    return result
