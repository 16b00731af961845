"""What the audit log's entries name, read back by id for the audit page: incidents and leave."""

from __future__ import annotations

from collections.abc import Collection

from sqlmodel import Session, col, select

from monitor.adapters.store.tables import IncidentRow, LeaveRow


def incidents_named(session: Session, ids: Collection[str]) -> dict[str, IncidentRow]:
    """The incidents among `ids` (any strings: those that are no incident's id are left out)."""
    if not ids:
        return {}
    return {row.id: row for row in session.exec(select(IncidentRow).where(col(IncidentRow.id).in_(list(ids))))}


def leaves_named(session: Session, ids: Collection[str]) -> dict[str, LeaveRow]:
    """The approved leave among `ids`, as it now stands."""
    if not ids:
        return {}
    return {row.id: row for row in session.exec(select(LeaveRow).where(col(LeaveRow.id).in_(list(ids))))}
