"""Approved leave withdrawn or changed, as the recorder records it (real databases: SQLite and PostgreSQL; a real
broker where the camera services' lists and the receipts are concerned).

A withdrawal ends the leave when it was decided: the time it covered stays covered, an empty post after it is
recorded again, a leave that had not begun covers nothing. A change gives the leave a new time. Each is recorded
once (a replay is a duplicate, another record under its id a conflict), only when signed by a supervisor, never
for a month whose notice is issued; the leave's history keeps every change; the window's list goes to the camera
services again. A database made before leave had kinds keeps its leave, with the kind its reason says."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy
from alembic import command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, col, select

from monitor.adapters.keys import read_key
from monitor.adapters.store.database import _alembic_config, create_db_engine, open_database
from monitor.adapters.store.leaves import leave_history, leaves_ahead, leaves_around, leaves_ending_after
from monitor.adapters.store.ledger import claim, mark_generated
from monitor.adapters.store.tables import DeadLetterRow, IncidentRow, LeaveChangeRow, LeaveRow
from monitor.config import MonitorConfig
from monitor.contract import (
    Dismissal,
    IncidentEvent,
    LeaveChange,
    LeaveGrant,
    Receipt,
    Reinstatement,
    Status,
    Topics,
    WindowLeaves,
)
from monitor.core.signature import SigningKey
from monitor.services.recorder import Handled, Recorder
from tests.support.config import SUPERVISOR, hall_config, supervisor_key
from tests.support.mqtt import Subscriber, publish
from tests.support.waiting import wait_for

TZ = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2020, 11, 6, 10, 0, tzinfo=TZ)
"""Friday 6 November 2020, in the morning session: the recorder's clock."""
QUARANTINE = ("could not be recorded", "the database refused it")


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> dt.datetime:
    return dt.datetime(2020, month, day, hour, minute, tzinfo=TZ)


def grant(leave_id: str, start: dt.datetime, end: dt.datetime, window: str = "C20") -> LeaveGrant:
    return LeaveGrant(
        id=leave_id, window=window, start=start, end=end, kind="请假", reason="病假", by=SUPERVISOR, at=at(5, 16)
    )


def withdrawal(change_id: str, leave_id: str, decided: dt.datetime = NOW, reason: str = "提前返岗") -> LeaveChange:
    return LeaveChange(id=change_id, leave_id=leave_id, action="withdraw", reason=reason, by=SUPERVISOR, at=decided)


def change(change_id: str, leave_id: str, start: dt.datetime, end: dt.datetime, reason: str = "延长") -> LeaveChange:
    return LeaveChange(
        id=change_id, leave_id=leave_id, action="change", start=start, end=end, reason=reason, by=SUPERVISOR, at=NOW
    )


