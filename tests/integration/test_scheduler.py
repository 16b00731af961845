"""The notice scheduler: catch-up after downtime, one issue per notice across schedulers, regeneration
when imports arrive, real publication on MQTT and to a webhook, and `monitor scheduler` as a process
(what is due when: tests/unit/test_notice_due.py)."""

from __future__ import annotations

import datetime as dt
import json
import signal
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from sqlmodel import Session, select

from monitor.adapters.files import load_reviews_file
from monitor.adapters.mqtt.broker import free_port
from monitor.adapters.store.accounts import mark_reviewed
from monitor.adapters.store.database import open_database
from monitor.adapters.store.inputs import save_reviews
from monitor.adapters.store.tables import NoticeLedgerRow
from monitor.core.notices.message import NoticeIssued
from monitor.services.publisher import BrokerAndWebhooks
from monitor.services.scheduler import NoticeScheduler
from tests.support.config import hall_config
from tests.support.mqtt import Subscriber, publish
from tests.support.notices import at, import_seed, insert_incidents, seed_incidents
from tests.support.paths import SEED
from tests.support.waiting import wait_for

# ---------------------------------------------------------------- the service against a database


class Recorder:
    """A publisher that keeps what it is given (the MQTT/webhook adapter is tested below for real)."""

    def __init__(self, fail: bool = False) -> None:
        self.messages: list[NoticeIssued] = []
        self.fail = fail
        self._lock = threading.Lock()

    def publish(self, message: NoticeIssued) -> None:
        if self.fail:
            raise RuntimeError("broker down")
        with self._lock:
            self.messages.append(message)


class Clock:
    def __init__(self, moment: dt.datetime) -> None:
        self.moment = moment

    def __call__(self) -> dt.datetime:
        return self.moment


@pytest.fixture
def seeded(tmp_path: Path, db_url: str):
    config, _ = hall_config(tmp_path, db_url=db_url)
    engine = open_database(db_url)
    insert_incidents(engine, seed_incidents(), dismissed=("inc-a05",))
    yield config, engine
    engine.dispose()


def ledger_rows(engine) -> list[tuple[str, str, str, int | None]]:
    with Session(engine) as session:
        rows = session.exec(select(NoticeLedgerRow).order_by(NoticeLedgerRow.kind, NoticeLedgerRow.period)).all()
        return [(r.kind, r.period, r.state, r.doc_number) for r in rows]


def test_catch_up_after_a_missed_monday_and_first(seeded) -> None:
    config, engine = seeded
    publisher = Recorder()
    clock = Clock(at("2020-11-20 17:30"))
    scheduler = NoticeScheduler(config, engine, publisher, clock=clock)
    # A first start issues only the latest due notice of each kind: on Friday 20 November, the week
    # 9–15 November (W46, due Monday 16 November), never the week still running. October's roll-up has
    # no imports: it is written as a draft, without a 文号, and not issued.
    assert [p.name for p in scheduler.catch_up() if p.suffix == ".docx"] == ["weekly-2020-W46.docx"]
    folder = Path(config.notices.output_dir) / "notices"
    assert "【草稿】" in (folder / "2020-10" / "monthly-2020-10.md").read_text(encoding="utf-8")
    # Down from Friday 2020-11-20 evening until Wednesday 2020-12-02.
    clock.moment = at("2020-12-02 09:00")
    scheduler.catch_up()
    # One register of 文号 for every kind of notice, in the order they were issued.
    assert ledger_rows(engine) == [
        ("weekly", "2020-W46", "issued", 16),
        ("weekly", "2020-W47", "issued", 17),
        ("weekly", "2020-W48", "issued", 18),
    ]
    assert [(m.kind, m.period) for m in publisher.messages] == [
        ("weekly", "2020-W46"),
        ("weekly", "2020-W47"),
        ("weekly", "2020-W48"),
    ]
    # Nothing twice.
    assert scheduler.catch_up() == []
    assert len(publisher.messages) == 3
    assert not any(m.draft for m in publisher.messages)
    assert "【草稿】" in (folder / "2020-11" / "monthly-2020-11.md").read_text(encoding="utf-8")
    assert (folder / "2020-W48" / "weekly-2020-W48.md").is_file()


def test_two_schedulers_at_once_issue_each_notice_once(seeded) -> None:
    config, engine = seeded
    publisher = Recorder()
    clock = Clock(at("2020-12-02 09:00"))
    with Session(engine) as session:  # history, so that several periods are due at once
        session.add(
            NoticeLedgerRow(
                kind="weekly",
                period="2020-W44",
                state="issued",
                claimed_by="earlier",
                claimed_at=at("2020-10-30 17:30"),
                issued_on=dt.date(2020, 10, 30),
            )
        )
        session.commit()
    schedulers = [NoticeScheduler(config, engine, publisher, clock=clock, owner=f"s{n}") for n in range(2)]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(s: NoticeScheduler) -> None:
        try:
            barrier.wait()
            s.catch_up()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(s,)) for s in schedulers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    issued = sorted((m.kind, m.period) for m in publisher.messages)
    assert issued == [  # the roll-up waits for its imports
        ("weekly", "2020-W45"),
        ("weekly", "2020-W46"),
        ("weekly", "2020-W47"),
        ("weekly", "2020-W48"),
    ]
    assert all(state == "issued" for _k, _p, state, _n in ledger_rows(engine))


