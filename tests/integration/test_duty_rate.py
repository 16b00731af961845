"""Window states through a real broker into the store, and the on-duty rate computed from them
(monitor/services/duty_rate.py, `monitor duty-rate`); migration 0006 on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import Session, SQLModel, func, select
from typer.testing import CliRunner

from monitor.adapters.store.database import _alembic_config, open_database
from monitor.adapters.store.tables import DeadLetterRow, LeaveRow, WindowStateRow
from monitor.cli import _register, app
from monitor.config import MonitorConfig
from monitor.contract import LeaveGrant, PresenceState, Topics, WindowState
from monitor.core.duty_rate import Tally
from monitor.services.duty_rate import duty_rates
from monitor.services.recorder import Handled, Recorder
from tests.support.config import SUPERVISOR, hall_config, signed
from tests.support.mqtt import publish
from tests.support.notices import at
from tests.support.waiting import wait_for

H = dt.timedelta(hours=1)
M = dt.timedelta(minutes=1)
LATER = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
"""A `now` after every period of the tests: the whole period counts."""


def state(window: str, since: str, presence: PresenceState) -> bytes:
    return WindowState(window=window, state=presence, since=at(since), camera="cam-03").to_json()


C20 = [
    state("C20", "2020-11-03 17:00:05", "off_duty"),
    state("C20", "2020-11-04 09:00", "present"),
    state("C20", "2020-11-04 10:00", "absent"),
    state("C20", "2020-11-04 10:30", "present"),  # through the lunch break
    state("C20", "2020-11-04 15:00", "unknown"),  # the camera went dark
    state("C20", "2020-11-04 17:00:05", "off_duty"),
]
C25 = [state("C25", "2020-11-04 09:00", "present")]


class Running:
    """A recorder on the test's database and broker, noting what became of each message."""

    def __init__(self, config: MonitorConfig) -> None:
        self.handled: list[tuple[str, Handled]] = []
        self.recorder = Recorder(config, open_database(config.database.url), on_handled=self._note)
        assert self.recorder.start(), "the recorder's subscriptions were not confirmed"

    def _note(self, topic: str, handled: Handled) -> None:
        self.handled.append((topic, handled))

    def statuses(self, topic: str) -> list[str]:
        return [h.status for t, h in list(self.handled) if t == topic]

    def rows(self, table: type[SQLModel]) -> int:
        with Session(self.recorder.engine) as session:
            return int(session.exec(select(func.count()).select_from(table)).one())

    def stop(self) -> None:
        self.recorder.stop()
        self.recorder.engine.dispose()


@pytest.fixture
def hall(db_url: str, broker_url: str, tmp_path: Path) -> Iterator[MonitorConfig]:
    config = hall_config(tmp_path, db_url=db_url, mqtt_url=broker_url).config
    yield config
    topics = Topics(config.mqtt.topic_prefix)
    for window in ("C20", "C25"):  # a shared broker keeps retained messages between runs
        publish(broker_url, topics.window_state(window), [b""], retain=True)


