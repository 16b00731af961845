"""Month inputs the cameras cannot see (imported), and the notice ledger.

Imported data is kept per month and replaced as a whole part (cases, reviews, department points,
window points, honor list, change reasons) when that part is imported again. Decimal points are
stored as their text so every backend gives back exactly what was imported.

The ledger holds one row per notice kind and period: its claim (so two schedulers never issue a
notice twice), its 文号 and issue date (so a regenerated notice keeps them) and what was published.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, Date, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from monitor.store.types import utc_column


class InputImportRow(SQLModel, table=True):
    """One import of one part of a month's inputs: when, from which file, how many rows."""

    __tablename__ = "input_import"

    id: int | None = Field(default=None, primary_key=True)
    month: str = Field(index=True, max_length=7)
    part: str = Field(max_length=24, description="cases, reviews, department_scores, window_scores, honors, reasons.")
    source: str = Field(sa_column=Column(Text, nullable=False))
    rows: int
    imported_at: dt.datetime = utc_column(nullable=False)  # type: ignore[assignment]


class CaseVolumeRow(SQLModel, table=True):
    __tablename__ = "case_volume"
    __table_args__ = (UniqueConstraint("month", "department", "category", name="uq_case_volume"),)

    id: int | None = Field(default=None, primary_key=True)
    month: str = Field(index=True, max_length=7)
    position: int = Field(description="Row order in the imported file (ties in Attachment 3 keep it).")
    department: str = Field(max_length=64)
    category: str = Field(max_length=32)
    count: int


class ReviewCountRow(SQLModel, table=True):
    __tablename__ = "review_count"
    __table_args__ = (UniqueConstraint("month", "department", name="uq_review_count"),)

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


class EnteredScoreRow(SQLModel, table=True):
    __tablename__ = "entered_score"
    __table_args__ = (UniqueConstraint("month", "sheet", "target", "category", name="uq_entered_score"),)

    id: int | None = Field(default=None, primary_key=True)
    month: str = Field(index=True, max_length=7)
    sheet: str = Field(max_length=12, description="department or window.")
    target: str = Field(max_length=64, description="Department name or window id.")
    category: str = Field(max_length=32)
    points: str = Field(max_length=16)


class HonorRow(SQLModel, table=True):
    __tablename__ = "honor_entry"
    __table_args__ = (UniqueConstraint("month", "position", name="uq_honor_position"),)

    id: int | None = Field(default=None, primary_key=True)
    month: str = Field(index=True, max_length=7)
    position: int
    name: str = Field(max_length=64)
    department: str = Field(max_length=64)


class ChangeReasonRow(SQLModel, table=True):
    __tablename__ = "change_reason"
    __table_args__ = (UniqueConstraint("month", "department", name="uq_change_reason"),)

    id: int | None = Field(default=None, primary_key=True)
    month: str = Field(index=True, max_length=7)
    position: int
    department: str = Field(max_length=64)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    business: str = Field(default="", max_length=64, description="e.g. 缴费业务 (办件量 of which business).")


class NoticeLedgerRow(SQLModel, table=True):
    __tablename__ = "notice_ledger"
    __table_args__ = (
        UniqueConstraint("kind", "period", name="uq_notice_period"),
        UniqueConstraint("kind", "doc_year", "doc_number", name="uq_notice_number"),
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
