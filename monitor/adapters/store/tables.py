"""The store's tables. Facts only: incidents, their events, dismissals and reinstatements, approved leave and its
changes, the windows' states, the cameras' outages, the alert outbox, the month's imported inputs and the notice
ledger.

Deductions are not stored: scoring derives them from the standing incidents (monitor.core.scoring).
The ledger holds one row per notice kind and period: its claim (so two schedulers never issue a
notice twice), its 文号 and issue date (given once, when it is issued) and what was published;
the register (`doc_register`) every 文号 ever given, so none is given twice.
Nothing here is ever deleted by the product; a dismissal, a reinstatement and a change of leave are rows of their
own (a leave's row holds its current time, its changes the history).

The relationships are not for reading: they tell the unit of work that an incident's (a dismissal's, a leave's) row
goes in before the rows that refer to it, so that a batch's rows can be written together at its end.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, Date, LargeBinary, Text, UniqueConstraint
from sqlalchemy.orm import relationship
from sqlmodel import Field, Relationship, SQLModel

from monitor.adapters.store.sites import SiteKeyed
from monitor.adapters.store.types import utc_column


class IncidentRow(SiteKeyed, table=True):
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
    correction: str | None = Field(
        default=None,
        sa_column=Column(Text, nullable=True),
        description="Why a supervisor's finding came after its month's notice was issued (shown as a correction).",
    )


class IncidentEventRow(SQLModel, table=True):
    __tablename__ = "incident_event"
    __table_args__ = (UniqueConstraint("incident_id", "event", "seq", name="uq_incident_event"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: str = Field(foreign_key="incident.id", index=True, max_length=64)
    incident: IncidentRow | None = Relationship(sa_relationship=relationship("IncidentRow"))
    event: str = Field(max_length=8)
    seq: int
    payload: str = Field(sa_column=Column(Text, nullable=False))
    received_at: dt.datetime = utc_column(nullable=False)  # type: ignore[assignment]


class DismissalRow(SiteKeyed, table=True):
    """A supervisor's dismissal of an incident. An incident may have several (dismissed, reinstated, dismissed
    again): it is dismissed while one of them has no reinstatement (ReinstatementRow), and at most one has none."""

    __tablename__ = "dismissal"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: str = Field(foreign_key="incident.id", index=True, max_length=64)
    incident: IncidentRow | None = Relationship(sa_relationship=relationship("IncidentRow"))
    record_id: str | None = Field(
        default=None, unique=True, max_length=64, description="The dismissal's own id; None for older dismissals."
    )
    reason: str = Field(sa_column=Column(Text, nullable=False))
    by: str = Field(default="", max_length=64)
    decided_at: dt.datetime = utc_column(nullable=False)  # type: ignore[assignment]
    recorded_at: dt.datetime = utc_column(nullable=False)  # type: ignore[assignment]


class ReinstatementRow(SiteKeyed, table=True):
    """A supervisor's reversal of one dismissal: from then the incident stands again (until dismissed anew)."""

    __tablename__ = "reinstatement"

    id: str = Field(primary_key=True, max_length=64, description="The reinstatement's own id.")
    incident_id: str = Field(foreign_key="incident.id", index=True, max_length=64)
    incident: IncidentRow | None = Relationship(sa_relationship=relationship("IncidentRow"))
    dismissal_id: int = Field(foreign_key="dismissal.id", unique=True, description="The dismissal it reverses.")
    dismissal: DismissalRow | None = Relationship(sa_relationship=relationship("DismissalRow"))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    by: str = Field(default="", max_length=64)
    decided_at: dt.datetime = utc_column(nullable=False)  # type: ignore[assignment]
    recorded_at: dt.datetime = utc_column(nullable=False)  # type: ignore[assignment]


