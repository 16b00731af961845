"""Evidence snapshots sent by camera workers: kept idempotently, deleted after the retention period."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete
from sqlmodel import Session, select

from monitor.adapters.store.tables import EvidenceRow
from monitor.contract import Status


def save_evidence(
    session: Session,
    incident_id: str,
    name: str,
    data: bytes,
    received_at: dt.datetime,
    *,
    content_type: str = "image/jpeg",
) -> Status:
    """Keep one snapshot: RECORDED; a redelivery of the same (incident_id, name) and bytes is a DUPLICATE and
    other bytes under that name a CONFLICT, neither changing anything. The caller commits (the recorder
    acknowledges after commit).
    """
    existing = session.exec(
        select(EvidenceRow.data).where(EvidenceRow.incident_id == incident_id, EvidenceRow.name == name)
    ).first()
    if existing is not None:
        return Status.DUPLICATE if bytes(existing) == data else Status.CONFLICT
    session.add(
        EvidenceRow(incident_id=incident_id, name=name, content_type=content_type, data=data, received_at=received_at)
    )
    session.flush()
    return Status.RECORDED


def purge_evidence(session: Session, older_than: dt.datetime) -> int:
    """Delete snapshots received before `older_than`; returns how many. The caller commits."""
    result = session.exec(delete(EvidenceRow).where(EvidenceRow.received_at < older_than))  # type: ignore[call-overload]
    return int(result.rowcount or 0)
