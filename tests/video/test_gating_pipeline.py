"""The optimised camera loop on the fixture clips: same incidents as the ground truth, fewer detector calls."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from monitor.adapters.files import load_truth
from monitor.adapters.video.detections import Detector
from monitor.adapters.video.detector import MotionDetector
from monitor.adapters.video.frames import Frame
from monitor.adapters.video.gating import GateSettings
from monitor.adapters.video.source import open_source
from monitor.config import MonitorConfig
from monitor.config.video import DetectorConfig
from monitor.contract import WindowState
from monitor.core.evaluation import match_clip, summarize
from monitor.core.presence import IncidentChange
from monitor.services.gated import (
    GatedCamera,
    GatingError,
    LoopStats,
    camera_phase,
    gate_settings,
    limit_threads,
    run_gated,
)
from monitor.services.pipeline import CameraPipeline, find_camera
from tests.support.config import hall_config
from tests.support.paths import ROOT
from tests.support.paths import VIDEOS as FIXTURES
from tests.support.video import WhiteBoxes
from tests.support.video import detector as shipped_detector


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory) -> MonitorConfig:
    return hall_config(tmp_path_factory.mktemp("hall"), hall="fixture").config


@pytest.fixture(scope="module")
def detector(hall: MonitorConfig) -> Detector:
    found = shipped_detector()
    assert limit_threads(found, hall.detector.weights, 1)
    return found


def run_clip(
    hall: MonitorConfig, detector: Detector, clip: str
) -> tuple[list[IncidentChange], GatedCamera, LoopStats, list]:
    truth = load_truth(FIXTURES / f"{clip}.truth.json")
    camera = find_camera(hall, truth.camera).model_copy(update={"url": str(FIXTURES / f"{clip}.mp4")})
    changes: list[IncidentChange] = []
    pipeline = CameraPipeline(hall, camera, detector, evidence=False, on_incident=changes.append)
    gated = GatedCamera(pipeline, GateSettings(reverify=dt.timedelta(seconds=10)))
    stats = LoopStats()
    source = open_source(camera, start=truth.start, detect_fps=camera.detect_fps)
    try:
        messages = [
            m for done in run_gated([(gated, source)], detector, canvas_size=320, stats=stats) for m in done.messages
        ]
    finally:
        source.close()
    return changes, gated, stats, messages


@pytest.mark.parametrize("clip", ["two_windows", "citizen_at_counter", "walker_behind", "short_absences"])
def test_optimised_loop_finds_exactly_the_true_incidents(hall: MonitorConfig, detector: Detector, clip: str) -> None:
    truth = load_truth(FIXTURES / f"{clip}.truth.json")
    changes, gated, stats, _ = run_clip(hall, detector, clip)
    found = summarize(changes, hall.hall.tz)
    tolerance = dt.timedelta(seconds=1) + max(hall.presence.arrive_after, hall.presence.leave_after)
    score = match_clip(clip, truth.incidents, found, tolerance)
    assert (score.missed, score.spurious) == ((), ())
    # The gate skipped most zone readings, and the detector ran on fewer frames than there are.
    assert gated.stats.zones_read < 0.3 * (gated.stats.zones_read + gated.stats.zones_skipped)
    assert stats.detector_calls < 0.3 * stats.frames


def test_a_dropout_makes_the_window_unknown_never_absent(hall: MonitorConfig, detector: Detector) -> None:
    sidecar = json.loads((FIXTURES / "camera_dropout.truth.json").read_text())
    truth = load_truth(FIXTURES / "camera_dropout.truth.json")
    _, _, _, messages = run_clip(hall, detector, "camera_dropout")
    states = [WindowState.from_json(m.payload) for m in messages if m.topic.endswith("/state")]
    assert "unknown" in [s.state for s in states]
    for gap in sidecar["dropouts"]:
        start = truth.start + dt.timedelta(seconds=gap["from_s"])
        end = truth.start + dt.timedelta(seconds=gap["to_s"])
        assert not [s for s in states if s.state == "absent" and start <= s.since < end]


def monitor(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args], cwd=ROOT, capture_output=True, text=True, env=env, timeout=300
    )


def test_eval_in_the_optimised_mode_through_the_command(tmp_path: Path) -> None:
    """`monitor eval DIR --optimised` (here on two clips) passes: the gated pipeline finds the true incidents."""
    for name in ("two_windows", "long_absence"):
        (tmp_path / f"{name}.mp4").symlink_to(FIXTURES / f"{name}.mp4")
        (tmp_path / f"{name}.truth.json").write_text((FIXTURES / f"{name}.truth.json").read_text())
    hall_config(tmp_path, hall="fixture", detector={"threads": 1})  # DIR/hall.toml, which eval reads
    done = monitor("eval", str(tmp_path), "--optimised")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "missed" not in done.stdout and "spurious" not in done.stdout
    total = next(line for line in done.stdout.splitlines() if "total" in line)
    assert total.replace("│", " ").split()[1:6] == ["3", "3", "3", "1.00", "1.00"]


def test_gating_settings_in_the_configuration() -> None:
    config = DetectorConfig(gating=True, reverify="15s", threads=1)
    assert gate_settings(config) == GateSettings(reverify=dt.timedelta(seconds=15))
    assert gate_settings(DetectorConfig()) is None
    assert gate_settings(DetectorConfig(), force=True) == GateSettings()
    with pytest.raises(ValidationError, match="reverify"):
        DetectorConfig(reverify="0s")


def frame_at(second: int, seated: bool, seed: int) -> Frame:
    rng = np.random.default_rng(seed)
    image = np.clip(rng.normal(100, 2, (270, 480, 3)), 0, 255).astype(np.uint8)
    if seated:
        image[70:200, 200:280] = 255  # a person whose upper half lies in cam-f01's seat
    return Frame("cam-f01", dt.datetime(2020, 11, 3, 9, 0, second, tzinfo=dt.UTC), second, image)


def test_a_skipped_zone_keeps_its_reading_and_a_change_is_read_at_once(hall: MonitorConfig) -> None:
    detector = WhiteBoxes()
    pipeline = CameraPipeline(hall, find_camera(hall, "cam-f01"), detector, evidence=False)
    gated = GatedCamera(pipeline, GateSettings(reverify=dt.timedelta(seconds=10), settle=2))
    occupied = []
    for second in range(30):
        seated = second < 15
        gated.process(frame_at(second, seated, seed=second), detector, canvas_size=320)
        occupied.append(gated.readings["F01"].occupied)
    assert occupied == [True] * 15 + [False] * 15  # every frame has the true reading, read or kept
    # cam-f01's re-verification periods start at 6.53 s, 16.53 s, 26.53 s (phase 0.653 of 10 s).
    # Read: the first two frames (until two readings agree), the re-verification at 7, the change at 15
    # (motion) and 16 (until two readings agree again), the re-verifications at 17 and 27.
    assert camera_phase("cam-f01") == 0.653
    assert detector.calls == 7
    assert gated.stats.zones_read == 7 and gated.stats.zones_skipped == 23


def test_the_opencv_fallback_is_refused() -> None:
    with pytest.raises(GatingError, match="YOLO"):
        list(run_gated([], MotionDetector(), canvas_size=320))
