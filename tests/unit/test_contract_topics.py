"""The contract's edges: Topics builds and parses every topic under a prefix and nothing else, ids that would
name another topic level are refused, `storable` keeps any text storable, and `check_fresh` refuses the future,
a camera's old incident and a finding for a month whose notice is issued (unless a supervisor corrects it)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from monitor.contract import (
    Addressed,
    ApprovedLeave,
    Dismissal,
    IncidentEvent,
    LeaveGrant,
    Receipt,
    Topics,
    WindowLeaves,
    WindowState,
)
from monitor.core.admission import Freshness, Refused, check_fresh
from monitor.formatting import storable

PREFIX = "test/ab12"
T = Topics(PREFIX)
TZ = dt.timezone(dt.timedelta(hours=8))
AT = dt.datetime(2020, 11, 4, 9, 12, tzinfo=TZ)

# --- Topics: built here, parsed here ---------------------------------------------------------------------------

BUILT: list[tuple[str, Addressed]] = [
    (T.incidents, Addressed("incidents")),
    (T.dismissals, Addressed("dismissals")),
    (T.leaves, Addressed("leaves")),
    (T.leave_changes, Addressed("leave_changes")),
    (T.reinstatements, Addressed("reinstatements")),
    (T.alerts, Addressed("alerts")),
    (T.system_alerts, Addressed("system_alerts")),
    (T.rejected, Addressed("rejected")),
    (T.recorder_heartbeat, Addressed("heartbeat")),
    (
        T.evidence("cam-03-C25-empty_post-20201124T141000", "threshold.jpg"),
        Addressed("evidence", "cam-03-C25-empty_post-20201124T141000", "threshold.jpg"),
    ),
    (T.window_state("C25"), Addressed("window_state", "C25")),
    (T.window_leaves("C25"), Addressed("window_leaves", "C25")),
    (T.camera_status("cam-03"), Addressed("camera_status", "cam-03")),
    (T.camera_stats("cam-03"), Addressed("camera_stats", "cam-03")),
    (T.camera_liveness("cam-03"), Addressed("camera_liveness", "cam-03")),
    (T.availability("recorder"), Addressed("availability", "recorder")),
    (T.receipt("incident", "patrol-0123456789ab"), Addressed("receipt", "incident", "patrol-0123456789ab")),
    (T.receipt("dismissal", "cam-x"), Addressed("receipt", "dismissal", "cam-x")),
    (T.receipt("leave_change", "leave-change-1"), Addressed("receipt", "leave_change", "leave-change-1")),
    (T.owner("test-ab12-recorder"), Addressed("owner", "test-ab12-recorder")),
    (T.notice("monthly"), Addressed("notice", "monthly")),
]


@pytest.mark.parametrize(("topic", "expected"), BUILT, ids=[t.removeprefix(PREFIX + "/") for t, _ in BUILT])
def test_every_topic_built_parses_back_to_what_built_it(topic: str, expected: Addressed) -> None:
    assert T.parse(topic) == expected


def test_the_built_topics_are_all_different_kinds_of_address() -> None:
    """No two builders make a topic that parses alike (the table above covers every kind)."""
    parsed = [T.parse(topic) for topic, _ in BUILT]
    assert len(set(parsed)) == len(parsed)
    assert {a.kind for a in parsed if a is not None} == {
        "incidents", "dismissals", "leaves", "leave_changes", "reinstatements", "alerts", "system_alerts",
        "rejected", "heartbeat", "evidence", "window_state", "window_leaves", "camera_status", "camera_stats",
        "camera_liveness", "availability", "receipt", "owner", "notice",
    }  # fmt: skip


@pytest.mark.parametrize(
    "topic",
    [
        # other prefixes, or the prefix itself
        "other/incidents",
        "test/ab13/incidents",
        "test/ab12x/incidents",
        "test/incidents",
        "ab12/incidents",
        "test/ab12",
        "test/ab12/",
        "/test/ab12/incidents",
        "TEST/AB12/incidents",
        "",
        "incidents",
        # wildcards
        "test/ab12/#",
        "test/ab12/+",
        "test/ab12/evidence/+/+",
        "test/ab12/windows/+/state",
        "test/ab12/receipts/incident/#",
        "test/ab12/evidence/a+b/x.jpg",
        "test/ab12/evidence/ab/x#.jpg",
        "test/+/incidents",
        # empty levels
        "test/ab12//incidents",
        "test/ab12/incidents/",
        "test/ab12/evidence//a.jpg",
        "test/ab12/evidence/cam-ev/",
        "test/ab12/windows//state",
        "test/ab12/receipts//x",
        "test/ab12/alerts//system",
        # extra levels
        "test/ab12/incidents/x",
        "test/ab12/alerts/system/x",
        "test/ab12/recorder/heartbeat/x",
        "test/ab12/evidence/cam-ev/a/b.jpg",
        "test/ab12/windows/C25/state/x",
        "test/ab12/windows/C25/leaves/x",
        "test/ab12/cameras/cam-03/status/x",
        "test/ab12/availability/recorder/x",
        "test/ab12/receipts/incident/x/y",
        "test/ab12/recorders/s/owner/x",
        "test/ab12/notices/monthly/2020-11",
        # missing levels and unknown names
        "test/ab12/evidence/cam-ev",
        "test/ab12/windows/C25",
        "test/ab12/cameras/cam-03",
        "test/ab12/availability",
        "test/ab12/receipts/incident",
        "test/ab12/recorders/s",
        "test/ab12/notices",
        "test/ab12/recorder",
        "test/ab12/windows/C25/other",
        "test/ab12/cameras/cam-03/other",
        "test/ab12/recorder/other",
        "test/ab12/alerts/other",
        "test/ab12/x",
        "test/ab12/Incidents",
    ],
)
def test_anything_else_is_no_topic_of_the_prefix(topic: str) -> None:
    assert T.parse(topic) is None


LEVEL = st.text(st.characters(exclude_characters="/+#"), min_size=1, max_size=30)
"""What may stand in one topic level: anything but an empty string, / and the wildcards."""
PREFIXES = st.sampled_from(["hall", "test/ab12", "a/b/c", "临沂/河东", "x-1_2.3"])


@given(PREFIXES, LEVEL, LEVEL)
def test_property_any_ids_round_trip(prefix: str, first: str, second: str) -> None:
    topics = Topics(prefix)
    one: dict[str, Callable[[str], str]] = {
        "window_state": topics.window_state,
        "window_leaves": topics.window_leaves,
        "camera_status": topics.camera_status,
        "camera_stats": topics.camera_stats,
        "availability": topics.availability,
        "owner": topics.owner,
        "notice": topics.notice,
    }
    for kind, build in one.items():
        assert topics.parse(build(first)) == Addressed(kind, first)  # type: ignore[arg-type]
    assert topics.parse(topics.evidence(first, second)) == Addressed("evidence", first, second)
    assert topics.parse(topics.receipt(first, second)) == Addressed("receipt", first, second)
    # The same ids under another prefix are no topic of this one.
    assert Topics(prefix + "x").parse(topics.evidence(first, second)) is None


@given(PREFIXES, LEVEL, st.sampled_from("/+#"), LEVEL)
def test_property_an_id_holding_a_separator_or_wildcard_never_parses_as_that_id(
    prefix: str, before: str, bad: str, after: str
) -> None:
    topics = Topics(prefix)
    level = before + bad + after
    for topic, wanted in (
        (topics.evidence(level, "a.jpg"), Addressed("evidence", level, "a.jpg")),
        (topics.evidence("cam-ev", level), Addressed("evidence", "cam-ev", level)),
        (topics.window_state(level), Addressed("window_state", level)),
        (topics.receipt("incident", level), Addressed("receipt", "incident", level)),
    ):
        assert topics.parse(topic) != wanted


# --- ids that would name another topic level are refused by the contract -----------------------------------------

BAD_LEVELS = ["a/b", "a+b", "a#b", "/", "+", "#"]


def _incident(**fields: object) -> dict[str, object]:
    return {"id": "x", "event": "new", "kind": "late_arrival", "window": "C20", "started_at": AT, **fields}


@pytest.mark.parametrize("bad", BAD_LEVELS)
@pytest.mark.parametrize(
    ("model", "data", "field"),
    [
        pytest.param(IncidentEvent, lambda b: _incident(id=b), "id", id="incident-id"),
        pytest.param(IncidentEvent, lambda b: _incident(window=b), "window", id="incident-window"),
        pytest.param(IncidentEvent, lambda b: _incident(evidence=[f"{b}.jpg"]), "evidence", id="evidence-name"),
        pytest.param(IncidentEvent, lambda b: _incident(digests={f"{b}.jpg": "0" * 64}), "digests", id="digest-name"),
        pytest.param(
            Dismissal, lambda b: {"incident_id": b, "reason": "申诉成立", "at": AT}, "incident_id", id="dismissal"
        ),
        pytest.param(
            LeaveGrant,
            lambda b: {"id": b, "window": "C20", "start": AT, "end": AT, "reason": "公出", "at": AT},
            "id",
            id="leave-id",
        ),
        pytest.param(
            LeaveGrant,
            lambda b: {"id": "l", "window": b, "start": AT, "end": AT, "reason": "公出", "at": AT},
            "window",
            id="leave-window",
        ),
        pytest.param(
            ApprovedLeave,
            lambda b: {"id": b, "start": AT, "end": AT + dt.timedelta(hours=1), "reason": "公出"},
            "id",
            id="approved-leave",
        ),
        pytest.param(WindowLeaves, lambda b: {"window": b, "at": AT}, "window", id="window-leaves"),
        pytest.param(WindowState, lambda b: {"window": b, "state": "present", "since": AT}, "window", id="state"),
        pytest.param(
            Receipt,
            lambda b: {"kind": "incident", "id": b, "status": "recorded", "detail": "", "at": AT},
            "id",
            id="receipt",
        ),
    ],
)
def test_an_id_with_a_separator_or_wildcard_is_refused(
    model: type, data: Callable[[str], dict[str, object]], field: str, bad: str
) -> None:
    with pytest.raises(ValidationError, match="may not contain / \\+ or #") as caught:
        model.model_validate(data(bad))  # type: ignore[attr-defined]
    assert caught.value.errors()[0]["loc"][0] == field


def test_names_of_other_fields_may_hold_a_slash() -> None:
    """Only what becomes a topic level is restricted: a note, a source or a reason is free text."""
    event = IncidentEvent.model_validate(_incident(note="a/b+c#d", source="patrol:巡查员/主任"))
    assert event.note == "a/b+c#d"
    Dismissal.model_validate({"incident_id": "x", "reason": "1/2 天 #病假", "at": AT})


# --- storable ---------------------------------------------------------------------------------------------------

HOSTILE_TEXT = st.lists(
    st.one_of(
        st.characters(),
        st.sampled_from(["\x00", "\ud800", "\udfff", "\udc80", "…", "\\x00", "名", "😀"]),
        st.integers(0xD800, 0xDFFF).map(chr),
    ),
    max_size=60,
).map("".join)


@given(HOSTILE_TEXT, st.integers(1, 70))
def test_property_storable_text_has_no_nul_no_lone_surrogate_and_fits(text: str, limit: int) -> None:
    kept = storable(text, limit)
    assert "\x00" not in kept
    assert not any("\ud800" <= c <= "\udfff" for c in kept)
    assert kept.encode("utf-8").decode("utf-8") == kept  # encodable: no error
    assert len(kept) <= limit
    assert storable(kept, limit) == kept  # already storable: left as it is
    clean = "\x00" not in text and not any("\ud800" <= c <= "\udfff" for c in text)
    if clean:  # clean text is kept as it is, or cut with an ellipsis
        assert kept == (text if len(text) <= limit else text[: limit - 1] + "…")


def test_storable_shows_what_it_replaced() -> None:
    assert storable("a\x00b", 100) == "a\\x00b"
    assert storable("a\ud800b", 100) == "a\\ud800b"
    assert storable("名" * 10, 5) == "名名名名…"
    assert storable("名" * 5, 5) == "名" * 5


# --- freshness --------------------------------------------------------------------------------------------------

NOW = dt.datetime(2020, 11, 6, 10, 0, tzinfo=TZ)
RULE = Freshness(now=NOW, tolerance=dt.timedelta(minutes=2), camera_max_age=dt.timedelta(days=3))
ISSUED = Freshness(
    now=dt.datetime(2020, 12, 2, 10, 0, tzinfo=TZ),
    tolerance=dt.timedelta(minutes=2),
    camera_max_age=dt.timedelta(days=3),
    issued_month="2020-11",
)


def event(started_at: dt.datetime, **fields: object) -> IncidentEvent:
    base: dict[str, object] = {"id": "x", "event": "new", "kind": "late_arrival", "window": "C20", "minutes": 12}
    return IncidentEvent.model_validate({**base, "started_at": started_at, **fields})


def after(**delta: float) -> dt.datetime:
    return NOW + dt.timedelta(**delta)


@pytest.mark.parametrize("by_camera", [True, False], ids=["camera", "patrol"])
@pytest.mark.parametrize(
    "e",
    [
        pytest.param(event(NOW), id="now"),
        pytest.param(event(after(minutes=2)), id="start-at-the-tolerance"),
        pytest.param(event(after(minutes=-30), ended_at=after(minutes=2)), id="end-at-the-tolerance"),
        pytest.param(event(after(days=-3)), id="3-days-ago"),
        pytest.param(event(after(minutes=1).astimezone(dt.UTC)), id="in-utc"),
    ],
)
def test_admitted(e: IncidentEvent, by_camera: bool) -> None:
    check_fresh(e, by_camera, RULE, TZ)


@pytest.mark.parametrize("by_camera", [True, False], ids=["camera", "patrol"])
@pytest.mark.parametrize(
    ("e", "reason"),
    [
        pytest.param(
            event(after(minutes=2, seconds=1)),
            r"started_at 2020-11-06 10:02 lies in the future \(now 2020-11-06 10:00\)",
            id="start-past-the-tolerance",
        ),
        pytest.param(
            event(after(days=1, minutes=-48)), "started_at 2020-11-07 09:12 lies in the future", id="tomorrow"
        ),
        pytest.param(
            event(after(minutes=-30), ended_at=after(hours=1), kind="empty_post"),
            "ended_at 2020-11-06 11:00 lies in the future",
            id="end-in-the-future",
        ),
        pytest.param(
            event(after(days=1).astimezone(dt.UTC)),
            "started_at 2020-11-07 10:00 lies in the future",  # in the hall's time, whatever the event's offset
            id="tomorrow-in-utc",
        ),
    ],
)
def test_the_future_is_refused(e: IncidentEvent, reason: str, by_camera: bool) -> None:
    with pytest.raises(Refused, match=reason):
        check_fresh(e, by_camera, RULE, TZ)


def test_a_camera_may_not_report_what_is_older_than_its_window_a_supervisor_may() -> None:
    old = event(after(days=-3, seconds=-1))
    with pytest.raises(Refused, match="a camera's incident from 2020-11-03 09:59 is older than the 3 days, 0:00:00"):
        check_fresh(old, True, RULE, TZ)
    check_fresh(old, False, RULE, TZ)
    check_fresh(event(after(days=-400)), False, RULE, TZ)


def test_the_future_is_named_before_the_age() -> None:
    """An end in the future of an old camera incident: the future is what is wrong first."""
    e = event(after(days=-5), ended_at=after(hours=2), kind="empty_post")
    with pytest.raises(Refused, match=r"ended_at .* lies in the future"):
        check_fresh(e, True, RULE, TZ)


def test_an_issued_month_takes_only_a_supervisors_correction() -> None:
    finding = event(dt.datetime(2020, 11, 30, 9, 12, tzinfo=TZ))
    corrected = finding.model_copy(update={"correction": "补录：巡查记录遗漏"})
    for by_camera, e in ((False, finding), (True, finding), (True, corrected)):
        with pytest.raises(
            Refused, match=r"the notice of 2020-11 is issued: .* only from a supervisor as a correction"
        ):
            check_fresh(e, by_camera, ISSUED, TZ)
    check_fresh(corrected, False, ISSUED, TZ)
    open_month = Freshness(ISSUED.now, ISSUED.tolerance, ISSUED.camera_max_age)  # its notice not issued
    check_fresh(finding, True, open_month, TZ)
    with pytest.raises(Refused, match="a correction is for a month whose notice is issued"):
        check_fresh(corrected, False, open_month, TZ)  # it would show as 更正 in a notice that never had it


def test_a_correction_is_no_licence_for_the_future_or_a_cameras_old_incident() -> None:
    future = event(ISSUED.now + dt.timedelta(hours=1), correction="补录")
    with pytest.raises(Refused, match="lies in the future"):
        check_fresh(future, False, ISSUED, TZ)
    old = event(dt.datetime(2020, 11, 4, 9, 12, tzinfo=TZ), correction="补录")
    with pytest.raises(Refused, match="older than"):
        check_fresh(old, True, ISSUED, TZ)


@pytest.mark.parametrize("reason", ["", "\x00", "记" * 501])
def test_a_correction_must_say_why(reason: str) -> None:
    with pytest.raises(ValidationError, match="correction"):
        event(NOW, correction=reason)
