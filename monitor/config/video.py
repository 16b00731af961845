"""Cameras, their seat zones, and the person detector."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from monitor.config.base import Section
from monitor.units import Duration

Point = tuple[float, float]


def _check_polygon(points: list[Point], what: str) -> list[Point]:
    if len(points) < 3:
        raise ValueError(f"{what}: a polygon needs at least 3 points [x, y], got {len(points)}")
    for x, y in points:
        if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
            raise ValueError(
                f"{what}: point [{x}, {y}] is outside the frame: coordinates are relative, 0 to 1 "
                "(x = fraction of the width, y = fraction of the height; `monitor zones` draws them)"
            )
    return points


class DetectorConfig(Section):
    weights: str = Field(
        "models/yolo11n_int8_320.onnx",
        description="Weights ultralytics loads (.pt, .onnx, OpenVINO dir); a path relative to the working "
        "directory. The default is the YOLO11n int8 export the repository ships (models/README.md). Never "
        "downloaded: a missing file is an error (or the fallback, see `fallback`).",
    )
    conf: float = Field(0.25, ge=0.0, le=1.0, description="Minimum person confidence (seated staff score 0.3-0.5).")
    imgsz: int = Field(
        320, ge=32, description="Inference size in pixels: the export's own (320 for the *_320 exports)."
    )
    device: str = Field("cpu", description='Inference device for ultralytics: "cpu", "0" (first GPU), ...')
    backend: Literal["auto", "onnxruntime", "ultralytics"] = Field(
        "auto",
        description='Who runs the weights. "auto": onnxruntime alone for an ultralytics .onnx detection export with '
        "a fixed input size on the CPU (the same boxes, without importing PyTorch: about 1 GB less memory and "
        'faster calls), ultralytics for everything else; "onnxruntime": require the former; "ultralytics": always '
        "ultralytics.",
    )
    fallback: Literal["none", "opencv"] = Field(
        "none",
        description='"opencv": when the weights are missing or unloadable, log a warning and use the OpenCV-only '
        'detector (weaker, see monitor/video/detector.py); "none": fail with an error.',
    )
    gating: bool = Field(
        False,
        description="Optimised mode: run the detector only on the seat zones whose picture changed (per-zone motion "
        "gating), re-reading static zones every `reverify`, the regions of several zones in one call. A skipped "
        "zone keeps its last reading. Needs YOLO weights (not the OpenCV fallback). See docs/benchmarks.md.",
    )
    reverify: Duration = Field(
        timedelta(seconds=10),
        description="With gating: a static zone is read by the detector at least this often; it is also the most "
        "a seat change the motion test misses is delayed.",
    )
    threads: int = Field(
        0,
        ge=0,
        description="onnxruntime inference threads for .onnx weights, without spin-waiting; 0 keeps onnxruntime's "
        "default (one per core, spinning). 1 halves the CPU per call on a busy 2-core server (docs/benchmarks.md).",
    )

    @field_validator("reverify")
    @classmethod
    def _reverify(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("reverify must be longer than 0s")
        return value


class SeatZoneConfig(Section):
    """Where one window's seated staff appear in the camera image."""

    window: str = Field(description="The window id (must be in [windows]).")
    polygon: list[Point] = Field(
        description="Seat polygon, relative coordinates [[x, y], ...] (0-1): cover the head and torso of the "
        "person seated at this window, including the chair back; leave out the counter and the citizen side."
    )

    @field_validator("polygon")
    @classmethod
    def _polygon(cls, value: list[Point]) -> list[Point]:
        return _check_polygon(value, "polygon")