def empty(incident_id: str, start: dt.datetime, end: dt.datetime, window: str = "C20") -> IncidentEvent:
    """A supervisor's patrol finding: the window empty over [start, end)."""
    return IncidentEvent(
        id=incident_id,
        event="new",
        kind="empty_post",
        window=window,
        started_at=start,
        ended_at=end,
        minutes=int((end - start).total_seconds() // 60),
        source=f"patrol:{SUPERVISOR}",
    )


class Hall:
    """The seed hall's recorder on the test's database, applying messages as they come (no broker)."""

    def __init__(self, config: MonitorConfig) -> None:
        self.config = config
        self.now = NOW
        self.recorder = Recorder(config, open_database(config.database.url), clock=lambda: self.now)
        self.topics = Topics(config.mqtt.topic_prefix)
        self.key = supervisor_key(config)

    def apply(self, *messages: tuple[str, bytes]) -> list[Handled]:
        results = self.recorder.apply(list(messages))
        assert results is not None and len(results) == len(messages)
        return results

    def send(self, topic: str, payload: bytes) -> Handled:
        (result,) = self.apply((topic, payload))
        return result

    def leave(self, record: LeaveGrant) -> Handled:
        return self.send(self.topics.leaves, self.key.sign(record).to_json())

    def change(self, record: LeaveChange, key: SigningKey | None = None) -> Handled:
        return self.send(self.topics.leave_changes, (key or self.key).sign(record).to_json())

    def incident(self, event: IncidentEvent) -> Handled:
        return self.send(self.topics.incidents, self.key.sign(event).to_json())

    def row(self, leave_id: str) -> LeaveRow:
        with Session(self.recorder.engine) as session:
            row = session.get(LeaveRow, leave_id)
            assert row is not None
            return row

    def history(self, leave_id: str) -> list[LeaveChangeRow]:
        with Session(self.recorder.engine) as session:
            return leave_history(session, leave_id)

    def issue(self, month: str) -> None:
        """The month's monthly notice, claimed and generated as the scheduler does: issued."""
        taken = claim(
            self.recorder.engine,
            "monthly",
            month,
            owner="test-scheduler",
            issued_on=dt.date(2020, 12, 1),
            number_start=20,
            now=at(1, 9, month=12),
            stale_after=dt.timedelta(hours=1),
        )
        assert taken is not None
        mark_generated(self.recorder.engine, taken.id, [], "test", at(1, 9, 5, month=12), "")


@pytest.fixture
def hall(db_url: str, tmp_path: Path) -> Iterator[Hall]:
    config, _ = hall_config(tmp_path, db_url=db_url, recorder={"clock_tolerance": dt.timedelta(minutes=2)})
    target = Hall(config)
    try:
        yield target
    finally:
        target.recorder.engine.dispose()


def test_a_withdrawal_under_way_ends_the_leave_then_and_an_empty_post_after_it_is_recorded_again(hall: Hall) -> None:
    assert hall.leave(grant("leave-1", at(6, 9), at(6, 12))).status is Status.RECORDED
    inside = hall.incident(empty("before", at(6, 9, 40), at(6, 9, 55)))
    assert inside.status is Status.REJECTED and "approved leave" in inside.detail

    withdrawn = hall.change(withdrawal("w-1", "leave-1", decided=at(6, 9, 30)))
    assert withdrawn.status is Status.RECORDED and withdrawn.receipt == ("leave_change", "w-1")
    assert withdrawn.leave_window == "C20", "the camera services get C20's list again"
    row = hall.row("leave-1")
    assert (row.start, row.end, row.withdrawn_at) == (at(6, 9), at(6, 9, 30), at(6, 9, 30))
    assert (row.granted_start, row.granted_end, row.kind) == (at(6, 9), at(6, 12), "请假"), "the grant as granted"

    # The same finding again, now that the leave ended at 09:30: recorded. Before 09:30 the person was excused.
    assert hall.incident(empty("after", at(6, 9, 40), at(6, 9, 55))).status is Status.RECORDED
    covered = hall.incident(empty("covered", at(6, 9, 10), at(6, 9, 25)))
    assert covered.status is Status.REJECTED and "approved leave 2020-11-06 09:00–09:30 (请假：病假)" in covered.detail

    # Recorded once: the same withdrawal again (even signed anew) is a duplicate and changes nothing.
    again = hall.change(withdrawal("w-1", "leave-1", decided=at(6, 9, 30)))
    assert again.status is Status.DUPLICATE and again.receipt == ("leave_change", "w-1") and again.leave_window is None
    other = hall.change(withdrawal("w-1", "leave-1", decided=at(6, 9, 30), reason="别的理由"))
    assert other.status is Status.CONFLICT and "recorded with another leave, time or reason" in other.detail
    # A withdrawn leave is neither withdrawn again nor changed.
    for refused in (withdrawal("w-2", "leave-1"), change("c-1", "leave-1", at(6, 9), at(6, 17))):
        handled = hall.change(refused)
        assert handled.status is Status.REJECTED and "leave leave-1 is withdrawn" in handled.detail
    (kept,) = hall.history("leave-1")
    assert (kept.id, kept.seq, kept.action, kept.reason, kept.by) == ("w-1", 1, "withdraw", "提前返岗", SUPERVISOR)
    assert (kept.before_start, kept.before_end, kept.after_end) == (at(6, 9), at(6, 12), at(6, 9, 30))
    assert hall.row("leave-1").end == at(6, 9, 30)


def test_a_leave_withdrawn_before_it_began_covers_nothing_and_is_listed_only_when_asked(hall: Hall) -> None:
    hall.leave(grant("monday", at(9, 9), at(9, 12)))
    hall.leave(grant("today", at(6, 14), at(6, 17), window="C21"))
    assert hall.change(withdrawal("w-monday", "monday")).status is Status.RECORDED
    row = hall.row("monday")
    assert row.start == row.end == at(9, 9) and not row.covers and row.withdrawn_at == NOW
    with Session(hall.recorder.engine) as session:
        assert [r.id for r in leaves_ending_after(session, NOW)] == ["today"]
        assert [r.id for r in leaves_ending_after(session, NOW, withdrawn=True)] == ["today", "monday"]
        assert leaves_around(session, "C20", at(9, 10)) == []
        assert list(leaves_ahead(session, NOW)) == ["C21"]


def test_a_change_shortens_extends_or_moves_the_leave_and_the_history_keeps_each(hall: Hall) -> None:
    hall.leave(grant("leave-1", at(6, 9), at(6, 12)))
    assert hall.change(change("c-1", "leave-1", at(6, 9), at(6, 10))).status is Status.RECORDED
    assert hall.incident(empty("still-covered", at(6, 9, 0), at(6, 9, 30))).status is Status.REJECTED
    hall.now = at(6, 11, 30)
    assert hall.incident(empty("late-morning", at(6, 10, 30), at(6, 11))).status is Status.RECORDED
    assert hall.change(change("c-2", "leave-1", at(6, 9), at(9, 12), "病假延长")).status is Status.RECORDED
    assert hall.change(change("c-3", "leave-1", at(10, 9), at(10, 12), "改到周二")).status is Status.RECORDED
    history = hall.history("leave-1")
    assert [(h.id, h.seq) for h in history] == [("c-1", 1), ("c-2", 2), ("c-3", 3)]
    assert [(h.before_end, h.after_start, h.after_end) for h in history] == [
        (at(6, 12), at(6, 9), at(6, 10)),
        (at(6, 10), at(6, 9), at(9, 12)),
        (at(9, 12), at(10, 9), at(10, 12)),
    ]
    row = hall.row("leave-1")
    assert (row.start, row.end, row.granted_end, row.withdrawn_at) == (at(10, 9), at(10, 12), at(6, 12), None)
    # The grant sent again after its changes: a duplicate that changes nothing back.
    assert hall.leave(grant("leave-1", at(6, 9), at(6, 12))).status is Status.DUPLICATE
    assert hall.row("leave-1").start == at(10, 9)


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        pytest.param(withdrawal("w", "nobody"), "no leave 'nobody' is recorded", id="unknown-leave"),
        pytest.param(change("c", "leave-1", at(6, 11), at(6, 10)), "ends before it starts", id="backwards"),
        pytest.param(change("c", "leave-1", at(6, 11), at(6, 11)), "ends before it starts", id="empty"),
        pytest.param(withdrawal("w", "leave-1", decided=at(6, 10, 3)), "in the future", id="decided-in-the-future"),
    ],
)
def test_refused_with_a_receipt_and_nothing_written(hall: Hall, record: LeaveChange, reason: str) -> None:
    hall.leave(grant("leave-1", at(6, 9), at(6, 12)))
    handled = hall.change(record)
    assert handled.status is Status.REJECTED and reason in handled.detail
    assert handled.receipt == ("leave_change", record.id) and handled.leave_window is None
    assert hall.history("leave-1") == [] and hall.row("leave-1").end == at(6, 12)