def test_a_draft_roll_up_is_issued_once_its_imports_complete_it_and_never_regenerated(seeded) -> None:
    config, engine = seeded
    publisher = Recorder()
    clock = Clock(at("2020-12-01 08:00"))
    scheduler = NoticeScheduler(config, engine, publisher, clock=clock)
    assert scheduler.issue("monthly", "2020-11") is None  # no imports yet: a draft, not issued
    assert publisher.messages == [] and ledger_rows(engine) == []
    clock.moment = at("2020-12-03 10:00")
    import_seed(config, engine, clock())
    written = scheduler.catch_up()
    assert {p.name for p in written} >= {"monthly-2020-11.docx", "monthly-2020-11.json"}
    [issued] = [m for m in publisher.messages if m.kind == "monthly"]
    assert not issued.draft and issued.issued_on == dt.date(2020, 12, 3)
    path = Path(config.notices.output_dir) / "notices/2020-11/monthly-2020-11.json"
    saved = json.loads(path.read_text("utf-8"))
    [number] = [n for kind, _p, _s, n in ledger_rows(engine) if kind == "monthly"]
    assert saved["figures"]["doc_number"] == f"临东政管办发〔2020〕{number}号"  # the next after W48's
    assert saved["figures"]["cases"]["total"] == 100884
    # A later import changes nothing issued: a correction is the office's explicit act (--correct).
    before = path.read_bytes()
    clock.moment = at("2020-12-04 10:00")
    with Session(engine) as session:
        save_reviews(session, "2020-11", load_reviews_file(config, SEED / "reviews-2020-11.csv"), "again", clock())
        session.commit()
    issued_so_far = len(publisher.messages)
    scheduler.tick()
    assert path.read_bytes() == before and len(publisher.messages) == issued_so_far


def test_failed_publication_is_recorded_and_retried(seeded) -> None:
    config, engine = seeded
    clock = Clock(at("2020-11-13 17:30"))
    failing = Recorder(fail=True)
    NoticeScheduler(config, engine, failing, clock=clock).issue("weekly", "2020-W46")
    with Session(engine) as session:
        row = session.exec(select(NoticeLedgerRow)).one()
        assert row.published_at is None and "broker down" in row.last_error
    working = Recorder()
    NoticeScheduler(config, engine, working, clock=clock).refresh()
    assert [(m.kind, m.period) for m in working.messages] == [("weekly", "2020-W46")]
    with Session(engine) as session:
        row = session.exec(select(NoticeLedgerRow)).one()
        assert row.published_at is not None and row.last_error == ""


def test_a_week_with_a_charge_awaiting_review_waits_for_its_review(tmp_path: Path, db_url: str) -> None:
    """No one is there to confirm an open item with a reason, so the scheduler issues a notice only once every
    charge of its period has been reviewed (or dismissed)."""
    config, _ = hall_config(tmp_path, db_url=db_url)
    engine = open_database(db_url)
    insert_incidents(engine, seed_incidents(), dismissed=("inc-a05",), reviewed=False)
    clock = Clock(at("2020-11-09 09:05"))
    scheduler = NoticeScheduler(config, engine, Recorder(), clock=clock)
    assert scheduler.issue("weekly", "2020-W45") is None
    assert ledger_rows(engine) == []
    draft = (Path(config.notices.output_dir) / "notices" / "2020-W45" / "weekly-2020-W45.md").read_text(
        encoding="utf-8"
    )
    assert "【草稿】" in draft
    with Session(engine) as session:
        mark_reviewed(session, "inc-c20", "主任", at("2020-11-09 09:20"))
        session.commit()
    clock.moment = at("2020-11-09 09:30")
    assert scheduler.issue("weekly", "2020-W45")
    assert ledger_rows(engine) == [("weekly", "2020-W45", "issued", 16)]
    engine.dispose()


def test_monthly_numbers_count_on_within_the_year(seeded) -> None:
    config, engine = seeded
    for month in ("2020-10", "2020-11", "2020-12"):
        import_seed(config, engine, at("2020-10-01 08:00"), month=month)
    clock = Clock(at("2020-11-01 08:00"))
    scheduler = NoticeScheduler(config, engine, Recorder(), clock=clock)
    scheduler.issue("monthly", "2020-10")
    clock.moment = at("2020-12-01 08:00")
    scheduler.issue("monthly", "2020-11")
    clock.moment = at("2021-01-01 08:00")
    scheduler.issue("monthly", "2020-12")
    numbers = [(p, n) for k, p, _s, n in ledger_rows(engine) if k == "monthly"]
    # 2020's register continues where the office's hand count left off ([notices] doc_number_from); the first
    # notice of 2021 starts that year's register afresh at doc_number_start.
    assert numbers == [("2020-10", 16), ("2020-11", 17), ("2020-12", 1)]


# ---------------------------------------------------------------- real MQTT and webhook


