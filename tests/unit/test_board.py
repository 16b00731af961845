"""The hall board (pure): rows, states, what an offline camera or a window without a camera shows, what a tile
says (since when, with its day before today; 请假 or 公出 until when), which windows need attention, the wall's
columns."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from monitor.config import MonitorConfig
from monitor.config.video import CameraConfig
from monitor.core.board import (
    Away,
    CameraReport,
    WindowReport,
    compose_board,
    moment_text,
    row_of,
    until_text,
    wall_columns,
)
from monitor.core.roles import may

TZ = dt.timezone(dt.timedelta(hours=8))
ON_DUTY = dt.datetime(2020, 11, 3, 10, 0, tzinfo=TZ)  # a working Tuesday, morning session
NIGHT = dt.datetime(2020, 11, 3, 22, 0, tzinfo=TZ)


def _hall(hedong: MonitorConfig) -> MonitorConfig:
    camera = CameraConfig.model_validate(
        {"id": "cam-c2", "url": "rtsp://nvr/c2", "windows": [{"window": "C25", "polygon": [[0, 0], [1, 0], [1, 1]]}]}
    )
    return hedong.model_copy(update={"cameras": [camera]})


def _tile(board, window):
    return next(t for row in board.rows for t in row.tiles if t.window == window)


def test_rows_follow_the_window_ids_in_configured_order(hedong):
    board = compose_board(_hall(hedong), {}, {}, {}, ON_DUTY)
    assert [row.name for row in board.rows][:4] == ["A", "B", "C", "D"]
    a = next(row for row in board.rows if row.name == "A")
    assert [t.window for t in a.tiles][:3] == ["A01", "A02", "A03"]
    assert sum(board.counts.values()) == len(hedong.window_list)
    assert row_of("C25") == "C" and row_of("12") == ""


def test_a_camera_state_is_shown_with_since_and_marks_of_today(hedong):
    since = ON_DUTY - dt.timedelta(minutes=7)
    board = compose_board(
        _hall(hedong),
        {"C25": WindowReport("absent", since, "cam-c2")},
        {"cam-c2": CameraReport("online")},
        {"C25": 2},
        ON_DUTY,
    )
    tile = _tile(board, "C25")
    assert (tile.state, tile.label, tile.since, tile.incidents_today) == ("absent", "空岗", since, 2)
    assert tile.camera_label == "C25 摄像头 无统计" and board.counts["absent"] == 1


def test_leave_shows_as_leave(hedong):
    board = compose_board(_hall(hedong), {"C25": WindowReport("leave", ON_DUTY, "cam-c2")}, {}, {}, ON_DUTY)
    assert _tile(board, "C25").label == "请假"
    # Approved leave covering now: 请假 for a window without a camera, and whatever a stale camera state says.
    stale = {"C25": WindowReport("absent", ON_DUTY, "cam-c2")}
    away = {"A01": Away("请假", ON_DUTY + dt.timedelta(hours=2)), "C25": Away("公出", ON_DUTY + dt.timedelta(hours=6))}
    board = compose_board(_hall(hedong), stale, {}, {}, ON_DUTY, away)
    assert (_tile(board, "A01").state, _tile(board, "C25").state) == ("leave", "leave")
    assert board.counts["leave"] == 2 and board.counts["absent"] == 0


def test_a_tile_on_leave_says_which_and_until_when_with_the_day_when_not_today(hedong):
    away = {
        "A01": Away("请假", ON_DUTY.replace(hour=12)),
        "A02": Away("公出", ON_DUTY.replace(hour=16)),
        "A03": Away("公出", dt.datetime(2020, 11, 5, 17, 30, tzinfo=TZ)),
        "C25": Away("请假", dt.datetime(2020, 11, 4, 0, 0, tzinfo=dt.UTC)),  # 08:00 the next day, hall time
    }
    board = compose_board(_hall(hedong), {}, {}, {}, ON_DUTY, away)
    said = {w: (_tile(board, w).label, _tile(board, w).when) for w in away}
    assert said == {
        "A01": ("请假", "至 12:00"),
        "A02": ("公出", "至 16:00"),
        "A03": ("公出", "至 11月5日 17:30"),
        "C25": ("请假", "至 11月4日 08:00"),
    }


def test_since_when_says_the_day_when_the_state_began_before_today(hedong):
    reports = {
        "C25": WindowReport("present", ON_DUTY.replace(hour=9, minute=10), "cam-c2"),
    }
    cameras = {"cam-c2": CameraReport("online")}
    today = compose_board(_hall(hedong), reports, cameras, {}, ON_DUTY)
    assert _tile(today, "C25").when == "自 09:10"
    yesterday = {"C25": WindowReport("absent", dt.datetime(2020, 11, 2, 16, 5, tzinfo=TZ), "cam-c2")}
    assert _tile(compose_board(_hall(hedong), yesterday, cameras, {}, ON_DUTY), "C25").when == "自 11月2日 16:05"
    # Midnight in the hall, whatever zone the moment is written in: 23:59 yesterday is yesterday.
    late = dt.datetime(2020, 11, 2, 15, 59, tzinfo=dt.UTC)
    assert moment_text(late, ON_DUTY, hedong.hall.tz) == "11月2日 23:59"
    assert moment_text(late + dt.timedelta(minutes=1), ON_DUTY, hedong.hall.tz) == "00:00"
    assert moment_text(dt.datetime(2019, 12, 31, 9, 0, tzinfo=TZ), ON_DUTY, hedong.hall.tz) == "2019年12月31日 09:00"
    # No state yet: nothing said about since when, only why.
    unseen = compose_board(_hall(hedong), {}, cameras, {}, ON_DUTY)
    assert (_tile(unseen, "C25").when, _tile(unseen, "C25").note) == ("", "尚无状态")


def test_attention_is_empty_posts_unknown_windows_and_late_arrivals_today(hedong):
    config = _hall(hedong)
    reports = {"C25": WindowReport("absent", ON_DUTY, "cam-c2")}
    board = compose_board(config, reports, {"cam-c2": CameraReport("online")}, {"A02": 1}, ON_DUTY, late_today={"A02"})
    # Every window but C25 has no camera: 未知 on duty (patrols see it).
    assert board.attention == len(hedong.window_list)
    night = compose_board(config, {}, {}, {"A02": 1}, NIGHT, late_today={"A02"})
    assert night.attention == 1 and _tile(night, "A02").attention and _tile(night, "A02").state == "off_duty"
    only = night.only_attention()
    assert [(row.name, [t.window for t in row.tiles]) for row in only.rows] == [("A", ["A02"])]
    assert only.counts == night.counts and only.attention == 1
    absent = compose_board(config, reports, {"cam-c2": CameraReport("online")}, {}, NIGHT)
    assert [t.window for row in absent.only_attention().rows for t in row.tiles] == ["C25"]
    calm = compose_board(config, {}, {}, {}, NIGHT)
    assert calm.only_attention().rows == () and calm.attention == 0


def test_the_wall_holds_the_seed_hall_in_nine_lines_of_twelve(hedong):
    board = compose_board(_hall(hedong), {}, {}, {}, ON_DUTY)
    assert [len(row.tiles) for row in board.rows] == [24, 20, 29, 11, 9]
    assert board.wall_columns() == 12
    # A few windows: never fewer than eight to a line (a handful of tiles does not fill the screen).
    assert wall_columns([3, 1]) == 8 and wall_columns([]) == 8
    # A larger hall takes more to a line, never more than 24.
    assert 12 < wall_columns([60, 60, 60]) <= 24


def test_an_offline_camera_makes_its_windows_unknown_never_absent(hedong):
    reports = {"C25": WindowReport("absent", ON_DUTY, "cam-c2")}
    board = compose_board(_hall(hedong), reports, {"cam-c2": CameraReport("offline: 连接超时")}, {}, ON_DUTY)
    tile = _tile(board, "C25")
    assert (tile.state, tile.note, tile.camera_label) == ("unknown", "连接超时", "C25 摄像头 离线")
    gone = compose_board(_hall(hedong), reports, {"cam-c2": CameraReport("offline")}, {}, ON_DUTY)
    assert _tile(gone, "C25").note == "摄像头离线"


def test_windows_without_a_camera_are_unknown_on_duty_and_off_duty_at_night(hedong):
    assert _tile(compose_board(_hall(hedong), {}, {}, {}, ON_DUTY), "A01").state == "unknown"
    assert _tile(compose_board(_hall(hedong), {}, {}, {}, NIGHT), "A01").state == "off_duty"
    assert _tile(compose_board(_hall(hedong), {}, {}, {}, NIGHT), "C25").state == "off_duty"


def test_each_role_may_do_what_the_roles_below_it_may():
    assert may("admin", "supervisor") and may("admin", "viewer") and may("supervisor", "viewer")
    assert not may("viewer", "supervisor") and not may("supervisor", "admin")
    assert not may("root", "viewer")


def test_leave_ending_next_year_keeps_its_time_on_the_tile():
    tz = ZoneInfo("Asia/Shanghai")
    now = dt.datetime(2026, 12, 8, 9, 0, tzinfo=tz)
    assert until_text(dt.datetime(2027, 1, 5, 18, 0, tzinfo=tz), now, tz) == "至 1月5日 18:00"
    assert until_text(dt.datetime(2026, 12, 8, 16, 0, tzinfo=tz), now, tz) == "至 16:00"
    assert until_text(dt.datetime(2099, 12, 31, 18, 0, tzinfo=tz), now, tz) == "至 2099年12月31日 18:00"
