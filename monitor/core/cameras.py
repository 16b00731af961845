"""A camera as a supervisor reads it: by a name they know, and whether it is really watching.

A camera's retained status says `online` as soon as its service starts, and stays so in the broker; only its
statistics (sent every `[presence] stats_every`, at most a third of its `offline_after`) show that frames are
being read and judged. So a camera is 在线 only with statistics heard: without any it is 无统计 (status online,
nothing measured yet), and a camera nothing has been heard of is 无信号. 离线 is what its status, or the
recorder's judgement of its silent service, says.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from monitor.config import CameraConfig, MonitorConfig
from monitor.core.board import CameraReport, camera_word

Tone = Literal["ok", "warn", "bad"]


@dataclass(frozen=True, slots=True)
class CameraState:
    """A camera's state in one word, how alarming it is, and why (empty when it is simply 在线)."""

    word: str
    tone: Tone
    why: str = ""


def stats_period(config: MonitorConfig, camera: CameraConfig) -> dt.timedelta:
    """How often the camera's service sends its statistics (monitor.services.camera)."""
    return min(config.presence.stats_every, camera.offline_after / 3)


def camera_state(config: MonitorConfig, camera: CameraConfig, report: CameraReport | None) -> CameraState:
    """The camera's state for the cameras page, with the reason a supervisor can act on."""
    word = camera_word(report)
    if report is None:
        return CameraState(word, "warn", "尚未收到这台摄像头的任何消息：它的摄像头服务可能没有启动")
    if word == "离线":
        return CameraState(word, "bad", report.reason)
    if word == "无统计":
        seconds = round(stats_period(config, camera).total_seconds())
        return CameraState(
            word,
            "warn",
            f"状态为在线，但尚未收到它的检测统计（正常每 {seconds} 秒一次），还不能确认它在检测；"
            "若持续如此，请检查它的摄像头服务",
        )
    return CameraState(word, "ok")
