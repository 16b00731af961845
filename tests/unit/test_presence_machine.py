"""The presence machine, with injected time: states, hysteresis, incidents and their overlap rules."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from monitor.config import PresenceConfig
from monitor.core.calendar import DutySession
from monitor.core.presence import (
    NOTE_CAMERA_DARK,
    Leave,
    Observation,
    duty_periods,
    incident_id,
)
from tests.support.presence import TZ, at, incidents, machine, run, states

S = dt.timedelta(seconds=1)


def kinds(out):
    return [(i.kind, i.event) for i in incidents(out)]


def test_on_time_all_day_is_quiet_and_states_follow_the_sessions():
    out = run([("08:58", "12:05", True)])
    assert incidents(out) == []
    assert [(s.state, s.since) for s in states(out)] == [
        ("off_duty", at("08:58")),
        ("present", at("09:00")),
        ("off_duty", at("12:00")),
    ]


def test_late_arrival_dated_to_the_arrival_with_minutes_late():
    out = run([("08:58", "09:07", False), ("09:07", "09:30", True)])
    (late,) = incidents(out)
    assert late.kind == "late_arrival" and late.event == "new" and late.seq == 0
    assert late.started_at == at("09:07") == late.ended_at
    assert late.minutes == 7
    assert [(s.kind, s.frame) for s in late.shots] == [("session_start", "period_start"), ("arrival", "run_start")]
    assert [s.state for s in states(out)] == ["off_duty", "absent", "present"]


def test_arrival_within_grace_is_on_time():
    out = run([("08:58", "09:04:50", False), ("09:04:50", "09:30", True)])
    assert incidents(out) == []


def test_arrival_just_before_start_confirmed_after_start_is_on_time():
    out = run([("08:58", "08:59:50", False), ("08:59:50", "09:30", True)])
    assert incidents(out) == []


def test_arrival_after_the_empty_post_threshold_is_an_empty_post_from_session_start_not_late():
    out = run([("08:58", "09:18", False), ("09:18", "09:40", True)])
    assert kinds(out) == [("empty_post", "new"), ("empty_post", "end")]
    new, end = incidents(out)
    assert new.started_at == end.started_at == at("09:00")
    assert at("09:15") <= end.started_at + dt.timedelta(minutes=new.minutes) <= at("09:16")
    assert end.ended_at == at("09:18") and end.minutes == 18 and end.seq == 1
    assert [s.kind for s in new.shots] == ["session_start", "threshold"]  # nobody seen this session: the start
    assert [(s.kind, s.frame) for s in end.shots] == [("return", "run_start")]


def test_mid_session_absence_new_updates_end_with_increasing_seq():
    out = run([("08:58", "10:00", True), ("10:00", "10:32", False), ("10:32", "10:40", True)])
    events = incidents(out)
    assert [e.event for e in events] == ["new", "update", "update", "update", "end"]
    assert [e.seq for e in events] == [0, 1, 2, 3, 4]
    assert len({e.id for e in events}) == 1
    assert all(e.started_at == at("10:00") for e in events)
    assert events[0].minutes == 15 and events[1].minutes == 20
    assert events[-1].ended_at == at("10:32") and events[-1].minutes == 32
    assert [s.kind for s in events[0].shots] == ["last_seen", "threshold"]
    assert events[0].shots[0].frame == "last_seen"


def test_short_absences_under_the_threshold_are_nothing():
    out = run(
        [
            ("08:58", "10:00", True),
            ("10:00", "10:14", False),
            ("10:14", "10:20", True),
            ("10:20", "10:34", False),
            ("10:34", "11:00", True),
        ]
    )
    assert incidents(out) == []


def test_a_person_passing_through_does_not_confirm_presence():
    out = run([("08:58", "09:03", False), ("09:03", "09:03:08", True), ("09:03:08", "09:10", False)])
    assert [s.state for s in states(out)] == ["off_duty", "absent"]


def test_a_passer_by_does_not_interrupt_an_empty_post():
    out = run(
        [
            ("08:58", "10:00", True),
            ("10:00", "10:10", False),
            ("10:10", "10:10:05", True),
            ("10:10:05", "10:25", False),
            ("10:25", "10:30", True),
        ]
    )
    events = incidents(out)
    assert [e.event for e in events] == ["new", "update", "end"]
    assert events[0].started_at == at("10:00") and events[-1].ended_at == at("10:25")


def test_flickering_low_confidence_readings_are_smoothed():
    rng = random.Random(7)
    presence = machine()
    out = []
    moment = at("08:58")
    while moment < at("12:00"):
        out += presence.observe(Observation("F01", moment, rng.random() > 0.35))  # a seated person, 35% missed
        moment += S
    assert incidents(out) == []
    assert [s.state for s in states(out)] == ["off_duty", "present"]


def test_empty_seat_with_spurious_detections_is_still_an_empty_post():
    rng = random.Random(3)
    presence = machine()
    out = []
    moment = at("08:58")
    while moment < at("09:30"):
        out += presence.observe(Observation("F01", moment, rng.random() < 0.2))  # 20% false positives
        moment += S
    events = incidents(out)
    assert [(e.kind, e.event) for e in events] == [
        ("empty_post", "new"),
        ("empty_post", "update"),
        ("empty_post", "update"),
    ]
    assert events[0].started_at == at("09:00")


def test_camera_offline_mid_absence_neither_produces_nor_extends_an_empty_post():
    out = run(
        [
            ("08:58", "10:00", True),
            ("10:00", "10:10", False),
            ("10:10", "10:30", None),
            ("10:30", "10:40", False),
            ("10:40", "11:00", True),
        ]
    )
    assert incidents(out) == []
    assert [s.state for s in states(out)] == ["off_duty", "present", "absent", "unknown", "absent", "present"]


def test_camera_offline_ends_an_open_empty_post_at_the_moment_it_went_dark():
    out = run([("08:58", "10:00", True), ("10:00", "10:20", False), ("10:20", "11:00", None)])
    events = incidents(out)
    assert [e.event for e in events] == ["new", "end"]
    assert events[-1].ended_at == at("10:20") and events[-1].note == NOTE_CAMERA_DARK


def test_offline_camera_never_yields_incidents():
    out = run([("08:00", "18:00", None)], step=dt.timedelta(seconds=10))
    assert incidents(out) == []
    assert [s.state for s in states(out)] == ["off_duty", "unknown", "off_duty", "unknown", "off_duty"]


def test_worker_started_mid_session_calls_no_late_arrival():
    out = run([("09:30", "09:40", False), ("09:40", "10:00", True)])
    assert incidents(out) == []


def test_camera_dark_across_session_start_calls_no_late_arrival():
    out = run(
        [("08:50", "08:59", False), ("08:59", "09:05", None), ("09:05", "09:12", False), ("09:12", "09:30", True)]
    )
    assert incidents(out) == []


def test_session_never_staffed_is_one_empty_post_from_start_to_end_and_not_an_early_leave():
    out = run([("08:58", "12:05", False)], step=dt.timedelta(seconds=5))
    events = incidents(out)
    assert {e.kind for e in events} == {"empty_post"}
    assert events[0].event == "new" and events[-1].event == "end"
    assert events[-1].started_at == at("09:00") and events[-1].ended_at == at("12:00")
    assert events[-1].minutes == 180
    assert [s.kind for s in events[-1].shots] == ["session_end"]


def test_early_leave_before_end_minus_grace():
    out = run([("08:58", "11:47", True), ("11:47", "12:05", False)])
    (leave,) = incidents(out)
    assert leave.kind == "early_leave" and leave.event == "new"
    assert leave.started_at == at("11:47") and leave.ended_at == at("12:00") and leave.minutes == 13
    assert [s.kind for s in leave.shots] == ["last_seen", "session_end"]


def test_leaving_within_the_grace_or_at_lunch_is_not_an_early_leave():
    assert incidents(run([("08:58", "11:52", True), ("11:52", "12:05", False)])) == []
    assert incidents(run([("08:58", "12:00", True), ("12:00", "13:00", False)])) == []


def test_leaving_and_returning_before_the_end_is_not_an_early_leave():
    assert incidents(run([("08:58", "11:40", True), ("11:40", "11:48", False), ("11:48", "12:05", True)])) == []


def test_an_early_departure_that_became_an_empty_post_stays_an_empty_post():
    out = run([("08:58", "11:30", True), ("11:30", "12:05", False)], step=dt.timedelta(seconds=2))
    assert {e.kind for e in incidents(out)} == {"empty_post"}
    assert incidents(out)[-1].ended_at == at("12:00")


def test_absence_across_lunch_counts_from_the_afternoon_start():
    out = run([("11:00", "12:30", True), ("12:30", "13:40", False), ("13:40", "14:00", True)])
    (late,) = incidents(out)
    assert late.kind == "late_arrival" and late.minutes == 10


def test_approved_leave_suppresses_and_its_end_is_judged_like_a_start():
    leave = Leave("F01", at("09:00"), at("10:00"))
    assert incidents(run([("08:58", "10:03", False), ("10:03", "10:30", True)], leaves=[leave])) == []
    (late,) = incidents(run([("08:58", "10:08", False), ("10:08", "10:30", True)], leaves=[leave]))
    assert late.kind == "late_arrival" and late.minutes == 8
    whole = Leave("F01", at("08:00"), at("18:00"))
    out = run([("08:58", "17:10", False)], leaves=[whole], step=dt.timedelta(seconds=10))
    assert incidents(out) == []
    assert [(s.state, s.since) for s in states(out)] == [
        ("off_duty", at("08:58")),
        ("leave", at("09:00")),
        ("off_duty", at("12:00")),
        ("leave", at("13:30")),
        ("off_duty", at("17:00")),
    ]


def test_a_leave_starting_mid_absence_ends_the_empty_post_and_is_no_early_leave():
    leave = Leave("F01", at("11:00"), at("12:00"))
    out = run([("08:58", "10:30", True), ("10:30", "12:05", False)], leaves=[leave])
    events = incidents(out)
    assert {e.kind for e in events} == {"empty_post"}
    assert events[-1].event == "end" and events[-1].ended_at == at("11:00")
    assert [(s.state, s.since) for s in states(out)][-2:] == [("leave", at("11:00")), ("off_duty", at("12:00"))]


def test_closed_day_is_off_duty():
    presence = machine()
    saturday = dt.datetime(2020, 11, 7, 10, 0, tzinfo=TZ)
    out = []
    for k in range(0, 3600, 10):
        out += presence.observe(Observation("F01", saturday + dt.timedelta(seconds=k), False))
    assert incidents(out) == [] and [s.state for s in states(out)] == ["off_duty"]


def test_ids_are_stable_across_runs_and_distinct_per_incident():
    script = [("08:58", "09:07", False), ("09:07", "10:00", True), ("10:00", "10:20", False), ("10:20", "10:30", True)]
    first, second = incidents(run(script)), incidents(run(script))
    assert [e.id for e in first] == [e.id for e in second]
    assert len({e.id for e in first}) == 2
    assert first[0].id == incident_id("cam1", "F01", "late_arrival", at("09:07"))
    assert incident_id("cam2", "F01", "late_arrival", at("09:07")) != first[0].id
    assert all(len(e.id) <= 64 for e in first)


def test_ticks_close_periods_without_readings_and_judge_nothing():
    presence = machine()
    out = []
    moment = at("09:40")
    while moment < at("10:00"):
        out += presence.observe(Observation("F01", moment, True))
        moment += S
    while moment < at("10:40"):
        out += presence.observe(Observation("F01", moment, False))
        moment += S
    out += presence.tick(at("12:30"))
    events = incidents(out)
    assert [e.event for e in events][-1] == "end" and events[-1].ended_at == at("12:00")
    assert states(out)[-1].state == "off_duty"


def test_time_going_backwards_is_refused():
    presence = machine()
    presence.observe(Observation("F01", at("09:00"), True))
    with pytest.raises(ValueError, match="backwards"):
        presence.observe(Observation("F01", at("08:59"), True))


def test_unknown_window_is_refused():
    with pytest.raises(KeyError):
        machine().observe(Observation("X99", at("09:00"), True))


def test_duty_periods_cut_sessions_by_leave():
    s = DutySession("上午", at("09:00"), at("12:00"))
    periods = duty_periods([s], [Leave("F01", at("10:00"), at("10:30")), Leave("F01", at("11:30"), at("13:00"))])
    assert [(p.start, p.end, p.closes_session) for p in periods] == [
        (at("09:00"), at("10:00"), False),
        (at("10:30"), at("11:30"), False),
    ]
    assert [p.closes_session for p in duty_periods([s], [])] == [True]


def test_config_refuses_ratio_at_or_below_half():
    with pytest.raises(ValueError):
        PresenceConfig(confirm_ratio=0.5)


def test_two_windows_are_judged_independently():
    presence = machine(windows=("F01", "F02"))
    out = []
    moment = at("08:58")
    while moment < at("09:30"):
        out += presence.observe(Observation("F01", moment, True))
        out += presence.observe(Observation("F02", moment, moment >= at("09:10")))
        moment += S
    assert [(e.window, e.kind) for e in incidents(out)] == [("F02", "late_arrival")]
    assert presence.states() == {"F01": "present", "F02": "present"}
