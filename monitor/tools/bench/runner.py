"""Running one pipeline over the synthetic hall, in a fresh child process so that its CPU time and peak
memory are its own."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import resource
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from monitor.adapters.video.gating import GateSettings
from monitor.config import MonitorConfig
from monitor.errors import InputError
from monitor.tools.bench.hall import BenchSpec, SyntheticHall

MODES = ("naive", "naive-tuned", "optimised")
"""naive: the worker as written; naive-tuned: the same with the optimised mode's onnxruntime settings."""


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
    published: tuple[Published, ...] = field(default=())
    latencies: tuple[float, ...] = field(default=())  # every frame's wall seconds from decoding to its messages


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_pipeline(mode: str, config_file: Path, start: dt.datetime, spec: BenchSpec) -> RunResult:
    """Run every camera of the hall through one pipeline, in this process; frames in lockstep rounds."""
    import contextlib
    import logging

    from monitor.adapters.video.detector import load_detector
    from monitor.adapters.video.source import open_source
    from monitor.contract import WindowState
    from monitor.services.gated import GatedCamera, LoopStats, limit_threads, run_gated
    from monitor.services.pipeline import CameraPipeline

    logging.getLogger("ultralytics").setLevel(logging.ERROR)
    config = MonitorConfig.model_validate_json(config_file.read_text(encoding="utf-8"))
    with contextlib.redirect_stdout(sys.stderr):
        detector = load_detector(config.detector)
    if mode != "naive":
        limit_threads(detector, config.detector.weights, spec.threads)
    sources = [open_source(c, start=start, detect_fps=c.detect_fps) for c in config.cameras]
    published: list[Published] = []
    state_prefix = f"{config.mqtt.topic_prefix}/windows/"

    latencies: list[float] = []

    def note(messages: list, at: dt.datetime, latency: float) -> None:
        latencies.append(latency)
        for message in messages:
            if message.topic.startswith(state_prefix) and message.topic.endswith("/state"):
                payload = WindowState.from_json(message.payload)
                published.append(Published(payload.window, payload.state, (at - start).total_seconds(), latency))

    cpu, wall = _cpu(), time.perf_counter()
    if mode.startswith("naive"):
        pipelines = [CameraPipeline(config, camera, detector, evidence=False) for camera in config.cameras]
        streams = [(p, iter(s.frames())) for p, s in zip(pipelines, sources, strict=True)]
        frames = 0
        while streams:
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
        cameras = [
            GatedCamera(CameraPipeline(config, camera, detector, evidence=False), settings) for camera in config.cameras
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
        frames, calls = stats.frames, stats.detector_calls
        read = sum(c.stats.zones_read for c in cameras)
        total = read + sum(c.stats.zones_skipped for c in cameras)
    cpu, wall = _cpu() - cpu, time.perf_counter() - wall
    for source in sources:
        source.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return RunResult(mode, frames, calls, read, total, cpu, wall, peak, tuple(published), tuple(latencies))


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
