"""session flash: a login's message for its next page, kept with the login instead of in one process's memory

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("console_session") as batch:
        batch.add_column(
            sa.Column("flash_kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("flash", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("console_session") as batch:
        batch.drop_column("flash")
        batch.drop_column("flash_kind")
