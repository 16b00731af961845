"""Approved leave: recorded once, looked up when an incident arrives."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, col, select

from monitor.adapters.store.tables import LeaveRow
from monitor.contract import LeaveGrant
from monitor.core.admission import LeaveSpan


def grant_leave(session: Session, grant: LeaveGrant, received_at: dt.datetime) -> bool:
    """Record a grant in the caller's transaction; False when its id is known already."""
    if session.get(LeaveRow, grant.id) is not None:
        return False
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
    return True


def leaves_around(session: Session, window: str, moment: dt.datetime, margin: dt.timedelta) -> list[LeaveSpan]:
    """The window's leaves that overlap [moment - margin, moment + margin]."""
    rows = session.exec(
        select(LeaveRow)
        .where(LeaveRow.window == window, LeaveRow.start < moment + margin, LeaveRow.end > moment - margin)
        .order_by(col(LeaveRow.start))
    ).all()
    return [LeaveSpan(r.start, r.end, r.reason) for r in rows]
