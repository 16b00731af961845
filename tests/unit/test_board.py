"""The hall board (pure): rows, states, what an offline camera or a window without a camera shows."""

from __future__ import annotations

import datetime as dt

from monitor.config import MonitorConfig
from monitor.config.video import CameraConfig
from monitor.core.board import CameraReport, WindowReport, compose_board, row_of
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
    assert tile.camera_label == "cam-c2 在线" and board.counts["absent"] == 1


def test_leave_shows_as_leave(hedong):
    board = compose_board(_hall(hedong), {"C25": WindowReport("leave", ON_DUTY, "cam-c2")}, {}, {}, ON_DUTY)
    assert _tile(board, "C25").label == "请假"
    # Approved leave covering now: 请假 for a window without a camera, and whatever a stale camera state says.
    stale = {"C25": WindowReport("absent", ON_DUTY, "cam-c2")}
    board = compose_board(_hall(hedong), stale, {}, {}, ON_DUTY, on_leave={"A01", "C25"})
    assert (_tile(board, "A01").state, _tile(board, "C25").state) == ("leave", "leave")


def test_an_offline_camera_makes_its_windows_unknown_never_absent(hedong):
    reports = {"C25": WindowReport("absent", ON_DUTY, "cam-c2")}
    board = compose_board(_hall(hedong), reports, {"cam-c2": CameraReport("offline: 连接超时")}, {}, ON_DUTY)
    tile = _tile(board, "C25")
    assert (tile.state, tile.note, tile.camera_label) == ("unknown", "连接超时", "cam-c2 离线")
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
