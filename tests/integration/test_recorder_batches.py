"""The recorder's batches: what one transaction sees, and a cost that does not grow with the month."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine, event
from sqlmodel import Session, select

from monitor.adapters.store.database import open_database
from monitor.adapters.store.tables import AlertRow, DismissalRow, IncidentRow, LeaveRow
from monitor.contract import Alert, Dismissal, IncidentEvent, LeaveGrant, Topics
from monitor.services.recorder import Recorder
from tests.support.config import SUPERVISOR, hall_config, signed

TZ = dt.timezone(dt.timedelta(hours=8))


def late(incident_id: str, window: str, day: int, minute: int = 12) -> IncidentEvent:
    return IncidentEvent(
        id=incident_id,
        event="new",
        kind="late_arrival",
        window=window,
        started_at=dt.datetime(2020, 11, day, 9, minute, tzinfo=TZ),
        minutes=minute,
        source=f"patrol:{SUPERVISOR}",
    )


@contextmanager
def counting(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements the engine sends while the block runs."""
    statements: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", note)


def test_a_batch_sees_the_leave_granted_earlier_in_it(db_url: str, tmp_path: Path) -> None:
    config, _ = hall_config(tmp_path, db_url=db_url)
    recorder = Recorder(config, open_database(db_url))  # not started: its transactions only
    topics = Topics(config.mqtt.topic_prefix)
    grant = LeaveGrant(
        id="leave-in-batch",
        window="C20",
        start=dt.datetime(2020, 11, 4, 9, 0, tzinfo=TZ),
        end=dt.datetime(2020, 11, 4, 12, 0, tzinfo=TZ),
        reason="公出：参加业务培训",
        by=SUPERVISOR,
        at=dt.datetime(2020, 11, 4, 8, 0, tzinfo=TZ),
    )
    batch = [
        (topics.incidents, signed(config, late("before-leave", "C20", 4)).to_json()),  # not yet on leave
        (topics.leaves, signed(config, grant).to_json()),
        (topics.incidents, signed(config, late("on-leave", "C20", 4, minute=20)).to_json()),
        (topics.incidents, signed(config, late("elsewhere", "C21", 4)).to_json()),
    ]
    try:
        results = recorder.apply(batch)
        assert results is not None
        assert [r.status for r in results] == ["recorded", "recorded", "rejected", "recorded"]
        assert "approved leave" in results[2].detail
        with Session(recorder.engine) as session:
            assert sorted(session.exec(select(IncidentRow.id)).all()) == ["before-leave", "elsewhere"]
            assert session.exec(select(LeaveRow.id)).all() == ["leave-in-batch"]
    finally:
        recorder.engine.dispose()


def test_a_new_incident_costs_the_same_statements_however_full_the_month(db_url: str, tmp_path: Path) -> None:
    """Recording does not read the month: a batch of 40 incidents takes as many SQL statements on an
    empty month as after 1,200 more. It reads what it needs once for the batch and writes its rows
    together: on SQLite an INSERT for its incidents and one per event and alert row, on PostgreSQL a
    few multi-row INSERTs."""
    config, _ = hall_config(tmp_path, db_url=db_url)
    recorder = Recorder(config, open_database(db_url))
    topics = Topics(config.mqtt.topic_prefix)
    windows = [w.id for w in config.window_list][:40]

    def batch(tag: str, day: int, minute: int = 12) -> list[tuple[str, bytes]]:
        return [(topics.incidents, signed(config, late(f"{tag}-{w}", w, day, minute)).to_json()) for w in windows]

    def recorded(messages: list[tuple[str, bytes]]) -> bool:
        return [r.status for r in recorder.apply(messages) or []] == ["recorded"] * len(messages)

    try:
        with counting(recorder.engine) as first:
            assert recorded(batch("first", 2))
        working_days = [d for d in range(3, 28) if dt.date(2020, 11, d).weekday() < 5]
        for day in working_days[:10]:
            for minute in (13, 14, 15):
                assert recorded(batch(f"fill-{day}-{minute}", day, minute))
        with counting(recorder.engine) as last:
            assert recorded(batch("last", 30))
    finally:
        recorder.engine.dispose()
    assert len(last) == len(first), f"{len(first)} then {len(last)}:\n" + "\n".join(last)
    assert len(first) < 3 * len(windows), "\n".join(first)  # reads once a batch, rows written together


def test_one_batch_records_an_incident_its_later_event_its_repeat_and_its_dismissal(
    db_url: str, tmp_path: Path
) -> None:
    """What one message writes, the next one in the same batch sees: a redelivery is a duplicate, a later
    event updates the incident, a second incident of the window counts the first (an escalating rule:
    from the 2nd late arrival of a window in a month on, 3 points) and a dismissal finds its incident."""
    seed, _ = hall_config(tmp_path / "seed")
    rules = [
        rule_set.model_copy(
            update={
                "deductions": [
                    d.model_copy(update={"repeat_after": 2, "repeat_points": Decimal(3)})
                    if d.kind == "late_arrival"
                    else d
                    for d in rule_set.deductions
                ]
            }
        )
        for rule_set in seed.rules
    ]
    config, _ = hall_config(tmp_path, db_url=db_url, rules=rules)
    recorder = Recorder(config, open_database(db_url))
    topics = Topics(config.mqtt.topic_prefix)
    first = late("first", "C20", 4)
    later = first.model_copy(update={"event": "update", "seq": 1, "minutes": 25, "note": "巡查补记"})
    dismissal = Dismissal(incident_id="first", reason="系统故障", by=SUPERVISOR, at=dt.datetime(2020, 11, 6, tzinfo=TZ))
    batch = [
        (topics.incidents, signed(config, first).to_json()),
        (topics.incidents, signed(config, first).to_json()),
        (topics.incidents, signed(config, later).to_json()),
        (topics.incidents, signed(config, late("second", "C20", 5)).to_json()),
        (topics.dismissals, signed(config, dismissal).to_json()),
    ]
    try:
        results = recorder.apply(batch)
        assert results is not None
        assert [r.status for r in results] == ["recorded", "duplicate", "recorded", "recorded", "dismissed"]
        with Session(recorder.engine) as session:
            row = session.get(IncidentRow, "first")
            assert row is not None and (row.last_seq, row.minutes, row.note) == (1, 25, "巡查补记")
            assert session.exec(select(DismissalRow.incident_id)).all() == ["first"]
            points = {a.incident_id: a.points for a in map(Alert.from_json, session.exec(select(AlertRow.payload)))}
        assert points == {"first": "1", "second": "3"}
    finally:
        recorder.engine.dispose()
