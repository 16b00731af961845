"""Freshness and conflicts, as the recorder applies them (its transactions only, no broker), on SQLite and
PostgreSQL: nothing from the future, no camera incident older than its window, nothing for a month whose
notice is issued but a supervisor's correction; a record reusing an id with other content is a conflict, the
same content again a duplicate. Every refusal and conflict leaves a dead letter and changes nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from monitor.adapters.keys import read_key
from monitor.adapters.store.database import open_database
from monitor.adapters.store.ledger import claim, mark_generated
from monitor.adapters.store.tables import DeadLetterRow, DismissalRow, EvidenceRow, IncidentRow, LeaveRow
from monitor.config import CameraConfig, MonitorConfig, SignerConfig
from monitor.contract import Dismissal, IncidentEvent, LeaveGrant, Status, Topics
from monitor.core.signature import SigningKey
from monitor.services.recorder import Handled, Recorder
from tests.support.config import SUPERVISOR, hall_config, supervisor_key

TZ = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2020, 11, 6, 10, 0, tzinfo=TZ)
"""Friday 6 November 2020, in the morning session."""
AFTER_ISSUE = dt.datetime(2020, 12, 2, 10, 0, tzinfo=TZ)
"""Wednesday 2 December: November's monthly notice was issued on the 1st."""
WATCHED = CameraConfig.model_validate(
    {
        "id": "cam-c20",
        "url": "rtsp://camera.invalid/1",
        "windows": [{"window": "C20", "polygon": [[0, 0], [1, 0], [1, 1]]}],
    }
)
DIRECTOR = "主任"
"""A second supervisor of the hall."""
CORRECTION = "补录：巡查记录遗漏"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00 first picture"
OTHER_JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00 another picture"


class Hall:
    """The seed hall with a camera on C20, its recorder on the test's database and a clock the test sets."""

    def __init__(self, config: MonitorConfig, director: SigningKey) -> None:
        self.config = config
        self.now = NOW
        self.recorder = Recorder(config, open_database(config.database.url), clock=lambda: self.now)
        self.topics = Topics(config.mqtt.topic_prefix)
        self.supervisor = supervisor_key(config)
        self.director = director
        assert config.paths.signing_key
        self.camera = read_key(Path(config.paths.signing_key))

    def send(self, topic: str, payload: bytes) -> Handled:
        results = self.recorder.apply([(topic, payload)])
        assert results is not None and len(results) == 1
        return results[0]

    def incident(self, event: IncidentEvent, key: SigningKey | None = None) -> Handled:
        return self.send(self.topics.incidents, (key or self.supervisor).sign(event).to_json())

    def by_camera(self, event: IncidentEvent) -> Handled:
        return self.send(self.topics.incidents, self.camera.sign(event).to_json())

    def leave(self, grant: LeaveGrant, key: SigningKey | None = None) -> Handled:
        return self.send(self.topics.leaves, (key or self.supervisor).sign(grant).to_json())

    def dismissal(self, dismissal: Dismissal, key: SigningKey | None = None) -> Handled:
        return self.send(self.topics.dismissals, (key or self.supervisor).sign(dismissal).to_json())

    def evidence(self, incident_id: str, name: str, image: bytes) -> Handled:
        return self.send(self.topics.evidence(incident_id, name), image)

    def issue(self, month: str) -> None:
        """The month's monthly notice, claimed and generated as the scheduler does: issued."""
        issued_on = dt.date(2020, 12, 1)
        taken = claim(
            self.recorder.engine,
            "monthly",
            month,
            owner="test-scheduler",
            issued_on=issued_on,
            number_start=20,
            now=dt.datetime(2020, 12, 1, 9, 0, tzinfo=TZ),
            stale_after=dt.timedelta(hours=1),
        )
        assert taken is not None
        mark_generated(self.recorder.engine, taken.id, [], "test", dt.datetime(2020, 12, 1, 9, 5, tzinfo=TZ), "")

    def row(self, table: type, key: object) -> object:
        with Session(self.recorder.engine) as session:
            return session.get(table, key)

    def all(self, table: type) -> list[object]:
        with Session(self.recorder.engine) as session:
            return list(session.exec(select(table)).all())

    def dead_letters(self) -> list[str]:
        """The reasons of the dead letters, oldest first."""
        with Session(self.recorder.engine) as session:
            return list(session.exec(select(DeadLetterRow.reason).order_by(col(DeadLetterRow.id))).all())