def test_window_states_are_stored_once_and_give_the_on_duty_rate(
    hall: MonitorConfig, request: pytest.FixtureRequest
) -> None:
    config, topics = hall, Topics(hall.mqtt.topic_prefix)
    c20, c25 = topics.window_state("C20"), topics.window_state("C25")
    running = Running(config)
    try:
        grant = LeaveGrant(
            id="leave-c25",
            window="C25",
            start=at("2020-11-04 13:30"),
            end=at("2020-11-04 17:00"),
            reason="公出：参加业务培训",
            by=SUPERVISOR,
            at=at("2020-11-03 17:00"),
        )
        publish(config.mqtt.url, topics.leaves, [signed(config, grant).to_json()])
        publish(config.mqtt.url, c20, C20, retain=True)
        publish(config.mqtt.url, c25, C25, retain=True)
        wait_for(lambda: running.rows(WindowStateRow) == 7, what="the seven states")
        wait_for(lambda: running.rows(LeaveRow) == 1, what="the leave")
        # The same state again (a camera service republishing it) adds nothing.
        publish(config.mqtt.url, c20, [C20[-1]], retain=True)
        wait_for(lambda: running.statuses(c20)[-1:] == ["duplicate"], what="the duplicate state")
        # Bad states are refused with a reason, kept as dead letters, and the recorder goes on.
        bad = [b"{not json", state("C25", "2020-11-04 09:00", "absent"), state("Z99", "2020-11-04 09:00", "absent")]
        publish(config.mqtt.url, c20, bad[:2])
        publish(config.mqtt.url, topics.window_state("Z99"), bad[2:])
        publish(config.mqtt.url, c25, [state("C25", "2020-11-04 17:00:05", "off_duty")])
        wait_for(lambda: running.rows(WindowStateRow) == 8, what="the state after the bad ones")
        assert running.statuses(c20)[-2:] == ["rejected", "rejected"]
        assert running.statuses(topics.window_state("Z99")) == ["rejected"]
        with Session(running.recorder.engine) as session:
            reasons = [r.reason for r in session.exec(select(DeadLetterRow).order_by(DeadLetterRow.id))]  # type: ignore[arg-type]
        assert len(reasons) == 3
        assert "not JSON" in reasons[0]
        assert "the state of window 'C25' on the topic of window 'C20'" in reasons[1]
        assert "unknown window 'Z99'" in reasons[2]
    finally:
        running.stop()
    # A restarted recorder subscribes again and gets the retained states again: duplicates, nothing added.
    # (The embedded amqtt broker does not always send retained messages to a returning persistent session.)
    if request.node.callspec.params["broker_url"] != "amqtt":
        running = Running(config)
        try:
            wait_for(
                lambda: running.statuses(c20) == ["duplicate"] and running.statuses(c25) == ["duplicate"],
                what="the retained states delivered again",
            )
        finally:
            running.stop()
    engine = open_database(config.database.url)
    try:
        with Session(engine) as session:
            stored = session.exec(select(WindowStateRow).where(WindowStateRow.window == "C20")).all()
            day = duty_rates(config, session, "day", "2020-11-04", now=LATER)
            morning = duty_rates(config, session, "day", "2020-11-04", now=at("2020-11-04 11:00"))
            week = duty_rates(config, session, "week", "2020-W45", now=LATER)
    finally:
        engine.dispose()
    assert len(stored) == 6
    stored = sorted(stored, key=lambda r: r.since)
    assert stored[1].since == at("2020-11-04 09:00") and stored[1].since.tzinfo == dt.UTC
    assert (stored[1].window, stored[1].state, stored[1].camera) == ("C20", "present", "cam-03")
    windows = {w.window: w for w in day.windows}
    # C20: present 09:00-10:00 and 10:30-12:00, 13:30-15:00; absent 10:00-10:30; unknown from 15:00.
    assert windows["C20"].tally == Tally(duty=6.5 * H, observed=4.5 * H, staffed=4 * H)
    assert windows["C20"].department == "应急管理局"
    assert windows["C25"].tally == Tally(duty=3 * H, observed=3 * H, staffed=3 * H)  # the afternoon is leave
    assert windows["C21"].tally.rate is None
    department = next(d for d in day.departments if d.department == "应急管理局")
    assert department.tally.rate == pytest.approx(4 / 4.5)
    # A period not over yet counts up to now.
    assert morning.end == at("2020-11-04 11:00")
    assert {w.window: w for w in morning.windows}["C20"].tally == Tally(2 * H, 2 * H, 1.5 * H)
    # Over the week the other days are duty but not observed (off_duty carries on from the 4th's evening).
    weekly = {w.window: w for w in week.windows}["C20"].tally
    assert weekly == Tally(duty=5 * 6.5 * H, observed=4.5 * H, staffed=4 * H)


def test_the_duty_rate_command(db_url: str, tmp_path: Path) -> None:
    config, path = hall_config(tmp_path, db_url=db_url)
    engine = open_database(config.database.url)
    with Session(engine) as session:
        for payload in C20:
            s = WindowState.from_json(payload)
            session.add(
                WindowStateRow(window=s.window, state=s.state, since=s.since, camera=s.camera, received_at=LATER)
            )
        session.commit()
    engine.dispose()
    _register()
    runner = CliRunner()
    result = runner.invoke(app, ["--config", str(path), "duty-rate", "--day", "2020-11-04", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    (c20,) = [w for w in document["windows"] if w["window"] == "C20"]
    assert c20 == {
        "window": "C20",
        "department": "应急管理局",
        "duty_seconds": 6.5 * 3600,
        "observed_seconds": 4.5 * 3600,
        "staffed_seconds": 4 * 3600,
        "rate": pytest.approx(4 / 4.5),
    }
    assert document["start"] == "2020-11-04T00:00:00+08:00"
    result = runner.invoke(app, ["--config", str(path), "duty-rate", "--week", "2020-W45"])
    assert result.exit_code == 0, result.output
    for header in ("窗口", "部门", "值守时长", "观测时长", "在岗时长", "在岗率"):
        assert header in result.output
    assert "88.9%" in result.output
    refused = runner.invoke(app, ["--config", str(path), "duty-rate", "--day", "2020-11-04", "--month", "2020-11"])
    assert refused.exit_code != 0


def test_migration_0006_matches_the_table_and_goes_down_and_up(db_url: str) -> None:
    engine = open_database(db_url)
    with engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert not [d for d in diffs if "window_state" in repr(d)], diffs

    def run(action, revision: str) -> None:  # type: ignore[no-untyped-def]
        config = _alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            action(config, revision)

    run(command.downgrade, "0005")
    assert "window_state" not in sqlalchemy.inspect(engine).get_table_names()
    run(command.upgrade, "head")
    assert "window_state" in sqlalchemy.inspect(engine).get_table_names()
    engine.dispose()
