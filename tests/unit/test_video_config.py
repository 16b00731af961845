"""Camera and detector configuration: zones are validated with errors that name the file and the key."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from monitor.config import load_config
from monitor.config.video import CameraConfig, DetectorConfig
from monitor.errors import ConfigError

SEAT = [[0.3, 0.2], [0.7, 0.2], [0.7, 0.6], [0.3, 0.6]]


def camera(**kw: object) -> CameraConfig:
    return CameraConfig.model_validate({"id": "cam", "url": "0", **kw})


def test_defaults() -> None:
    cam = camera()
    assert (cam.detect_fps, cam.offline_after, cam.no_signal_level, cam.min_overlap) == (
        1.0,
        timedelta(seconds=30),
        12,
        0.35,
    )
    assert cam.windows == [] and cam.exclusions == []
    detector = DetectorConfig()
    assert (detector.conf, detector.imgsz, detector.device, detector.fallback) == (0.25, 320, "cpu", "none")
    assert detector.weights == "models/yolo11n_int8_320.onnx"  # the shipped detector, relative to the repository


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"windows": [{"window": "F01", "polygon": [[0.1, 0.1], [0.2, 0.2]]}]}, "at least 3 points"),
        ({"windows": [{"window": "F01", "polygon": [[0.1, 0.1], [1.2, 0.2], [0.3, 0.4]]}]}, "outside the frame"),
        ({"windows": [{"window": "F01", "polygon": [[10, 10], [200, 20], [30, 40]]}]}, "coordinates are relative"),
        ({"exclusions": [[[0, 0.8], [1, 0.8]]]}, "exclusions[0]: a polygon needs at least 3 points"),
        (
            {"windows": [{"window": "F01", "polygon": SEAT}, {"window": "F01", "polygon": SEAT}]},
            "window zone listed twice: F01",
        ),
        ({"reconnect_initial": "2m", "reconnect_max": "1m"}, "reconnect_max is shorter"),
        ({"detect_fps": 0}, "greater than 0"),
        ({"min_overlap": 0}, "greater than 0"),
        ({"offline_after": 30}, "has no unit"),
    ],
)
def test_bad_camera_settings_are_refused(data: dict, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        camera(**data)
    assert message in str(caught.value)


def test_bad_detector_settings_are_refused() -> None:
    with pytest.raises(ValidationError, match="fallback"):
        DetectorConfig.model_validate({"fallback": "hog"})
    with pytest.raises(ValidationError, match="conf"):
        DetectorConfig.model_validate({"conf": 1.5})


def test_a_zone_error_in_a_file_names_the_file_and_the_key(tmp_path: Path) -> None:
    path = tmp_path / "hall.toml"
    path.write_text(
        '[[cameras]]\nid = "cam"\nurl = "0"\n[[cameras.windows]]\nwindow = "A01"\npolygon = [[0.1, 0.1], [0.5, 0.5]]\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(path) in str(caught.value)
    assert "cameras[0].windows[0].polygon" in str(caught.value)
    assert "at least 3 points" in str(caught.value)