@pytest.fixture
def hall(db_url: str, tmp_path: Path) -> Iterator[Hall]:
    changes: dict[str, object] = {
        "db_url": db_url,
        "cameras": [WATCHED],
        "recorder": {"camera_max_age": dt.timedelta(days=3), "clock_tolerance": dt.timedelta(minutes=2)},
    }
    first, _ = hall_config(tmp_path, **changes)  # type: ignore[arg-type]
    director = SigningKey.generate(DIRECTOR)
    another = SignerConfig(name=DIRECTOR, role="supervisor", public_key=director.public_text())
    config, _ = hall_config(tmp_path, signers=[*first.signers, another], **changes)  # type: ignore[arg-type]
    target = Hall(config, director)
    try:
        yield target
    finally:
        target.recorder.engine.dispose()


def late(incident_id: str, day: int, *, source: str = f"patrol:{SUPERVISOR}", **fields: object) -> IncidentEvent:
    """12 minutes late at C20 on `day` November 2020 (the hall's time, 09:12 unless `started_at` is given)."""
    base: dict[str, object] = {
        "id": incident_id,
        "event": "new",
        "kind": "late_arrival",
        "window": "C20",
        "started_at": dt.datetime(2020, 11, day, 9, 12, tzinfo=TZ),
        "minutes": 12,
        "source": source,
    }
    return IncidentEvent.model_validate({**base, **fields})


def seen(incident_id: str, day: int, **fields: object) -> IncidentEvent:
    """The same, found by the camera on C20."""
    return late(incident_id, day, source="camera:cam-c20", **fields)


# --- freshness ------------------------------------------------------------------------------------------------


def test_a_camera_incident_from_tomorrow_is_refused_and_recorded_once_its_day_has_come(hall: Hall) -> None:
    hall.now = dt.datetime(2020, 11, 5, 10, 0, tzinfo=TZ)  # Thursday; the incident is Friday's
    refused = hall.by_camera(seen("cam-tomorrow", 6))
    assert refused.status is Status.REJECTED and refused.receipt is None
    assert "started_at 2020-11-06 09:12 lies in the future (now 2020-11-05 10:00)" in refused.detail
    assert hall.row(IncidentRow, "cam-tomorrow") is None
    assert len(hall.dead_letters()) == 1 and "lies in the future" in hall.dead_letters()[0]
    hall.now = NOW
    assert hall.by_camera(seen("cam-tomorrow", 6)).status is Status.RECORDED


def test_a_start_within_the_clock_tolerance_is_recorded_one_beyond_it_refused(hall: Hall) -> None:
    ahead = hall.by_camera(seen("cam-ahead", 6, started_at=NOW + dt.timedelta(minutes=2), minutes=62))
    assert ahead.status is Status.RECORDED, ahead.detail
    beyond = hall.by_camera(seen("cam-beyond", 6, started_at=NOW + dt.timedelta(minutes=3), minutes=63))
    assert beyond.status is Status.REJECTED and "lies in the future" in beyond.detail
    assert [r.id for r in hall.all(IncidentRow)] == ["cam-ahead"]  # type: ignore[attr-defined]
    assert len(hall.dead_letters()) == 1


def test_a_camera_incident_older_than_its_window_is_refused_a_younger_one_recorded(hall: Hall) -> None:
    old = hall.by_camera(seen("cam-monday", 2))  # Monday 09:12: 4 days before Friday 10:00
    assert old.status is Status.REJECTED
    assert "a camera's incident from 2020-11-02 09:12 is older than the 3 days" in old.detail
    assert "a supervisor may enter it as a patrol finding" in old.detail
    assert hall.by_camera(seen("cam-wednesday", 4)).status is Status.RECORDED  # 2 days before
    assert hall.by_camera(seen("cam-thursday", 5)).status is Status.RECORDED
    # What the camera may no longer report, a supervisor enters as a patrol finding.
    patrol = hall.incident(late("patrol-monday", 2))
    assert patrol.status is Status.RECORDED and patrol.receipt == ("incident", "patrol-monday")
    assert sorted(r.id for r in hall.all(IncidentRow)) == [  # type: ignore[attr-defined]
        "cam-thursday",
        "cam-wednesday",
        "patrol-monday",
    ]
    letters = hall.dead_letters()
    assert len(letters) == 1 and "older than" in letters[0]


def test_a_patrol_finding_ending_in_the_future_is_refused(hall: Hall) -> None:
    finding = late(
        "patrol-empty",
        6,
        kind="empty_post",
        started_at=NOW - dt.timedelta(minutes=30),
        ended_at=NOW + dt.timedelta(hours=1),
        minutes=90,
    )
    refused = hall.incident(finding)
    assert refused.status is Status.REJECTED and refused.receipt == ("incident", "patrol-empty")
    assert "ended_at 2020-11-06 11:00 lies in the future" in refused.detail
    assert hall.row(IncidentRow, "patrol-empty") is None
    assert len(hall.dead_letters()) == 1
    ended = finding.model_copy(update={"ended_at": NOW, "minutes": 30})
    assert hall.incident(ended).status is Status.RECORDED


