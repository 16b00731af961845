"""Shared by the worker, replay and eval tests: the fixture hall and its real detector (skips when absent)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from monitor.config import MonitorConfig, load_config

ROOT = Path(__file__).resolve().parent.parent
VIDEOS = ROOT / "fixtures" / "videos"
HALL = VIDEOS / "hall.toml"
WEIGHTS = ROOT.parent / "shared" / "models" / "yolo11n_int8_320.onnx"


def fixture_hall(monkeypatch: pytest.MonkeyPatch) -> MonitorConfig:
    """The fixture hall, loaded from the repository root (its paths are relative to it)."""
    if not HALL.is_file():
        pytest.skip(f"{HALL} is absent (fixtures/make_videos.py writes it)")
    if not WEIGHTS.is_file():
        pytest.skip(f"detector weights {WEIGHTS} are absent (../shared/models)")
    monkeypatch.chdir(ROOT)
    return load_config(HALL)


def clip(name: str) -> Path:
    path = VIDEOS / name
    if not path.is_file():
        pytest.skip(f"fixture clip {path} is absent")
    return path


@cache
def detector():
    """One loaded detector for the whole session (loading costs seconds)."""
    from monitor.config import DetectorConfig
    from monitor.video.detector import load_detector

    return load_detector(DetectorConfig(weights=str(WEIGHTS), imgsz=320, conf=0.25))
