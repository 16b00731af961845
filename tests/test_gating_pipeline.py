"""The optimised camera loop on the fixture clips: same incidents as the ground truth, fewer detector calls."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from monitor.config import MonitorConfig, load_config
from monitor.contract import WindowState
from monitor.evaluation import match_clip, parse_truth, summarize
from monitor.video.batch import GatedCamera, GatingError, LoopStats, limit_threads, run_gated
from monitor.video.detector import Detector, MotionDetector, load_detector
from monitor.video.gating import GateSettings
from monitor.video.source import open_source
from monitor.worker import CameraPipeline, find_camera

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures" / "videos"
WEIGHTS = ROOT.parent / "shared" / "models" / "yolo11n_int8_320.onnx"
pytestmark = pytest.mark.skipif(not WEIGHTS.is_file(), reason=f"{WEIGHTS} (shared detector weights) is absent")


@pytest.fixture(scope="module")
def hall() -> MonitorConfig:
    config = load_config(FIXTURES / "hall.toml")
    # The file's paths are relative to the repository root; the test may run from anywhere.
    return config.model_copy(update={"detector": config.detector.model_copy(update={"weights": str(WEIGHTS)})})


@pytest.fixture(scope="module")
def detector(hall: MonitorConfig) -> Detector:
    found = load_detector(hall.detector)
    assert limit_threads(found, hall.detector.weights, 1)
    return found


def run_clip(hall: MonitorConfig, detector: Detector, clip: str) -> tuple[CameraPipeline, GatedCamera, LoopStats, list]:
    truth = parse_truth(FIXTURES / f"{clip}.truth.json")
    camera = find_camera(hall, truth.camera).model_copy(update={"url": str(FIXTURES / f"{clip}.mp4")})
    pipeline = CameraPipeline(hall, camera, detector, evidence=False)
    gated = GatedCamera(pipeline, GateSettings(reverify=dt.timedelta(seconds=10)))
    stats = LoopStats()
    source = open_source(camera, start=truth.start, detect_fps=camera.detect_fps)
    try:
        messages = [
            m for done in run_gated([(gated, source)], detector, canvas_size=320, stats=stats) for m in done.messages
        ]
    finally:
        source.close()
    return pipeline, gated, stats, messages


@pytest.mark.parametrize("clip", ["two_windows", "citizen_at_counter", "walker_behind", "short_absences"])
def test_optimised_loop_finds_exactly_the_true_incidents(hall: MonitorConfig, detector: Detector, clip: str) -> None:
    truth = parse_truth(FIXTURES / f"{clip}.truth.json")
    pipeline, gated, stats, _ = run_clip(hall, detector, clip)
    found = summarize(pipeline.incidents, hall.hall.tz)
    tolerance = dt.timedelta(seconds=1) + max(hall.presence.arrive_after, hall.presence.leave_after)
    score = match_clip(clip, truth.incidents, found, tolerance)
    assert (score.missed, score.spurious) == ((), ())
    # The gate skipped most zone readings, and the detector ran on fewer frames than there are.
    assert gated.stats.zones_read < 0.3 * (gated.stats.zones_read + gated.stats.zones_skipped)
    assert stats.detector_calls < 0.3 * stats.frames


def test_a_dropout_makes_the_window_unknown_never_absent(hall: MonitorConfig, detector: Detector) -> None:
    sidecar = json.loads((FIXTURES / "camera_dropout.truth.json").read_text())
    truth = parse_truth(FIXTURES / "camera_dropout.truth.json")
    _, _, _, messages = run_clip(hall, detector, "camera_dropout")
    states = [WindowState.from_json(m.payload) for m in messages if m.topic.endswith("/state")]
    assert "unknown" in [s.state for s in states]
    for gap in sidecar["dropouts"]:
        start = truth.start + dt.timedelta(seconds=gap["from_s"])
        end = truth.start + dt.timedelta(seconds=gap["to_s"])
        assert not [s for s in states if s.state == "absent" and start <= s.since < end]


def test_the_opencv_fallback_is_refused() -> None:
    with pytest.raises(GatingError, match="YOLO"):
        list(run_gated([], MotionDetector(), canvas_size=320))