def test_after_the_monthly_notice_is_issued_only_a_supervisors_correction_is_recorded(hall: Hall) -> None:
    # Recorded before the notice: a patrol finding and a camera's incident of November.
    hall.now = dt.datetime(2020, 11, 30, 10, 0, tzinfo=TZ)
    before = late("patrol-before", 5)
    camera_before = seen("cam-before", 30)
    assert hall.incident(before).status is Status.RECORDED
    assert hall.by_camera(camera_before).status is Status.RECORDED
    hall.issue("2020-11")
    hall.now = AFTER_ISSUE

    refused = hall.incident(late("patrol-late", 4))
    assert refused.status is Status.REJECTED and refused.receipt == ("incident", "patrol-late")
    assert "the notice of 2020-11 is issued" in refused.detail and "as a correction" in refused.detail
    assert hall.row(IncidentRow, "patrol-late") is None

    corrected = hall.incident(late("patrol-late", 4, correction=CORRECTION))
    assert corrected.status is Status.RECORDED, corrected.detail
    row = hall.row(IncidentRow, "patrol-late")
    assert row is not None and row.correction == CORRECTION  # type: ignore[attr-defined]
    assert hall.row(IncidentRow, "patrol-before").correction is None  # type: ignore[union-attr]

    # A camera's incident of that month is refused, even within its age and even calling itself a correction.
    for event in (seen("cam-late", 30), seen("cam-late", 30, correction=CORRECTION)):
        camera = hall.by_camera(event)
        assert camera.status is Status.REJECTED and "the notice of 2020-11 is issued" in camera.detail
    assert hall.row(IncidentRow, "cam-late") is None

    # What was recorded before the notice, sent again (re-signed, stamped anew), stays a duplicate.
    again = hall.incident(before.model_copy(update={"sent_at": AFTER_ISSUE}))
    assert again.status is Status.DUPLICATE and again.receipt == ("incident", "patrol-before")
    assert hall.by_camera(camera_before).status is Status.DUPLICATE
    assert hall.incident(late("patrol-late", 4, correction=CORRECTION)).status is Status.DUPLICATE

    # December is not issued: its findings are recorded as ever.
    assert hall.incident(late("patrol-december", 1, started_at=AFTER_ISSUE - dt.timedelta(minutes=48))).status is (
        Status.RECORDED
    )
    letters = hall.dead_letters()
    assert len(letters) == 3 and all("the notice of 2020-11 is issued" in r for r in letters)
    assert len(hall.all(IncidentRow)) == 4


def test_a_correction_in_a_batch_with_refusals_is_recorded_alone(hall: Hall) -> None:
    """One batch, one transaction: the refused messages leave dead letters, the correction is recorded."""
    hall.issue("2020-11")
    hall.now = AFTER_ISSUE
    incidents = hall.topics.incidents
    batch = [
        (incidents, hall.supervisor.sign(late("p-1", 3)).to_json()),
        (incidents, hall.supervisor.sign(late("p-2", 3, correction=CORRECTION)).to_json()),
        (incidents, hall.camera.sign(seen("c-1", 30)).to_json()),
    ]
    results = hall.recorder.apply(batch)
    assert results is not None
    assert [r.status for r in results] == [Status.REJECTED, Status.RECORDED, Status.REJECTED]
    assert [r.id for r in hall.all(IncidentRow)] == ["p-2"]  # type: ignore[attr-defined]
    assert len(hall.dead_letters()) == 2


# --- conflicts --------------------------------------------------------------------------------------------------


def _grant(**fields: object) -> LeaveGrant:
    base: dict[str, object] = {
        "id": "leave-1",
        "window": "C20",
        "start": dt.datetime(2020, 11, 9, 9, 0, tzinfo=TZ),
        "end": dt.datetime(2020, 11, 9, 12, 0, tzinfo=TZ),
        "reason": "公出：市局培训",
        "by": SUPERVISOR,
        "at": NOW,
    }
    return LeaveGrant.model_validate({**base, **fields})