def test_a_leave_that_has_ended_is_not_withdrawn_but_may_be_corrected(hall: Hall) -> None:
    hall.leave(grant("yesterday", at(5, 9), at(5, 12)))
    refused = hall.change(withdrawal("w", "yesterday"))
    assert refused.status is Status.REJECTED and "ended 2020-11-05 12:00: nothing is left to withdraw" in refused.detail
    assert hall.change(change("c", "yesterday", at(5, 9), at(5, 10))).status is Status.RECORDED


def test_nothing_changes_in_a_month_whose_notice_is_issued(hall: Hall) -> None:
    hall.leave(grant("november", at(27, 9), at(27, 12)))
    hall.leave(grant("across", at(30, 9), at(2, 17, month=12)))
    hall.issue("2020-11")
    hall.now = at(1, 10, month=12)
    for record in (
        change("c-1", "november", at(27, 9), at(27, 10)),
        withdrawal("w-1", "across", decided=at(1, 10, month=12)),  # under way: it ends on 1 December
    ):
        handled = hall.change(record)
        if record.leave_id == "november":
            assert handled.status is Status.REJECTED
            assert "the notice of 2020-11 is issued" in handled.detail
        else:
            assert handled.status is Status.RECORDED, handled.detail  # only December's part is touched
    moved = hall.change(change("c-2", "november", at(2, 9, month=12), at(2, 12, month=12)))
    assert moved.status is Status.REJECTED and "2020-11" in moved.detail  # it would leave 27 November
    assert hall.row("november").end == at(27, 12)


