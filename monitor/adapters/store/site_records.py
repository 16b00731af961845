"""Which site a record addressed by its id belongs to: what the district's console asks before it opens an incident,
its evidence or a leave by the id in an address, so that an account sees and acts on its own sites' records only,
and a link to another site's record (from the district overview) opens that site.

Asked on a session that sees every site (an unmarked engine, monitor.adapters.store.sites): a site's own session
would not find another site's record at all."""

from __future__ import annotations

from sqlmodel import Session

from monitor.adapters.store.tables import IncidentRow, LeaveRow


def incident_site(session: Session, incident_id: str) -> str | None:
    """The site of the incident recorded under `incident_id`; None when there is none."""
    row = session.get(IncidentRow, incident_id)
    return row.site if row is not None else None


def leave_site(session: Session, leave_id: str) -> str | None:
    """The site of the approved leave recorded under `leave_id`; None when there is none."""
    row = session.get(LeaveRow, leave_id)
    return row.site if row is not None else None
