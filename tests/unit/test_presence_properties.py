"""Properties of the presence machine over random seat timelines (hypothesis)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.config import PresenceConfig
from monitor.core.presence import IncidentChange, Observation
from tests.support.presence import CALENDAR, DAY, TZ, machine

STEP = dt.timedelta(seconds=10)
CONFIG = PresenceConfig(
    late_grace="2m", empty_post_after="4m", arrive_after="30s", leave_after="60s", update_every="2m"
)
START = dt.datetime.combine(DAY, dt.time(8, 50), TZ)

segments = st.lists(
    st.tuples(st.integers(min_value=1, max_value=200), st.sampled_from([True, False, None])), min_size=1, max_size=25
)


def readings(script: list[tuple[int, bool | None]]) -> list[tuple[dt.datetime, bool | None]]:
    out, moment = [], START
    for steps, value in script:
        for _ in range(steps):
            out.append((moment, value))
            moment += STEP
    return out


def replay(series: list[tuple[dt.datetime, bool | None]]) -> list:
    presence = machine(CONFIG)
    out = []
    for moment, value in series:
        out += presence.observe(Observation("F01", moment, value))
    return out


def session_of(moment: dt.datetime):
    return next((s for s in CALENDAR.sessions_on(DAY) if s.start <= moment <= s.end), None)


@settings(max_examples=150, deadline=None)
@given(segments)
def test_lifecycles_are_well_formed_and_never_cover_unknown_time(script):
    series = readings(script)
    out = replay(series)
    assert out == replay(series), "deterministic"
    by_id: dict[str, list[IncidentChange]] = defaultdict(list)
    for change in out:
        if isinstance(change, IncidentChange):
            by_id[change.id].append(change)
    unknown = [moment for moment, value in series if value is None]
    for events in by_id.values():
        first = events[0]
        assert [e.seq for e in events] == list(range(len(events)))
        assert first.event == "new" and all(e.event == "update" for e in events[1:-1])
        assert len({(e.kind, e.started_at) for e in events}) == 1
        session = session_of(first.started_at)
        assert session is not None, "incidents lie in duty time"
        if first.kind == "empty_post":
            if len(events) > 1:
                assert events[-1].event in ("end", "update")
            end = events[-1].ended_at if events[-1].event == "end" else series[-1][0]
            assert end <= session.end
            if events[-1].event == "end":
                assert end - first.started_at >= CONFIG.empty_post_after
            assert not any(first.started_at <= u < end for u in unknown), "unknown time is never absence"
        else:
            assert len(events) == 1
        if first.kind == "late_arrival":
            assert first.started_at > session.start + CONFIG.late_grace
            assert not any(session.start <= u <= first.started_at for u in unknown)
            assert first.minutes == int((first.started_at - session.start).total_seconds() // 60)
        if first.kind == "early_leave":
            assert first.started_at < session.end - CONFIG.early_leave_grace
            assert first.ended_at == session.end


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 300), st.sampled_from([True, None])), min_size=1, max_size=20))
def test_a_seat_never_seen_empty_yields_no_incident(script):
    out = replay(readings(script))
    assert not [c for c in out if isinstance(c, IncidentChange)]


@settings(max_examples=150, deadline=None)
@given(segments)
def test_a_long_observed_absence_in_a_session_is_never_lost(script):
    series = readings(script)
    out = replay(series)
    posts: dict[str, tuple[dt.datetime, dt.datetime]] = {}
    for change in out:
        if isinstance(change, IncidentChange) and change.kind == "empty_post":
            posts[change.id] = (change.started_at, change.ended_at or series[-1][0])
    needed = CONFIG.empty_post_after + CONFIG.arrive_after + CONFIG.leave_after + 2 * STEP
    for session in CALENDAR.sessions_on(DAY):
        run_start = None
        for moment, value in [*series, (series[-1][0] + STEP, None)]:
            inside = session.start <= moment < session.end
            if value is False and inside:
                run_start = run_start or moment
                continue
            if run_start is not None and moment - run_start >= needed:
                assert any(s < moment and e > run_start for s, e in posts.values()), (run_start, moment)
            run_start = None
