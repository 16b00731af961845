"""`monitor bench-recorder` on a tiny backlog: everything recorded, nothing rejected, the blocks reported.

Behaviour only: how fast the recorder drains a backlog is docs/benchmarks.md's subject, not a test's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy

from monitor.config import load_config
from monitor.core.admission import admit
from monitor.core.calendar import WorkCalendar
from monitor.core.signature import SigningKey, authorize
from monitor.errors import InputError
from monitor.tools.bench import recorder as recorder_bench
from monitor.tools.bench.recorder import (
    BenchFailed,
    RecorderBenchSpec,
    bench_hall,
    bench_incidents,
    blocks_of,
    message_times,
    run_recorder_bench,
)
from tests.support.mqtt import MOSQUITTO
from tests.support.paths import ROOT, SEED_HALL

PG_URL = os.environ.get("MONITOR_TEST_PG_URL")
needs_mosquitto = pytest.mark.skipif(not MOSQUITTO, reason="mosquitto is not installed (apt-get install mosquitto)")


def test_the_messages_of_a_batch_are_spread_over_the_time_it_took() -> None:
    # Committed at 2.0 (3 messages, since the start at 0.5) and at 2.4 (2 messages).
    assert message_times(0.5, [(2.0, 3), (2.4, 2)]) == pytest.approx([1.0, 1.5, 2.0, 2.2, 2.4])


def test_blocks_are_timed_from_the_end_of_the_previous_block() -> None:
    times = [1.0, 1.5, 2.0, 4.0, 4.5]
    blocks = blocks_of(0.0, times, 2)
    assert [(b.index, b.first, b.last) for b in blocks] == [(1, 1, 2), (2, 3, 4), (3, 5, 5)]
    assert [b.seconds for b in blocks] == [1.5, 2.5, 0.5]
    assert [b.rate for b in blocks] == pytest.approx([2 / 1.5, 2 / 2.5, 1 / 0.5])


def test_the_incidents_are_admissible_and_signed_for_the_seed_hall(tmp_path: Path) -> None:
    key = SigningKey.generate("基准巡查员")
    config = bench_hall(f"sqlite:///{tmp_path / 'b.db'}", 1883, tmp_path, key)
    assert [w.id for w in config.window_list] == [w.id for w in load_config(SEED_HALL).window_list]
    calendar = WorkCalendar(config.calendar, config.duty, config.hall.tz)
    events = list(bench_incidents(config, 400, "2020-11", seed=7))
    assert len({e.id for e in events}) == 400
    assert {e.kind for e in events} == {"late_arrival", "empty_post"}
    assert len({e.window for e in events}) == len(config.window_list)
    for event in events:
        assert event.source == "patrol:基准巡查员"
        assert event.started_at.astimezone(config.hall.tz).strftime("%Y-%m") == "2020-11"
        signed = key.sign(event)
        authorize(signed, config)  # raises if the signature or the signer's role is wrong
        admit(signed, config, calendar)  # raises if the window, kind or time is refused
        session = calendar.session_at(event.started_at)
        assert session is not None and (event.ended_at is None or event.ended_at <= session.end)


def test_without_mosquitto_it_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recorder_bench.shutil, "which", lambda _name: None)
    monkeypatch.setattr(recorder_bench, "MOSQUITTO_PATHS", ())
    with pytest.raises(BenchFailed, match=r"needs Mosquitto \(apt-get install mosquitto\)"):
        run_recorder_bench(RecorderBenchSpec(incidents=10), tmp_path)


def test_a_bad_spec_is_refused() -> None:
    with pytest.raises(InputError):
        RecorderBenchSpec(incidents=0)
    with pytest.raises(InputError):
        RecorderBenchSpec(block=0)
    with pytest.raises(InputError, match="SQLite or PostgreSQL"):
        RecorderBenchSpec(database="mysql://x@y/z")


@needs_mosquitto
@pytest.mark.mosquitto
def test_the_recorder_drains_a_small_backlog_and_records_all_of_it(tmp_path: Path) -> None:
    stages: dict[str, tuple[int, int]] = {}
    report = run_recorder_bench(
        RecorderBenchSpec(incidents=300, block=100),
        tmp_path,
        on_progress=lambda stage, done, total: stages.__setitem__(stage, (done, total)),
    )
    assert stages == {"sign": (300, 300), "publish": (300, 300), "drain": (300, 300)}
    verified = report.verified
    assert (verified.incidents, verified.events, verified.alerts, verified.expected_alerts) == (300, 300, 300, 300)
    assert verified.rejected == 0 and verified.dead_letters == 0
    assert sum(verified.statuses.values()) == 300
    # Every incident is in the table once (above). On SQLite a batch retried after "database is locked" reports
    # the messages it had already committed as duplicates (docs/benchmarks.md, "The recorder"): counted, not failed.
    assert set(verified.statuses) <= {"recorded", "duplicate"}
    assert [(b.first, b.last) for b in report.blocks] == [(1, 100), (101, 200), (201, 300)]
    assert all(b.seconds >= 0 and b.rate > 0 for b in report.blocks)
    assert report.blocks[-1] is report.last_block and report.slowest_block in report.blocks
    assert report.drain_seconds >= report.first_commit_seconds >= 0 and report.cpu_seconds > 0
    assert 1 <= report.batches <= 300 and 1 <= report.largest_batch <= 300
    assert report.database.startswith("sqlite ")
    assert report.machine["cores"] == str(os.cpu_count()) and report.machine["mosquitto"] != ""


@needs_mosquitto
@pytest.mark.mosquitto
@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="MONITOR_TEST_PG_URL not set (.ci/run sets it)")
def test_on_postgresql_the_benchmark_has_a_schema_of_its_own_and_drops_it(tmp_path: Path) -> None:
    assert PG_URL

    def schemas() -> set[str]:
        admin = sqlalchemy.create_engine(PG_URL)
        try:
            with admin.connect() as connection:
                query = "select schema_name from information_schema.schemata where schema_name like 'bench_%'"
                found = connection.execute(sqlalchemy.text(query))
                return {str(name) for name in found.scalars()}
        finally:
            admin.dispose()

    before = schemas()
    report = run_recorder_bench(RecorderBenchSpec(incidents=150, block=50, database=PG_URL), tmp_path)
    assert report.database.startswith("postgresql ")
    assert (report.verified.incidents, report.verified.alerts, report.verified.rejected) == (150, 150, 0)
    assert report.verified.statuses == {"recorded": 150}
    assert schemas() <= before  # its own schema is gone (another run's may come and go meanwhile)


@needs_mosquitto
@pytest.mark.mosquitto
def test_monitor_bench_recorder_reports_json(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "bench-recorder", "--incidents", "120", "--block", "50", "--json"],
        cwd=tmp_path,  # nothing of the repository is needed: the seed hall comes with the package
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200", "PYTHONPATH": str(ROOT)},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["incidents"] == 120 and report["rejected"] == 0
    assert (report["verified"]["incidents"], report["verified"]["alerts"]) == (120, 120)
    assert [(b["first"], b["last"]) for b in report["blocks"]] == [(1, 50), (51, 100), (101, 120)]
    assert report["rate"] > 0 and report["first_block_rate"] > 0 and "slowest_block" in report


def test_monitor_bench_recorder_refuses_a_database_it_cannot_use(tmp_path: Path) -> None:
    existing = tmp_path / "hall.db"
    existing.write_bytes(b"")
    for url, words in ((f"sqlite:///{existing}", "the file exists"), ("mysql://x@y/z", "SQLite or PostgreSQL")):
        done = subprocess.run(
            [sys.executable, "-m", "monitor", "bench-recorder", "--incidents", "10", "--database", url],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 1 and words in done.stderr and "Traceback" not in done.stderr
