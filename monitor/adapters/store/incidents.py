"""Incident persistence: record lifecycle events idempotently, dismiss and reinstate, and read incidents back.

An incident is dismissed while it has a dismissal that no reinstatement reverses (its *standing* dismissal); each
decision is a row of its own, so dismissed, reinstated and dismissed again is three rows and the history."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import ColumnElement, and_, exists
from sqlmodel import Session, col, func, select

from monitor.adapters.store.tables import DismissalRow, IncidentEventRow, IncidentRow, ReinstatementRow
from monitor.contract import Dismissal, IncidentEvent, Reinstatement, Status
from monitor.core.admission import Charge
from monitor.core.incident import Incident


class Outcome(enum.Enum):
    NEW_INCIDENT = "new_incident"
    """First event of an unknown incident: recorded, deductions now apply, alert due."""
    NEW_EVENT = "new_event"
    """A further lifecycle event of a known incident."""
    DUPLICATE = "duplicate"
    """Seen before (redelivery): nothing written."""


class Conflict(ValueError):
    """An event contradicts what is recorded under the same id (another window or kind)."""


class IncidentBook:
    """The incidents a batch of events names, and their recorded events, as the batch sees them: read with
    one query each for the whole batch and kept current as the batch records more. Recording an event then
    sends no query, so the batch's rows are written together when it is flushed."""

    def __init__(self, session: Session, events: Iterable[IncidentEvent]) -> None:
        self.session = session
        self._read: set[str] = set()
        self._rows: dict[str, IncidentRow] = {}  # strong references: the session keeps clean rows weakly
        self._payloads: dict[tuple[str, str, int], str] = {}
        self._load({e.id for e in events})

    def _load(self, ids: set[str]) -> None:
        ids -= self._read
        if not ids:
            return
        self._read |= ids
        for row in self.session.exec(select(IncidentRow).where(col(IncidentRow.id).in_(ids))):
            self._rows[row.id] = row
        recorded = select(
            IncidentEventRow.incident_id, IncidentEventRow.event, IncidentEventRow.seq, IncidentEventRow.payload
        ).where(col(IncidentEventRow.incident_id).in_(ids))
        for incident_id, event, seq, payload in self.session.exec(recorded):
            self._payloads[(incident_id, event, seq)] = payload

    def row(self, incident_id: str) -> IncidentRow | None:
        self._load({incident_id})
        return self._rows.get(incident_id)

    def payload(self, event: IncidentEvent) -> str | None:
        """The payload this very event (id, event, seq) was recorded with, if it was."""
        self._load({event.id})
        return self._payloads.get((event.id, event.event, event.seq))

    def add(self, row: IncidentRow) -> None:
        self._rows[row.id] = row
        self.session.add(row)

    def note(self, event: IncidentEvent, payload: str, received_at: dt.datetime) -> None:
        self._payloads[(event.id, event.event, event.seq)] = payload
        self.session.add(
            IncidentEventRow(
                incident_id=event.id, event=event.event, seq=event.seq, payload=payload, received_at=received_at
            )
        )


