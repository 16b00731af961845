"""Evidence snapshots sent by camera workers: kept idempotently, deleted after the retention period."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import delete
from sqlmodel import Session, col, select

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


def evidence_names(session: Session, incident_ids: Iterable[str]) -> dict[str, list[str]]:
    """Incident id -> the names of its stored evidence, by name."""
    ids = list(incident_ids)
    out: dict[str, list[str]] = {}
    if not ids:
        return out
    for incident_id, name in session.exec(
        select(EvidenceRow.incident_id, EvidenceRow.name)
        .where(col(EvidenceRow.incident_id).in_(ids))
        .order_by(col(EvidenceRow.incident_id), col(EvidenceRow.name))
    ).all():
        out.setdefault(incident_id, []).append(name)
    return out


def evidence_data(session: Session, wanted: Iterable[tuple[str, str]]) -> dict[tuple[str, str], bytes]:
    """The bytes of the (incident id, name) pieces of evidence asked for that are stored."""
    pairs = set(wanted)
    if not pairs:
        return {}
    rows = session.exec(
        select(EvidenceRow.incident_id, EvidenceRow.name, EvidenceRow.data).where(
            col(EvidenceRow.incident_id).in_({i for i, _ in pairs}), col(EvidenceRow.name).in_({n for _, n in pairs})
        )
    ).all()
    return {(i, n): bytes(data) for i, n, data in rows if (i, n) in pairs}


def evidence_file(session: Session, incident_id: str, name: str) -> tuple[bytes, str] | None:
    """A piece of evidence's bytes and content type; None when there is none by that name."""
    row = session.exec(
        select(EvidenceRow).where(EvidenceRow.incident_id == incident_id, EvidenceRow.name == name)
    ).first()
    return (row.data, row.content_type) if row else None
