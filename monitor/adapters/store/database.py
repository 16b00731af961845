"""Opening the database: engine, schema migrations to head, sessions."""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlmodel import create_engine

from monitor.adapters.store.sites import for_site
from monitor.config import MonitorConfig
from monitor.errors import MonitorError

PASSWORD_ENV = "MONITOR_DB_PASSWORD"


class DatabaseError(MonitorError):
    """The database cannot be opened or migrated."""


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(files("monitor.adapters.store") / "migrations"))
    return config


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    dbapi_connection.isolation_level = None  # type: ignore[attr-defined]  # see create_db_engine
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    # WAL lets the CLI read while the recorder writes; foreign keys are off by default in SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def create_db_engine(url: str) -> Engine:
    """An engine for `url`; a SQLite file's folder is created; the password may come from the env."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite begins transactions itself, lazily, and commits at a savepoint's release: a batch would
        # not be one transaction. SQLAlchemy's recipe: the driver does nothing, SQLAlchemy says BEGIN —
        # IMMEDIATE, so a transaction that reads and then writes never fails on a stale snapshot.
        event.listen(engine, "begin", lambda connection: connection.exec_driver_sql("BEGIN IMMEDIATE"))
        return engine
    if parsed.password is None and os.environ.get(PASSWORD_ENV):
        parsed = parsed.set(password=os.environ[PASSWORD_ENV])
    return create_engine(parsed, pool_pre_ping=True)


MIGRATION_LOCK = 0x68616C6C  # "hall": the advisory lock key the migrations take on PostgreSQL


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (idempotent). On PostgreSQL the services starting together take
    turns (a transaction-level advisory lock): the first migrates, the others find the schema current."""
    config = _alembic_config()
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except OperationalError as exc:
        raise DatabaseError(
            f"cannot open the database {engine.url.render_as_string(hide_password=True)}: {exc.orig}"
        ) from None


def open_database(url: str) -> Engine:
    """Engine with the schema migrated, seeing every site (the district's view)."""
    engine = create_db_engine(url)
    migrate(engine)
    return engine


def open_store(config: MonitorConfig) -> Engine:
    """The store of the configuration's site, migrated: what a site's services and commands start with (each session
    on it sees and writes that site's records only, monitor.adapters.store.sites)."""
    return for_site(open_database(config.database.url), config.site)