def test_a_leave_reusing_an_id_with_other_content_is_a_conflict(hall: Hall) -> None:
    first = hall.leave(_grant())
    assert first.status is Status.RECORDED and first.receipt == ("leave", "leave-1")
    assert first.leave_window == "C20"
    again = hall.leave(_grant(at=NOW + dt.timedelta(minutes=5)))  # the same grant, signed anew
    assert again.status is Status.DUPLICATE and again.receipt == ("leave", "leave-1") and again.leave_window is None
    others = [
        _grant(window="C21"),
        _grant(start=dt.datetime(2020, 11, 9, 10, 0, tzinfo=TZ)),
        _grant(end=dt.datetime(2020, 11, 9, 17, 0, tzinfo=TZ)),
        _grant(reason="病假"),
    ]
    results = [hall.leave(grant) for grant in others]
    results.append(hall.leave(_grant(by=DIRECTOR), hall.director))
    for result in results:
        assert result.status is Status.CONFLICT, result.detail
        assert result.receipt == ("leave", "leave-1") and result.leave_window is None
        assert "leave leave-1 is recorded with another window, time or reason" in result.detail
    row = hall.row(LeaveRow, "leave-1")
    assert row is not None
    assert (row.window, row.reason, row.by) == ("C20", "公出：市局培训", SUPERVISOR)  # type: ignore[attr-defined]
    assert row.end == dt.datetime(2020, 11, 9, 12, 0, tzinfo=TZ)  # type: ignore[attr-defined]
    assert row.decided_at == NOW  # type: ignore[attr-defined]
    assert len(hall.all(LeaveRow)) == 1
    letters = hall.dead_letters()
    assert len(letters) == 5 and all("recorded with another window" in r for r in letters)


def test_a_dismissal_by_another_decision_is_a_conflict(hall: Hall) -> None:
    assert hall.incident(late("patrol-1", 4)).status is Status.RECORDED
    decided = dt.datetime(2020, 11, 5, 16, 0, tzinfo=TZ)
    first = hall.dismissal(Dismissal(incident_id="patrol-1", reason="申诉成立", by=SUPERVISOR, at=decided))
    assert first.status is Status.DISMISSED and first.receipt == ("dismissal", "patrol-1")
    again = hall.dismissal(Dismissal(incident_id="patrol-1", reason="申诉成立", by=SUPERVISOR, at=NOW))
    assert again.status is Status.DUPLICATE and again.receipt == ("dismissal", "patrol-1")
    other_reason = hall.dismissal(Dismissal(incident_id="patrol-1", reason="已请假", by=SUPERVISOR, at=NOW))
    other_person = hall.dismissal(
        Dismissal(incident_id="patrol-1", reason="申诉成立", by=DIRECTOR, at=NOW), hall.director
    )
    for result in (other_reason, other_person):
        assert result.status is Status.CONFLICT and result.receipt == ("dismissal", "patrol-1")
        assert "incident patrol-1 was dismissed by another decision" in result.detail
    rows = hall.all(DismissalRow)
    assert [(r.reason, r.by, r.decided_at) for r in rows] == [("申诉成立", SUPERVISOR, decided)]  # type: ignore[attr-defined]
    letters = hall.dead_letters()
    assert len(letters) == 2 and all("dismissed by another decision" in r for r in letters)


def test_evidence_with_other_bytes_under_a_kept_name_is_a_conflict(hall: Hall) -> None:
    announced = seen(
        "cam-ev",
        5,
        evidence=["threshold.jpg", "arrival.jpg"],
        digests={"threshold.jpg": hashlib.sha256(JPEG).hexdigest()},
    )
    assert hall.by_camera(announced).status is Status.RECORDED
    # Announced without a digest: the first picture is kept, the same again is a duplicate, another a conflict.
    assert hall.evidence("cam-ev", "arrival.jpg", JPEG).status is Status.RECORDED
    assert hall.evidence("cam-ev", "arrival.jpg", JPEG).status is Status.DUPLICATE
    conflict = hall.evidence("cam-ev", "arrival.jpg", OTHER_JPEG)
    assert conflict.status is Status.CONFLICT and conflict.receipt is None
    assert "evidence cam-ev/arrival.jpg" in conflict.detail
    # With a digest: the signed picture is kept; another is refused before it could conflict.
    assert hall.evidence("cam-ev", "threshold.jpg", JPEG).status is Status.RECORDED
    assert hall.evidence("cam-ev", "threshold.jpg", JPEG).status is Status.DUPLICATE
    forged = hall.evidence("cam-ev", "threshold.jpg", OTHER_JPEG)
    assert forged.status is Status.REJECTED and "does not match the digest" in forged.detail
    with Session(hall.recorder.engine) as session:
        kept = {r.name: bytes(r.data) for r in session.exec(select(EvidenceRow))}
    assert kept == {"arrival.jpg": JPEG, "threshold.jpg": JPEG}
    letters = hall.dead_letters()
    assert len(letters) == 2
    assert "evidence cam-ev/arrival.jpg" in letters[0] and "does not match the digest" in letters[1]
    with Session(hall.recorder.engine) as session:
        topics = list(session.exec(select(DeadLetterRow.topic).order_by(col(DeadLetterRow.id))))
        payloads = [bytes(p) for p in session.exec(select(DeadLetterRow.payload).order_by(col(DeadLetterRow.id)))]
    assert topics == [hall.topics.evidence("cam-ev", "arrival.jpg"), hall.topics.evidence("cam-ev", "threshold.jpg")]
    assert payloads == [OTHER_JPEG, OTHER_JPEG]
