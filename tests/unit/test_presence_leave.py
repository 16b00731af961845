"""Approved leave in the presence machine: the `leave` state, and leave handed over at run time (set_leaves)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.config import PresenceConfig
from monitor.core.presence import IncidentChange, Leave, Observation, Output, PresenceMachine
from tests.support.presence import CALENDAR, DAY, TZ, Segment, at, incidents, machine, states

S = dt.timedelta(seconds=1)


def run_granting(
    segments: Sequence[Segment],
    grants: Sequence[tuple[str, Sequence[Leave]]],
    *,
    leaves: Sequence[Leave] = (),
    config: PresenceConfig | None = None,
    step: dt.timedelta = S,
    presence: PresenceMachine | None = None,
) -> list[Output]:
    """Feed the timeline; each (HH:MM[:SS], leaves) grant replaces F01's leave just before that reading."""
    presence = presence or machine(config, leaves)
    pending = sorted(((at(clock), given) for clock, given in grants), key=lambda g: g[0])
    out: list[Output] = []
    for start, end, reading in segments:
        moment, stop = at(start), at(end)
        while moment < stop:
            while pending and pending[0][0] <= moment:
                presence.set_leaves("F01", pending.pop(0)[1])
            out.extend(presence.observe(Observation("F01", moment, reading)))
            moment += step
    return out


def leave(start: str, end: str, window: str = "F01") -> Leave:
    return Leave(window, at(start), at(end))


def timeline(out: Sequence[Output]) -> list[tuple[str, dt.datetime]]:
    return [(s.state, s.since) for s in states(out)]


def test_leave_granted_ahead_shows_leave_for_its_time_in_the_session():
    out = run_granting([("08:58", "12:05", True)], [("10:00", [leave("10:30", "11:00")])])
    assert incidents(out) == []
    assert timeline(out) == [
        ("off_duty", at("08:58")),
        ("present", at("09:00")),
        ("leave", at("10:30")),
        ("present", at("11:00")),
        ("off_duty", at("12:00")),
    ]


def test_a_leave_across_lunch_is_leave_in_the_sessions_and_off_duty_between():
    out = run_granting([("10:50", "14:10", True)], [("10:55", [leave("11:00", "14:00")])], step=dt.timedelta(seconds=5))
    assert [state for state, _ in timeline(out)][:2] == ["unknown", "present"]
    assert timeline(out)[2:] == [
        ("leave", at("11:00")),
        ("off_duty", at("12:00")),
        ("leave", at("13:30")),
        ("present", at("14:00")),
    ]
    assert incidents(out) == []


def test_a_leave_starting_while_an_empty_post_is_open_ends_it_at_the_leaves_start():
    out = run_granting(
        [("08:58", "10:00", True), ("10:00", "12:05", False)],
        [("10:20", [leave("10:40", "12:00")])],
        step=dt.timedelta(seconds=2),
    )
    events = incidents(out)
    assert {e.kind for e in events} == {"empty_post"} and len({e.id for e in events}) == 1
    assert [e.event for e in events] == ["new"] + ["update"] * (len(events) - 2) + ["end"]
    assert events[-1].started_at == at("10:00") and events[-1].ended_at == at("10:40") and events[-1].minutes == 40
    assert timeline(out)[-2:] == [("leave", at("10:40")), ("off_duty", at("12:00"))]  # and no early leave


def test_leave_granted_after_the_fact_ends_the_open_empty_post_where_it_began_and_raises_nothing_inside():
    script = [("08:58", "10:00", True), ("10:00", "10:30", False), ("10:30", "11:30", True)]
    out = run_granting(script, [("10:20", [leave("10:10", "11:00")])])
    events = incidents(out)
    assert [e.event for e in events] == ["new", "end"]
    assert events[0].started_at == at("10:00") and events[0].minutes == 15
    assert events[1].ended_at == at("10:10") and events[1].minutes == 10
    # On leave from 10:10, back at 10:30; duty again at 11:00 with the seat staffed: no late arrival.
    assert timeline(out)[-3:] == [("absent", at("10:00")), ("leave", at("10:10")), ("present", at("11:00"))]


def test_leave_granted_after_the_fact_that_began_before_the_empty_post_ends_it_at_its_own_start():
    script = [("08:58", "10:00", True), ("10:00", "10:25", False), ("10:25", "11:30", True)]
    out = run_granting(script, [("10:20", [leave("09:30", "11:00")])])
    new, end = incidents(out)
    assert new.started_at == at("10:00")
    assert end.event == "end" and end.ended_at == end.started_at == at("10:00") and end.minutes == 0
    assert timeline(out)[-2:] == [("leave", at("09:30")), ("present", at("11:00"))]


def test_leave_granted_after_the_fact_over_an_absence_suppresses_it_and_duty_after_it_is_judged_afresh():
    script = [("08:58", "10:00", True), ("10:00", "11:40", False)]
    out = run_granting(script, [("10:10", [leave("10:05", "11:00")])])
    events = incidents(out)
    assert [e.event for e in events][:2] == ["new", "update"]  # an empty post of the duty after the leave only
    assert all(e.started_at == at("11:00") for e in events) and len({e.id for e in events}) == 1
    assert timeline(out)[-3:] == [("absent", at("10:00")), ("leave", at("10:05")), ("absent", at("11:00"))]


