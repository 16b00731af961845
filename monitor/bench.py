"""The hall benchmark: a synthetic hall of N cameras x K windows, run naive and optimised, side by side.

The hall is built from the fixture clips (fixtures/videos): each synthetic camera is a mosaic of K
single-window clips, each started at its own offset, written as a video file, so that decoding,
detection, seat zones, the presence machine and its messages are all the real worker's. The seat
zones, exclusions and the ground-truth occupancy of each clip follow its tile into the mosaic.

Both pipelines run in a fresh child process each (so CPU time and peak memory are each their own),
one after the other, over the same files:
- naive: the worker as it is written (monitor.worker.CameraPipeline, the detector as load_detector
  gives it): the detector on every sampled frame of every camera, whole frame;
- naive-tuned: the same, with the optimised mode's onnxruntime session (`threads` inference
  threads, no spinning: see monitor.video.batch.limit_threads), so that what gating and tiling save
  can be told apart from what the session setting saves;
- optimised: monitor.video.batch: per-zone motion gating with re-verification, region tiles packed
  across cameras into shared detector calls, the tuned session.

Measured per pipeline: frames decoded and detector calls per second, CPU seconds (user + system,
getrusage) per camera-hour and as cores at real time, peak memory (ru_maxrss), real-time factor
(the hall's video seconds per wall second; >= 1 is real time), and the delay from a seat change in
the ground truth to the window state change the pipeline publishes (video time from the change to
the frame that published it, plus that frame's wall time from decoding to message).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
import multiprocessing
import resource
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np

from monitor.config import CameraConfig, MonitorConfig, load_config
from monitor.errors import InputError
from monitor.video.gating import GateSettings

TILE_WIDTH, TILE_HEIGHT = 480, 270
"""The fixture clips' size: one tile of a mosaic camera."""
HALL_START = dt.time(9, 5)
"""Synthetic cameras start inside the morning session, so every seat change is judged."""
HALL_DAY = dt.date(2020, 11, 3)
MATCH_WITHIN = dt.timedelta(minutes=3)
"""A published state change farther than this from a seat change is not its consequence."""
MODES = ("naive", "naive-tuned", "optimised")
"""naive: the worker as written; naive-tuned: the same with the optimised mode's onnxruntime settings."""


@dataclass(frozen=True, slots=True)
class BenchSpec:
    cameras: int = 24
    windows: int = 4
    seconds: int = 120
    reverify: dt.timedelta = dt.timedelta(seconds=10)
    per_side: int = 2
    threads: int = 1
    stream_fps: float = 1.0

    def __post_init__(self) -> None:
        if self.cameras < 1 or self.windows < 1 or self.seconds < 1:
            raise InputError("bench: --cameras, --windows and --seconds must be at least 1")
        if self.stream_fps <= 0:
            raise InputError("bench: --stream-fps must be above 0")


@dataclass(frozen=True, slots=True)
class Tile:
    """One window of a synthetic camera: which fixture clip, from which second, seen by which zone."""

    clip: Path
    offset: float
    window: str
    occupancy: tuple[tuple[float, float], ...]  # seconds of the synthetic camera with the seat occupied


@dataclass(frozen=True, slots=True)
class SyntheticHall:
    config_file: Path
    start: dt.datetime
    seconds: int
    tiles: dict[str, tuple[Tile, ...]]  # camera id -> its tiles in mosaic order


@dataclass(frozen=True, slots=True)
class _Clip:
    path: Path
    seconds: float
    camera: CameraConfig
    occupancy: tuple[tuple[float, float], ...]


def _fixture_clips(fixtures: Path, config: MonitorConfig) -> list[_Clip]:
    """The single-window clips without dropouts (a mosaic has no whole-frame 'no signal')."""
    clips = []
    for sidecar in sorted(fixtures.glob("*.truth.json")):
        data = json.loads(sidecar.read_text(encoding="utf-8"))
        occupancy = data.get("occupancy") or {}
        if data.get("dropouts") or len(occupancy) != 1:
            continue
        video = sidecar.with_name(sidecar.name.removesuffix(".truth.json") + ".mp4")
        camera = next((c for c in config.cameras if c.id == data["camera"]), None)
        if camera is None or not video.is_file() or len(camera.windows) != 1:
            continue
        capture = cv2.VideoCapture(str(video))
        seconds = capture.get(cv2.CAP_PROP_FRAME_COUNT) / max(capture.get(cv2.CAP_PROP_FPS), 1e-6)
        capture.release()
        spans = tuple((float(a), float(b)) for a, b in next(iter(occupancy.values())))
        clips.append(_Clip(video, seconds, camera, spans))
    if not clips:
        raise InputError(f"{fixtures}: no single-window fixture clips with an occupancy ground truth")
    return clips