def record_event(
    book: IncidentBook, event: IncidentEvent, charge: Charge, received_at: dt.datetime
) -> tuple[Outcome, IncidentRow | None]:
    """Record one event in the book's transaction, and return the incident's row (None for a duplicate).
    Idempotent on (id, event, seq): a redelivery is a duplicate; the same (id, event, seq) saying
    something else is a Conflict (raised before anything is written)."""
    seen = book.payload(event)
    if seen is not None:
        if _content(IncidentEvent.from_json(seen)) != _content(event):
            raise Conflict(
                f"incident {event.id} {event.event} #{event.seq} was recorded with other content; a correction "
                "is a new event (a higher seq) or a dismissal"
            )
        return Outcome.DUPLICATE, None
    row = book.row(event.id)
    outcome = Outcome.NEW_EVENT
    if row is None:
        outcome = Outcome.NEW_INCIDENT
        row = IncidentRow(
            id=event.id,
            kind=event.kind,
            window=event.window,
            department=charge.department,
            staff=charge.staff,
            started_at=event.started_at,
            ended_at=event.ended_at,
            minutes=event.minutes,
            source=event.source,
            note=event.note,
            recorded_at=received_at,
            last_seq=-1,
            correction=event.correction,
        )
    elif (row.kind, row.window) != (event.kind, event.window):
        raise Conflict(
            f"incident {event.id} is recorded as {row.kind} at {row.window}, not {event.kind} at {event.window}"
        )
    if event.seq >= row.last_seq:
        # Later events carry the incident's newest picture: its end and duration so far.
        row.last_seq = event.seq
        row.ended_at = event.ended_at or row.ended_at
        row.minutes = event.minutes if event.minutes is not None else row.minutes
        row.note = event.note or row.note
    book.add(row)
    book.note(event, event.to_json().decode(), received_at)
    return outcome, row


def _content(event: IncidentEvent) -> dict[str, object]:
    """What an event says, without how it was sent (a redelivery may be signed or stamped anew)."""
    return event.model_dump(exclude={"sent_at", "signature"})


class NotDismissed(ValueError):
    """A reinstatement of an incident that is not dismissed: there is nothing to reverse."""


def _standing() -> ColumnElement[bool]:
    """A dismissal that no reinstatement reverses."""
    return ~exists().where(col(ReinstatementRow.dismissal_id) == col(DismissalRow.id))


def _standing_of_incident() -> ColumnElement[bool]:
    """Join condition: the incident's standing dismissal (at most one)."""
    return and_(col(DismissalRow.incident_id) == col(IncidentRow.id), _standing())


def standing_dismissal(session: Session, incident_id: str) -> DismissalRow | None:
    """The dismissal that makes the incident dismissed now; None when it stands (never dismissed, or reinstated)."""
    return session.exec(select(DismissalRow).where(DismissalRow.incident_id == incident_id, _standing())).first()


def dismiss(session: Session, dismissal: Dismissal, received_at: dt.datetime) -> Status:
    """Withdraw an incident's deductions: DISMISSED. DUPLICATE when this dismissal is recorded already: its id is
    (with the same incident, reason and person), or the incident stands dismissed by the same reason and person
    (sent again, even signed anew), or — a dismissal without an id — an earlier, reinstated dismissal said the
    same at the same time (a redelivery must not dismiss again what a supervisor reinstated). CONFLICT when the id is
    recorded with other content, or the incident stands dismissed by another decision. Nothing is deleted.
    LookupError when no such incident is recorded."""
    if session.get(IncidentRow, dismissal.incident_id) is None:
        raise LookupError(f"no incident {dismissal.incident_id!r} is recorded")
    content = (dismissal.incident_id, dismissal.reason, dismissal.by)
    if dismissal.id is not None:
        known = session.exec(select(DismissalRow).where(DismissalRow.record_id == dismissal.id)).first()
        if known is not None:
            return Status.DUPLICATE if (known.incident_id, known.reason, known.by) == content else Status.CONFLICT
    standing = standing_dismissal(session, dismissal.incident_id)
    if standing is not None:
        same = (standing.reason, standing.by) == (dismissal.reason, dismissal.by)
        return Status.DUPLICATE if same else Status.CONFLICT
    if dismissal.id is None:
        earlier = session.exec(
            select(DismissalRow.id).where(
                DismissalRow.incident_id == dismissal.incident_id,
                DismissalRow.reason == dismissal.reason,
                DismissalRow.by == dismissal.by,
                DismissalRow.decided_at == dismissal.at,
            )
        ).first()
        if earlier is not None:
            return Status.DUPLICATE
    session.add(
        DismissalRow(
            incident_id=dismissal.incident_id,
            record_id=dismissal.id,
            reason=dismissal.reason,
            by=dismissal.by,
            decided_at=dismissal.at,
            recorded_at=received_at,
        )
    )
    return Status.DISMISSED


