"""doc register: every 文号 given, across kinds and corrections, never reused

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import monitor.adapters.store.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "doc_register",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("doc_year", sa.Integer(), nullable=False),
        sa.Column("doc_number", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("files", sa.Text(), nullable=False),
        sa.Column("recorded_at", monitor.adapters.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("doc_year", "doc_number", name="uq_doc_register_number"),
    )
    # Numbers the ledger already gave are taken.
    op.execute(
        "INSERT INTO doc_register (doc_year, doc_number, kind, period, issued_on, state, files, recorded_at) "
        "SELECT doc_year, doc_number, kind, period, issued_on, 'issued', files, claimed_at FROM notice_ledger "
        "WHERE doc_number IS NOT NULL AND doc_year IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_table("doc_register")