def _grid(windows: int) -> tuple[int, int]:
    columns = math.ceil(math.sqrt(windows))
    return columns, math.ceil(windows / columns)


def _shift(points: Sequence[Sequence[float]], column: int, row: int, grid: tuple[int, int]) -> list[list[float]]:
    columns, rows = grid
    return [[round((column + x) / columns, 5), round((row + y) / rows, 5)] for x, y in points]


def _occupancy(spans: Sequence[tuple[float, float]], offset: float, seconds: int) -> tuple[tuple[float, float], ...]:
    out = []
    for start, end in spans:
        a, b = max(0.0, start - offset), min(float(seconds), end - offset)
        if b > a:
            out.append((a, b))
    return tuple(out)


def build_hall(
    spec: BenchSpec, fixtures: Path, workdir: Path, progress: Callable[[int, int], None] | None = None
) -> SyntheticHall:
    """Write the mosaic videos and the hall configuration into `workdir`."""
    base_file = fixtures / "hall.toml"
    base = load_config(base_file)
    clips = _fixture_clips(fixtures, base)
    shortest = min(c.seconds for c in clips)
    if spec.seconds > shortest:
        raise InputError(f"bench: --seconds {spec.seconds} is longer than the shortest fixture clip ({shortest:.0f}s)")
    workdir.mkdir(parents=True, exist_ok=True)
    grid = _grid(spec.windows)
    size = (grid[0] * TILE_WIDTH, grid[1] * TILE_HEIGHT)
    cameras: list[dict[str, object]] = []
    tiles: dict[str, tuple[Tile, ...]] = {}
    window_ids: list[str] = []
    for c in range(spec.cameras):
        camera_id = f"bench-{c + 1:02d}"
        mine = []
        zones: list[dict[str, object]] = []
        exclusions: list[list[list[float]]] = []
        for k in range(spec.windows):
            clip = clips[(c * spec.windows + k) % len(clips)]
            spare = max(0, int(clip.seconds) - spec.seconds)
            offset = float((c * 37 + k * 61) % (spare + 1))
            window = f"H{c + 1:02d}{k + 1}"
            window_ids.append(window)
            column, row = k % grid[0], k // grid[0]
            zones.append({"window": window, "polygon": _shift(clip.camera.windows[0].polygon, column, row, grid)})
            exclusions += [_shift(p, column, row, grid) for p in clip.camera.exclusions]
            mine.append(Tile(clip.path, offset, window, _occupancy(clip.occupancy, offset, spec.seconds)))
        video = workdir / f"{camera_id}.mp4"
        _write_mosaic(video, mine, grid, size, spec)
        tiles[camera_id] = tuple(mine)
        cameras.append(
            {
                "id": camera_id,
                "url": str(video),
                "detect_fps": 1.0,
                "offline_after": clips[0].camera.offline_after,
                "windows": zones,
                "exclusions": exclusions,
            }
        )
        if progress is not None:
            progress(c + 1, spec.cameras)
    data = base.model_dump()
    data["windows"] = [{"ids": window_ids, "departments": [base.departments[0].name]}]
    data["cameras"] = cameras
    config = MonitorConfig.model_validate(data)
    config_file = workdir / "hall.json"
    config_file.write_text(config.model_dump_json(), encoding="utf-8")
    start = dt.datetime.combine(HALL_DAY, HALL_START, tzinfo=base.hall.tz)
    return SyntheticHall(config_file, start, spec.seconds, tiles)


def _write_mosaic(
    path: Path, tiles: Sequence[Tile], grid: tuple[int, int], size: tuple[int, int], spec: BenchSpec
) -> None:
    captures = [cv2.VideoCapture(str(t.clip)) for t in tiles]
    rates = [c.get(cv2.CAP_PROP_FPS) or 1.0 for c in captures]
    positions = [-1] * len(tiles)
    current = [np.zeros((TILE_HEIGHT, TILE_WIDTH, 3), np.uint8) for _ in tiles]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), spec.stream_fps, size)
    try:
        for i in range(int(spec.seconds * spec.stream_fps)):
            canvas = np.full((size[1], size[0], 3), 96, np.uint8)
            for k, (tile, capture) in enumerate(zip(tiles, captures, strict=True)):
                wanted = int((tile.offset + i / spec.stream_fps) * rates[k])
                while positions[k] < wanted:
                    ok, image = capture.read()
                    if not ok:
                        break
                    positions[k] += 1
                    current[k] = cv2.resize(image, (TILE_WIDTH, TILE_HEIGHT))
                column, row = k % grid[0], k // grid[0]
                canvas[row * TILE_HEIGHT : (row + 1) * TILE_HEIGHT, column * TILE_WIDTH : (column + 1) * TILE_WIDTH] = (
                    current[k]
                )
            writer.write(canvas)
    finally:
        writer.release()
        for capture in captures:
            capture.release()


