"""The hall board: every window in its row, its state and since when, its staff, its camera.

A pure function of the configuration, the latest retained messages and the time: the console only
renders what `compose_board` returns. A window whose camera is offline (or whose camera service is
gone) is 未知, never 空岗; a window no camera watches is 未知 during duty hours (patrols see it) and
非工作时间 outside them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from monitor.config import MonitorConfig
from monitor.core.calendar import WorkCalendar

STATE_LABELS: dict[str, str] = {
    "present": "在岗",
    "absent": "空岗",
    "leave": "请假",
    "unknown": "未知",
    "off_duty": "非工作时间",
}


@dataclass(frozen=True, slots=True)
class WindowReport:
    """A window's retained state as its camera service last published it."""

    state: str
    since: dt.datetime
    camera: str = ""


@dataclass(frozen=True, slots=True)
class CameraReport:
    """A camera's retained status (`online`, or `offline: why`; offline too when its service is gone, or does not
    answer: `offline: 摄像头服务无响应` since it was last heard, as the recorder judges) and its latest statistics."""

    status: str
    at: dt.datetime | None = None
    fps: float | None = None
    inference_ms: float | None = None
    stats_at: dt.datetime | None = None
    last_frame: dt.datetime | None = None

    @property
    def online(self) -> bool:
        return self.status == "online"

    @property
    def reason(self) -> str:
        """Why it is offline, as its status says after the word (摄像头离线 when it does not say)."""
        return self.status.removeprefix("offline").lstrip(":： ") or "摄像头离线"


@dataclass(frozen=True, slots=True)
class Tile:
    window: str
    department: str
    staff: str
    state: str
    label: str
    since: dt.datetime | None
    camera: str
    camera_label: str
    """The camera by its place (`[[cameras]] name`, else its id) and whether it is on: A区东侧 在线."""
    incidents_today: int
    note: str = ""


@dataclass(frozen=True, slots=True)
class BoardRow:
    name: str
    tiles: tuple[Tile, ...]


@dataclass(frozen=True, slots=True)
class Board:
    at: dt.datetime
    rows: tuple[BoardRow, ...]
    counts: dict[str, int]
    """State -> number of windows, for the summary line."""


def row_of(window: str) -> str:
    """The row a window stands in: its id's leading letters (A01 -> A); "" for an id without letters."""
    match = re.match(r"[A-Za-z]+", window)
    return match.group(0).upper() if match else ""


def compose_board(
    config: MonitorConfig,
    windows: Mapping[str, WindowReport],
    cameras: Mapping[str, CameraReport],
    incidents_today: Mapping[str, int],
    now: dt.datetime,
    on_leave: Collection[str] = (),
) -> Board:
    """The board at `now`. `on_leave`: the windows whose approved leave covers `now` (请假 whatever a camera says:
    they have no duty now)."""
    calendar = WorkCalendar(config.calendar, config.duty, config.hall.tz)
    on_duty = calendar.session_at(now) is not None
    watched = {zone.window: camera.id for camera in config.cameras for zone in camera.windows}
    places = {camera.id: camera.place for camera in config.cameras}
    rows: dict[str, list[Tile]] = {}
    counts = dict.fromkeys(STATE_LABELS, 0)
    for window in config.window_list:
        camera_id = watched.get(window.id, "")
        camera = cameras.get(camera_id) if camera_id else None
        report = windows.get(window.id)
        state, since, note = (
            ("leave", None, "") if window.id in on_leave else _state(report, camera_id, camera, on_duty)
        )
        counts[state] += 1
        staff = config.staff_by_window.get(window.id)
        rows.setdefault(row_of(window.id), []).append(
            Tile(
                window=window.id,
                department=window.label,
                staff=staff.name if staff else "",
                state=state,
                label=STATE_LABELS[state],
                since=since,
                camera=camera_id,
                camera_label=_camera_label(places.get(camera_id, ""), camera),
                incidents_today=incidents_today.get(window.id, 0),
                note=note,
            )
        )
    return Board(now, tuple(BoardRow(name, tuple(tiles)) for name, tiles in rows.items()), counts)


def _state(
    report: WindowReport | None,
    camera_id: str,
    camera: CameraReport | None,
    on_duty: bool,
) -> tuple[str, dt.datetime | None, str]:
    if not camera_id:
        return ("unknown", None, "无摄像头，以巡查为准") if on_duty else ("off_duty", None, "")
    if camera is not None and not camera.online:
        return "unknown", camera.at, camera.reason
    if report is None or report.state not in STATE_LABELS:
        return ("unknown", None, "尚无状态") if on_duty else ("off_duty", None, "")
    return report.state, report.since, ""


def _camera_label(place: str, camera: CameraReport | None) -> str:
    if not place:
        return "无摄像头"
    if camera is None:
        return f"{place} 无信号"
    return f"{place} 在线" if camera.online else f"{place} 离线"
