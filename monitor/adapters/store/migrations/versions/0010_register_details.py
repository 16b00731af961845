"""register details: who issued each 文号, what they confirmed it without, and where its files were written

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("doc_register") as batch:
        batch.add_column(
            sa.Column("issued_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("confirmed", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("folder", sa.Text(), nullable=False, server_default=""))
    with op.batch_alter_table("notice_ledger") as batch:
        batch.add_column(sa.Column("folder", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("notice_ledger") as batch:
        batch.drop_column("folder")
    with op.batch_alter_table("doc_register") as batch:
        batch.drop_column("folder")
        batch.drop_column("confirmed")
        batch.drop_column("issued_by")