def test_a_late_arrival_after_a_leave_granted_while_on_it_counts_from_the_leaves_end():
    out = run_granting([("08:58", "10:08", False), ("10:08", "10:30", True)], [("09:05", [leave("09:00", "10:00")])])
    (late,) = incidents(out)
    assert late.kind == "late_arrival" and late.minutes == 8


def test_the_same_list_again_changes_nothing():
    script = [("08:58", "10:00", True), ("10:00", "12:05", False)]
    grant = [leave("10:40", "12:00"), leave("10:40", "12:00")]
    once = run_granting(script, [("10:20", grant)])
    again = run_granting(script, [("10:20", grant), ("10:21", list(reversed(grant))), ("11:00", grant)])
    assert again == once
    ahead = run_granting(script, [("08:00", grant)])
    assert ahead == run_granting(script, [], leaves=grant)  # before the first reading: as if configured


def test_leave_that_has_ended_and_is_left_out_of_the_next_list_changes_nothing_already_judged():
    script = [("08:58", "10:02", False), ("10:02", "10:30", True), ("10:30", "11:30", False)]
    with_leave = run_granting(script, [], leaves=[leave("09:00", "10:00")])
    left_out = run_granting(script, [("10:20", [])], leaves=[leave("09:00", "10:00")])
    assert left_out == with_leave
    first = incidents(left_out)[0]
    assert (first.kind, first.started_at) == ("empty_post", at("10:30"))


def test_duty_resumes_when_the_leave_under_way_is_taken_away():
    # Taken away before the reading at 09:30: duty from the machine's last moment, 09:29:59.
    out = run_granting([("08:58", "09:50", False)], [("09:30", [])], leaves=[leave("09:00", "12:00")])
    assert timeline(out) == [("off_duty", at("08:58")), ("leave", at("09:00")), ("absent", at("09:29:59"))]
    assert {e.started_at for e in incidents(out)} == {at("09:29:59")}  # not from 09:00: that was leave


def test_a_dark_camera_on_leave_shows_leave_and_ticks_follow_it():
    presence = machine()
    presence.set_leaves("F01", [leave("10:00", "11:00")])
    out = presence.observe(Observation("F01", at("09:58"), None))
    out += presence.tick(at("10:30"))
    out += presence.tick(at("11:30"))
    assert timeline(out) == [("unknown", at("09:58")), ("leave", at("10:00")), ("unknown", at("11:00"))]
    assert presence.states() == {"F01": "unknown"}


def test_leaves_of_other_windows_are_ignored_and_unknown_windows_refused():
    presence = machine(windows=("F01", "F02"))
    presence.set_leaves("F01", [leave("09:00", "12:00", "F02")])
    out = [change for w in ("F01", "F02") for change in presence.observe(Observation(w, at("10:00"), True))]
    assert {s.state for s in states(out)} == {"unknown"}  # duty: the seats are not yet confirmed
    with pytest.raises(KeyError):
        presence.set_leaves("X99", [])


# --- properties over random timelines and grants ---

STEP = dt.timedelta(seconds=10)
CONFIG = PresenceConfig(
    late_grace="2m", empty_post_after="4m", arrive_after="30s", leave_after="60s", update_every="2m"
)
START = dt.datetime.combine(DAY, dt.time(8, 50), TZ)
minutes = st.integers(min_value=0, max_value=200)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 120), st.sampled_from([True, False, None])), min_size=1, max_size=20),
    minutes,
    st.integers(1, 120),
    minutes,
)
def test_no_incident_starts_inside_leave_and_leave_time_shows_leave(script, begins, lasts, granted):
    """Leave [begins, begins + lasts) minutes after 08:50, granted `granted` minutes after 08:50 (before, during
    or after it): lifecycles stay well formed, nothing starts inside it, an empty post open when it begins ends
    there (or at its own start), and once known its time inside the sessions reads `leave`."""
    grant = Leave("F01", START + dt.timedelta(minutes=begins), START + dt.timedelta(minutes=begins + lasts))
    given_at = START + dt.timedelta(minutes=granted)
    presence = machine(CONFIG)
    moment, known = START, False
    out: list[tuple[dt.datetime, Output]] = []
    for steps, value in script:
        for _ in range(steps):
            if not known and moment >= given_at:
                presence.set_leaves("F01", [grant])
                known = True
            out += [(moment, change) for change in presence.observe(Observation("F01", moment, value))]
            in_session = any(s.start <= moment < s.end for s in CALENDAR.sessions_on(DAY))
            if known and in_session and grant.start <= moment < grant.end:
                assert presence.states()["F01"] == "leave", moment
            elif not in_session:
                assert presence.states()["F01"] == "off_duty", moment
            moment += STEP
    by_id: dict[str, list[tuple[dt.datetime, IncidentChange]]] = {}
    for when, change in out:
        if isinstance(change, IncidentChange):
            by_id.setdefault(change.id, []).append((when, change))
    for events in by_id.values():
        first = events[0][1]
        assert [e.seq for _, e in events] == list(range(len(events)))
        assert first.event == "new" and all(e.event == "update" for _, e in events[1:-1])
        assert all(e.event != "end" for _, e in events[:-1])
        if events[0][0] >= given_at:  # raised once the leave was known
            assert not grant.start <= first.started_at < grant.end
        end = events[-1][1]
        if end.event == "end" and events[-1][0] >= given_at and first.started_at < grant.end:
            assert end.ended_at is not None
            assert end.ended_at <= max(grant.start, first.started_at) or first.started_at >= grant.end