# -- running one pipeline (in a child process) ------------------------------------------------------


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

    from monitor.contract import WindowState
    from monitor.video.batch import GatedCamera, LoopStats, limit_threads, run_gated
    from monitor.video.detector import load_detector
    from monitor.video.source import open_source
    from monitor.worker import CameraPipeline

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


# -- comparing ---------------------------------------------------------------------------------------


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
    cores_at_real_time: float
    realtime_factor: float
    peak_memory_mb: float
    frame_latency_p95: float
    frame_latency_worst: float
    delays: Delays


@dataclass(frozen=True, slots=True)
class BenchReport:
    cameras: int
    windows: int
    seconds: int
    reverify_seconds: float
    machine: dict[str, str]
    modes: tuple[ModeFigures, ...]

    @property
    def cpu_ratio(self) -> float:
        """CPU of the naive pipeline over the optimised one's."""
        return self.modes[0].cpu_seconds / max(self.modes[-1].cpu_seconds, 1e-9)

    @property
    def tuned_ratio(self) -> float:
        """CPU of the naive pipeline with the tuned session over the optimised one's: gating and tiling alone."""
        return self.modes[1].cpu_seconds / max(self.modes[-1].cpu_seconds, 1e-9)

    def to_json(self) -> str:
        ratios = {"cpu_ratio": round(self.cpu_ratio, 2), "tuned_ratio": round(self.tuned_ratio, 2)}
        return json.dumps({**asdict(self), **ratios}, ensure_ascii=False, indent=2)


def figures(result: RunResult, spec: BenchSpec, changes: Sequence[SeatChange]) -> ModeFigures:
    wall = max(result.wall_seconds, 1e-9)
    camera_hours = spec.cameras * spec.seconds / 3600
    return ModeFigures(
        mode=result.mode,
        frames_per_second=result.frames / wall,
        detector_calls_per_second=result.detector_calls / wall,
        detector_calls=result.detector_calls,
        frames=result.frames,
        zones_read_share=result.zones_read / result.zones_total if result.zones_total else 0.0,
        cpu_seconds=result.cpu_seconds,
        cpu_seconds_per_camera_hour=result.cpu_seconds / camera_hours,
        cores_at_real_time=result.cpu_seconds / spec.seconds,
        realtime_factor=spec.seconds / wall,
        peak_memory_mb=result.peak_memory_mb,
        frame_latency_p95=_p95(result.latencies) if result.latencies else 0.0,
        frame_latency_worst=max(result.latencies, default=0.0),
        delays=delays(changes, result.published),
    )


def machine() -> dict[str, str]:
    import os
    import platform

    import onnxruntime

    model = (
        next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines()
                if line.startswith("model name")
            ),
            platform.processor() or "unknown",
        )
        if Path("/proc/cpuinfo").exists()
        else platform.processor() or "unknown"
    )
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    return {
        "load average (1, 5, 15 min) at the end": load,
        "cpu": model,
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "onnxruntime": onnxruntime.__version__,
        "opencv": cv2.__version__,
    }


def compare(
    spec: BenchSpec,
    fixtures: Path,
    workdir: Path,
    *,
    on_stage: Callable[[str], None] | None = None,
    on_built: Callable[[int, int], None] | None = None,
) -> BenchReport:
    """Build the synthetic hall, run both pipelines over it, one at a time, and compare them."""
    hall = build_hall(spec, fixtures, workdir, on_built)
    config = MonitorConfig.model_validate_json(hall.config_file.read_text(encoding="utf-8"))
    changes = seat_changes(hall, config)
    results = []
    for mode in MODES:
        if on_stage is not None:
            on_stage(mode)
        results.append(figures(run_isolated(mode, hall, spec), spec, changes))
    return BenchReport(
        spec.cameras, spec.windows, spec.seconds, spec.reverify.total_seconds(), machine(), tuple(results)
    )
