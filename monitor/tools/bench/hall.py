"""The synthetic hall: N cameras, each a mosaic of K single-window fixture clips, with its ground truth.

Streams come in three kinds: `1fps` (the mosaic at its own size, 960x540 for 4 windows, MPEG-4 at 1
frame a second: the benchmark's first form), and `d1` / `1080p` (H.264 at 25 fps with a keyframe every
`gop` frames, 704x576 or 1920x1080, as a hall's NVR sends its sub and main streams). The fixture
clips have one picture a second; a 25 fps stream repeats it, with a little sensor noise on every
frame (a real camera's frames are never identical, and identical frames would cost the decoder next
to nothing). Encoding H.264 is slow on two cores, so the H.264 kinds write `distinct` mosaics
(default 4) that the cameras share in turn; a file already in the working folder for the same
mosaic is used again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from monitor.config import CameraConfig, MonitorConfig, load_config
from monitor.errors import InputError
from monitor.tools.streams.encode import D1, HD1080, StreamFormat, write_stream

StreamKind = Literal["1fps", "d1", "1080p"]
STREAM_KINDS: tuple[StreamKind, ...] = ("1fps", "d1", "1080p")
Transport = Literal["file", "rtsp"]
FORMATS: dict[str, StreamFormat] = {"d1": D1, "1080p": HD1080}
NOISE = 3
"""Sensor noise on each frame of the H.264 kinds: up to this many grey levels either way."""
TILE_WIDTH, TILE_HEIGHT = 480, 270
"""The fixture clips' size: one tile of a mosaic camera."""
HALL_START = dt.time(9, 5)
"""Synthetic cameras start inside the morning session, so every seat change is judged."""
HALL_DAY = dt.date(2020, 11, 3)
MODES = ("naive", "naive-tuned", "optimised", "evidence")
"""naive: the worker as written; naive-tuned: the same with the optimised mode's onnxruntime settings; evidence:
the optimised mode with the evidence a live camera service makes (clip frames kept, citizens blurred, pictures and
clips of its incidents), so its cost is the difference to the optimised mode."""


@dataclass(frozen=True, slots=True)
class BenchSpec:
    cameras: int = 24
    windows: int = 4
    seconds: int = 120
    reverify: dt.timedelta = dt.timedelta(seconds=10)
    per_side: int = 2
    threads: int = 1
    stream: StreamKind = "1fps"
    gop: int = 50
    """Frames between keyframes of the H.264 kinds."""
    transport: Transport = "file"
    """file: the pipelines read the files as fast as they can; rtsp: a real RTSP server plays them in real time."""
    distinct: int | None = None
    """Distinct mosaics written (the cameras share them in turn); default every camera its own for 1fps, 4 else."""
    modes: tuple[str, ...] = MODES
    """The pipelines run, one after another: all of MODES, or e.g. the optimised one alone at larger camera counts."""

    def __post_init__(self) -> None:
        if self.cameras < 1 or self.windows < 1 or self.seconds < 1:
            raise InputError("bench: --cameras, --windows and --seconds must be at least 1")
        if self.stream not in STREAM_KINDS:
            raise InputError(f"bench: --stream {self.stream}: use one of {', '.join(STREAM_KINDS)}")
        if self.gop < 1:
            raise InputError("bench: --gop must be at least 1")
        if self.distinct is not None and self.distinct < 1:
            raise InputError("bench: --distinct must be at least 1")
        unknown = [m for m in self.modes if m not in MODES]
        if unknown or not self.modes:
            raise InputError(f"bench: --modes {','.join(self.modes)}: name one or more of {', '.join(MODES)}")

    @property
    def mosaics(self) -> int:
        default = self.cameras if self.stream == "1fps" else 4
        return min(self.cameras, self.distinct or default)

    @property
    def fps(self) -> int:
        return 1 if self.stream == "1fps" else FORMATS[self.stream].fps


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
    videos: dict[str, Path]  # camera id -> its stream file


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
    mosaics: list[tuple[list[tuple[_Clip, float]], Path]] = []
    for m in range(spec.mosaics):
        chosen = []
        for k in range(spec.windows):
            clip = clips[(m * spec.windows + k) % len(clips)]
            spare = max(0, int(clip.seconds) - spec.seconds)
            chosen.append((clip, float((m * 37 + k * 61) % (spare + 1))))
        video = _write_mosaic(workdir, chosen, grid, spec)
        mosaics.append((chosen, video))
        if progress is not None:
            progress(m + 1, spec.mosaics)
    cameras: list[dict[str, object]] = []
    tiles: dict[str, tuple[Tile, ...]] = {}
    videos: dict[str, Path] = {}
    window_ids: list[str] = []
    for c in range(spec.cameras):
        camera_id = f"bench-{c + 1:02d}"
        chosen, video = mosaics[c % len(mosaics)]
        mine = []
        zones: list[dict[str, object]] = []
        exclusions: list[list[list[float]]] = []
        for k, (clip, offset) in enumerate(chosen):
            window = f"H{c + 1:02d}{k + 1}"
            window_ids.append(window)
            column, row = k % grid[0], k // grid[0]
            zones.append({"window": window, "polygon": _shift(clip.camera.windows[0].polygon, column, row, grid)})
            exclusions += [_shift(p, column, row, grid) for p in clip.camera.exclusions]
            mine.append(Tile(clip.path, offset, window, _occupancy(clip.occupancy, offset, spec.seconds)))
        tiles[camera_id] = tuple(mine)
        videos[camera_id] = video
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
    data = base.model_dump()
    data["windows"] = [{"ids": window_ids, "departments": [base.departments[0].name]}]
    data["cameras"] = cameras
    config = MonitorConfig.model_validate(data)
    config_file = workdir / "hall.json"
    config_file.write_text(config.model_dump_json(), encoding="utf-8")
    start = dt.datetime.combine(HALL_DAY, HALL_START, tzinfo=base.hall.tz)
    return SyntheticHall(config_file, start, spec.seconds, tiles, videos)