class LeaveRow(SiteKeyed, table=True):
    """Approved leave of a window's staff: incidents inside [start, end) are refused.

    `start` and `end` are the leave as it now stands; `granted_start` and `granted_end` as it was granted. A
    change (LeaveChangeRow, which keeps each one) moves them; a withdrawal ends the leave when it was decided
    (`withdrawn_at`), and a leave withdrawn before it began ends where it starts: it covers nothing."""

    __tablename__ = "leave"

    id: str = Field(primary_key=True, max_length=64)
    window: str = Field(index=True, max_length=16)
    kind: str = Field(default="请假", max_length=8, description="请假 or 公出 (monitor.contract.LeaveKind).")
    start: dt.datetime = utc_column(nullable=False, index=True)  # type: ignore[assignment]
    end: dt.datetime = utc_column(nullable=False)  # type: ignore[assignment]
    granted_start: dt.datetime = utc_column(nullable=False)  # type: ignore[assignment]
    granted_end: dt.datetime = utc_column(nullable=False)  # type: ignore[assignment]
    withdrawn_at: dt.datetime | None = utc_column(nullable=True)  # type: ignore[assignment]
    reason: str = Field(sa_column=Column(Text, nullable=False))
    by: str = Field(default="", max_length=64)
    decided_at: dt.datetime = utc_column(nullable=False)  # type: ignore[assignment]
    recorded_at: dt.datetime = utc_column(nullable=False)  # type: ignore[assignment]

    @property
    def covers(self) -> bool:
        """Whether it covers any time (a leave withdrawn before it began covers none)."""
        return self.end > self.start


class LeaveChangeRow(SiteKeyed, table=True):
    """A withdrawal or change of approved leave, with the leave's time before and after it: the leave's history."""

    __tablename__ = "leave_change"
    __table_args__ = (UniqueConstraint("leave_id", "seq", name="uq_leave_change_seq"),)

    id: str = Field(primary_key=True, max_length=64, description="The change's own id.")
    leave_id: str = Field(foreign_key="leave.id", index=True, max_length=64)
    leave: LeaveRow | None = Relationship(sa_relationship=relationship("LeaveRow"))
    seq: int = Field(description="1 for the leave's first change, 2 for the next ...: the history's order.")
    action: str = Field(max_length=8, description="withdraw or change (monitor.contract.LeaveAction).")
    start: dt.datetime | None = utc_column(nullable=True)  # type: ignore[assignment]
    """change: the new start it asked for."""
    end: dt.datetime | None = utc_column(nullable=True)  # type: ignore[assignment]
    """change: the new end it asked for."""
    before_start: dt.datetime = utc_column(nullable=False)  # type: ignore[assignment]
    before_end: dt.datetime = utc_column(nullable=False)  # type: ignore[assignment]
    after_start: dt.datetime = utc_column(nullable=False)  # type: ignore[assignment]
    after_end: dt.datetime = utc_column(nullable=False)  # type: ignore[assignment]
    reason: str = Field(sa_column=Column(Text, nullable=False))
    by: str = Field(default="", max_length=64)
    decided_at: dt.datetime = utc_column(nullable=False)  # type: ignore[assignment]
    recorded_at: dt.datetime = utc_column(nullable=False)  # type: ignore[assignment]


class WindowStateRow(SiteKeyed, table=True):
    """A window's presence as its camera service published it, from `since` until the window's next row.

    One row per change; a retained state delivered again (on every reconnect) adds nothing."""

    __tablename__ = "window_state"
    __table_args__ = (UniqueConstraint("site", "window", "since", "state", name="uq_window_state"),)

    id: int | None = Field(default=None, primary_key=True)
    window: str = Field(max_length=16)
    state: str = Field(max_length=16, description="present, absent, unknown, off_duty, leave.")
    since: dt.datetime = utc_column(nullable=False, index=True)  # type: ignore[assignment]
    camera: str = Field(default="", max_length=64)
    received_at: dt.datetime = utc_column(nullable=False)  # type: ignore[assignment]