def reinstate(session: Session, reinstatement: Reinstatement, received_at: dt.datetime) -> Status:
    """Reverse the incident's standing dismissal: RECORDED, and the incident deducts again. DUPLICATE when this
    reinstatement is recorded already (even signed anew), CONFLICT when its id is recorded with other content.
    LookupError when no such incident is recorded; NotDismissed when it is not dismissed. Nothing is deleted."""
    known = session.get(ReinstatementRow, reinstatement.id)
    if known is not None:
        same = (known.incident_id, known.reason, known.by) == (
            reinstatement.incident_id,
            reinstatement.reason,
            reinstatement.by,
        )
        return Status.DUPLICATE if same else Status.CONFLICT
    if session.get(IncidentRow, reinstatement.incident_id) is None:
        raise LookupError(f"no incident {reinstatement.incident_id!r} is recorded")
    standing = standing_dismissal(session, reinstatement.incident_id)
    if standing is None or standing.id is None:
        raise NotDismissed(f"incident {reinstatement.incident_id} is not dismissed: there is nothing to reinstate")
    session.add(
        ReinstatementRow(
            id=reinstatement.id,
            incident_id=reinstatement.incident_id,
            dismissal_id=standing.id,
            reason=reinstatement.reason,
            by=reinstatement.by,
            decided_at=reinstatement.at,
            recorded_at=received_at,
        )
    )
    return Status.RECORDED


Decided = Literal["dismissed", "reinstated"]


@dataclass(frozen=True, slots=True)
class Decision:
    """One supervisor's decision on an incident: dismissed or reinstated, by whom, why, when."""

    action: Decided
    reason: str
    by: str
    decided_at: dt.datetime
    recorded_at: dt.datetime


def decisions_for(session: Session, incident_id: str) -> list[Decision]:
    """The incident's dismissals and reinstatements in the order they were recorded (each reinstatement right
    after the dismissal it reverses); the incident is dismissed when the last one is a dismissal."""
    dismissals = session.exec(
        select(DismissalRow).where(DismissalRow.incident_id == incident_id).order_by(col(DismissalRow.id))
    ).all()
    reversals = {
        r.dismissal_id: r
        for r in session.exec(select(ReinstatementRow).where(ReinstatementRow.incident_id == incident_id))
    }
    history: list[Decision] = []
    for d in dismissals:
        history.append(Decision("dismissed", d.reason, d.by, d.decided_at, d.recorded_at))
        if d.id in reversals:
            r = reversals[d.id]
            history.append(Decision("reinstated", r.reason, r.by, r.decided_at, r.recorded_at))
    return history


def as_incident(row: IncidentRow, *, dismissed: bool) -> Incident:
    """The incident a row records (whether it is dismissed is in another table: the caller knows)."""
    return Incident(
        id=row.id,
        kind=row.kind,
        window=row.window,
        department=row.department,
        started_at=row.started_at,
        ended_at=row.ended_at,
        minutes=row.minutes,
        staff=row.staff,
        source=row.source,
        note=row.note,
        dismissed=dismissed,
        correction=row.correction,
    )


def load_incidents(
    session: Session, start: dt.datetime, end: dt.datetime, *, window: str | None = None
) -> list[Incident]:
    """Incidents that started in [start, end) (at `window` only, if given), dismissed ones included
    (dismissed=True: a standing dismissal), oldest first."""
    statement = (
        select(IncidentRow, DismissalRow.id)
        .join(DismissalRow, _standing_of_incident(), isouter=True)
        .where(IncidentRow.started_at >= start, IncidentRow.started_at < end)
        .order_by(col(IncidentRow.started_at), col(IncidentRow.id))
    )
    if window is not None:
        statement = statement.where(IncidentRow.window == window)
    rows = session.exec(statement).all()
    return [as_incident(row, dismissed=dismissal_id is not None) for row, dismissal_id in rows]


