"""Whether a camera's service answers (monitor/core/liveness.py): what counts as heard, when it is silent, gone or
dark, when it is live again; the `unknown` marks and the revival the history gets; the supervisors' alert text."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.config import CameraConfig, MonitorConfig
from monitor.contract import CAMERA_OFFLINE, Alert
from monitor.core.alerts import compose_camera_alert
from monitor.core.liveness import REVIVAL_SETTLE, LivenessWatch, Reported, revival_marks, unknown_marks

T0 = dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.UTC)  # 10:00 in the hall
S = dt.timedelta(seconds=1)
OFFLINE_AFTER = 30 * S
CAM = "cam-a"


def watch() -> LivenessWatch:
    return LivenessWatch({CAM: OFFLINE_AFTER}, T0)


def settle(w: LivenessWatch, at: dt.datetime) -> list[str]:
    """Apply what is due at `at` (as the recorder does once it is in the books); the states applied, in order."""
    applied = []
    for change in w.due(at):
        w.applied(change, at)
        applied.append(change.state)
    return applied


# --- silence ---------------------------------------------------------------------------------------------------


def test_a_service_heard_within_offline_after_stays_live_and_falls_silent_after_it() -> None:
    w = watch()
    w.statistics(CAM, T0 + 10 * S, T0 + 9 * S)
    assert settle(w, T0 + 39 * S) == [] and w.state(CAM) == "live"
    assert settle(w, T0 + 41 * S) == ["silent"]
    change = w.heard_of(CAM)
    assert (change.heard_at, change.vouched) == (T0 + 10 * S, T0 + 9 * S)


def test_a_service_never_heard_is_silent_offline_after_the_recorder_began_to_listen() -> None:
    w = watch()
    assert settle(w, T0 + OFFLINE_AFTER) == []
    assert settle(w, T0 + OFFLINE_AFTER + S) == ["silent"]


def test_retained_messages_are_not_heard_but_say_what_they_hold() -> None:
    w = watch()
    w.status(CAM, True, T0 + 5 * S, retained=True)
    w.availability(CAM, True, T0 + 5 * S, retained=True)
    assert w.heard_of(CAM).heard_at is None
    assert settle(w, T0 + 31 * S) == ["silent"]
    w2 = watch()
    w2.availability(CAM, False, T0 + S, retained=True)  # its last will, kept by the broker: gone at once
    assert settle(w2, T0 + 2 * S) == ["gone"]


def test_the_last_will_makes_it_gone_at_once_and_is_not_a_word_from_it() -> None:
    w = watch()
    w.statistics(CAM, T0 + S, T0)
    w.availability(CAM, False, T0 + 3 * S, retained=False)
    assert settle(w, T0 + 3 * S) == ["gone"]
    assert w.heard_of(CAM).heard_at == T0 + S  # since when it said nothing


def test_a_status_offline_is_dark_and_online_again_is_live_at_once() -> None:
    w = watch()
    w.status(CAM, False, T0 + S, retained=False)
    assert settle(w, T0 + S) == ["dark"]
    w.status(CAM, True, T0 + 2 * S, retained=False)
    assert settle(w, T0 + 2 * S) == ["live"]


def test_a_dark_camera_whose_service_then_hangs_is_silent() -> None:
    w = watch()
    w.status(CAM, False, T0 + S, retained=False)
    assert settle(w, T0 + S) == ["dark"]
    assert settle(w, T0 + 32 * S) == ["silent"]


# --- revival ---------------------------------------------------------------------------------------------------


def test_a_silent_service_is_live_again_only_once_it_vouches_for_a_newer_time_and_that_settled() -> None:
    w = watch()
    w.statistics(CAM, T0 + S, T0 + S)
    assert settle(w, T0 + 40 * S) == ["silent"]
    w.statistics(CAM, T0 + 41 * S, T0 + S)  # the same last frame: alive, but vouching for nothing new
    assert settle(w, T0 + 43 * S) == [] and w.state(CAM) == "silent"
    w.statistics(CAM, T0 + 44 * S, T0 + 44 * S)
    assert settle(w, T0 + 44 * S) == []  # not yet settled: what it sent with it comes first
    assert settle(w, T0 + 44 * S + REVIVAL_SETTLE) == ["live"]


def test_a_state_of_its_windows_vouches_for_its_since() -> None:
    w = watch()
    assert settle(w, T0 + 31 * S) == ["silent"]
    w.heard(CAM, T0 + 32 * S, T0 + 32 * S)
    assert settle(w, T0 + 32 * S) == []
    assert settle(w, T0 + 33 * S) == ["live"]
    assert w.heard_of(CAM).vouched == T0 + 32 * S


def test_a_gone_service_back_on_the_broker_is_live_once_it_vouches() -> None:
    w = watch()
    w.availability(CAM, False, T0 + S, retained=False)
    assert settle(w, T0 + S) == ["gone"]
    w.availability(CAM, True, T0 + 10 * S, retained=False)
    assert settle(w, T0 + 12 * S) == [] and w.state(CAM) == "gone"
    w.statistics(CAM, T0 + 13 * S, T0 + 13 * S)
    assert settle(w, T0 + 13 * S) == []
    assert settle(w, T0 + 15 * S) == ["live"]


def test_a_revival_that_falls_silent_again_before_it_settled_is_not_one() -> None:
    w = watch()
    assert settle(w, T0 + 31 * S) == ["silent"]
    w.statistics(CAM, T0 + 32 * S, T0 + 32 * S)
    assert settle(w, T0 + 32 * S) == []
    w.availability(CAM, False, T0 + 32 * S, retained=False)  # and it is gone again
    assert settle(w, T0 + 40 * S) == ["gone"]


# --- the books -------------------------------------------------------------------------------------------------


def test_a_change_stays_due_until_it_is_in_the_books() -> None:
    w = watch()
    first = w.due(T0 + 31 * S)
    assert [c.state for c in first] == ["silent"]
    assert [c.state for c in w.due(T0 + 32 * S)] == ["silent"]  # the transaction failed: due again
    w.applied(first[0], T0 + 32 * S)
    assert w.due(T0 + 33 * S) == [] and w.began(CAM) == T0 + 32 * S


def test_only_a_word_after_it_fell_silent_revives_a_camera_that_was_dark_before() -> None:
    w = watch()
    w.status(CAM, False, T0 + S, retained=False)
    assert settle(w, T0 + S) == ["dark"]
    w.heard(CAM, T0 + 5 * S, T0 + 5 * S)  # a state while dark (the watchdog's unknown)
    assert settle(w, T0 + 36 * S) == ["silent"] and w.began(CAM) == T0 + S
    w.status(CAM, True, T0 + 40 * S, retained=False)
    assert settle(w, T0 + 40 * S) == [] and settle(w, T0 + 42 * S) == []
    w.statistics(CAM, T0 + 43 * S, T0 + 43 * S)
    assert settle(w, T0 + 43 * S) == [] and settle(w, T0 + 44 * S) == ["live"]


def test_an_outage_the_books_hold_is_taken_up_and_silence_counts_from_listening_again() -> None:
    w = watch()
    w.restore(CAM, "gone", T0 - 60 * S, T0 - 70 * S, T0 - 71 * S)
    assert w.state(CAM) == "gone" and w.heard_of(CAM).vouched == T0 - 71 * S
    assert settle(w, T0 + 29 * S) == []  # gone, not silent: nothing says more
    w.listen(T0 + 10 * S)
    assert settle(w, T0 + 41 * S) == ["silent"]


def test_cameras_not_configured_are_ignored() -> None:
    w = watch()
    w.heard("cam-other", T0, T0)
    w.statistics("cam-other", T0, T0)
    w.availability("cam-other", False, T0, retained=False)
    w.status("cam-other", False, T0, retained=False)
    w.restore("cam-other", "silent", T0, None, None)
    assert w.cameras == [CAM]


# --- what the history gets -------------------------------------------------------------------------------------

LATEST = {"A01": T0 - 50 * S, "A02": T0 + 20 * S}


@pytest.mark.parametrize(
    ("vouched", "latest", "expected"),
    [
        (T0, LATEST, {"A01": T0, "A02": T0 + 20 * S}),  # never before a window's latest change
        (None, LATEST, {"A01": T0 - 50 * S, "A02": T0 + 20 * S}),  # nothing vouched: its latest state counts no more
        (T0, {}, {"A01": T0, "A02": T0}),
        (None, {}, {}),  # no history, nothing vouched: nothing was observed, nothing to mark
    ],
)
def test_unknown_marks(vouched, latest, expected) -> None:
    assert unknown_marks(["A01", "A02"], vouched, latest) == expected


def test_revival_records_the_last_reported_state_again_from_the_vouched_time() -> None:
    began = T0
    reported = {
        "A01": Reported("present", T0 - 3600 * S, None),  # handed over on subscribing
        "A02": Reported("absent", T0 - 60 * S, T0 - 59 * S),  # heard before the outage
        "A03": Reported("unknown", T0 + 50 * S, T0 + 51 * S),  # said since: recorded as it came
    }
    latest = {"A01": T0 - 10 * S, "A02": T0 - 10 * S, "A03": T0 + 50 * S, "A04": T0 + 200 * S}
    windows = ["A01", "A02", "A03", "A04", "A05"]
    marks = revival_marks(windows, {**reported, "A04": Reported("present", T0, None)}, began, T0 + 100 * S, latest)
    assert marks == {"A01": ("present", T0 + 100 * S), "A02": ("absent", T0 + 100 * S)}
    assert revival_marks(windows, reported, began, None, latest) == {}


# --- a property: a camera taken for live was heard, connected, with video --------------------------------------

EVENTS = st.lists(
    st.tuples(
        st.integers(0, 200),  # seconds after T0 (sorted below)
        st.sampled_from(["stats", "stats-same", "state", "will", "online", "status-off", "status-on", "check"]),
        st.booleans(),  # retained
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(EVENTS)
def test_property_live_means_heard_within_offline_after_connected_and_with_video(events) -> None:
    w = watch()
    top: dt.datetime | None = None  # the latest time vouched for
    heard: dt.datetime | None = None
    connected, video = True, True
    vouched_since_down: bool = True
    for second, kind, retained in sorted(events, key=lambda e: e[0]):
        at = T0 + second * S
        if kind in ("stats", "stats-same"):
            frame = at if kind == "stats" or top is None else top
            w.statistics(CAM, at, frame)
            heard = at
            vouched_since_down = vouched_since_down or top is None or frame > top
            top = frame if top is None else max(top, frame)
        elif kind == "state":
            w.heard(CAM, at, at)
            heard, vouched_since_down, top = at, True, at if top is None else max(top, at)
        elif kind == "will":
            w.availability(CAM, False, at, retained=retained)
            connected = False
        elif kind == "online":
            w.availability(CAM, True, at, retained=retained)
            connected, heard = True, heard if retained else at
        else:
            w.status(CAM, kind == "status-on", at, retained=retained)
            video, heard = kind == "status-on", heard if retained else at
        before = w.state(CAM)
        settle(w, at)
        if w.state(CAM) == "live":
            assert connected and video
            assert at - (heard or T0) <= OFFLINE_AFTER
            if before in ("silent", "gone"):
                assert vouched_since_down
        elif w.state(CAM) in ("silent", "gone") and before not in ("silent", "gone"):
            vouched_since_down = False


# --- the alert -------------------------------------------------------------------------------------------------


def _camera(name: str = "A区东侧") -> CameraConfig:
    zone = {"polygon": [[0, 0], [1, 0], [1, 1]]}
    return CameraConfig.model_validate(
        {
            "id": "cam-a-east",
            "name": name,
            "url": "rtsp://nvr/1",
            "windows": [{"window": w, **zone} for w in ("A01", "A02")],
        }
    )


def test_the_alert_says_which_camera_since_when_and_which_windows(hedong: MonitorConfig) -> None:
    since = dt.datetime(2026, 12, 7, 10, 2, tzinfo=hedong.hall.tz)
    alert = compose_camera_alert(_camera(), "silent", since, 7, hedong)
    assert (
        alert.message == "【设备告警】12月07日 10:02 A区东侧摄像头服务无响应，A01、A02窗口状态未知，请检查摄像头服务。"
    )
    assert (alert.id, alert.kind, alert.camera, alert.place, alert.windows) == (
        "alert-camera-cam-a-east-7",
        CAMERA_OFFLINE,
        "cam-a-east",
        "A区东侧",
        ["A01", "A02"],
    )
    assert alert.incident_id is None and Alert.from_json(alert.to_json()) == alert
    dark = compose_camera_alert(_camera(), "dark", since, 8, hedong, "连接超时")
    assert (
        dark.message
        == "【设备告警】12月07日 10:02 A区东侧摄像头离线（连接超时），A01、A02窗口状态未知，请检查摄像头及其视频线路。"
    )
    unnamed = compose_camera_alert(_camera(""), "gone", since, 9, hedong)
    assert unnamed.message.startswith("【设备告警】12月07日 10:02 A01、A02 摄像头服务无响应，")


def test_an_alert_is_an_incidents_or_a_cameras_whole() -> None:
    with pytest.raises(ValueError, match="camera_offline alert"):
        Alert(id="a", kind=CAMERA_OFFLINE, label="x", started_at=T0, message="m")
    with pytest.raises(ValueError, match="incident alert"):
        Alert(id="a", kind="late_arrival", label="迟到", started_at=T0, message="m")
