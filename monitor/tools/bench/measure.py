"""Measuring a run: the seat changes the ground truth demands, their publication delays, the figures."""

from __future__ import annotations

import datetime as dt
import itertools
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from monitor.config import MonitorConfig
from monitor.tools.bench.hall import BenchSpec, SyntheticHall
from monitor.tools.bench.runner import Published, RunResult

MATCH_WITHIN = dt.timedelta(minutes=3)
"""A published state change farther than this from a seat change is not its consequence."""


@dataclass(frozen=True, slots=True)
class SeatChange:
    window: str
    state: str  # "present" or "absent": what the window state should become
    video_seconds: float


@dataclass(frozen=True, slots=True)
class Delays:
    changes: int
    matched: int
    median: float | None
    p95: float | None
    worst: float | None


def seat_changes(hall: SyntheticHall, config: MonitorConfig) -> list[SeatChange]:
    """The ground truth's seat changes a correct pipeline must publish: both sides long enough to confirm."""
    slack = 10.0
    need = {
        "present": config.presence.arrive_after.total_seconds(),
        "absent": config.presence.leave_after.total_seconds(),
    }
    out = []
    for tiles in hall.tiles.values():
        for tile in tiles:
            segments: list[tuple[float, float, str]] = []  # (start, end, state) covering the whole run
            cursor = 0.0
            for start, end in sorted(tile.occupancy):
                if start > cursor:
                    segments.append((cursor, start, "absent"))
                segments.append((start, end, "present"))
                cursor = end
            if cursor < hall.seconds:
                segments.append((cursor, float(hall.seconds), "absent"))
            for (a, b, before), (c, d, after) in itertools.pairwise(segments):
                if b - a >= need[before] + slack and d - c >= need[after] + slack:
                    out.append(SeatChange(tile.window, after, c))
    return out


def delays(changes: Sequence[SeatChange], published: Sequence[Published]) -> Delays:
    """Each change's delay: to the first publication of that state for its window at or after it."""
    found = []
    early = 10.0  # a person walking in is seen a few seconds before the scripted moment they sit
    for change in changes:
        first = min(
            (
                p
                for p in published
                if p.window == change.window
                and p.state == change.state
                and change.video_seconds - early
                <= p.video_seconds
                <= change.video_seconds + MATCH_WITHIN.total_seconds()
            ),
            key=lambda p: p.video_seconds,
            default=None,
        )
        if first is not None:
            found.append(max(0.0, first.video_seconds - change.video_seconds) + first.latency)
    if not found:
        return Delays(len(changes), 0, None, None, None)
    return Delays(len(changes), len(found), statistics.median(found), _p95(found), max(found))


def _p95(values: Sequence[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18] if len(values) > 1 else values[0]


@dataclass(frozen=True, slots=True)
class ModeFigures:
    mode: str
    frames_per_second: float
    detector_calls_per_second: float
    detector_calls: int
    frames: int
    zones_read_share: float
    cpu_seconds: float
    cpu_seconds_per_camera_hour: float
    decode_seconds_per_camera_hour: float
    detector_seconds_per_camera_hour: float
    other_seconds_per_camera_hour: float
    decoded_share: float  # of the compressed frames read, the share decoded
    held_share: float  # of the samples, the share held (not decoded: nothing new in their GOP's first sample)
    decode_modes: tuple[str, ...]
    cores_at_real_time: float
    realtime_factor: float
    peak_memory_mb: float
    baseline_memory_mb: float  # RSS with the detector loaded, before the cameras' sources were opened
    running_memory_mb: float  # RSS at the end of the run, every camera's source still open
    memory_per_camera_mb: float  # (running - baseline) / cameras: what each camera adds
    regions_per_call: float  # seat readings per detector call (the tiles' fill; the naive pipeline: seats a frame)
    detector_ms_per_call: float  # CPU milliseconds a detector call costs, inference threads included
    frame_latency_p95: float
    frame_latency_worst: float
    delays: Delays


def figures(result: RunResult, spec: BenchSpec, changes: Sequence[SeatChange]) -> ModeFigures:
    wall = max(result.wall_seconds, 1e-9)
    video = max(result.video_seconds, 1e-9)
    camera_hours = spec.cameras * video / 3600
    other = result.cpu_seconds - result.decode_cpu_seconds - result.detector_cpu_seconds
    calls = max(result.detector_calls, 1)
    return ModeFigures(
        mode=result.mode,
        frames_per_second=result.frames / wall,
        detector_calls_per_second=result.detector_calls / wall,
        detector_calls=result.detector_calls,
        frames=result.frames,
        zones_read_share=result.zones_read / result.zones_total if result.zones_total else 0.0,
        cpu_seconds=result.cpu_seconds,
        cpu_seconds_per_camera_hour=result.cpu_seconds / camera_hours,
        decode_seconds_per_camera_hour=result.decode_cpu_seconds / camera_hours,
        detector_seconds_per_camera_hour=result.detector_cpu_seconds / camera_hours,
        other_seconds_per_camera_hour=max(other, 0.0) / camera_hours,
        decoded_share=result.decoded_frames / result.stream_frames if result.stream_frames else 0.0,
        held_share=result.held_frames / result.frames if result.frames else 0.0,
        decode_modes=result.decode_modes,
        cores_at_real_time=result.cpu_seconds / video,
        realtime_factor=video / wall,
        peak_memory_mb=result.peak_memory_mb,
        baseline_memory_mb=result.baseline_memory_mb,
        running_memory_mb=result.running_memory_mb,
        memory_per_camera_mb=max(result.running_memory_mb - result.baseline_memory_mb, 0.0) / spec.cameras,
        regions_per_call=result.zones_read / calls,
        detector_ms_per_call=1000 * result.detector_cpu_seconds / calls,
        frame_latency_p95=_p95(result.latencies) if result.latencies else 0.0,
        frame_latency_worst=max(result.latencies, default=0.0),
        delays=delays(changes, result.published),
    )