def test_only_a_supervisors_signature_changes_leave(hall: Hall) -> None:
    hall.leave(grant("leave-1", at(6, 9), at(6, 12)))
    assert hall.config.paths.signing_key
    camera = read_key(Path(hall.config.paths.signing_key))
    stranger = SigningKey.generate(SUPERVISOR)
    unsigned = withdrawal("w-1", "leave-1").to_json()
    forged = stranger.sign(withdrawal("w-2", "leave-1")).to_json()
    altered = json.loads(hall.key.sign(withdrawal("w-3", "leave-1")).to_json())
    altered["at"] = at(6, 9, 5).isoformat()
    results = [
        hall.send(hall.topics.leave_changes, unsigned),
        hall.send(hall.topics.leave_changes, forged),
        hall.send(hall.topics.leave_changes, json.dumps(altered).encode()),
        hall.change(withdrawal("w-4", "leave-1"), camera),
    ]
    reasons = ["is not signed", "the signature is not", "the signature is not", "may not sign a leave_change"]
    for handled, reason in zip(results, reasons, strict=True):
        assert handled.status is Status.REJECTED and reason in handled.detail, handled.detail
    assert hall.history("leave-1") == [] and hall.row("leave-1").withdrawn_at is None


def test_in_one_batch_a_grant_its_change_and_an_incident_see_each_other(hall: Hall) -> None:
    sign = hall.key.sign
    results = hall.apply(
        (hall.topics.leaves, sign(grant("leave-1", at(6, 9), at(6, 12))).to_json()),
        (hall.topics.incidents, sign(empty("inside", at(6, 9, 10), at(6, 9, 25))).to_json()),
        (hall.topics.leave_changes, sign(withdrawal("w-1", "leave-1", decided=at(6, 9, 30))).to_json()),
        (hall.topics.incidents, sign(empty("after", at(6, 9, 35), at(6, 9, 55))).to_json()),
        (hall.topics.leave_changes, sign(withdrawal("w-1", "leave-1", decided=at(6, 9, 30))).to_json()),
    )
    assert [r.status for r in results] == ["recorded", "rejected", "recorded", "recorded", "duplicate"]
    with Session(hall.recorder.engine) as session:
        assert session.exec(select(IncidentRow.id)).all() == ["after"]


