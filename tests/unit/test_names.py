"""Names people use: a camera by its place wherever it is shown, an incident's source as 视频 · A区东侧 or
巡查 · 张三, and a patrol finding built from what a person says (when it was seen, how long)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from monitor.config import MonitorConfig
from monitor.config.video import CameraConfig
from monitor.contract import MAX_MINUTES
from monitor.core.alerts import compose_alert
from monitor.core.board import CameraReport, compose_board
from monitor.core.incident import Incident, describe_source
from monitor.services.patrol import patrol_incident, seen_in_future

TZ = dt.timezone(dt.timedelta(hours=8))
ON_DUTY = dt.datetime(2020, 11, 3, 10, 0, tzinfo=TZ)  # a working Tuesday, morning session
ZONE = [[0, 0], [1, 0], [1, 1]]


def _hall(hedong: MonitorConfig) -> MonitorConfig:
    """The seed hall with a named camera over C25 and an unnamed one over C26."""
    named = CameraConfig.model_validate(
        {"id": "cam-c2", "name": "C区东侧", "url": "rtsp://nvr/c2", "windows": [{"window": "C25", "polygon": ZONE}]}
    )
    bare = CameraConfig.model_validate(
        {"id": "cam-c3", "url": "rtsp://nvr/c3", "windows": [{"window": "C26", "polygon": ZONE}]}
    )
    return hedong.model_copy(update={"cameras": [named, bare]})


def _tile(board, window):
    return next(t for row in board.rows for t in row.tiles if t.window == window)


def test_the_board_shows_a_camera_by_its_place_else_its_windows(hedong):
    cameras = {
        "cam-c2": CameraReport("online", stats_at=dt.datetime(2020, 12, 1, 1, tzinfo=dt.UTC)),
        "cam-c3": CameraReport("offline: 连接超时"),
    }
    board = compose_board(_hall(hedong), {}, cameras, {}, ON_DUTY)
    assert _tile(board, "C25").camera_label == "C区东侧 在线"
    assert _tile(board, "C26").camera_label == "C26 摄像头 离线"
    assert _tile(compose_board(_hall(hedong), {}, {}, {}, ON_DUTY), "C25").camera_label == "C区东侧 无信号"
    assert _tile(board, "A01").camera_label == "无摄像头"


def test_a_source_is_said_as_people_say_it(hedong):
    hall = _hall(hedong)
    assert describe_source("camera:cam-c2", hall) == "视频 · C区东侧"
    assert describe_source("camera:cam-c3", hall) == "视频 · C26 摄像头"  # no name: the windows it watches
    assert describe_source("camera:cam-gone", hall) == "视频 · cam-gone"  # no longer configured
    assert describe_source("patrol:张三", hall) == "巡查 · 张三"
    assert describe_source("", hall) == ""


@given(st.text(max_size=128))
def test_any_stored_source_is_described_without_failing(source):
    config = MonitorConfig()
    described = describe_source(source, config)
    kind, _, who = source.partition(":")
    if kind == "camera":
        assert described == f"视频 · {who}"
    elif kind == "patrol":
        assert described == f"巡查 · {who}"
    else:
        assert described == source


def test_an_alert_names_the_cameras_place_and_the_patrols_person(hedong):
    hall = _hall(hedong)
    seen = Incident(
        id="cam-c2-C25",
        kind="empty_post",
        window="C25",
        department="卫健局",
        started_at=ON_DUTY,
        minutes=15,
        source="camera:cam-c2",
    )
    assert compose_alert(seen, Decimal(10), hall).message.endswith("空岗15分钟，扣10分。来源：视频 · C区东侧")
    patrolled = Incident(
        id="patrol-1", kind="late_arrival", window="C25", department="卫健局", started_at=ON_DUTY, source="patrol:张三"
    )
    assert compose_alert(patrolled, Decimal(1), hall).message.endswith("来源：巡查 · 张三")


def test_an_empty_post_seen_now_after_20_minutes_ran_from_20_minutes_ago_until_now():
    seen = dt.datetime(2020, 11, 3, 15, 0, tzinfo=TZ)
    event = patrol_incident(window="C25", kind="empty_post", seen_at=seen, minutes=20, note="", by="张三")
    assert (event.started_at, event.ended_at, event.minutes) == (seen - dt.timedelta(minutes=20), seen, 20)
    assert event.source == "patrol:张三"
    early = patrol_incident(window="C25", kind="early_leave", seen_at=seen, minutes=5, note="", by="张三")
    assert (early.started_at, early.ended_at) == (seen - dt.timedelta(minutes=5), seen)
    moment = patrol_incident(window="C25", kind="empty_post", seen_at=seen, minutes=None, note="", by="张三")
    assert (moment.started_at, moment.ended_at) == (seen, None)


def test_a_late_arrival_is_the_arrival_and_how_late():
    arrived = dt.datetime(2020, 11, 3, 9, 12, tzinfo=TZ)
    event = patrol_incident(window="C20", kind="late_arrival", seen_at=arrived, minutes=12, note="", by="张三")
    assert (event.started_at, event.ended_at, event.minutes) == (arrived, None, 12)


@pytest.mark.parametrize(
    ("seen_at", "minutes"),
    [
        pytest.param(dt.datetime(2020, 11, 3, 15, 0, tzinfo=TZ), MAX_MINUTES + 1, id="too-many-minutes"),
        pytest.param(dt.datetime(2020, 11, 3, 15, 0, tzinfo=TZ), 10**12, id="beyond-any-calendar"),
        pytest.param(dt.datetime(1, 1, 1, 0, 10, tzinfo=dt.UTC), 20, id="year-one"),
    ],
)
def test_impossible_minutes_or_times_are_refused_by_the_contract(seen_at, minutes):
    with pytest.raises(ValidationError):
        patrol_incident(window="C25", kind="empty_post", seen_at=seen_at, minutes=minutes, note="", by="张三")


def test_a_finding_seen_beyond_the_recorders_clock_tolerance_is_in_the_future(hedong):
    now = dt.datetime(2020, 11, 3, 15, 0, tzinfo=TZ)
    tolerance = hedong.recorder.clock_tolerance
    assert not seen_in_future(now, hedong, now)
    assert not seen_in_future(now + tolerance, hedong, now)
    assert seen_in_future(now + tolerance + dt.timedelta(seconds=1), hedong, now)
