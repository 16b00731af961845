"""`monitor zones`: the calibration picture of the fixture hall, run as a supervisor runs it (a process, from
the repository root: the fixture hall's paths are relative to it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.support.paths import FIXTURE_HALL as HALL
from tests.support.paths import ROOT


def monitor(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(HALL), *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )


def test_zones_picture_of_a_two_window_camera(tmp_path: Path) -> None:
    out = tmp_path / "cam.png"
    result = monitor("zones", "--camera", "cam-f09", "--out", str(out), "--at", "8m")
    assert result.returncode == 0, result.stderr
    assert "已保存" in result.stdout and "F09" in result.stdout and "F10" in result.stdout
    picture = cv2.imread(str(out))
    assert picture.shape == (540, 960, 3)  # 480x270 enlarged twice for legible labels
    # The seat outlines are drawn in the "not yet read" colour (yellow) around where the zones are.
    yellow = np.all(np.abs(picture.astype(int) - (0, 200, 255)) < 40, axis=2)
    left, right = yellow[:, :480], yellow[:, 480:]
    assert left.sum() > 500 and right.sum() > 500


def test_zones_with_detection_reports_each_seat(tmp_path: Path) -> None:
    out = tmp_path / "cam.jpg"
    result = monitor("zones", "--camera", "cam-f09", "--out", str(out), "--at", "8m", "--detect")
    assert result.returncode == 0, result.stderr
    # At 09:06 F09's staff member is away and F10's is seated.
    lines = {line.split()[1]: line for line in result.stdout.splitlines() if "F09" in line or "F10" in line}
    assert "否" in lines["F09"] and "是" in lines["F10"]
    assert cv2.imread(str(out)) is not None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["--camera", "nope", "--out", "x.png"],
            "no such camera in the configuration (cameras: cam-f01",
            id="unknown-camera",
        ),
        pytest.param(["--camera", "cam-f01", "--out", "x.gif"], "write a .png or .jpg file", id="not-a-picture-file"),
        pytest.param(
            ["--camera", "cam-f01", "--out", "x.png", "--at", "soon"],
            "--at: cannot read duration 'soon'",
            id="bad-duration",
        ),
        pytest.param(
            ["--camera", "cam-f01", "--out", "x.png", "--at", "2h"],
            "no picture from fixtures/videos/on_time.mp4",
            id="past-the-end",
        ),
    ],
)
def test_zones_errors_are_one_clear_line(args: list[str], message: str, tmp_path: Path) -> None:
    result = monitor("zones", *[str(tmp_path / a) if a.startswith("x.") else a for a in args])
    assert result.returncode == 1
    assert message in result.stderr.replace("\n", "")
    assert "Traceback" not in result.stderr
