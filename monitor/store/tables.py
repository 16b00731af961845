"""The recorder's tables. Facts only: incidents, their events, dismissals, and the alert outbox.

Deductions are not stored: scoring derives them from the standing incidents (see scoring.py).
Nothing here is ever deleted by the product; a dismissal is a row of its own.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from monitor.store.types import utc_column


class IncidentRow(SQLModel, table=True):
    __tablename__ = "incident"

    id: str = Field(primary_key=True, max_length=64)
    kind: str = Field(index=True, max_length=32)
    window: str = Field(index=True, max_length=16)
    department: str = Field(max_length=64, description="Charged department, fixed when recorded.")
    staff: str | None = Field(default=None, max_length=64, description="Rostered person when recorded.")
    started_at: dt.datetime = utc_column(nullable=False, index=True)  # type: ignore[assignment]
    ended_at: dt.datetime | None = utc_column(nullable=True)  # type: ignore[assignment]
    minutes: int | None = None
    source: str = Field(default="", max_length=128)
    note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    recorded_at: dt.datetime = utc_column(nullable=False)  # type: ignore[assignment]
    last_seq: int = 0


class IncidentEventRow(SQLModel, table=True):
    __tablename__ = "incident_event"
    __table_args__ = (UniqueConstraint("incident_id", "event", "seq", name="uq_incident_event"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: str = Field(foreign_key="incident.id", index=True, max_length=64)
    event: str = Field(max_length=8)
    seq: int
    payload: str = Field(sa_column=Column(Text, nullable=False))
    received_at: dt.datetime = utc_column(nullable=False)  # type: ignore[assignment]


class DismissalRow(SQLModel, table=True):
    __tablename__ = "dismissal"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: str = Field(foreign_key="incident.id", unique=True, max_length=64)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    by: str = Field(default="", max_length=64)
    decided_at: dt.datetime = utc_column(nullable=False)  # type: ignore[assignment]
    recorded_at: dt.datetime = utc_column(nullable=False)  # type: ignore[assignment]


class LeaveRow(SQLModel, table=True):
    """Approved leave of a window's staff: incidents inside it are refused."""

    __tablename__ = "leave"

    id: str = Field(primary_key=True, max_length=64)
    window: str = Field(index=True, max_length=16)
    start: dt.datetime = utc_column(nullable=False, index=True)  # type: ignore[assignment]
    end: dt.datetime = utc_column(nullable=False)  # type: ignore[assignment]
    reason: str = Field(sa_column=Column(Text, nullable=False))
    by: str = Field(default="", max_length=64)
    decided_at: dt.datetime = utc_column(nullable=False)  # type: ignore[assignment]
    recorded_at: dt.datetime = utc_column(nullable=False)  # type: ignore[assignment]


class AlertRow(SQLModel, table=True):
    """The alert outbox: written in the incident's transaction, delivered afterwards, retried."""

    __tablename__ = "alert"
    __table_args__ = (UniqueConstraint("incident_id", "channel", name="uq_alert_channel"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: str = Field(foreign_key="incident.id", index=True, max_length=64)
    channel: str = Field(max_length=80, description="mqtt, or webhook:<name>.")
    payload: str = Field(sa_column=Column(Text, nullable=False))
    created_at: dt.datetime = utc_column(nullable=False)  # type: ignore[assignment]
    attempts: int = 0
    next_attempt_at: dt.datetime = utc_column(nullable=False, index=True)  # type: ignore[assignment]
    delivered_at: dt.datetime | None = utc_column(nullable=True)  # type: ignore[assignment]
    gave_up_at: dt.datetime | None = utc_column(nullable=True)  # type: ignore[assignment]
    last_error: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class EvidenceRow(SQLModel, table=True):
    """A snapshot sent over MQTT by a worker. No foreign key: evidence may arrive before its incident.

    Evidence shows faces, so it is deleted after the configured retention period.
    """

    __tablename__ = "evidence"
    __table_args__ = (UniqueConstraint("incident_id", "name", name="uq_evidence_name"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: str = Field(index=True, max_length=64)
    name: str = Field(max_length=80, description="e.g. last_seen.jpg, threshold.jpg, return.jpg.")
    content_type: str = Field(default="image/jpeg", max_length=40)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    received_at: dt.datetime = utc_column(nullable=False, index=True)  # type: ignore[assignment]
