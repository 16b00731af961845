"""window states: each window's presence history, for the on-duty rate

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import monitor.adapters.store.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "window_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("window", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("since", monitor.adapters.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("camera", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("received_at", monitor.adapters.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("window", "since", "state", name="uq_window_state"),
    )
    with op.batch_alter_table("window_state", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_window_state_since"), ["since"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("window_state", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_window_state_since"))
    op.drop_table("window_state")