def test_generated_leave_changes_and_reinstatements_are_recorded_or_refused_never_failed(hall: Hall) -> None:
    """Property: whatever a supervisor's account sends on the two new topics (signed over what it says, or not),
    it is recorded or refused with a reason, and a valid finding right after it is recorded."""
    hall.leave(grant("leave-1", at(6, 9), at(6, 12)))
    hall.leave(grant("leave-2", at(9, 9), at(9, 12)))
    hall.now = at(6, 11)
    assert hall.incident(empty("subject", at(6, 10, 10), at(6, 10, 40), window="C21")).status is Status.RECORDED
    dismissal = Dismissal(id="d-1", incident_id="subject", reason="申诉成立", by=SUPERVISOR, at=NOW)
    assert hall.send(hall.topics.dismissals, hall.key.sign(dismissal).to_json()).status is Status.DISMISSED
    serial = iter(range(10**6))
    base = {
        "leave_changes": json.loads(withdrawal("x", "leave-1").to_json()),
        "reinstatements": json.loads(Reinstatement(id="x", incident_id="subject", reason="r", at=NOW).to_json()),
    }
    values = (
        st.none()
        | st.integers()
        | st.text(max_size=12)
        | st.sampled_from(
            ["withdraw", "change", "leave-1", "leave-2", "subject", at(6, 9).isoformat(), at(9, 17).isoformat(), "\x00"]
        )
    )
    fields = ["id", "leave_id", "incident_id", "action", "start", "end", "reason", "at", "extra"]

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(sorted(base)), st.dictionaries(st.sampled_from(fields), values, max_size=3), st.booleans())
    def sent(topic: str, changes: dict[str, object], sign: bool) -> None:
        data = {**base[topic], "by": SUPERVISOR, "id": f"fuzz-{next(serial) % 5}", **changes}
        model = LeaveChange if topic == "leave_changes" else Reinstatement
        payload = json.dumps(data).encode()
        if sign:
            with contextlib.suppress(ValueError):  # not a record: sent as it is
                payload = hall.key.sign(model.model_validate(data)).to_json()
        follow = empty(f"follow-{next(serial)}", at(6, 10, 45), at(6, 10, 50), window="C21")
        handled, after = hall.apply(
            (getattr(hall.topics, topic), payload), (hall.topics.incidents, hall.key.sign(follow).to_json())
        )
        assert not handled.detail.startswith(QUARANTINE), handled.detail
        assert handled.status in (Status.RECORDED, Status.DUPLICATE, Status.REJECTED, Status.CONFLICT)
        assert after.status is Status.RECORDED, after.detail

    sent()
    with Session(hall.recorder.engine) as session:
        refused = session.exec(select(DeadLetterRow.reason)).all()
    assert not any(r.startswith(QUARANTINE) for r in refused)