class CameraOutageRow(SiteKeyed, table=True):
    """A camera out of service as the recorder judged it (its service silent or gone, or its video offline), from
    `began_at` until `ended_at`: one supervisors' alert per outage, and a recorder that takes over knows it."""

    __tablename__ = "camera_outage"

    id: int | None = Field(default=None, primary_key=True)
    camera: str = Field(index=True, max_length=64)
    state: str = Field(max_length=16, description="silent, gone or dark (monitor.contract.Liveness).")
    began_at: dt.datetime = utc_column(nullable=False)  # type: ignore[assignment]
    heard_at: dt.datetime | None = utc_column(nullable=True)  # type: ignore[assignment]
    """When its service was last heard before it (the recorder's clock)."""
    since: dt.datetime | None = utc_column(nullable=True)  # type: ignore[assignment]
    """The last time the camera vouched for, on its own clock."""
    alerted_at: dt.datetime | None = utc_column(nullable=True)  # type: ignore[assignment]
    ended_at: dt.datetime | None = utc_column(nullable=True)  # type: ignore[assignment]


class AlertRow(SiteKeyed, table=True):
    """The alert outbox: written in the transaction of the incident (or camera outage), delivered afterwards,
    retried."""

    __tablename__ = "alert"
    __table_args__ = (
        UniqueConstraint("incident_id", "channel", name="uq_alert_channel"),
        UniqueConstraint("outage_id", "channel", name="uq_alert_outage_channel"),
    )

    id: int | None = Field(default=None, primary_key=True)
    incident_id: str | None = Field(default=None, foreign_key="incident.id", index=True, max_length=64)
    incident: IncidentRow | None = Relationship(sa_relationship=relationship("IncidentRow"))
    outage_id: int | None = Field(default=None, foreign_key="camera_outage.id", index=True)
    outage: CameraOutageRow | None = Relationship(sa_relationship=relationship("CameraOutageRow"))
    channel: str = Field(max_length=80, description="mqtt, or webhook:<name>.")
    payload: str = Field(sa_column=Column(Text, nullable=False))
    created_at: dt.datetime = utc_column(nullable=False)  # type: ignore[assignment]
    attempts: int = 0
    next_attempt_at: dt.datetime = utc_column(nullable=False, index=True)  # type: ignore[assignment]
    delivered_at: dt.datetime | None = utc_column(nullable=True)  # type: ignore[assignment]
    gave_up_at: dt.datetime | None = utc_column(nullable=True)  # type: ignore[assignment]
    last_error: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    claimed_by: str | None = Field(default=None, max_length=128, description="The recorder delivering it now.")
    claimed_until: dt.datetime | None = utc_column(nullable=True)  # type: ignore[assignment]