class CameraConfig(Section):
    id: str = Field(description="Camera id, used in topics and commands.")
    name: str = Field(
        "",
        max_length=40,
        description="Where the camera is, as the hall says it (A区东侧): shown wherever a camera is, on pages, "
        "pictures and alerts. Default: the camera's id.",
    )
    url: str = Field(
        description="RTSP/HTTP URL, a video file path (relative to the working directory), or a device index such as 0."
    )
    credentials_env: str | None = Field(
        None,
        description="Name of an environment variable holding the stream's user:password (never in this file, "
        "never logged); they are put into the RTSP/HTTP URL when it is opened.",
    )
    detect_fps: float = Field(1.0, gt=0.0, le=30.0, description="Frames a second sampled for detection.")
    offline_after: Duration = Field(
        timedelta(seconds=30),
        description="No frame for this long: the camera is offline (its windows unknown). Nothing heard from its "
        "camera service for this long: the recorder takes the service for silent and marks its windows unknown.",
    )
    reconnect_initial: Duration = Field(
        timedelta(seconds=1), description="First wait before reconnecting a lost live stream; it doubles."
    )
    reconnect_max: Duration = Field(timedelta(seconds=60), description="Longest wait between reconnect attempts.")
    no_signal_level: int = Field(
        12,
        ge=0,
        le=255,
        description="A frame whose every pixel is at most this bright is a 'no signal' frame (encoders and NVRs "
        "send black while the camera is down): it is dropped, never judged. 0 keeps every frame.",
    )
    pixel_aspect: float | None = Field(
        None,
        gt=0.25,
        le=4.0,
        description="The width of the stream's pixels against their height, for a stream that squeezes its "
        "picture without declaring it (a 16:9 camera's D1 substream, 704x576: 1.4545 = 16/11). Default: what the "
        "stream declares (its sample aspect ratio), else square. The detector sees people in true proportions.",
    )
    min_overlap: float = Field(
        0.35,
        gt=0.0,
        le=1.0,
        description="A person occupies a seat when at least this fraction of the upper part of the person's box "
        "lies inside the seat polygon.",
    )
    windows: list[SeatZoneConfig] = Field(default_factory=list, description="Seat zones, one per window seen.")
    exclusions: list[list[Point]] = Field(
        default_factory=list,
        description="Polygons of the citizen side (relative [[x, y], ...]): a person standing there (box bottom "
        "inside, or half the box inside) is a citizen and occupies no seat.",
    )

    @property
    def place(self) -> str:
        """The camera as people name it: its `name` (A区东侧), else by the windows it watches (A01–A04 摄像头); its id
        only when it watches none."""
        if self.name:
            return self.name
        windows = [zone.window for zone in self.windows]
        return f"{window_runs(windows)} 摄像头" if windows else self.id

    @field_validator("url")
    @classmethod
    def _no_password(cls, value: str) -> str:
        userinfo = urlsplit(value).netloc.rpartition("@")[0] if "://" in value else ""
        if ":" in userinfo:
            raise ValueError(
                "the URL holds a password: remove user:password@ from it and put user:password in an environment "
                "variable named by credentials_env (the configuration file and the logs never hold it)"
            )
        return value

    @field_validator("exclusions")
    @classmethod
    def _exclusions(cls, value: list[list[Point]]) -> list[list[Point]]:
        return [_check_polygon(p, f"exclusions[{i}]") for i, p in enumerate(value)]

    @model_validator(mode="after")
    def _distinct_windows(self) -> CameraConfig:
        ids = [z.window for z in self.windows]
        if dupes := sorted({w for w in ids if ids.count(w) > 1}):
            raise ValueError(f"camera {self.id!r}: window zone listed twice: {', '.join(dupes)}")
        if self.reconnect_max < self.reconnect_initial:
            raise ValueError(f"camera {self.id!r}: reconnect_max is shorter than reconnect_initial")
        return self


_NUMBERED = re.compile(r"^(.*?)(\d+)$")


def window_runs(windows: Sequence[str]) -> str:
    """Window ids, three or more with consecutive numbers of one prefix joined as a range: A01–A04、B06、B07."""
    runs: list[list[str]] = []
    for window in windows:
        if runs and _follows(runs[-1][-1], window):
            runs[-1].append(window)
        else:
            runs.append([window])
    return "、".join(f"{run[0]}–{run[-1]}" if len(run) > 2 else "、".join(run) for run in runs)


def _follows(before: str, window: str) -> bool:
    first, second = _NUMBERED.match(before), _NUMBERED.match(window)
    if not first or not second or first.group(1) != second.group(1):
        return False
    return int(second.group(2)) == int(first.group(2)) + 1
