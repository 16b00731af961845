"""sites: every record keyed by the site it is of

The district's hall and township centres share one store (monitor.adapters.store.sites). Each site-keyed table gets
`site`, every row already there the site of a configuration without [[sites]] ("hall", monitor.config.sites); the
natural keys (a window's state, a month's inputs, a notice's period, a 文号) become keys within a site, so each site
has its own 文号 register. A console account gets the sites it may see (`sites`; empty, as every account so far:
all of them).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SITE_KEYED = (
    "incident",
    "dismissal",
    "reinstatement",
    "leave",
    "leave_change",
    "window_state",
    "camera_outage",
    "alert",
    "dead_letter",
    "input_import",
    "case_volume",
    "review_count",
    "entered_score",
    "honor_entry",
    "change_reason",
    "notice_ledger",
    "doc_register",
    "audit",
)

KEYS = {
    "window_state": {"uq_window_state": ["window", "since", "state"]},
    "case_volume": {"uq_case_volume": ["month", "department", "category"]},
    "review_count": {"uq_review_count": ["month", "department"]},
    "entered_score": {"uq_entered_score": ["month", "sheet", "target", "category"]},
    "honor_entry": {"uq_honor_position": ["month", "position"]},
    "change_reason": {"uq_change_reason": ["month", "department"]},
    "notice_ledger": {"uq_notice_period": ["kind", "period"], "uq_notice_number": ["kind", "doc_year", "doc_number"]},
    "doc_register": {"uq_doc_register_number": ["doc_year", "doc_number"]},
}
"""Each table's unique keys by name, without the site."""

DEFAULT_SITE = "hall"


def upgrade() -> None:
    with op.batch_alter_table("console_user") as batch:
        batch.add_column(sa.Column("sites", sa.Text(), nullable=False, server_default=""))
    for table in SITE_KEYED:
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column(
                    "site", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False, server_default=DEFAULT_SITE
                )
            )
            batch.create_index(f"ix_{table}_site", ["site"])
            for name, columns in KEYS.get(table, {}).items():
                batch.drop_constraint(name, type_="unique")
                batch.create_unique_constraint(name, ["site", *columns])


def downgrade() -> None:
    with op.batch_alter_table("console_user") as batch:
        batch.drop_column("sites")
    for table in SITE_KEYED:
        if table in KEYS:  # nothing refers to these: SQLite's batch may copy them to a new table
            with op.batch_alter_table(table) as batch:
                for name, columns in KEYS[table].items():
                    batch.drop_constraint(name, type_="unique")
                    batch.create_unique_constraint(name, columns)
                batch.drop_index(f"ix_{table}_site")
                batch.drop_column("site")
        else:  # an incident's, dismissal's or leave's rows are referred to: the column goes in place (SQLite 3.35+)
            op.drop_index(f"ix_{table}_site", table_name=table)
            op.execute(sa.text(f'ALTER TABLE "{table}" DROP COLUMN site'))
