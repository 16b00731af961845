"""leave kinds, withdrawn and changed leave, reinstated dismissals

Leave gets its kind (请假 or 公出: older grants folded it into their reason, which is kept as it was; the kind is
read from it), the time it was granted (`granted_start`, `granted_end`: `start` and `end` are from now on the leave
as it stands) and `withdrawn_at`; `leave_change` keeps every withdrawal and change. A dismissal gets its own id
(`record_id`) and an incident may be dismissed again after a reinstatement (`reinstatement`): the dismissal table
no longer holds one row per incident.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-10
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import monitor.adapters.store.types

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNNAMED = {"uq": "uq_%(table_name)s_%(column_0_name)s"}
"""Names SQLite's unnamed unique constraints (0001's on dismissal.incident_id) so that a batch can drop one."""


def _utc(name: str, *, nullable: bool) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, monitor.adapters.store.types.UTCDateTime(timezone=True), nullable=nullable)


def _text64(name: str, *, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sqlmodel.sql.sqltypes.AutoString(length=64), nullable=nullable)


def _drop_one_dismissal_per_incident() -> None:
    bind = op.get_bind()
    (unique,) = [
        u for u in sa.inspect(bind).get_unique_constraints("dismissal") if u["column_names"] == ["incident_id"]
    ]
    if bind.dialect.name == "sqlite":
        with op.batch_alter_table("dismissal", naming_convention=UNNAMED) as batch:
            batch.drop_constraint(unique["name"] or "uq_dismissal_incident_id", type_="unique")
    else:
        op.drop_constraint(unique["name"], "dismissal", type_="unique")


def upgrade() -> None:
    with op.batch_alter_table("leave") as batch:
        batch.add_column(
            sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False, server_default="请假")
        )
        batch.add_column(_utc("granted_start", nullable=True))
        batch.add_column(_utc("granted_end", nullable=True))
        batch.add_column(_utc("withdrawn_at", nullable=True))
    # The kind as monitor.contract.leave_kind_of reads it from an older grant's reason.
    op.execute(sa.text("UPDATE leave SET kind = '公出' WHERE reason LIKE '公出%'"))
    op.execute(sa.text('UPDATE leave SET granted_start = start, granted_end = "end"'))
    with op.batch_alter_table("leave") as batch:
        batch.alter_column("granted_start", existing_type=monitor.adapters.store.types.UTCDateTime(), nullable=False)
        batch.alter_column("granted_end", existing_type=monitor.adapters.store.types.UTCDateTime(), nullable=False)

    op.create_table(
        "leave_change",
        _text64("id"),
        _text64("leave_id"),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        _utc("start", nullable=True),
        _utc("end", nullable=True),
        _utc("before_start", nullable=False),
        _utc("before_end", nullable=False),
        _utc("after_start", nullable=False),
        _utc("after_end", nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        _text64("by"),
        _utc("decided_at", nullable=False),
        _utc("recorded_at", nullable=False),
        sa.ForeignKeyConstraint(["leave_id"], ["leave.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("leave_id", "seq", name="uq_leave_change_seq"),
    )
    with op.batch_alter_table("leave_change") as batch:
        batch.create_index(batch.f("ix_leave_change_leave_id"), ["leave_id"], unique=False)

    _drop_one_dismissal_per_incident()
    with op.batch_alter_table("dismissal") as batch:
        batch.add_column(_text64("record_id", nullable=True))
        batch.create_unique_constraint("uq_dismissal_record_id", ["record_id"])
        batch.create_index(batch.f("ix_dismissal_incident_id"), ["incident_id"], unique=False)

    op.create_table(
        "reinstatement",
        _text64("id"),
        _text64("incident_id"),
        sa.Column("dismissal_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        _text64("by"),
        _utc("decided_at", nullable=False),
        _utc("recorded_at", nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"]),
        sa.ForeignKeyConstraint(["dismissal_id"], ["dismissal.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dismissal_id", name="uq_reinstatement_dismissal_id"),
    )
    with op.batch_alter_table("reinstatement") as batch:
        batch.create_index(batch.f("ix_reinstatement_incident_id"), ["incident_id"], unique=False)


def downgrade() -> None:
    """Back to one dismissal per incident and leave without kinds or history. Fails, changing nothing, where an
    incident was dismissed more than once (0011's schema cannot hold it); a leave keeps its kind in its reason and
    its time as it stands."""
    with op.batch_alter_table("reinstatement") as batch:
        batch.drop_index(batch.f("ix_reinstatement_incident_id"))
    op.drop_table("reinstatement")
    with op.batch_alter_table("dismissal") as batch:
        batch.drop_index(batch.f("ix_dismissal_incident_id"))
        batch.drop_constraint("uq_dismissal_record_id", type_="unique")
        batch.drop_column("record_id")
        batch.create_unique_constraint("uq_dismissal_incident_id", ["incident_id"])

    with op.batch_alter_table("leave_change") as batch:
        batch.drop_index(batch.f("ix_leave_change_leave_id"))
    op.drop_table("leave_change")
    op.execute(sa.text("UPDATE leave SET reason = kind WHERE reason = ''"))
    op.execute(sa.text("UPDATE leave SET reason = kind || '：' || reason WHERE reason NOT LIKE kind || '%'"))
    with op.batch_alter_table("leave") as batch:
        batch.drop_column("withdrawn_at")
        batch.drop_column("granted_end")
        batch.drop_column("granted_start")
        batch.drop_column("kind")
