"""Leave with a kind, withdrawn or changed, and reinstated dismissals: the pure parts.

`revised` gives a leave's time after a withdrawal or change (or refuses it), `changed_time` the time a change
touches, `months_of` the months that lie in; the contract reads an older grant's kind from its reason without
touching what was signed, and the new records (LeaveChange, Reinstatement, a Dismissal with an id) parse, sign and
verify, or are refused with a ContractError and nothing else, whatever they hold."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from itertools import pairwise

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from monitor.config import PresenceConfig, SignerConfig
from monitor.contract import (
    ApprovedLeave,
    ContractError,
    Dismissal,
    LeaveChange,
    LeaveGrant,
    Reinstatement,
    WindowLeaves,
    leave_kind_of,
    leave_why,
)
from monitor.core.admission import Refused
from monitor.core.leave_changes import Span, changed_time, months_of, revised
from monitor.core.presence import Leave, Observation, Output, whole_minutes
from monitor.core.signature import SigningKey, Unauthenticated, kind_of, signed_bytes, verify
from tests.support.presence import at as clock
from tests.support.presence import incidents, machine, states

TZ = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2020, 11, 6, 10, 0, tzinfo=TZ)
TOLERANCE = dt.timedelta(minutes=2)
BOSS = SigningKey.generate("主任")
SIGNERS = {"主任": SignerConfig(name="主任", role="supervisor", public_key=BOSS.public_text())}


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2020, 11, day, hour, minute, tzinfo=TZ)


def withdrawal(decided: dt.datetime, leave_id: str = "leave-1") -> LeaveChange:
    return LeaveChange(id="w-1", leave_id=leave_id, action="withdraw", reason="提前返岗", by="主任", at=decided)


def change(start: dt.datetime, end: dt.datetime) -> LeaveChange:
    return LeaveChange(
        id="c-1", leave_id="leave-1", action="change", start=start, end=end, reason="延长病假", by="主任", at=NOW
    )


def after(current: Span, record: LeaveChange, *, withdrawn: bool = False) -> Span:
    return revised(current, record, withdrawn=withdrawn, now=NOW, tolerance=TOLERANCE, tz=TZ)


# --- revised ----------------------------------------------------------------------------------------------------

MORNING = Span(at(6, 9), at(6, 12))


def test_a_withdrawal_under_way_ends_the_leave_when_decided_and_keeps_what_it_covered() -> None:
    assert after(MORNING, withdrawal(at(6, 9, 40))) == Span(at(6, 9), at(6, 9, 40))


def test_a_leave_withdrawn_before_it_began_covers_nothing() -> None:
    left = after(Span(at(9, 9), at(9, 12)), withdrawal(NOW))
    assert left.empty and left.start == at(9, 9)


@pytest.mark.parametrize(
    ("current", "record", "withdrawn", "reason"),
    [
        pytest.param(MORNING, withdrawal(NOW), True, "leave leave-1 is withdrawn", id="withdrawn-again"),
        pytest.param(MORNING, change(at(6, 9), at(6, 10)), True, "leave leave-1 is withdrawn", id="withdrawn-changed"),
        pytest.param(
            Span(at(5, 9), at(5, 12)), withdrawal(NOW), False, r"ended 2020-11-05 12:00: nothing is left", id="over"
        ),
        pytest.param(Span(at(6, 8), NOW), withdrawal(NOW), False, "ended 2020-11-06 10:00", id="decided-as-it-ends"),
        pytest.param(
            MORNING, withdrawal(NOW + TOLERANCE + dt.timedelta(seconds=1)), False, "in the future", id="future"
        ),
        pytest.param(MORNING, change(at(6, 11), at(6, 11)), False, "ends before it starts", id="empty-change"),
        pytest.param(MORNING, change(at(6, 11), at(6, 10)), False, "ends before it starts", id="backwards"),
    ],
)
def test_refused(current: Span, record: LeaveChange, withdrawn: bool, reason: str) -> None:
    with pytest.raises(Refused, match=reason):
        after(current, record, withdrawn=withdrawn)


def test_a_change_gives_the_new_time_shorter_longer_or_moved() -> None:
    assert after(MORNING, change(at(6, 9), at(6, 10))) == Span(at(6, 9), at(6, 10))
    assert after(MORNING, change(at(6, 9), at(9, 12))) == Span(at(6, 9), at(9, 12))
    assert after(MORNING, change(at(2, 9), at(2, 12))) == Span(at(2, 9), at(2, 12))  # the past may be corrected


# --- the time a change touches ------------------------------------------------------------------------------------


def test_changed_time_is_what_was_leave_and_is_no_more_or_the_other_way_round() -> None:
    assert changed_time(MORNING, Span(at(6, 9), at(6, 10))) == [Span(at(6, 10), at(6, 12))]
    assert changed_time(MORNING, Span(at(6, 8), at(6, 13))) == [Span(at(6, 8), at(6, 9)), Span(at(6, 12), at(6, 13))]
    assert changed_time(MORNING, Span(at(6, 9), at(6, 9))) == [MORNING]
    assert changed_time(MORNING, MORNING) == []


MOMENTS = st.integers(0, 24 * 60).map(lambda minutes: at(1, 0) + dt.timedelta(minutes=minutes * 67))
SPANS = st.tuples(MOMENTS, MOMENTS).map(lambda pair: Span(*pair))


@given(SPANS, SPANS, MOMENTS)
def test_property_a_moment_is_in_the_changed_time_exactly_when_one_span_covers_it_and_the_other_not(
    before: Span, later: Span, moment: dt.datetime
) -> None:
    def covers(span: Span) -> bool:
        return span.start <= moment < span.end

    pieces = changed_time(before, later)
    assert all(not p.empty for p in pieces)
    assert all(a.end <= b.start for a, b in pairwise(pieces)), "in order, not overlapping"
    assert any(covers(p) for p in pieces) == (covers(before) != covers(later))


def test_months_of_the_halls_time() -> None:
    late_november = Span(dt.datetime(2020, 11, 30, 23, 0, tzinfo=TZ), dt.datetime(2020, 12, 1, 0, 0, tzinfo=TZ))
    assert months_of([late_november], TZ) == ["2020-11"]  # ends as December begins
    assert months_of([late_november], dt.UTC) == ["2020-11"]
    across = Span(dt.datetime(2020, 10, 31, 9, 0, tzinfo=TZ), dt.datetime(2021, 1, 1, 9, 0, tzinfo=TZ))
    assert months_of([across, MORNING], TZ) == ["2020-10", "2020-11", "2020-12", "2021-01"]
    assert months_of([Span(NOW, NOW)], TZ) == []


# --- kinds ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "kind", "why"),
    [
        ("公出：市局培训", "公出", "市局培训"),
        ("公出:市局培训", "公出", "市局培训"),
        ("请假：家中有事", "请假", "家中有事"),
        ("公出", "公出", "公出"),
        ("病假", "请假", "病假"),
        ("请假：", "请假", "请假："),
        ("", "请假", ""),
    ],
)
def test_an_older_grants_kind_and_why_are_read_from_its_reason(reason: str, kind: str, why: str) -> None:
    assert leave_kind_of(reason) == kind
    assert leave_why(kind, reason) == why


def grant(**fields: object) -> LeaveGrant:
    base: dict[str, object] = {"id": "l-1", "window": "C20", "start": at(6, 9), "end": at(6, 12), "by": "主任"}
    return LeaveGrant.model_validate({"reason": "公出：市局培训", "at": NOW, **base, **fields})


def test_an_older_grant_keeps_what_was_signed_and_says_its_kind() -> None:
    older = BOSS.sign(grant())
    again = LeaveGrant.from_json(older.to_json())
    assert again.kind is None and again.leave_kind == "公出"
    assert b'"kind"' not in signed_bytes(again)
    assert verify(again, SIGNERS).name == "主任"


def test_a_grant_with_a_kind_may_leave_the_reason_empty_and_one_without_may_not() -> None:
    assert grant(kind="请假", reason="").leave_kind == "请假"
    with pytest.raises(ValidationError, match="says 请假 or 公出 in its reason"):
        grant(reason="")
    with pytest.raises(ValidationError, match="kind"):
        grant(kind="病假")


def test_an_older_leave_list_parses_with_the_kind_its_reason_says() -> None:
    older = {"schema": 1, "window": "C20", "at": NOW.isoformat(), "leaves": []}
    leave = {"id": "l-1", "start": at(6, 9).isoformat(), "end": at(6, 12).isoformat(), "reason": "公出：市局培训"}
    listed = WindowLeaves.from_json(json.dumps({**older, "leaves": [leave]}))
    assert listed.leaves[0].kind == "公出"
    assert ApprovedLeave.model_validate({**leave, "kind": "请假", "reason": ""}).kind == "请假"


def test_a_change_gives_a_time_and_a_withdrawal_none() -> None:
    with pytest.raises(ValidationError, match="gives the leave's new start and end"):
        LeaveChange(id="c", leave_id="l", action="change", start=NOW, reason="r", at=NOW)
    with pytest.raises(ValidationError, match="gives no start or end"):
        LeaveChange(id="c", leave_id="l", action="withdraw", end=NOW, reason="r", at=NOW)
    with pytest.raises(ValidationError, match="at least 1 character"):
        LeaveChange(id="c", leave_id="l", action="withdraw", reason="", at=NOW)


# --- signing ----------------------------------------------------------------------------------------------------

RECORDS = [
    withdrawal(NOW),
    change(at(6, 9), at(6, 10)),
    Reinstatement(id="r-1", incident_id="i-1", reason="撤销有误", by="主任", at=NOW),
    Dismissal(id="d-1", incident_id="i-1", reason="申诉成立", by="主任", at=NOW),
]


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: type(r).__name__)
def test_new_records_are_signed_for_their_kind_only(record: LeaveChange | Reinstatement | Dismissal) -> None:
    signed = BOSS.sign(record)
    again = type(record).from_json(signed.to_json())
    assert verify(again, SIGNERS).name == "主任"
    assert f"\n{kind_of(record)}\n".encode() in signed_bytes(again)
    altered = again.model_copy(update={"reason": "别的理由"})
    with pytest.raises(Unauthenticated, match="the signature is not 主任's"):
        verify(altered, SIGNERS)


# --- fuzz: anything sent on the new topics parses or is a ContractError ------------------------------------------

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.sampled_from(["withdraw", "change", "请假", "公出", "\x00", "a/b", NOW.isoformat(), "9999-12-31T00:00:00Z"])
)
FIELDS = ["id", "leave_id", "incident_id", "action", "start", "end", "reason", "by", "at", "signer", "signature"]


def valid_json(record: LeaveChange | Reinstatement) -> dict[str, object]:
    return json.loads(BOSS.sign(record).to_json())


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from([withdrawal(NOW), change(at(6, 9), at(6, 10)), RECORDS[2]]),
    st.dictionaries(st.sampled_from([*FIELDS, "extra", "schema"]), SCALARS, max_size=4),
    st.lists(st.sampled_from(FIELDS), max_size=3),
)
def test_property_a_mutated_record_parses_or_is_a_contract_error(
    record: LeaveChange | Reinstatement, changes: dict[str, object], dropped: list[str]
) -> None:
    data = {**valid_json(record), **changes}
    for name in dropped:
        data.pop(name, None)
    try:
        parsed = type(record).from_json(json.dumps(data))
    except ContractError:
        return
    # What parses is what it says, and says it again the same way.
    assert type(record).from_json(parsed.to_json()) == parsed
    if isinstance(parsed, LeaveChange):
        assert (parsed.start is None) == (parsed.end is None) == (parsed.action == "withdraw")


# --- the camera side: a window whose leave is withdrawn or changed is judged from then -------------------------


def feed_with_lists(
    segments: Sequence[tuple[str, str, bool]], lists: Sequence[tuple[str, Sequence[Leave]]], leaves: Sequence[Leave]
) -> list[Output]:
    """F01's seat read every second; each (HH:MM, leaves) list replaces its leave before that reading, as the
    recorder's republished list does in the camera service (`take_leaves` → `set_leaves`)."""
    presence = machine(leaves=leaves)
    pending = sorted(((clock(when), given) for when, given in lists), key=lambda p: p[0])
    out: list[Output] = []
    for start, end, reading in segments:
        moment = clock(start)
        while moment < clock(end):
            while pending and pending[0][0] <= moment:
                presence.set_leaves("F01", pending.pop(0)[1])
            out.extend(presence.observe(Observation("F01", moment, reading)))
            moment += dt.timedelta(seconds=1)
    return out


