"""The review queue (违纪审核) as the store answers it: incidents of any date filtered by their review state, window,
person, department, kind and source, newest first, a page at a time, and an incident's neighbours in that order.

The console's list opens on what awaits review across all dates, so the filtering and the paging are done here in
SQL, not by loading every incident: a page costs the same whether the hall has a month of incidents or ten years.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import and_, exists, func, or_
from sqlmodel import Session, col, select

from monitor.adapters.store.incidents import as_incident, dismissals_for
from monitor.adapters.store.tables import DismissalRow, IncidentRow, ReinstatementRow, ReviewRow
from monitor.core.incident import Incident

ReviewState = Literal["new", "reviewed", "dismissed"]
"""待审核 (neither reviewed nor dismissed), 已审核 (let stand), 已撤销 (dismissed)."""

PATROL = "patrol:"
"""The source of every patrol finding starts so (patrol:<supervisor>); a camera's is camera:<id>."""


@dataclass(frozen=True, slots=True)
class QueueQuery:
    """What the queue shows: each field left None does not filter."""

    state: ReviewState | None = None
    window: str | None = None
    staff: str | None = None
    department: str | None = None
    kind: str | None = None
    source: str | None = None
    """A camera's source (camera:<id>) exactly, or PATROL for every patrol finding."""
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    """Incidents that started in [start, end)."""


def _dismissed() -> Any:
    """Whether the incident is dismissed now (a correlated condition on IncidentRow): it has a dismissal that no
    reinstatement reverses."""
    reversed_ = exists().where(col(ReinstatementRow.dismissal_id) == col(DismissalRow.id))
    return exists().where(col(DismissalRow.incident_id) == col(IncidentRow.id), ~reversed_)


def _reviewed() -> Any:
    return exists().where(col(ReviewRow.incident_id) == col(IncidentRow.id))


def _conditions(query: QueueQuery) -> list[Any]:
    where: list[Any] = []
    if query.state == "dismissed":
        where.append(_dismissed())
    elif query.state == "reviewed":
        where += [_reviewed(), ~_dismissed()]
    elif query.state == "new":
        where += [~_reviewed(), ~_dismissed()]
    for column, value in (
        (IncidentRow.window, query.window),
        (IncidentRow.staff, query.staff),
        (IncidentRow.department, query.department),
        (IncidentRow.kind, query.kind),
    ):
        if value is not None:
            where.append(col(column) == value)
    if query.source == PATROL:
        where.append(col(IncidentRow.source).startswith(PATROL))
    elif query.source is not None:
        where.append(col(IncidentRow.source) == query.source)
    if query.start is not None:
        where.append(col(IncidentRow.started_at) >= query.start)
    if query.end is not None:
        where.append(col(IncidentRow.started_at) < query.end)
    return where


def _incidents(session: Session, rows: Iterable[IncidentRow]) -> list[Incident]:
    found = list(rows)
    dismissed = dismissals_for(session, [r.id for r in found])
    return [as_incident(r, dismissed=r.id in dismissed) for r in found]


def queue_page(session: Session, query: QueueQuery, *, limit: int, offset: int) -> tuple[list[Incident], int]:
    """One page of the queue, newest first, and how many incidents the whole queue holds."""
    where = _conditions(query)
    total = session.exec(select(func.count()).select_from(IncidentRow).where(*where)).one()
    rows = session.exec(
        select(IncidentRow)
        .where(*where)
        .order_by(col(IncidentRow.started_at).desc(), col(IncidentRow.id).desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return _incidents(session, rows), int(total)


def neighbours(session: Session, query: QueueQuery, incident: Incident) -> tuple[str | None, str | None]:
    """The ids of the incidents just before (newer) and just after (older) `incident` in the queue's order, whether
    or not `incident` itself is still in the queue (marked reviewed, it has left a queue of 待审核)."""
    where = _conditions(query)
    at, key = incident.started_at, incident.id
    newer = or_(col(IncidentRow.started_at) > at, and_(col(IncidentRow.started_at) == at, col(IncidentRow.id) > key))
    older = or_(col(IncidentRow.started_at) < at, and_(col(IncidentRow.started_at) == at, col(IncidentRow.id) < key))
    before = session.exec(
        select(IncidentRow.id).where(*where, newer).order_by(col(IncidentRow.started_at), col(IncidentRow.id)).limit(1)
    ).first()
    after = session.exec(
        select(IncidentRow.id)
        .where(*where, older)
        .order_by(col(IncidentRow.started_at).desc(), col(IncidentRow.id).desc())
        .limit(1)
    ).first()
    return before, after


def incidents_by_ids(session: Session, incident_ids: Iterable[str]) -> list[Incident]:
    """The recorded incidents among `incident_ids`, oldest first (an id not recorded is left out)."""
    ids = list(dict.fromkeys(incident_ids))
    if not ids:
        return []
    rows = session.exec(
        select(IncidentRow)
        .where(col(IncidentRow.id).in_(ids))
        .order_by(col(IncidentRow.started_at), col(IncidentRow.id))
    ).all()
    return _incidents(session, rows)


def known_staff(session: Session) -> list[str]:
    """Every person incidents were charged to, by name: the person filter offers them with the roster's."""
    names = session.exec(select(IncidentRow.staff).where(col(IncidentRow.staff).is_not(None)).distinct()).all()
    return sorted(n for n in names if n)
