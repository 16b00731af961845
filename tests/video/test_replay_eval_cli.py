"""`monitor replay --offline --json` and `monitor eval` on the fixture clips, through the real command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.config import hall_config
from tests.support.paths import FIXTURE_HALL, ROOT
from tests.support.video import clip

pytestmark = pytest.mark.slow


def monitor(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args], cwd=ROOT, capture_output=True, text=True, env=env, timeout=300
    )


def sparse_hall(directory: Path) -> Path:
    """The fixture hall sampled at 0.25 fps: a quarter of the detector's work; the thresholds hold at any rate.
    Written as DIR/hall.toml (what `monitor eval DIR` reads)."""
    cameras = [c.model_copy(update={"detect_fps": 0.25}) for c in hall_config(directory, hall="fixture").config.cameras]
    return hall_config(directory, hall="fixture", cameras=cameras).path


def test_replay_of_a_camera_dropout_finds_nothing(tmp_path: Path) -> None:
    video = clip("camera_dropout.mp4")
    done = monitor(
        "--config", str(sparse_hall(tmp_path)), "replay", str(video), "--camera", "cam-f07",
        "--start", "2020-11-03T09:30:00+08:00", "--offline", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


def test_replay_refuses_an_unknown_camera() -> None:
    done = monitor(
        "--config",
        str(FIXTURE_HALL),
        "replay",
        str(clip("late.mp4")),
        "--camera",
        "nope",
        "--start",
        "2020-11-03T09:00",
    )
    assert done.returncode == 1
    assert "--camera nope" in done.stderr and "Traceback" not in done.stderr


def test_eval_scores_clips_and_fails_below_the_thresholds(tmp_path: Path) -> None:
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
