"""month inputs (cases, reviews, entered points, honor list, change reasons) and the notice ledger

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import monitor.adapters.store.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "case_volume",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("department", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("month", "department", "category", name="uq_case_volume"),
    )
    with op.batch_alter_table("case_volume", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_volume_month"), ["month"], unique=False)

    op.create_table(
        "change_reason",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("department", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("business", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("month", "department", name="uq_change_reason"),
    )
    with op.batch_alter_table("change_reason", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_change_reason_month"), ["month"], unique=False)

    op.create_table(
        "entered_score",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("sheet", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("target", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("points", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("month", "sheet", "target", "category", name="uq_entered_score"),
    )
    with op.batch_alter_table("entered_score", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_entered_score_month"), ["month"], unique=False)

    op.create_table(
        "honor_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("department", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("month", "position", name="uq_honor_position"),
    )
    with op.batch_alter_table("honor_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_honor_entry_month"), ["month"], unique=False)

    op.create_table(
        "input_import",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("part", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("imported_at", monitor.adapters.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("input_import", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_input_import_month"), ["month"], unique=False)

    op.create_table(
        "notice_ledger",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("claimed_by", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("claimed_at", monitor.adapters.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("doc_year", sa.Integer(), nullable=True),
        sa.Column("doc_number", sa.Integer(), nullable=True),
        sa.Column("generated_at", monitor.adapters.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("published_at", monitor.adapters.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("files", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "doc_year", "doc_number", name="uq_notice_number"),
        sa.UniqueConstraint("kind", "period", name="uq_notice_period"),
    )
    op.create_table(
        "review_count",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("department", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("five", sa.Integer(), nullable=False),
        sa.Column("four", sa.Integer(), nullable=False),
        sa.Column("three", sa.Integer(), nullable=False),
        sa.Column("two", sa.Integer(), nullable=False),
        sa.Column("one", sa.Integer(), nullable=False),
        sa.Column("complaints", sa.Integer(), nullable=True),
        sa.Column("follow_up_rate", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("follow_up_satisfaction", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("month", "department", name="uq_review_count"),
    )
    with op.batch_alter_table("review_count", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_count_month"), ["month"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("review_count", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_count_month"))

    op.drop_table("review_count")
    op.drop_table("notice_ledger")
    with op.batch_alter_table("input_import", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_input_import_month"))

    op.drop_table("input_import")
    with op.batch_alter_table("honor_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_honor_entry_month"))

    op.drop_table("honor_entry")
    with op.batch_alter_table("entered_score", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_entered_score_month"))

    op.drop_table("entered_score")
    with op.batch_alter_table("change_reason", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_change_reason_month"))

    op.drop_table("change_reason")
    with op.batch_alter_table("case_volume", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_volume_month"))

    op.drop_table("case_volume")
