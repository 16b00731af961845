"""A camera as a supervisor reads it (monitor.core.cameras): named by its place or its windows, and 在线 only
when its statistics have been heard — a retained `online` alone is 无统计."""

from __future__ import annotations

import datetime as dt

from monitor.config import CameraConfig, MonitorConfig
from monitor.config.video import window_runs
from monitor.core.board import CameraReport
from monitor.core.cameras import camera_state, camera_word

AT = dt.datetime(2020, 12, 1, 1, 0, tzinfo=dt.UTC)


def _camera(name: str = "", windows: tuple[str, ...] = ("A01", "A02", "A03", "A04")) -> CameraConfig:
    seats = [{"window": w, "polygon": [[0.1, 0.1], [0.2, 0.1], [0.2, 0.2]]} for w in windows]
    return CameraConfig.model_validate(
        {"id": "cam-a-east", "name": name, "url": "rtsp://192.0.2.1/1", "windows": seats}
    )


def test_a_camera_is_named_by_its_place_or_its_windows() -> None:
    assert _camera("A区东侧").place == "A区东侧"
    assert _camera().place == "A01–A04 摄像头"
    assert _camera(windows=("B06", "B07", "C01")).place == "B06、B07、C01 摄像头"
    assert window_runs(["A01", "A02", "A03", "A05", "B1", "B2", "B3", "9", "10"]) == "A01–A03、A05、B1–B3、9、10"


def test_online_only_with_statistics_heard(hedong: MonitorConfig) -> None:
    camera = _camera()
    assert camera_word(None) == "无信号"
    assert camera_word(CameraReport("offline: 摄像头服务无响应", AT)) == "离线"
    bare = CameraReport("online", AT)
    assert camera_word(bare) == "无统计"
    state = camera_state(hedong, camera, bare)
    assert (state.word, state.tone) == ("无统计", "warn") and "尚未收到它的检测统计（正常每 10 秒一次）" in state.why
    measured = CameraReport("online", AT, fps=1.0, inference_ms=40.0, stats_at=AT, last_frame=AT)
    assert camera_state(hedong, camera, measured).word == "在线" and camera_state(hedong, camera, measured).why == ""
    offline = camera_state(hedong, camera, CameraReport("offline: 摄像头服务无响应", AT))
    assert (offline.word, offline.tone, offline.why) == ("离线", "bad", "摄像头服务无响应")
