"""The committed fixture clips: present, well-formed, their ground truth consistent with the stated rules,
and their people really seen by a COCO detector in their seat zones."""

from __future__ import annotations

import importlib.util
import json
import sys
from datetime import datetime, timedelta

import cv2
import pytest

from monitor.adapters.video.source import open_source
from monitor.adapters.video.zones import exclusion_zones, read_seats, seat_zones
from monitor.config import MonitorConfig, load_config
from monitor.config.video import CameraConfig
from tests.support.paths import FIXTURE_HALL, ROOT, VIDEOS, WEIGHTS
from tests.support.video import detector

CLIPS = sorted(p.name.removesuffix(".truth.json") for p in VIDEOS.glob("*.truth.json"))
KINDS = {"late_arrival", "empty_post", "early_leave"}
SCENARIOS = {
    "on_time",
    "late",
    "long_absence",
    "short_absences",
    "citizen_at_counter",
    "walker_behind",
    "camera_dropout",
    "lunch_break",
    "two_windows",
    "never_staffed",
}


@pytest.fixture(scope="module")
def hall() -> MonitorConfig:
    """The committed file as it is (its paths relative to the repository root)."""
    return load_config(FIXTURE_HALL)


def load_truth(clip: str) -> dict:
    return json.loads((VIDEOS / f"{clip}.truth.json").read_text(encoding="utf-8"))


def camera_of(hall: MonitorConfig, truth: dict) -> CameraConfig:
    (camera,) = [c for c in hall.cameras if c.id == truth["camera"]]
    return camera


def test_every_scenario_has_a_clip_a_sidecar_and_a_readme() -> None:
    assert set(CLIPS) == SCENARIOS
    for clip in CLIPS:
        assert (VIDEOS / f"{clip}.mp4").is_file()
    assert "regenerate" in (VIDEOS / "README.md").read_text(encoding="utf-8").lower()
    total = sum(p.stat().st_size for p in VIDEOS.glob("*.mp4"))
    assert total < 16 * 2**20  # small enough to commit


def test_hall_config_loads_with_short_thresholds(hall: MonitorConfig) -> None:
    assert hall.presence.late_grace == timedelta(minutes=2)
    assert hall.presence.empty_post_after == timedelta(minutes=4)
    assert hall.presence.arrive_after == timedelta(seconds=20)
    assert hall.presence.leave_after == timedelta(seconds=30)
    assert hall.detector.weights == "models/yolo11n_int8_320.onnx"  # the shipped detector
    assert ROOT / hall.detector.weights == WEIGHTS and WEIGHTS.is_file()
    assert (hall.detector.imgsz, hall.detector.conf) == (320, 0.25)
    zoned = [z.window for c in hall.cameras for z in c.windows]
    assert len(zoned) == len(set(zoned))  # a window is watched by one camera
    assert set(zoned) <= set(hall.window_by_id)


