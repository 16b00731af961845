"""The hall board: every window in its row, its state and since when, its staff, its camera.

A pure function of the configuration, the latest retained messages, the approved leave and the time: the
console only renders what `compose_board` returns. A window whose camera is offline (or whose camera service
is gone) is 未知, never 空岗; a window no camera watches is 未知 during duty hours (patrols see it) and
非工作时间 outside them. A window on approved leave says which (请假 or 公出) and until when.

Times are said as the hall reads a wall: 09:10 when today, 12月1日 09:10 on another day (a state that began
before today says its day). The windows that need someone's attention (空岗, 未知, or late today) are
`Tile.attention`: the board's 只看异常 view shows only those.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

from monitor.config import MonitorConfig
from monitor.core.calendar import WorkCalendar

STATE_LABELS: dict[str, str] = {
    "present": "在岗",
    "absent": "空岗",
    "leave": "请假",
    "unknown": "未知",
    "off_duty": "非工作时间",
}
LEGEND_LABELS: dict[str, str] = {**STATE_LABELS, "leave": "请假/公出"}
"""The board's summary line: the leave count holds both kinds."""
SITE_OFFLINE = "站点离线"
"""Why a window is 未知 while its site's link to the district is down."""
ATTENTION_STATES = frozenset({"absent", "unknown"})
"""States that need someone's attention now (with a late arrival today: `Tile.attention`)."""


@dataclass(frozen=True, slots=True)
class Away:
    """Approved leave covering now: which kind (请假 or 公出, monitor.contract.LeaveKind), and when it ends."""

    kind: str
    until: dt.datetime


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
    when: str = ""
    """The time line as the board says it: 自 09:10 (自 12月1日 09:10 before today); on leave 至 16:00."""
    late_today: bool = False
    """A late arrival (迟到) recorded today and not dismissed."""

    @property
    def attention(self) -> bool:
        """Whether the window needs someone's attention: 空岗, 未知, or late today."""
        return self.state in ATTENTION_STATES or self.late_today


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
    attention: int = 0
    """How many windows need attention (`Tile.attention`), whether shown or not."""

    def only_attention(self) -> Board:
        """The board of the windows that need attention only (只看异常), in their rows; the hall's counts kept."""
        rows = (BoardRow(row.name, tuple(t for t in row.tiles if t.attention)) for row in self.rows)
        return replace(self, rows=tuple(row for row in rows if row.tiles))

    def wall_columns(self) -> int:
        """The tiles a row of the wall view holds (`wall_columns` of the rows shown)."""
        return wall_columns([len(row.tiles) for row in self.rows])


WALL_ASPECT = 1.8
"""What the wall view's tiles share: a 1920×1080 screen less its heading and the rows' labels, width / height."""
WALL_TILE_ASPECT = 1.4
"""The tile shape the wall aims at, width / height: wide enough for 公出 至 12月2日 17:00 on one line."""
WALL_COLUMNS = (8, 24)
"""The fewest and most tiles a row of the wall holds (fewer than 8 would make a few tiles huge)."""


def wall_columns(sizes: Sequence[int], aspect: float = WALL_ASPECT) -> int:
    """How many tiles a row of the wall view holds so that every row's tiles (`sizes`: the tiles of each row)
    fill a screen of `aspect` with tiles nearest WALL_TILE_ASPECT: the seed hall's 24, 20, 29, 11 and 9 windows
    take 12 (nine lines of tiles on a 1920×1080 screen)."""

    def misfit(columns: int) -> float:
        lines = sum(math.ceil(size / columns) for size in sizes) or 1
        return abs(math.log(aspect * lines / columns / WALL_TILE_ASPECT))

    return min(range(WALL_COLUMNS[0], WALL_COLUMNS[1] + 1), key=misfit)


def lines_of(tiles: int, columns: int) -> int:
    """How many lines of tiles `tiles` take in rows of `columns`."""
    return max(1, math.ceil(tiles / columns))