class DeadLetterRow(SiteKeyed, table=True):
    """A message the recorder refused or could not handle, kept for inspection (the newest only)."""

    __tablename__ = "dead_letter"

    id: int | None = Field(default=None, primary_key=True)
    topic: str = Field(sa_column=Column(Text, nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    payload: bytes = Field(sa_column=Column(LargeBinary, nullable=False), description="Its first 64 KiB.")
    size: int = Field(description="The payload's whole size in bytes.")
    received_at: dt.datetime = utc_column(nullable=False)  # type: ignore[assignment]


class RecorderLeaseRow(SQLModel, table=True):
    """Which recorder process holds the durable MQTT session; the others wait as standbys."""

    __tablename__ = "recorder_lease"

    name: str = Field(primary_key=True, max_length=128, description="The recorder's MQTT client id.")
    holder: str = Field(max_length=128, description="host-pid-nonce of the process holding it.")
    expires_at: dt.datetime = utc_column(nullable=False)  # type: ignore[assignment]
    session_since: dt.datetime | None = utc_column(nullable=True)  # type: ignore[assignment]
    """When the broker first held the recorder's subscriptions: later, a connection without the
    session means the broker lost what it queued."""


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


# --- the month's imported inputs and the notice ledger ---


class InputImportRow(SiteKeyed, table=True):
    """One import of one part of a month's inputs: when, from which file, how many rows."""

    __tablename__ = "input_import"

    id: int | None = Field(default=None, primary_key=True)
    month: str = Field(index=True, max_length=7)
    part: str = Field(max_length=24, description="cases, reviews, department_scores, window_scores, honors, reasons.")
    source: str = Field(sa_column=Column(Text, nullable=False))
    rows: int
    imported_at: dt.datetime = utc_column(nullable=False)  # type: ignore[assignment]


class CaseVolumeRow(SiteKeyed, table=True):
    __tablename__ = "case_volume"
    __table_args__ = (UniqueConstraint("site", "month", "department", "category", name="uq_case_volume"),)

    id: int | None = Field(default=None, primary_key=True)
    month: str = Field(index=True, max_length=7)
    position: int = Field(description="Row order in the imported file (ties in Attachment 3 keep it).")
    department: str = Field(max_length=64)
    category: str = Field(max_length=32)
    count: int


class ReviewCountRow(SiteKeyed, table=True):
    __tablename__ = "review_count"
    __table_args__ = (UniqueConstraint("site", "month", "department", name="uq_review_count"),)

    id: int | None = Field(default=None, primary_key=True)
    month: str = Field(index=True, max_length=7)
    position: int
    department: str = Field(max_length=64)
    five: int
    four: int
    three: int
    two: int
    one: int
    complaints: int | None = None
    follow_up_rate: str | None = Field(default=None, max_length=16, description="二次回访率, percent.")
    follow_up_satisfaction: str | None = Field(default=None, max_length=16, description="二次满意度, percent.")


class EnteredScoreRow(SiteKeyed, table=True):
    __tablename__ = "entered_score"
    __table_args__ = (UniqueConstraint("site", "month", "sheet", "target", "category", name="uq_entered_score"),)

    id: int | None = Field(default=None, primary_key=True)
    month: str = Field(index=True, max_length=7)
    sheet: str = Field(max_length=12, description="department or window.")
    target: str = Field(max_length=64, description="Department name or window id.")
    category: str = Field(max_length=32)
    points: str = Field(max_length=16)


class HonorRow(SiteKeyed, table=True):
    __tablename__ = "honor_entry"
    __table_args__ = (UniqueConstraint("site", "month", "position", name="uq_honor_position"),)

    id: int | None = Field(default=None, primary_key=True)
    month: str = Field(index=True, max_length=7)
    position: int
    name: str = Field(max_length=64)
    department: str = Field(max_length=64)


class ChangeReasonRow(SiteKeyed, table=True):
    __tablename__ = "change_reason"
    __table_args__ = (UniqueConstraint("site", "month", "department", name="uq_change_reason"),)

    id: int | None = Field(default=None, primary_key=True)
    month: str = Field(index=True, max_length=7)
    position: int
    department: str = Field(max_length=64)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    business: str = Field(default="", max_length=64, description="e.g. 缴费业务 (办件量 of which business).")


class NoticeLedgerRow(SiteKeyed, table=True):
    __tablename__ = "notice_ledger"
    __table_args__ = (
        UniqueConstraint("site", "kind", "period", name="uq_notice_period"),
        UniqueConstraint("site", "kind", "doc_year", "doc_number", name="uq_notice_number"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=12, description="weekly or monthly.")
    period: str = Field(max_length=10, description="2020-W45 or 2020-11.")
    state: str = Field(max_length=12, description="claimed (being produced) or issued.")
    claimed_by: str = Field(max_length=128)
    claimed_at: dt.datetime = utc_column(nullable=False)  # type: ignore[assignment]
    issued_on: dt.date = Field(sa_column=Column(Date, nullable=False))
    doc_year: int | None = None
    doc_number: int | None = None
    generated_at: dt.datetime | None = utc_column(nullable=True)  # type: ignore[assignment]
    published_at: dt.datetime | None = utc_column(nullable=True)  # type: ignore[assignment]
    files: str = Field(default="[]", sa_column=Column(Text, nullable=False, default="[]"))
    summary: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    last_error: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    folder: str = Field(
        default="",
        sa_column=Column(Text, nullable=False, default="", server_default=""),
        description="Where its files were written (a correction keeps the old ones there).",
    )


class DocRegisterRow(SiteKeyed, table=True):
    """The office's register of 文号 (发文登记): one row per number ever given, never reused.

    Numbers are per year of issue and shared by every kind of notice; a corrected notice's old
    number stays here as superseded, so it is never given again.
    """

    __tablename__ = "doc_register"
    __table_args__ = (UniqueConstraint("site", "doc_year", "doc_number", name="uq_doc_register_number"),)

    id: int | None = Field(default=None, primary_key=True)
    doc_year: int
    doc_number: int
    kind: str = Field(max_length=12, description="weekly or monthly.")
    period: str = Field(max_length=10, description="2020-W45 or 2020-11.")
    issued_on: dt.date = Field(sa_column=Column(Date, nullable=False))
    state: str = Field(max_length=12, description="issued, or superseded by a correction (更正).")
    files: str = Field(default="[]", sa_column=Column(Text, nullable=False, default="[]"))
    recorded_at: dt.datetime = utc_column(nullable=False)  # type: ignore[assignment]
    issued_by: str = Field(
        default="",
        max_length=64,
        sa_column_kwargs={"server_default": ""},
        description="The account that issued it; empty for the scheduler.",
    )
    confirmed: str = Field(
        default="",
        sa_column=Column(Text, nullable=False, default="", server_default=""),
        description="What was open when it was issued (missing inputs, incidents awaiting review) and the "
        "issuer's reason for issuing anyway; empty when it was ready.",
    )
    folder: str = Field(
        default="",
        sa_column=Column(Text, nullable=False, default="", server_default=""),
        description="Where its files are (a superseded number's are kept under superseded-<year>-<number>/).",
    )


class UserRow(SQLModel, table=True):
    """A console account: a person of the hall's office, their role and their password's hash."""

    __tablename__ = "console_user"

    name: str = Field(primary_key=True, max_length=64, description="Login name; what the audit trail shows.")
    role: str = Field(max_length=16, description="viewer, supervisor or admin.")
    password_hash: str = Field(sa_column=Column(Text, nullable=False))
    active: bool = Field(default=True, description="False: the account may no longer log in (kept for the audit).")
    sites: str = Field(
        default="",
        sa_column=Column(Text, nullable=False, default="", server_default=""),
        description="The sites the account may see and act on, comma-separated ids; empty: every site (the district's "
        "own accounts, and every account of a single hall).",
    )
    created_at: dt.datetime = utc_column(nullable=False)  # type: ignore[assignment]
    created_by: str = Field(default="", max_length=64)


class LoginSessionRow(SQLModel, table=True):
    """A console login: the sha256 of its cookie token (the token itself is never stored), its CSRF token."""

    __tablename__ = "console_session"

    token_hash: str = Field(primary_key=True, max_length=64)
    user: str = Field(foreign_key="console_user.name", index=True, max_length=64)
    csrf: str = Field(max_length=64)
    address: str = Field(default="", max_length=64)
    created_at: dt.datetime = utc_column(nullable=False)  # type: ignore[assignment]
    expires_at: dt.datetime = utc_column(nullable=False, index=True)  # type: ignore[assignment]
    flash_kind: str = Field(default="", max_length=16, description="ok or error: the next page's message, if any.")
    flash: str = Field(
        default="",
        sa_column=Column(Text, nullable=False, default=""),
        description="A message for the next page this login sees (after a form's redirect), shown once.",
    )


class AuditRow(SiteKeyed, table=True):
    """What a person did in the console (and failed logins, which also drive the login rate limit)."""

    __tablename__ = "audit"

    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = utc_column(nullable=False, index=True)  # type: ignore[assignment]
    user: str = Field(index=True, max_length=64)
    action: str = Field(index=True, max_length=32)
    target: str = Field(default="", max_length=128)
    outcome: str = Field(max_length=16, description="ok, refused or failed.")
    detail: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    address: str = Field(default="", index=True, max_length=64)


class ReviewRow(SQLModel, table=True):
    """An incident a supervisor has looked at and let stand (已审核); a dismissal is a row of its own."""

    __tablename__ = "incident_review"

    incident_id: str = Field(primary_key=True, foreign_key="incident.id", max_length=64)
    by: str = Field(max_length=64)
    at: dt.datetime = utc_column(nullable=False)  # type: ignore[assignment]