def _write_mosaic(workdir: Path, chosen: Sequence[tuple[_Clip, float]], grid: tuple[int, int], spec: BenchSpec) -> Path:
    """The mosaic's stream file (reused when the folder holds it already for the same tiles and kind)."""
    key = json.dumps(
        [[str(clip.path.resolve()), offset] for clip, offset in chosen]
        + [spec.stream, repr(FORMATS.get(spec.stream)), spec.gop, spec.seconds, list(grid), NOISE]
    )
    path = workdir / f"mosaic-{spec.stream}-{hashlib.sha256(key.encode()).hexdigest()[:12]}.mp4"
    if path.is_file() and path.stat().st_size > 0:
        return path
    partial = path.with_suffix(".partial.mp4")
    pictures = _mosaic_frames(chosen, grid, spec)
    if spec.stream == "1fps":
        size = (grid[0] * TILE_WIDTH, grid[1] * TILE_HEIGHT)
        writer = cv2.VideoWriter(str(partial), cv2.VideoWriter_fourcc(*"mp4v"), 1.0, size)
        try:
            for picture in pictures:
                writer.write(picture)
        finally:
            writer.release()
    else:
        fmt = FORMATS[spec.stream]
        write_stream(partial, _noisy(pictures, fmt.fps), dataclasses.replace(fmt, gop=spec.gop))
    partial.replace(path)
    return path


def _mosaic_frames(
    chosen: Sequence[tuple[_Clip, float]], grid: tuple[int, int], spec: BenchSpec
) -> Iterator[np.ndarray]:
    """The mosaic's pictures, one a second of the hall."""
    captures = [cv2.VideoCapture(str(clip.path)) for clip, _ in chosen]
    rates = [c.get(cv2.CAP_PROP_FPS) or 1.0 for c in captures]
    positions = [-1] * len(chosen)
    current = [np.zeros((TILE_HEIGHT, TILE_WIDTH, 3), np.uint8) for _ in chosen]
    size = (grid[0] * TILE_WIDTH, grid[1] * TILE_HEIGHT)
    try:
        for second in range(spec.seconds):
            canvas = np.full((size[1], size[0], 3), 96, np.uint8)
            for k, ((_, offset), capture) in enumerate(zip(chosen, captures, strict=True)):
                wanted = int((offset + second) * rates[k])
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
            yield canvas
    finally:
        for capture in captures:
            capture.release()


def _noisy(pictures: Iterator[np.ndarray], fps: int) -> Iterator[np.ndarray]:
    """Each picture `fps` times, each time with sensor noise of its own (from a bank of 8 noise fields)."""
    bank: list[tuple[np.ndarray, np.ndarray]] = []
    rng = np.random.default_rng(20201103)
    for picture in pictures:
        if not bank:
            bank = [
                (
                    rng.integers(0, NOISE + 1, picture.shape, dtype=np.uint8),
                    rng.integers(0, NOISE + 1, picture.shape, dtype=np.uint8),
                )
                for _ in range(8)
            ]
        for n in range(fps):
            up, down = bank[n % len(bank)]
            yield cv2.subtract(cv2.add(picture, up), down)