def moment_text(moment: dt.datetime, now: dt.datetime, tz: ZoneInfo) -> str:
    """A moment as the board says it: 09:10 when it is today (the hall's day of `now`), 12月1日 09:10 on another
    day of this year, 2019年12月31日 09:10 in another year."""
    local, today = moment.astimezone(tz), now.astimezone(tz).date()
    clock = f"{local:%H:%M}"
    if local.date() == today:
        return clock
    day = f"{local.month}月{local.day}日"
    return f"{day} {clock}" if local.year == today.year else f"{local.year}年{day} {clock}"


def since_text(since: dt.datetime, now: dt.datetime, tz: ZoneInfo) -> str:
    """Since when a state holds: 自 09:10, or 自 12月1日 09:10 when it began before today."""
    return f"自 {moment_text(since, now, tz)}"


def until_text(until: dt.datetime, now: dt.datetime, tz: ZoneInfo) -> str:
    """Until when leave lasts: 至 16:00, or 至 12月2日 17:00 when it ends on another day; an end in the coming months
    goes without its year (至 1月5日 18:00 in December: it can only be the next one), so the tile keeps its time."""
    local = until.astimezone(tz)
    if local.year != now.astimezone(tz).year and dt.timedelta(0) < until - now < NEAR_YEAR:
        return f"至 {local.month}月{local.day}日 {local:%H:%M}"
    return f"至 {moment_text(until, now, tz)}"


NEAR_YEAR = dt.timedelta(days=300)
"""An end of leave this near needs no year: the next time that day comes is the one meant."""


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
    on_leave: Mapping[str, Away] | None = None,
    *,
    late_today: Collection[str] = (),
    site_offline: dt.datetime | None = None,
) -> Board:
    """The board at `now`. `incidents_today`: each window's incidents today that stand (not dismissed);
    `on_leave`: the windows whose approved leave covers `now`, with its kind and end (请假 or 公出 whatever a
    camera says: they have no duty now); `late_today`: the windows with a late arrival today that stands;
    `site_offline`: since when the site's link is down: every window not on leave is 未知 (站点离线), not the
    state its camera said before the cut."""
    on_leave = on_leave or {}
    tz = config.hall.tz
    calendar = WorkCalendar(config.calendar, config.duty, tz)
    on_duty = calendar.session_at(now) is not None
    watched = {zone.window: camera.id for camera in config.cameras for zone in camera.windows}
    places = {camera.id: camera.place for camera in config.cameras}
    rows: dict[str, list[Tile]] = {}
    counts = dict.fromkeys(STATE_LABELS, 0)
    for window in config.window_list:
        camera_id = watched.get(window.id, "")
        camera = cameras.get(camera_id) if camera_id else None
        report = windows.get(window.id)
        away = on_leave.get(window.id)
        if away:
            state, since, note = "leave", None, ""
        elif site_offline is not None:
            state, since, note = "unknown", site_offline, SITE_OFFLINE
        else:
            state, since, note = _state(report, camera_id, camera, on_duty)
        counts[state] += 1
        if away is not None:
            label, when = away.kind, until_text(away.until, now, tz)
        else:
            label, when = STATE_LABELS[state], since_text(since, now, tz) if since else ""
        staff = config.staff_by_window.get(window.id)
        rows.setdefault(row_of(window.id), []).append(
            Tile(
                window=window.id,
                department=window.label,
                staff=staff.name if staff else "",
                state=state,
                label=label,
                since=since,
                camera=camera_id,
                camera_label=_camera_label(places.get(camera_id, ""), camera),
                incidents_today=incidents_today.get(window.id, 0),
                note=note,
                when=when,
                late_today=window.id in late_today,
            )
        )
    attention = sum(t.attention for tiles in rows.values() for t in tiles)
    return Board(now, tuple(BoardRow(name, tuple(tiles)) for name, tiles in rows.items()), counts, attention)


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
    return f"{place} {camera_word(camera)}"


def camera_word(report: CameraReport | None) -> str:
    """在线, 无统计, 离线 or 无信号 (the board's label and the cameras page say the same)."""
    if report is None:
        return "无信号"
    if not report.online:
        return "离线"
    return "在线" if has_statistics(report) else "无统计"


def has_statistics(report: CameraReport) -> bool:
    """Whether anything the camera's service measured has been heard: a rate, a frame's time, a statistics time."""
    return report.fps is not None or report.last_frame is not None or report.stats_at is not None
