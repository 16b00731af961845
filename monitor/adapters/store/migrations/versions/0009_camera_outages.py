"""camera outages: a camera whose service the recorder no longer hears, and alerts about it

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import monitor.adapters.store.types

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "camera_outage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("camera", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("began_at", monitor.adapters.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("heard_at", monitor.adapters.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("since", monitor.adapters.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("alerted_at", monitor.adapters.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", monitor.adapters.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("camera_outage", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_camera_outage_camera"), ["camera"], unique=False)
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.alter_column("incident_id", existing_type=sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        batch_op.add_column(sa.Column("outage_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_alert_outage_id"), ["outage_id"], unique=False)
        batch_op.create_foreign_key("fk_alert_outage_id", "camera_outage", ["outage_id"], ["id"])
        batch_op.create_unique_constraint("uq_alert_outage_channel", ["outage_id", "channel"])


def downgrade() -> None:
    op.execute("DELETE FROM alert WHERE incident_id IS NULL")
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.drop_constraint("uq_alert_outage_channel", type_="unique")
        batch_op.drop_constraint("fk_alert_outage_id", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_alert_outage_id"))
        batch_op.drop_column("outage_id")
        batch_op.alter_column("incident_id", existing_type=sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False)
    with op.batch_alter_table("camera_outage", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_camera_outage_camera"))
    op.drop_table("camera_outage")