def on_leave(start: str, end: str) -> Leave:
    return Leave("F01", clock(start), clock(end))


def test_a_withdrawn_leave_puts_an_empty_seat_back_on_duty_and_raises_an_empty_post_after_the_usual_grace() -> None:
    # Withdrawn at 09:30: the recorder's next list leaves it out (it ended then).
    out = feed_with_lists([("08:58", "10:10", False)], [("09:30", [])], [on_leave("09:00", "12:00")])
    assert [(s.state, s.since) for s in states(out)] == [
        ("off_duty", clock("08:58")),
        ("leave", clock("09:00")),
        ("absent", clock("09:29:59")),
    ]
    new = next(e for e in incidents(out) if e.event == "new")
    grace = PresenceConfig()
    assert new.kind == "empty_post" and new.started_at == clock("09:29:59")
    # Raised once the seat was empty for the usual threshold (and the arrival confirmation span) after duty resumed.
    assert new.minutes == whole_minutes(grace.empty_post_after + grace.arrive_after)


def test_a_leave_shortened_or_extended_under_way_is_judged_by_its_new_end() -> None:
    shortened = feed_with_lists(
        [("08:58", "10:40", False)], [("09:30", [on_leave("09:00", "10:00")])], [on_leave("09:00", "12:00")]
    )
    assert {e.started_at for e in incidents(shortened)} == {clock("10:00")}
    assert [s.state for s in states(shortened)] == ["off_duty", "leave", "absent"]
    extended = feed_with_lists(
        [("08:58", "10:40", False)], [("09:30", [on_leave("09:00", "11:00")])], [on_leave("09:00", "10:00")]
    )
    assert incidents(extended) == []
    assert [s.state for s in states(extended)] == ["off_duty", "leave"]
