"""Migration 0002 (month inputs and the notice ledger) on SQLite and PostgreSQL, down and up again,
and the ledger's guarantees: one row per notice, one 文号 per year."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy
from alembic import command
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from monitor.store.database import _alembic_config, open_database
from monitor.store.inputs import NoticeLedgerRow
from tests.notices_support import at

TABLES = {
    "input_import",
    "case_volume",
    "review_count",
    "entered_score",
    "honor_entry",
    "change_reason",
    "notice_ledger",
}


def _run(engine: sqlalchemy.Engine, action, revision: str) -> None:
    config = _alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        action(config, revision)


def test_migration_upgrades_downgrades_and_upgrades_again(db_url: str) -> None:
    engine = open_database(db_url)
    assert set(sqlalchemy.inspect(engine).get_table_names()) >= TABLES
    _run(engine, command.downgrade, "0001")
    assert not TABLES & set(sqlalchemy.inspect(engine).get_table_names())
    _run(engine, command.upgrade, "head")
    assert set(sqlalchemy.inspect(engine).get_table_names()) >= TABLES
    engine.dispose()


def _row(period: str, number: int | None, kind: str = "monthly") -> NoticeLedgerRow:
    return NoticeLedgerRow(
        kind=kind,
        period=period,
        state="issued",
        claimed_by="test",
        claimed_at=at("2020-12-01 08:00"),
        issued_on=dt.date(2020, 12, 1),
        doc_year=2020 if number else None,
        doc_number=number,
    )


def test_ledger_constraints(db_url: str) -> None:
    engine = open_database(db_url)
    with Session(engine) as session:
        session.add(_row("2020-11", 20))
        session.commit()
    for duplicate in (_row("2020-11", 21), _row("2020-10", 20)):
        with Session(engine) as session, pytest.raises(IntegrityError):
            session.add(duplicate)
            session.commit()
    with Session(engine) as session:  # weekly notices have no number: many NULLs are fine
        session.add(_row("2020-W45", None, "weekly"))
        session.add(_row("2020-W46", None, "weekly"))
        session.commit()
        stored = session.get(NoticeLedgerRow, 1)
        assert stored is not None and stored.claimed_at == at("2020-12-01 08:00")
    engine.dispose()
