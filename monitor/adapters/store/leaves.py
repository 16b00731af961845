"""Approved leave: recorded once, withdrawn or changed by later records (each kept), looked up when an incident
arrives. Every lookup sees the leave as it now stands (`start`, `end`); a leave withdrawn before it began covers
nothing and is found by none."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable

from sqlalchemy import ColumnElement
from sqlmodel import Session, col, func, select

from monitor.adapters.store.tables import LeaveChangeRow, LeaveRow
from monitor.contract import IncidentEvent, LeaveChange, LeaveGrant, Status, leave_why
from monitor.core.admission import LeaveSpan
from monitor.core.leave_changes import Span

MARGIN = dt.timedelta(days=1)
"""Leave looked up around an incident: what overlaps its start, give or take this."""


def _covering() -> ColumnElement[bool]:
    """Leave that covers any time (not withdrawn before it began)."""
    return col(LeaveRow.end) > col(LeaveRow.start)


def grant_leave(session: Session, grant: LeaveGrant, received_at: dt.datetime) -> Status:
    """Record a grant in the caller's transaction: RECORDED; DUPLICATE when the same grant is recorded already
    (sent again, even signed anew, and even after a change: the grant as granted is what it is compared with);
    CONFLICT, writing nothing, when its id is recorded with another window, time, kind, reason or approver."""
    known = session.get(LeaveRow, grant.id)
    if known is not None:
        same = (known.window, known.granted_start, known.granted_end, known.kind, known.reason, known.by) == (
            grant.window,
            grant.start,
            grant.end,
            grant.leave_kind,
            grant.reason,
            grant.by,
        )
        return Status.DUPLICATE if same else Status.CONFLICT
    session.add(
        LeaveRow(
            id=grant.id,
            window=grant.window,
            kind=grant.leave_kind,
            start=grant.start,
            end=grant.end,
            granted_start=grant.start,
            granted_end=grant.end,
            reason=grant.reason,
            by=grant.by,
            decided_at=grant.at,
            recorded_at=received_at,
        )
    )
    return Status.RECORDED


def leave_label(kind: str, reason: str) -> str:
    """How an admission refusal names the leave: 公出：市局培训."""
    why = leave_why(kind, reason)
    return kind if why in ("", kind) else f"{kind}：{why}"


def _span(row: LeaveRow) -> LeaveSpan:
    return LeaveSpan(row.start, row.end, leave_label(row.kind, row.reason))


def leaves_around(session: Session, window: str, moment: dt.datetime) -> list[LeaveSpan]:
    """The window's leaves that overlap [moment - MARGIN, moment + MARGIN]."""
    rows = session.exec(
        select(LeaveRow)
        .where(LeaveRow.window == window, LeaveRow.start < moment + MARGIN, LeaveRow.end > moment - MARGIN, _covering())
        .order_by(col(LeaveRow.start))
    ).all()
    return [_span(r) for r in rows]


def leaves_ahead(
    session: Session, now: dt.datetime, windows: Collection[str] | None = None
) -> dict[str, list[LeaveRow]]:
    """Leave not yet ended at `now` (under way or to come), by window in start order: of `windows`, or of every
    window that has such leave."""
    query = select(LeaveRow).where(LeaveRow.end > now, _covering())
    if windows is not None:
        query = query.where(col(LeaveRow.window).in_(windows))
    ahead: dict[str, list[LeaveRow]] = {}
    for row in session.exec(query.order_by(col(LeaveRow.window), col(LeaveRow.start), col(LeaveRow.id))):
        ahead.setdefault(row.window, []).append(row)
    return ahead


def change_recorded(session: Session, change: LeaveChange) -> Status | None:
    """DUPLICATE when this change is recorded already (sent again, even signed anew), CONFLICT when its id is
    recorded with another leave, action, time, reason or person; None when it is new."""
    known = session.get(LeaveChangeRow, change.id)
    if known is None:
        return None
    same = (known.leave_id, known.action, known.start, known.end, known.reason, known.by) == (
        change.leave_id,
        change.action,
        change.start,
        change.end,
        change.reason,
        change.by,
    )
    return Status.DUPLICATE if same else Status.CONFLICT


