"""The windows' states: each change as the camera service published it, and a range's history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import cast

from sqlmodel import Session, col, func, select

from monitor.adapters.store.tables import LeaveRow, WindowStateRow
from monitor.contract import PresenceState, WindowState
from monitor.core.presence import Leave, StateChange


def record_window_state(session: Session, state: WindowState, received_at: dt.datetime) -> bool:
    """Record a state change in the caller's transaction; False when (window, since, state) is known already."""
    known = session.exec(
        select(WindowStateRow.id).where(
            WindowStateRow.window == state.window,
            WindowStateRow.since == state.since,
            WindowStateRow.state == state.state,
        )
    ).first()
    if known is not None:
        return False
    session.add(
        WindowStateRow(
            window=state.window, state=state.state, since=state.since, camera=state.camera, received_at=received_at
        )
    )
    return True


def latest_since(session: Session, windows: Iterable[str]) -> dict[str, dt.datetime]:
    """Each window's latest stored `since` (windows without history are left out)."""
    names = list(windows)
    if not names:
        return {}
    rows = session.exec(
        select(WindowStateRow.window, func.max(WindowStateRow.since))
        .where(col(WindowStateRow.window).in_(names))
        .group_by(col(WindowStateRow.window))
    ).all()
    return {window: since for window, since in rows if since is not None}


def _change(row: WindowStateRow) -> StateChange:
    return StateChange(row.window, cast(PresenceState, row.state), row.since)


def state_history(session: Session, windows: Iterable[str], start: dt.datetime, end: dt.datetime) -> list[StateChange]:
    """The windows' state changes in [start, end), each window's last change before `start` first; in order
    of `since`, changes at the same moment in the order they were received."""
    names = list(windows)
    order = (col(WindowStateRow.since), col(WindowStateRow.received_at), col(WindowStateRow.id))
    changes: list[StateChange] = []
    for window in names:  # one indexed look-up each: (window, since) leads the unique index
        before = session.exec(
            select(WindowStateRow)
            .where(WindowStateRow.window == window, WindowStateRow.since < start)
            .order_by(*(c.desc() for c in order))
            .limit(1)
        ).first()
        if before is not None:
            changes.append(_change(before))
    rows = session.exec(
        select(WindowStateRow)
        .where(col(WindowStateRow.window).in_(names), WindowStateRow.since >= start, WindowStateRow.since < end)
        .order_by(*order)
    ).all()
    changes.extend(_change(r) for r in rows)
    return changes


def leaves_between(session: Session, start: dt.datetime, end: dt.datetime) -> list[Leave]:
    """Every window's approved leave that overlaps [start, end)."""
    rows = session.exec(
        select(LeaveRow).where(LeaveRow.start < end, LeaveRow.end > start).order_by(col(LeaveRow.start))
    ).all()
    return [Leave(r.window, r.start, r.end) for r in rows]
