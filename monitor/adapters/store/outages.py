"""The cameras' outages: each camera out of service as the recorder judged it, open until it is heard again."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, col, select

from monitor.adapters.store.tables import CameraOutageRow


def open_outages(session: Session) -> list[CameraOutageRow]:
    """The outages not over, oldest first."""
    return list(
        session.exec(
            select(CameraOutageRow).where(col(CameraOutageRow.ended_at).is_(None)).order_by(col(CameraOutageRow.id))
        ).all()
    )


def open_outage(session: Session, camera: str) -> CameraOutageRow | None:
    """The camera's outage not over, if any."""
    return session.exec(
        select(CameraOutageRow)
        .where(CameraOutageRow.camera == camera, col(CameraOutageRow.ended_at).is_(None))
        .order_by(col(CameraOutageRow.id).desc())
    ).first()


def begin_outage(
    session: Session,
    camera: str,
    state: str,
    began: dt.datetime,
    heard_at: dt.datetime | None,
    since: dt.datetime | None,
) -> CameraOutageRow:
    """The camera's outage in the caller's transaction: the one not over, now for `state`, or a new one (with its
    id once this returns)."""
    row = open_outage(session, camera)
    if row is None:
        row = CameraOutageRow(camera=camera, state=state, began_at=began, heard_at=heard_at, since=since)
    else:
        row.state = state
    session.add(row)
    session.flush()
    return row


def end_outage(session: Session, camera: str, ended: dt.datetime) -> CameraOutageRow | None:
    """The camera is heard again: its open outage ends at `ended` (returned; None when there was none)."""
    row = open_outage(session, camera)
    if row is not None:
        row.ended_at = ended
        session.add(row)
    return row
