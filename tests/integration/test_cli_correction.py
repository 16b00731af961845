"""A finding after the month's notice is issued, as a supervisor enters it: refused without a reason, recorded
with `--correction`, and shown as 更正 by `monitor incident list`; a second decision on a dismissed incident is
an error, not a confirmation."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

from sqlmodel import Session, select

from monitor.adapters.store.database import open_database
from monitor.adapters.store.ledger import claim, mark_generated
from monitor.adapters.store.tables import DismissalRow, IncidentRow
from monitor.services.patrol import patrol_incident
from monitor.services.recorder import Recorder
from tests.support.config import hall_config, supervisor_key, supervisor_key_file
from tests.support.waiting import wait_for

REASON = "补录：巡查记录遗漏"


def monitor(*args: str) -> subprocess.CompletedProcess[str]:
    """The command as a process, on a terminal wide enough for the list's table."""
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "COLUMNS": "240"},
    )


def test_a_finding_for_an_issued_month_needs_a_correction_which_the_list_shows(tmp_path: Path, one_broker: str) -> None:
    config, hall_file = hall_config(tmp_path, mqtt_url=one_broker)
    path, key = str(hall_file), str(supervisor_key_file(config))
    engine = open_database(config.database.url)
    at = dt.datetime(2020, 12, 1, 9, 0, tzinfo=config.hall.tz)
    taken = claim(
        engine,
        "monthly",
        "2020-11",
        owner="test",
        issued_on=at.date(),
        number_start=20,
        now=at,
        stale_after=dt.timedelta(hours=1),
    )
    assert taken is not None
    mark_generated(engine, taken.id, [], "", at, "")
    recorder = Recorder(config, engine)
    assert recorder.start()
    add = ["--config", path, "incident", "add", "--window", "C20", "--kind", "late_arrival"]
    add += ["--at", "2020-11-04T09:12", "--minutes", "12", "--key", key]
    try:
        refused = monitor(*add)
        assert refused.returncode == 1, refused.stdout
        assert "the recorder refused it: the notice of 2020-11 is issued" in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr

        blank = monitor(*add, "--correction", "  ")
        assert blank.returncode == 1 and "--correction must say why" in blank.stderr, blank.stderr

        added = monitor(*add, "--correction", f" {REASON} ")
        assert added.returncode == 0, added.stderr
        incident_id = added.stdout.strip()

        def recorded() -> IncidentRow | None:
            with Session(engine) as session:
                return session.get(IncidentRow, incident_id)

        wait_for(lambda: recorded() is not None, what="the correction")
        row = recorded()
        assert row is not None and row.correction == REASON
        with Session(engine) as session:
            assert len(session.exec(select(IncidentRow)).all()) == 1

        listed = json.loads(monitor("--config", path, "incident", "list", "--month", "2020-11", "--json").stdout)
        assert [(i["id"], i["correction"], i["points"]) for i in listed] == [(incident_id, REASON, "1")]
        table = monitor("--config", path, "incident", "list", "--month", "2020-11")
        assert table.returncode == 0, table.stderr
        assert f"更正：{REASON}" in table.stdout and "巡查 · 巡查员" in table.stdout

        # A dismissal, the same again (confirmed as before), then another decision (an error: the first stands).
        dismiss = ["--config", path, "incident", "dismiss", incident_id, "--key", key]
        assert monitor(*dismiss, "--reason", "申诉成立").stdout.strip() == f"已撤销：{incident_id}"
        assert monitor(*dismiss, "--reason", "申诉成立").stdout.strip() == f"此前已撤销：{incident_id}"
        other = monitor(*dismiss, "--reason", "已请假")
        assert other.returncode == 1 and "Traceback" not in other.stderr
        assert f"the recorder refused it: incident {incident_id} was dismissed by another decision" in other.stderr
        with Session(engine) as session:
            assert [r.reason for r in session.exec(select(DismissalRow))] == ["申诉成立"]
        listed = json.loads(monitor("--config", path, "incident", "list", "--month", "2020-11", "--json").stdout)
        assert listed[0]["dismissal_reason"] == "申诉成立" and listed[0]["correction"] == REASON
    finally:
        recorder.stop()
        engine.dispose()


def test_an_ordinary_finding_has_no_correction(tmp_path: Path) -> None:
    """What the list prints for an incident that is no correction (no broker: written as the recorder would)."""
    config, hall_file = hall_config(tmp_path)
    engine = open_database(config.database.url)
    recorder = Recorder(config, engine)
    key = supervisor_key(config)
    finding = patrol_incident(
        window="C20",
        kind="late_arrival",
        seen_at=dt.datetime(2020, 11, 4, 9, 12, tzinfo=config.hall.tz),
        minutes=12,
        note="巡查发现",
        by=key.name,
    )
    assert finding.correction is None
    event = key.sign(finding)
    results = recorder.apply([(recorder.topics.incidents, event.to_json())])
    engine.dispose()
    assert results is not None and results[0].status == "recorded", results[0].detail
    listed = json.loads(monitor("--config", str(hall_file), "incident", "list", "--month", "2020-11", "--json").stdout)
    assert [(i["id"], i["correction"]) for i in listed] == [(event.id, None)]
    table = monitor("--config", str(hall_file), "incident", "list", "--month", "2020-11").stdout
    assert event.id in table and "更正" not in table