def change_leave(session: Session, row: LeaveRow, change: LeaveChange, after: Span, received_at: dt.datetime) -> None:
    """Record `change` of the leave `row` in the caller's transaction: the leave now covers `after`
    (monitor.core.leave_changes.revised), and its history keeps the change with the time before and after it."""
    earlier = session.exec(
        select(func.count()).select_from(LeaveChangeRow).where(LeaveChangeRow.leave_id == row.id)
    ).one()
    session.add(
        LeaveChangeRow(
            id=change.id,
            leave_id=row.id,
            seq=int(earlier) + 1,
            action=change.action,
            start=change.start,
            end=change.end,
            before_start=row.start,
            before_end=row.end,
            after_start=after.start,
            after_end=after.end,
            reason=change.reason,
            by=change.by,
            decided_at=change.at,
            recorded_at=received_at,
        )
    )
    row.start, row.end = after.start, after.end
    if change.action == "withdraw":
        row.withdrawn_at = change.at
    session.add(row)


class LeaveBook:
    """Leave as one transaction's batch of messages sees it: read with one query for the incidents the
    batch holds (instead of one per incident), and kept current as the batch grants and changes more."""

    def __init__(self, session: Session, incidents: Iterable[IncidentEvent]) -> None:
        self._session = session
        events = list(incidents)
        self._spans: dict[str, dict[str, LeaveSpan]] = {e.window: {} for e in events}
        """window -> leave id -> its time as it stands (covering leave only)."""
        self._covered: tuple[dt.datetime, dt.datetime] | None = None
        if not events:
            return
        low, high = min(e.started_at for e in events), max(e.started_at for e in events)
        self._covered = (low, high)
        rows = session.exec(
            select(LeaveRow).where(
                col(LeaveRow.window).in_(self._spans),
                LeaveRow.start < high + MARGIN,
                LeaveRow.end > low - MARGIN,
                _covering(),
            )
        ).all()
        for row in rows:
            self._spans[row.window][row.id] = _span(row)

    def around(self, window: str, moment: dt.datetime) -> list[LeaveSpan]:
        """The window's leaves that overlap [moment - MARGIN, moment + MARGIN]."""
        read = self._covered is not None and self._covered[0] <= moment <= self._covered[1]
        if not read or window not in self._spans:  # not an incident the batch was read for
            return leaves_around(self._session, window, moment)
        spans = sorted(self._spans[window].values(), key=lambda s: s.start)
        return [s for s in spans if s.start < moment + MARGIN and s.end > moment - MARGIN]

    def grant(self, grant: LeaveGrant, received_at: dt.datetime) -> Status:
        """Record a grant (grant_leave), which the batch's later incidents then see."""
        status = grant_leave(self._session, grant, received_at)
        if status is Status.RECORDED and grant.window in self._spans:
            self._spans[grant.window][grant.id] = LeaveSpan(
                grant.start, grant.end, leave_label(grant.leave_kind, grant.reason)
            )
        return status

    def change(self, row: LeaveRow, change: LeaveChange, after: Span, received_at: dt.datetime) -> None:
        """Record a change (change_leave), which the batch's later incidents then see."""
        change_leave(self._session, row, change, after, received_at)
        spans = self._spans.get(row.window)
        if spans is None:
            return
        spans.pop(row.id, None)
        if row.covers:
            spans[row.id] = _span(row)


def leaves_ending_after(session: Session, moment: dt.datetime, *, withdrawn: bool = False) -> list[LeaveRow]:
    """Approved leave not over at `moment`, as it now stands (its kind, its time after any change), soonest
    first. A withdrawn leave is left out (it ended when withdrawn, or never began); `withdrawn=True` adds those
    withdrawn since `moment`, for a page that shows them (as they stand: `withdrawn_at` set, and a leave withdrawn
    before it began has `end == start`)."""
    query = select(LeaveRow)
    if withdrawn:
        query = query.where((LeaveRow.end > moment) | (col(LeaveRow.withdrawn_at) >= moment))
    else:
        query = query.where(LeaveRow.end > moment, col(LeaveRow.withdrawn_at).is_(None))
    return list(session.exec(query.order_by(col(LeaveRow.start), col(LeaveRow.window))))


def leave_by_id(session: Session, leave_id: str) -> LeaveRow | None:
    """One approved leave as it now stands."""
    return session.get(LeaveRow, leave_id)


def leave_history(session: Session, leave_id: str) -> list[LeaveChangeRow]:
    """The leave's withdrawal and changes, oldest first: who, why, when, and its time before and after each."""
    return list(
        session.exec(
            select(LeaveChangeRow).where(LeaveChangeRow.leave_id == leave_id).order_by(col(LeaveChangeRow.seq))
        )
    )
