"""Month inputs in the store: migration 0002 (month inputs and the notice ledger) on SQLite and PostgreSQL,
down and up again; the ledger's guarantees (one row per notice, one 文号 per year); a month imported
again is replaced; `monitor import` imports all or nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy
from alembic import command
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select
from typer.testing import CliRunner

from monitor.adapters.files import load_cases_file
from monitor.adapters.store.database import _alembic_config, open_database
from monitor.adapters.store.inputs import load_month_inputs, save_cases
from monitor.adapters.store.tables import CaseVolumeRow, DocRegisterRow, NoticeLedgerRow
from monitor.cli import _register, app
from monitor.errors import InputError
from tests.support.config import hall_config
from tests.support.notices import at
from tests.support.paths import SEED

TABLES = {
    "doc_register",
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


@pytest.mark.parametrize(
    ("period", "number"),
    [pytest.param("2020-11", 21, id="a-notice-twice"), pytest.param("2020-10", 20, id="a-number-twice")],
)
def test_the_ledger_refuses_a_second_row_for_a_notice_or_a_number(db_url: str, period: str, number: int) -> None:
    engine = open_database(db_url)
    with Session(engine) as session:
        session.add(_row("2020-11", 20))
        session.commit()
    with Session(engine) as session, pytest.raises(IntegrityError):
        session.add(_row(period, number))
        session.commit()
    engine.dispose()


def test_the_ledger_keeps_notices_without_a_number(db_url: str) -> None:
    engine = open_database(db_url)
    with Session(engine) as session:  # weekly notices have no number: many NULLs are fine
        session.add(_row("2020-11", 20))
        session.add(_row("2020-W45", None, "weekly"))
        session.add(_row("2020-W46", None, "weekly"))
        session.commit()
        stored = session.get(NoticeLedgerRow, 1)
        assert stored is not None and stored.claimed_at == at("2020-12-01 08:00")
    engine.dispose()


def test_the_register_refuses_a_number_twice_in_a_year_whatever_the_kind(db_url: str) -> None:
    engine = open_database(db_url)

    def entry(kind: str, period: str, year: int) -> DocRegisterRow:
        day = dt.date(year, 12, 1)
        return DocRegisterRow(
            doc_year=year,
            doc_number=20,
            kind=kind,
            period=period,
            issued_on=day,
            state="issued",
            recorded_at=at("2020-12-01 08:00"),
        )

    with Session(engine) as session:
        session.add(entry("monthly", "2020-11", 2020))
        session.add(entry("monthly", "2021-11", 2021))  # a new year counts again
        session.commit()
    with Session(engine) as session, pytest.raises(IntegrityError):
        session.add(entry("weekly", "2020-W45", 2020))
        session.commit()
    engine.dispose()


def test_reimport_replaces_the_month_and_leaves_others(db_url: str, tmp_path: Path) -> None:
    config = hall_config(tmp_path, db_url=db_url).config
    engine = open_database(config.database.url)
    with Session(engine) as session:
        save_cases(
            session, "2020-10", load_cases_file(config, SEED / "cases-2020-10.csv"), "oct", at("2020-11-02 09:00")
        )
        save_cases(
            session, "2020-11", load_cases_file(config, SEED / "cases-2020-11.csv"), "nov", at("2020-12-02 09:00")
        )
        session.commit()
    smaller = load_cases_file(config, SEED / "cases-2020-11.csv")[:3]
    with Session(engine) as session:
        save_cases(session, "2020-11", smaller, "again", at("2020-12-03 09:00"))
        session.commit()
    with Session(engine) as session:
        november = load_month_inputs(session, config, "2020-11").cases
        october = load_month_inputs(session, config, "2020-10").cases
        assert november is not None and [c.department for c in november] == ["税务局", "人社局", "公积金服务中心"]
        assert october is not None and len(october) == 27
        assert load_month_inputs(session, config, "2020-09").cases is None
    engine.dispose()


HEADER = "部门,行政审批,便民服务,公共服务,收费\n"


@pytest.mark.parametrize(
    ("month", "message"),
    [
        pytest.param("2020-11", "{bad} 第3行第5列（收费）：“oops”不是 0 或正整数，请填写件数", id="bad-row"),
        pytest.param("11/2020", "--month：月份“11/2020”格式不对：写作 YYYY-MM", id="bad-month"),
    ],
)
def test_cli_refuses_a_bad_import_and_imports_nothing(month: str, message: str, tmp_path: Path) -> None:
    config, path = hall_config(tmp_path)
    bad = tmp_path / "cases.csv"
    bad.write_text(HEADER + "税务局,0,10,0,0\n人社局,0,1,0,oops\n", encoding="utf-8")
    _register()
    result = CliRunner().invoke(app, ["-c", str(path), "import", "cases", str(bad), "--month", month])
    assert result.exit_code == 1
    assert isinstance(result.exception, InputError)
    assert message.format(bad=bad) in str(result.exception)
    engine = open_database(config.database.url)
    with Session(engine) as session:
        assert session.exec(select(CaseVolumeRow)).all() == []
    engine.dispose()


def test_cli_imports_a_good_file(tmp_path: Path) -> None:
    config, path = hall_config(tmp_path)
    _register()
    result = CliRunner().invoke(
        app, ["-c", str(path), "import", "cases", str(SEED / "cases-2020-11.csv"), "--month", "2020-11"]
    )
    assert result.exit_code == 0, result.output
    assert "27 个部门" in result.stdout
    assert "注意" not in result.stdout
    engine = open_database(config.database.url)
    with Session(engine) as session:
        assert len(session.exec(select(CaseVolumeRow)).all()) == 27 * 4
    engine.dispose()


def test_a_department_missing_from_an_import_is_named(tmp_path: Path) -> None:
    _, path = hall_config(tmp_path)
    lines = (SEED / "cases-2020-11.csv").read_text(encoding="utf-8").splitlines()
    short = tmp_path / "cases.csv"
    short.write_text("\n".join(line for line in lines if not line.startswith(("卫健局", "合计"))), encoding="utf-8")
    _register()
    result = CliRunner().invoke(app, ["-c", str(path), "import", "cases", str(short), "--month", "2020-11"])
    assert result.exit_code == 0, result.output
    assert "26 个部门" in result.stdout
    assert "没有列出 卫健局，通报按 0 件列出" in result.stdout.replace("\n", "")
