"""Alembic environment: the tables' metadata, and a connection handed in by monitor.adapters.store.database."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

# Imported for their side effect: they register the tables on the metadata.
import monitor.adapters.store.tables  # noqa: F401

target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError(
            "migrations run through monitor.adapters.store.database.migrate(), which passes a connection"
        )
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
