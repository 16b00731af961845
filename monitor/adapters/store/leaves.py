"""Approved leave: recorded once, looked up when an incident arrives."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable

from sqlmodel import Session, col, select

from monitor.adapters.store.tables import LeaveRow
from monitor.contract import IncidentEvent, LeaveGrant, Status
from monitor.core.admission import LeaveSpan

MARGIN = dt.timedelta(days=1)
"""Leave looked up around an incident: what overlaps its start, give or take this."""


def grant_leave(session: Session, grant: LeaveGrant, received_at: dt.datetime) -> Status:
    """Record a grant in the caller's transaction: RECORDED; DUPLICATE when the same grant is recorded already
    (sent again, even signed anew); CONFLICT, writing nothing, when its id is recorded with another window,
    time, reason or approver."""
    known = session.get(LeaveRow, grant.id)
    if known is not None:
        same = (known.window, known.start, known.end, known.reason, known.by) == (
            grant.window,
            grant.start,
            grant.end,
            grant.reason,
            grant.by,
        )
        return Status.DUPLICATE if same else Status.CONFLICT
    session.add(
        LeaveRow(
            id=grant.id,
            window=grant.window,
            start=grant.start,
            end=grant.end,
            reason=grant.reason,
            by=grant.by,
            decided_at=grant.at,
            recorded_at=received_at,
        )
    )
    return Status.RECORDED


def _span(row: LeaveRow) -> LeaveSpan:
    return LeaveSpan(row.start, row.end, row.reason)


def leaves_around(session: Session, window: str, moment: dt.datetime) -> list[LeaveSpan]:
    """The window's leaves that overlap [moment - MARGIN, moment + MARGIN]."""
    rows = session.exec(
        select(LeaveRow)
        .where(LeaveRow.window == window, LeaveRow.start < moment + MARGIN, LeaveRow.end > moment - MARGIN)
        .order_by(col(LeaveRow.start))
    ).all()
    return [_span(r) for r in rows]


def leaves_ahead(
    session: Session, now: dt.datetime, windows: Collection[str] | None = None
) -> dict[str, list[LeaveRow]]:
    """Leave not yet ended at `now` (under way or to come), by window in start order: of `windows`, or of every
    window that has such leave."""
    query = select(LeaveRow).where(LeaveRow.end > now)
    if windows is not None:
        query = query.where(col(LeaveRow.window).in_(windows))
    ahead: dict[str, list[LeaveRow]] = {}
    for row in session.exec(query.order_by(col(LeaveRow.window), col(LeaveRow.start), col(LeaveRow.id))):
        ahead.setdefault(row.window, []).append(row)
    return ahead


class LeaveBook:
    """Leave as one transaction's batch of messages sees it: read with one query for the incidents the
    batch holds (instead of one per incident), and kept current as the batch grants more."""

    def __init__(self, session: Session, incidents: Iterable[IncidentEvent]) -> None:
        self._session = session
        events = list(incidents)
        self._spans: dict[str, list[LeaveSpan]] = {e.window: [] for e in events}
        self._covered: tuple[dt.datetime, dt.datetime] | None = None
        if not events:
            return
        low, high = min(e.started_at for e in events), max(e.started_at for e in events)
        self._covered = (low, high)
        rows = session.exec(
            select(LeaveRow)
            .where(col(LeaveRow.window).in_(self._spans), LeaveRow.start < high + MARGIN, LeaveRow.end > low - MARGIN)
            .order_by(col(LeaveRow.start))
        ).all()
        for row in rows:
            self._spans[row.window].append(_span(row))

    def around(self, window: str, moment: dt.datetime) -> list[LeaveSpan]:
        """The window's leaves that overlap [moment - MARGIN, moment + MARGIN]."""
        read = self._covered is not None and self._covered[0] <= moment <= self._covered[1]
        if not read or window not in self._spans:  # not an incident the batch was read for
            return leaves_around(self._session, window, moment)
        return [s for s in self._spans[window] if s.start < moment + MARGIN and s.end > moment - MARGIN]

    def grant(self, grant: LeaveGrant, received_at: dt.datetime) -> Status:
        """Record a grant (grant_leave), which the batch's later incidents then see."""
        status = grant_leave(self._session, grant, received_at)
        if status is Status.RECORDED and grant.window in self._spans:
            self._spans[grant.window].append(LeaveSpan(grant.start, grant.end, grant.reason))
        return status


def leaves_ending_after(session: Session, moment: dt.datetime) -> list[LeaveRow]:
    """Approved leave not over at `moment`, soonest first."""
    query = select(LeaveRow).where(LeaveRow.end > moment).order_by(col(LeaveRow.start), col(LeaveRow.window))
    return list(session.exec(query))