def test_the_windows_list_goes_to_the_cameras_again_before_the_receipt(
    db_url: str, broker_url: str, tmp_path: Path
) -> None:
    config, _ = hall_config(tmp_path, db_url=db_url, mqtt_url=broker_url)
    topics = Topics(config.mqtt.topic_prefix)
    key = supervisor_key(config)
    recorder = Recorder(config, open_database(config.database.url), clock=lambda: NOW)
    assert recorder.start(wait=60), "the broker did not confirm the recorder's subscriptions"
    try:
        with Subscriber(broker_url, f"{topics.prefix}/#") as watcher:

            def lists() -> list[WindowLeaves]:
                return [WindowLeaves.from_json(p) for p in watcher.payloads(topics.window_leaves("C20"))]

            publish(broker_url, topics.leaves, [key.sign(grant("leave-1", at(6, 9), at(6, 12))).to_json()])
            wait_for(lambda: watcher.payloads(topics.receipt("leave", "leave-1")), what="the grant's receipt")
            assert [(leave.id, leave.kind, leave.reason) for leave in lists()[-1].leaves] == [
                ("leave-1", "请假", "病假")
            ]
            shorter = change("c-1", "leave-1", at(6, 9), at(6, 11))
            publish(broker_url, topics.leave_changes, [key.sign(shorter).to_json()])
            wait_for(lambda: watcher.payloads(topics.receipt("leave_change", "c-1")), what="the change's receipt")
            assert [(leave.start, leave.end) for leave in lists()[-1].leaves] == [(at(6, 9), at(6, 11))]
            publish(broker_url, topics.leave_changes, [key.sign(withdrawal("w-1", "leave-1")).to_json()])
            wait_for(lambda: watcher.payloads(topics.receipt("leave_change", "w-1")), what="the withdrawal's receipt")
            (receipt,) = [Receipt.from_json(p) for p in watcher.payloads(topics.receipt("leave_change", "w-1"))]
            assert (receipt.kind, receipt.id, receipt.status) == ("leave_change", "w-1", "recorded")
            # Ended at 10:00, when withdrawn: the cameras judge C20 from then (from 10:00, also a camera whose
            # frames are still a second behind: the leave stays listed, as it now stands, for a few minutes).
            assert [(leave.start, leave.end) for leave in lists()[-1].leaves] == [(at(6, 9), NOW)]
            order = [t for t, _, _ in watcher.snapshot()]
            assert order.index(topics.receipt("leave_change", "w-1")) > max(
                i for i, t in enumerate(order) if t == topics.window_leaves("C20")
            )
    finally:
        recorder.stop()
        recorder.engine.dispose()


def test_the_migration_keeps_leave_granted_before_kinds_and_it_can_be_withdrawn(db_url: str, tmp_path: Path) -> None:
    engine = create_db_engine(db_url)

    def run(action: object, revision: str) -> None:
        alembic = _alembic_config()
        with engine.begin() as connection:
            alembic.attributes["connection"] = connection
            action(alembic, revision)  # type: ignore[operator]

    run(command.upgrade, "0011")
    old = sqlalchemy.text(
        'INSERT INTO leave (id, "window", start, "end", reason, by, decided_at, recorded_at) '
        "VALUES (:id, 'C20', :start, :end, :reason, :by, :start, :start)"
    )
    rows = [
        ("old-1", at(6, 9), at(6, 12), "公出：市局培训"),
        ("old-2", at(9, 9), at(9, 12), "请假：家中有事"),
        ("old-3", at(10, 9), at(10, 12), "病假"),
    ]
    with engine.begin() as connection:
        for leave_id, start, end, reason in rows:
            connection.execute(
                old, {"id": leave_id, "start": start.astimezone(dt.UTC), "end": end.astimezone(dt.UTC),
                      "reason": reason, "by": SUPERVISOR}
            )  # fmt: skip
    run(command.upgrade, "head")
    engine.dispose()

    config, _ = hall_config(tmp_path, db_url=db_url)
    hall = Hall(config)
    try:
        with Session(hall.recorder.engine) as session:
            kept = session.exec(select(LeaveRow).order_by(col(LeaveRow.id))).all()
            assert [(r.id, r.kind, r.reason, r.start, r.end, r.granted_start, r.granted_end) for r in kept] == [
                (leave_id, kind, reason, start, end, start, end)
                for (leave_id, start, end, reason), kind in zip(rows, ["公出", "请假", "请假"], strict=True)
            ]
        # The older grant sent again: a duplicate, its kind read from its reason as the migration read it.
        older = LeaveGrant(
            id="old-1", window="C20", start=at(6, 9), end=at(6, 12), reason="公出：市局培训", by=SUPERVISOR, at=NOW
        )
        assert hall.leave(older).status is Status.DUPLICATE
        assert hall.change(withdrawal("w-old", "old-1")).status is Status.RECORDED
        assert hall.row("old-1").end == NOW
    finally:
        hall.recorder.engine.dispose()
