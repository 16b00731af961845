"""A dismissal reversed, as the recorder records it (SQLite and PostgreSQL, the recorder's transactions, no broker).

An incident dismissed, reinstated and dismissed again is three decisions, each kept: the incident is dismissed when
the last one is a dismissal. A reinstated incident deducts again on the month's score sheet, as the rules count it
(an escalating rule counts it among the window's incidents again). Each decision is recorded once: a replay is a
duplicate — a replay of the first dismissal after the reinstatement too — and another record under its id a
conflict; only a supervisor's signature reinstates, and only what is dismissed."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import Session, select

from monitor.adapters.keys import read_key
from monitor.adapters.store.database import open_database
from monitor.adapters.store.incidents import decisions_for, dismissals_for, incident_by_id
from monitor.adapters.store.tables import AlertRow, DismissalRow, ReinstatementRow
from monitor.config import MonitorConfig
from monitor.contract import Alert, Dismissal, IncidentEvent, Reinstatement, Status, Topics
from monitor.core.signature import SigningKey
from monitor.services.recorder import Handled, Recorder
from monitor.services.review import month_scores
from tests.support.config import SUPERVISOR, hall_config, supervisor_key

TZ = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2020, 11, 20, 10, 0, tzinfo=TZ)


def at(day: int, hour: int = 16) -> dt.datetime:
    return dt.datetime(2020, 11, day, hour, 0, tzinfo=TZ)


def late(incident_id: str, day: int) -> IncidentEvent:
    """12 minutes late at C20 on `day` November (a patrol finding)."""
    return IncidentEvent(
        id=incident_id,
        event="new",
        kind="late_arrival",
        window="C20",
        started_at=dt.datetime(2020, 11, day, 9, 12, tzinfo=TZ),
        minutes=12,
        source=f"patrol:{SUPERVISOR}",
    )


def dismissal(incident_id: str, record_id: str | None, reason: str = "申诉成立", day: int = 10) -> Dismissal:
    return Dismissal(id=record_id, incident_id=incident_id, reason=reason, by=SUPERVISOR, at=at(day))


def reinstatement(record_id: str, incident_id: str, reason: str = "撤销有误", day: int = 11) -> Reinstatement:
    return Reinstatement(id=record_id, incident_id=incident_id, reason=reason, by=SUPERVISOR, at=at(day))


class Hall:
    def __init__(self, config: MonitorConfig) -> None:
        self.config = config
        self.recorder = Recorder(config, open_database(config.database.url), clock=lambda: NOW)
        self.topics = Topics(config.mqtt.topic_prefix)
        self.key = supervisor_key(config)

    def send(self, topic: str, payload: bytes) -> Handled:
        results = self.recorder.apply([(topic, payload)])
        assert results is not None and len(results) == 1
        return results[0]

    def incident(self, event: IncidentEvent) -> Handled:
        return self.send(self.topics.incidents, self.key.sign(event).to_json())

    def dismiss(self, record: Dismissal) -> Handled:
        return self.send(self.topics.dismissals, self.key.sign(record).to_json())

    def reinstate(self, record: Reinstatement, key: SigningKey | None = None) -> Handled:
        return self.send(self.topics.reinstatements, (key or self.key).sign(record).to_json())

    def dismissed(self, incident_id: str) -> bool:
        with Session(self.recorder.engine) as session:
            return incident_by_id(session, incident_id).dismissed

    def decisions(self, incident_id: str) -> list[tuple[str, str]]:
        with Session(self.recorder.engine) as session:
            return [(d.action, d.reason) for d in decisions_for(session, incident_id)]

    def discipline(self) -> Decimal:
        """C20's 工作纪律 on November's staff sheet."""
        with Session(self.recorder.engine) as session:
            scores = month_scores(session, self.config, "2020-11")
        return next(r for r in scores.staff if r.key == "C20").scores["工作纪律"]


@pytest.fixture
def hall(db_url: str, tmp_path: Path) -> Iterator[Hall]:
    """The seed hall with an escalating rule: from a window's 2nd late arrival in a month on, 3 points."""
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
    target = Hall(config)
    try:
        yield target
    finally:
        target.recorder.engine.dispose()


def test_dismissed_reinstated_dismissed_again_each_decision_kept_and_the_sheet_follows_the_last(hall: Hall) -> None:
    assert hall.incident(late("first", 4)).status is Status.RECORDED
    assert hall.incident(late("second", 5)).status is Status.RECORDED
    assert hall.discipline() == 40 - 1 - 3  # the second late arrival of the month: 3 points

    assert hall.dismiss(dismissal("first", "d-1")).status is Status.DISMISSED
    assert hall.discipline() == 40 - 1  # "second" is now the month's first

    back = hall.reinstate(reinstatement("r-1", "first"))
    assert back.status is Status.RECORDED and back.receipt == ("reinstatement", "r-1")
    assert not hall.dismissed("first")
    assert hall.discipline() == 40 - 1 - 3, "deducts again, and counts again for the escalation"

    again = hall.dismiss(dismissal("first", "d-2", reason="再次核实：已请假", day=12))
    assert again.status is Status.DISMISSED, "a new decision, not a duplicate of the first"
    assert hall.dismissed("first") and hall.discipline() == 40 - 1
    with Session(hall.recorder.engine) as session:
        assert dismissals_for(session, ["first", "second"])["first"].reason == "再次核实：已请假"
        assert list(dismissals_for(session, ["first", "second"])) == ["first"]

    assert hall.reinstate(reinstatement("r-2", "first", reason="申诉不成立", day=13)).status is Status.RECORDED
    assert hall.decisions("first") == [
        ("dismissed", "申诉成立"),
        ("reinstated", "撤销有误"),
        ("dismissed", "再次核实：已请假"),
        ("reinstated", "申诉不成立"),
    ]
    assert not hall.dismissed("first") and hall.discipline() == 40 - 1 - 3


