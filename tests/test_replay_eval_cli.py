"""`monitor replay --offline --json` and `monitor eval` on the fixture clips, through the real command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.video_presence_support import HALL, ROOT, clip, fixture_hall

pytestmark = pytest.mark.slow


def monitor(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args], cwd=ROOT, capture_output=True, text=True, env=env, timeout=300
    )


def sparse_hall(directory: Path) -> Path:
    """The fixture hall sampled at 0.25 fps: a quarter of the detector's work; the thresholds hold at any rate."""
    path = directory / "hall.toml"
    path.write_text(HALL.read_text().replace("detect_fps = 1.0", "detect_fps = 0.25"))
    return path


def test_replay_of_a_camera_dropout_finds_nothing(monkeypatch, tmp_path):
    fixture_hall(monkeypatch)
    video = clip("camera_dropout.mp4")
    done = monitor(
        "--config", str(sparse_hall(tmp_path)), "replay", str(video), "--camera", "cam-f07",
        "--start", "2020-11-03T09:30:00+08:00", "--offline", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


def test_replay_refuses_an_unknown_camera(monkeypatch):
    fixture_hall(monkeypatch)
    done = monitor(
        "--config", str(HALL), "replay", str(clip("late.mp4")), "--camera", "nope", "--start", "2020-11-03T09:00"
    )
    assert done.returncode == 1
    assert "--camera nope" in done.stderr and "Traceback" not in done.stderr


def test_eval_scores_clips_and_fails_below_the_thresholds(monkeypatch, tmp_path):
    fixture_hall(monkeypatch)
    # Two clips; one sidecar claims an incident that never happened.
    sparse_hall(tmp_path)
    for name in ("long_absence", "camera_dropout"):
        (tmp_path / f"{name}.mp4").symlink_to(clip(f"{name}.mp4"))
    (tmp_path / "long_absence.truth.json").write_text(clip("long_absence.truth.json").read_text())
    truth = json.loads(clip("camera_dropout.truth.json").read_text())
    truth["incidents"] = [
        {"kind": "early_leave", "window": "F07", "started_at": "2020-11-03T09:35:00+08:00", "ended_at": None}
    ]
    (tmp_path / "camera_dropout.truth.json").write_text(json.dumps(truth))

    done = monitor("eval", str(tmp_path))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "missed  camera_dropout: early_leave F07 09:35:00" in done.stdout
    assert "long_absence" not in "".join(line for line in done.stdout.splitlines() if "missed" in line)
    assert "spurious" not in done.stdout
    assert "below the thresholds" in done.stderr and "recall 0.50" in done.stderr
