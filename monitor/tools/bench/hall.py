"""The synthetic hall: N cameras, each a mosaic of K single-window fixture clips, with its ground truth."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from monitor.config import CameraConfig, MonitorConfig, load_config
from monitor.errors import InputError

TILE_WIDTH, TILE_HEIGHT = 480, 270
"""The fixture clips' size: one tile of a mosaic camera."""
HALL_START = dt.time(9, 5)
"""Synthetic cameras start inside the morning session, so every seat change is judged."""
HALL_DAY = dt.date(2020, 11, 3)


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