def incident_by_id(session: Session, incident_id: str) -> Incident:
    row = session.get(IncidentRow, incident_id)
    if row is None:
        raise LookupError(f"no incident {incident_id!r} is recorded")
    return as_incident(row, dismissed=standing_dismissal(session, incident_id) is not None)


def dismissals_for(session: Session, incident_ids: Iterable[str]) -> dict[str, DismissalRow]:
    """The standing dismissal of each of the incidents that is dismissed (a reinstated one is left out)."""
    ids = list(incident_ids)
    if not ids:
        return {}
    rows = session.exec(select(DismissalRow).where(col(DismissalRow.incident_id).in_(ids), _standing())).all()
    return {r.incident_id: r for r in rows}


def standing_rank(session: Session, row: IncidentRow, month_start: dt.datetime) -> int:
    """The incident's rank among the standing (not dismissed) incidents of its window and kind since
    `month_start`, itself included, in start order — one indexed count, so the cost does not grow with the
    month. An escalating rule charges by it."""
    earlier = (col(IncidentRow.started_at) < row.started_at) | (
        (col(IncidentRow.started_at) == row.started_at) & (col(IncidentRow.id) <= row.id)
    )
    return int(
        session.exec(
            select(func.count())
            .select_from(IncidentRow)
            .join(DismissalRow, _standing_of_incident(), isouter=True)
            .where(
                IncidentRow.window == row.window,
                IncidentRow.kind == row.kind,
                IncidentRow.started_at >= month_start,
                earlier,
                col(DismissalRow.id).is_(None),
            )
        ).one()
    )


def announced_evidence(session: Session, incident_id: str) -> tuple[set[str], dict[str, str]]:
    """The evidence names an incident's recorded (signed) events announced, and their sha256 digests."""
    names: set[str] = set()
    digests: dict[str, str] = {}
    for payload in session.exec(select(IncidentEventRow.payload).where(IncidentEventRow.incident_id == incident_id)):
        event = IncidentEvent.from_json(payload)
        names.update(event.evidence)
        digests.update(event.digests)
    return names, digests


def incident_sources(session: Session, incident_ids: Iterable[str]) -> dict[str, str]:
    """Incident id -> who found it (camera:<id>, patrol:<name>)."""
    ids = list(incident_ids)
    if not ids:
        return {}
    return dict(session.exec(select(IncidentRow.id, IncidentRow.source).where(col(IncidentRow.id).in_(ids))).all())


def incident_events(session: Session, incident_id: str) -> list[IncidentEventRow]:
    """An incident's stored events in the order they happened."""
    return list(
        session.exec(
            select(IncidentEventRow)
            .where(IncidentEventRow.incident_id == incident_id)
            .order_by(col(IncidentEventRow.seq), col(IncidentEventRow.id))
        ).all()
    )


def changes_after(session: Session, start: dt.datetime, end: dt.datetime, moment: dt.datetime) -> int:
    """How many incidents, dismissals and reinstatements were recorded after `moment` for incidents that started in
    [start, end): what changed a month's figures after its notice was issued."""
    in_month = and_(col(IncidentRow.started_at) >= start, col(IncidentRow.started_at) < end)
    recorded = session.exec(
        select(func.count()).select_from(IncidentRow).where(in_month, col(IncidentRow.recorded_at) > moment)
    ).one()
    dismissed = session.exec(
        select(func.count())
        .select_from(DismissalRow)
        .join(IncidentRow, col(IncidentRow.id) == col(DismissalRow.incident_id))
        .where(in_month, col(DismissalRow.recorded_at) > moment)
    ).one()
    reinstated = session.exec(
        select(func.count())
        .select_from(ReinstatementRow)
        .join(IncidentRow, col(IncidentRow.id) == col(ReinstatementRow.incident_id))
        .where(in_month, col(ReinstatementRow.recorded_at) > moment)
    ).one()
    return int(recorded) + int(dismissed) + int(reinstated)