def test_each_decision_is_recorded_once(hall: Hall) -> None:
    hall.incident(late("first", 4))
    hall.dismiss(dismissal("first", "d-1"))
    hall.reinstate(reinstatement("r-1", "first"))

    replays = [
        hall.reinstate(reinstatement("r-1", "first", day=12)),  # signed anew, a day later: the same decision
        hall.dismiss(dismissal("first", "d-1")),  # the first dismissal again: it stays reinstated
    ]
    assert [r.status for r in replays] == [Status.DUPLICATE, Status.DUPLICATE]
    conflict = hall.reinstate(reinstatement("r-1", "first", reason="别的理由"))
    assert conflict.status is Status.CONFLICT and "recorded for another incident or reason" in conflict.detail
    other_dismissal = hall.dismiss(dismissal("first", "d-1", reason="别的理由"))
    assert other_dismissal.status is Status.CONFLICT
    assert not hall.dismissed("first")
    with Session(hall.recorder.engine) as session:
        assert len(session.exec(select(DismissalRow)).all()) == 1
        assert len(session.exec(select(ReinstatementRow)).all()) == 1


def test_an_older_dismissal_without_an_id_replayed_after_a_reinstatement_does_not_dismiss_again(hall: Hall) -> None:
    hall.incident(late("first", 4))
    older = dismissal("first", None)
    assert hall.dismiss(older).status is Status.DISMISSED
    assert hall.dismiss(older.model_copy(update={"at": at(15)})).status is Status.DUPLICATE  # as before: signed anew
    hall.reinstate(reinstatement("r-1", "first"))
    assert hall.dismiss(older).status is Status.DUPLICATE, "the very decision redelivered"
    assert not hall.dismissed("first")
    assert hall.dismiss(dismissal("first", None, day=16)).status is Status.DISMISSED, "a new decision"
    assert hall.dismissed("first")


@pytest.mark.parametrize(
    ("incident_id", "reason"),
    [
        pytest.param("first", "incident first is not dismissed: there is nothing to reinstate", id="not-dismissed"),
        pytest.param("nobody", "no incident 'nobody' is recorded", id="unknown"),
    ],
)
def test_only_a_dismissed_incident_is_reinstated(hall: Hall, incident_id: str, reason: str) -> None:
    hall.incident(late("first", 4))
    handled = hall.reinstate(reinstatement("r-1", incident_id))
    assert handled.status is Status.REJECTED and reason in handled.detail
    assert handled.receipt == ("reinstatement", "r-1")
    with Session(hall.recorder.engine) as session:
        assert session.exec(select(ReinstatementRow)).all() == []


def test_only_a_supervisors_signature_reinstates(hall: Hall) -> None:
    hall.incident(late("first", 4))
    hall.dismiss(dismissal("first", "d-1"))
    assert hall.config.paths.signing_key
    camera = read_key(Path(hall.config.paths.signing_key))
    altered = json.loads(hall.key.sign(reinstatement("r-3", "first")).to_json())
    altered["incident_id"] = "second"
    # A reinstatement's signature fits no other kind of record: sent as a dismissal of the same incident.
    reinstating = json.loads(hall.key.sign(reinstatement("r-5", "first")).to_json())
    as_dismissal = json.dumps({k: v for k, v in reinstating.items() if k != "id"}).encode()
    results = [
        hall.send(hall.topics.reinstatements, reinstatement("r-1", "first").to_json()),
        hall.reinstate(reinstatement("r-2", "first"), SigningKey.generate(SUPERVISOR)),
        hall.send(hall.topics.reinstatements, json.dumps(altered).encode()),
        hall.reinstate(reinstatement("r-4", "first"), camera),
        hall.send(hall.topics.dismissals, as_dismissal),
    ]
    reasons = ["is not signed", "the signature is not", "the signature is not", "may not sign a reinstatement"]
    reasons.append("the signature is not")
    for handled, reason in zip(results, reasons, strict=True):
        assert handled.status is Status.REJECTED and reason in handled.detail, handled.detail
    assert hall.dismissed("first")


def test_a_new_incident_after_a_reinstatement_is_alerted_with_the_points_it_deducts(hall: Hall) -> None:
    """The alert's points count the reinstated incident among the month's standing ones (the escalation)."""
    hall.incident(late("first", 4))
    hall.dismiss(dismissal("first", "d-1"))
    hall.incident(late("second", 5))
    hall.reinstate(reinstatement("r-1", "first"))
    hall.dismiss(dismissal("second", "d-2"))
    hall.incident(late("third", 6))
    with Session(hall.recorder.engine) as session:
        points = {a.incident_id: a.points for a in map(Alert.from_json, session.exec(select(AlertRow.payload)))}
    assert points == {"first": "1", "second": "1", "third": "3"}