class _Robot(BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(json.loads(body))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"errcode": 0, "errmsg": "ok"}')

    def log_message(self, *args: object) -> None:
        pass


def test_published_on_mqtt_and_to_the_webhook(tmp_path: Path, broker_url: str) -> None:
    server = HTTPServer(("127.0.0.1", 0), _Robot)
    _Robot.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    robot = {"name": "值班群", "url": f"http://127.0.0.1:{server.server_port}/robot", "style": "wecom"}
    config, _ = hall_config(tmp_path, mqtt_url=broker_url, alerts={"webhooks": [robot]})
    prefix = config.mqtt.topic_prefix  # the test's own: a shared broker keeps retained messages between runs
    engine = open_database(config.database.url)
    insert_incidents(engine, seed_incidents())
    collector = Subscriber(broker_url, f"{prefix}/notices/#")
    publisher = BrokerAndWebhooks(config)
    try:
        NoticeScheduler(config, engine, publisher, clock=lambda: at("2020-11-06 17:30")).issue("weekly", "2020-W45")
        wait_for(lambda: collector.payloads(), what="the notice on MQTT")
    finally:
        publisher.close()
        collector.close()
        server.shutdown()
        for retained in (f"{prefix}/notices/weekly", f"{prefix}/availability/scheduler"):
            publish(broker_url, retained, [b""], retain=True)
    [(topic, payload, _retain)] = collector.messages
    assert topic == f"{prefix}/notices/weekly"
    message = NoticeIssued.from_json(payload)
    assert message.period == "2020-W45" and "weekly-2020-W45.docx" in message.files
    assert "迟到2人次" in message.summary  # C20 and the (not dismissed here) A05
    [robot] = _Robot.received
    assert (
        robot["msgtype"] == "text"
        and "区政务服务中心2020年11月2日至11月8日工作纪律情况通报" in robot["text"]["content"]
    )


def test_apscheduler_runs_the_catch_up_in_the_background(tmp_path: Path) -> None:
    config, _ = hall_config(tmp_path)
    engine = open_database(config.database.url)
    publisher = Recorder()
    scheduler = NoticeScheduler(config, engine, publisher, clock=lambda: at("2020-12-02 09:00"))
    background = scheduler.start()
    try:
        assert {job.id for job in background.get_jobs()} == {"weekly-notice", "monthly-notice", "catch-up-and-refresh"}
        wait_for(lambda: len(publisher.messages) >= 1, timeout=60, what="the background catch-up's weekly notice")
        weekly_job = background.get_job("weekly-notice")
        assert weekly_job.next_run_time.tzinfo is not None
        assert weekly_job.next_run_time.weekday() == 0
        assert (weekly_job.next_run_time.hour, weekly_job.next_run_time.minute) == (9, 0)
    finally:
        scheduler.shutdown()
    assert sorted((m.kind, m.period) for m in publisher.messages) == [("weekly", "2020-W48")]  # roll-up: a draft


def test_a_claim_abandoned_by_a_dead_scheduler_is_taken_over_once(seeded) -> None:
    config, engine = seeded
    import_seed(config, engine, at("2020-11-30 08:00"))
    with Session(engine) as session:
        session.add(
            NoticeLedgerRow(
                kind="monthly",
                period="2020-11",
                state="claimed",
                claimed_by="died",
                claimed_at=at("2020-12-01 08:00"),
                issued_on=dt.date(2020, 12, 1),
                doc_year=2020,
                doc_number=20,
            )
        )
        session.commit()
    publisher = Recorder()
    clock = Clock(at("2020-12-01 08:10"))
    scheduler = NoticeScheduler(config, engine, publisher, clock=clock)
    scheduler.catch_up()
    assert [(m.kind, m.period) for m in publisher.messages] == [("weekly", "2020-W48")]  # still fresh: left alone
    clock.moment = at("2020-12-01 08:31")
    scheduler.catch_up()
    scheduler.catch_up()
    assert [(m.kind, m.period) for m in publisher.messages] == [("weekly", "2020-W48"), ("monthly", "2020-11")]
    assert publisher.messages[-1].issued_on == dt.date(2020, 12, 1)
    assert ("monthly", "2020-11", "issued", 20) in ledger_rows(engine)


def test_monitor_scheduler_command_issues_and_stops_on_sigterm(tmp_path: Path) -> None:
    # A port nobody listens on: publication fails and is kept for a retry.
    config, path = hall_config(tmp_path, mqtt_url=f"mqtt://127.0.0.1:{free_port()}")
    engine = open_database(config.database.url)
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor", "-c", str(path), "scheduler"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:

        def issued() -> bool:
            rows = ledger_rows(engine)
            return len(rows) == 1 and all(state == "issued" for *_, state, _n in rows)

        wait_for(issued, timeout=60, what="the weekly notice issued (the roll-up waits for its imports)")
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, output.decode()
    assert [kind for kind, *_ in ledger_rows(engine)] == ["weekly"]
    with Session(engine) as session:
        assert all("cannot reach the MQTT broker" in r.last_error for r in session.exec(select(NoticeLedgerRow)))
    assert b"next weekly notice" in output