@pytest.mark.parametrize("clip", CLIPS)
def test_sidecar_is_well_formed(clip: str, hall: MonitorConfig) -> None:
    truth = load_truth(clip)
    assert set(truth) == {"camera", "start", "incidents", "dropouts", "occupancy", "description"}
    camera = camera_of(hall, truth)
    assert camera.url == f"fixtures/videos/{clip}.mp4"
    start = datetime.fromisoformat(truth["start"])
    assert start.utcoffset() == timedelta(hours=8)
    capture = cv2.VideoCapture(str(VIDEOS / f"{clip}.mp4"))
    fps, frames = capture.get(cv2.CAP_PROP_FPS), capture.get(cv2.CAP_PROP_FRAME_COUNT)
    size = (capture.get(cv2.CAP_PROP_FRAME_WIDTH), capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    capture.release()
    assert fps in (1.0, 2.0) and size == (480, 270)
    seconds = frames / fps
    assert 6 * 60 <= seconds <= 15 * 60
    windows = {z.window for z in camera.windows}
    assert set(truth["occupancy"]) == windows
    for spans in truth["occupancy"].values():
        for a, b in spans:
            assert 0 <= a < b <= seconds
    for gap in truth["dropouts"]:
        assert 0 <= gap["from_s"] < gap["to_s"] <= seconds
    for incident in truth["incidents"]:
        assert set(incident) == {"kind", "window", "started_at", "ended_at", "minutes_late"}
        assert incident["kind"] in KINDS and incident["window"] in windows
        began = datetime.fromisoformat(incident["started_at"])
        assert start <= began <= start + timedelta(seconds=seconds)
        if incident["ended_at"] is not None:
            assert began < datetime.fromisoformat(incident["ended_at"]) <= start + timedelta(seconds=seconds)
        assert (incident["minutes_late"] is not None) == (incident["kind"] == "late_arrival")
    assert truth["description"]


def clip_seconds(clip: str) -> float:
    capture = cv2.VideoCapture(str(VIDEOS / f"{clip}.mp4"))
    seconds = capture.get(cv2.CAP_PROP_FRAME_COUNT) / capture.get(cv2.CAP_PROP_FPS)
    capture.release()
    return seconds


def expected_incidents(clip: str, hall: MonitorConfig) -> list[dict]:
    """The rules of fixtures/videos/README.md applied to the scripted occupancy (clips with no dropout gaps
    while anyone comes or goes): an independent restatement, so a hand-written sidecar cannot drift."""
    truth = load_truth(clip)
    c0 = datetime.fromisoformat(truth["start"])
    c1 = c0 + timedelta(seconds=clip_seconds(clip))
    late_grace, empty_after = hall.presence.late_grace, hall.presence.empty_post_after
    out = []
    for session in hall.duty.seasons[0].sessions:
        s0 = datetime.combine(c0.date(), session.start, c0.tzinfo)
        s1 = datetime.combine(c0.date(), session.end, c0.tzinfo)
        if s1 <= c0 or s0 >= c1:
            continue
        for window, spans in truth["occupancy"].items():
            stays = [(c0 + timedelta(seconds=a), c0 + timedelta(seconds=b)) for a, b in spans]
            if c0 <= s0 and not any(a <= s0 < b for a, b in stays):  # the arrival
                arrival = next((a for a, _ in stays if s0 <= a < min(s1, c1)), None)
                if arrival is None:
                    if min(s1, c1) - s0 > empty_after:
                        out.append(_incident("empty_post", window, s0, s1 if s1 <= c1 else None))
                elif arrival - s0 > empty_after:
                    out.append(_incident("empty_post", window, s0, arrival))
                elif arrival - s0 > late_grace:
                    minutes = int((arrival - s0).total_seconds() // 60)
                    out.append(_incident("late_arrival", window, s0, arrival, minutes))
            for _, left in stays:  # the absences
                if not s0 < left < min(s1, c1):
                    continue  # leaving at or after the session end is no absence; the clip ending is no leaving
                back = next((a for a, _ in stays if a >= left), None)
                if min(back or c1, s1, c1) - left > empty_after:
                    ended = back if back is not None and back <= s1 else (s1 if s1 <= c1 else None)
                    out.append(_incident("empty_post", window, left, ended))
    return sorted(out, key=lambda i: (i["started_at"], i["window"]))


def _incident(kind: str, window: str, began: datetime, ended: datetime | None, minutes: int | None = None) -> dict:
    return {
        "kind": kind,
        "window": window,
        "started_at": began.isoformat(),
        "ended_at": ended.isoformat() if ended else None,
        "minutes_late": minutes,
    }


@pytest.mark.parametrize("clip", CLIPS)
def test_ground_truth_follows_from_the_script_and_the_thresholds(clip: str, hall: MonitorConfig) -> None:
    listed = sorted(load_truth(clip)["incidents"], key=lambda i: (i["started_at"], i["window"]))
    assert listed == expected_incidents(clip, hall)


@pytest.mark.slow
@pytest.mark.parametrize("clip", CLIPS)
def test_the_detector_sees_seated_staff_and_nobody_in_empty_seats(clip: str, hall: MonitorConfig) -> None:
    """Every 10th second of the clip through the real detector: seated staff found in their seat zone,
    empty seats empty (moments within 10 s of someone sitting down or getting up are not judged)."""
    truth = load_truth(clip)
    camera = camera_of(hall, truth)
    start = datetime.fromisoformat(truth["start"])
    source = open_source(camera.model_copy(update={"url": str(VIDEOS / f"{clip}.mp4")}), start=start, detect_fps=0.1)
    seated_hits, seated, empty_hits, empty = 0, 0, 0, 0
    for frame in source.frames():
        s = (frame.at - start).total_seconds()
        readings = read_seats(
            detector().detect(frame.image),
            seat_zones(camera),
            exclusion_zones(camera),
            frame.image.shape,
            min_overlap=camera.min_overlap,
        )
        for window, spans in truth["occupancy"].items():
            if any(abs(s - edge) <= 10 for span in spans for edge in span):
                continue
            if any(a <= s < b for a, b in spans):
                seated, seated_hits = seated + 1, seated_hits + readings[window].occupied
            else:
                empty, empty_hits = empty + 1, empty_hits + readings[window].occupied
    source.close()
    assert seated + empty > 20
    if seated:
        assert seated_hits / seated >= 0.9, f"seated staff found in {seated_hits} of {seated} sampled frames"
    assert empty_hits <= max(1, empty // 20), f"an empty seat read occupied in {empty_hits} of {empty} frames"


def test_committed_outputs_match_the_generator(monkeypatch: pytest.MonkeyPatch) -> None:
    """hall.toml and the sidecars are what fixtures/make_videos.py writes today (nobody edited them by hand)."""
    spec = importlib.util.spec_from_file_location("make_videos", ROOT / "fixtures" / "make_videos.py")
    assert spec is not None and spec.loader is not None
    generator = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "make_videos", generator)  # dataclasses look their module up there
    spec.loader.exec_module(generator)
    assert (VIDEOS / "hall.toml").read_text(encoding="utf-8") == generator.hall_toml()
    assert sorted(c.name for c in generator.CLIPS) == CLIPS
    for clip in generator.CLIPS:
        assert load_truth(clip.name) == json.loads(json.dumps(generator.truth(clip)))
