"""`monitor leave add --kind`, `leave change`, `leave withdraw` and `incident reinstate`, run as a supervisor runs
them (processes, against a running recorder and broker): each prints what the recorder recorded, and refuses in
words, before anything is sent, what the recorder would refuse."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from sqlmodel import Session

from monitor.adapters.store.database import open_database
from monitor.adapters.store.leaves import leave_by_id, leave_history
from monitor.services.recorder import Recorder
from tests.integration.test_cli import monitor
from tests.support.config import hall_config, supervisor_key_file


def test_leave_granted_with_its_kind_changed_and_withdrawn_from_the_command_line(
    tmp_path: Path, mosquitto_url: str
) -> None:
    config, config_path = hall_config(tmp_path, mqtt_url=mosquitto_url)
    path, key = str(config_path), str(supervisor_key_file(config))
    tz = config.hall.tz
    now = dt.datetime.now(tz).replace(second=0, microsecond=0)

    def hall_time(moment: dt.datetime) -> str:
        return moment.strftime("%Y-%m-%dT%H:%M")

    refused = monitor(
        "--config", path, "leave", "add", "--window", "C20", "--from", hall_time(now), "--to",
        hall_time(now + dt.timedelta(hours=1)), "--kind", "病假", "--key", key,
    )  # fmt: skip
    assert refused.returncode == 1 and "--kind '病假': 请假 or 公出" in refused.stderr
    unknown = monitor("--config", path, "leave", "withdraw", "leave-nobody", "--reason", "返岗", "--key", key)
    assert unknown.returncode == 1 and "no leave 'leave-nobody' is recorded" in unknown.stderr

    engine = open_database(config.database.url)
    recorder = Recorder(config, engine)
    assert recorder.start(wait=60)
    try:
        added = monitor(
            "--config", path, "leave", "add", "--window", "C20", "--from", hall_time(now - dt.timedelta(hours=1)),
            "--to", hall_time(now + dt.timedelta(hours=2)), "--kind", "公出", "--reason", "市局培训", "--key", key,
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        leave_id = added.stdout.strip()
        changed = monitor(
            "--config", path, "leave", "change", leave_id, "--start", hall_time(now - dt.timedelta(hours=1)),
            "--end", hall_time(now + dt.timedelta(hours=3)), "--reason", "培训延长", "--key", key,
        )  # fmt: skip
        assert changed.returncode == 0, changed.stderr
        assert changed.stdout.strip().startswith(f"已变更：{leave_id}（")
        withdrawn = monitor("--config", path, "leave", "withdraw", leave_id, "--reason", "提前返岗", "--key", key)
        assert withdrawn.returncode == 0, withdrawn.stderr
        assert withdrawn.stdout.strip() == f"已撤回：{leave_id}"
        with Session(engine) as session:
            row = leave_by_id(session, leave_id)
            assert row is not None and (row.kind, row.reason) == ("公出", "市局培训")
            assert row.withdrawn_at is not None and now <= row.end <= dt.datetime.now(tz)
            assert [(h.action, h.reason) for h in leave_history(session, leave_id)] == [
                ("change", "培训延长"),
                ("withdraw", "提前返岗"),
            ]
        again = monitor("--config", path, "leave", "withdraw", leave_id, "--reason", "提前返岗", "--key", key)
        assert again.returncode == 1 and f"leave {leave_id} is withdrawn" in again.stderr
        # Older scripts: no --kind, the reason says it.
        older = monitor(
            "--config", path, "leave", "add", "--window", "C21", "--from", hall_time(now),
            "--to", hall_time(now + dt.timedelta(hours=1)), "--reason", "公出：市局会议", "--key", key,
        )  # fmt: skip
        assert older.returncode == 0, older.stderr
        with Session(engine) as session:
            row = leave_by_id(session, older.stdout.strip())
            assert row is not None and (row.kind, row.reason) == ("公出", "市局会议")
    finally:
        recorder.stop()
        engine.dispose()


def test_a_dismissal_reinstated_from_the_command_line_deducts_again(tmp_path: Path, mosquitto_url: str) -> None:
    config, config_path = hall_config(tmp_path, mqtt_url=mosquitto_url)
    path, key = str(config_path), str(supervisor_key_file(config))
    engine = open_database(config.database.url)
    recorder = Recorder(config, engine)
    assert recorder.start(wait=60)

    def c25() -> int:
        scores = json.loads(monitor("--config", path, "scores", "--month", "2020-11", "--json").stdout)
        return int(next(r for r in scores["staff"] if r["window"] == "C25")["scores"]["工作纪律"])

    try:
        added = monitor(
            "--config", path, "incident", "add", "--window", "C25", "--kind", "empty_post",
            "--at", "2020-11-24T14:50", "--minutes", "40", "--key", key,
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        incident_id = added.stdout.strip()
        standing = monitor("--config", path, "incident", "reinstate", incident_id, "--reason", "撤销有误", "--key", key)
        assert standing.returncode == 1 and f"incident {incident_id} is not dismissed" in standing.stderr
        dismissed = monitor("--config", path, "incident", "dismiss", incident_id, "--reason", "已请假", "--key", key)
        assert dismissed.returncode == 0, dismissed.stderr
        assert c25() == 40
        back = monitor("--config", path, "incident", "reinstate", incident_id, "--reason", "撤销有误", "--key", key)
        assert back.returncode == 0, back.stderr
        assert back.stdout.strip() == f"已恢复：{incident_id}"
        assert c25() == 30
        listed = json.loads(monitor("--config", path, "incident", "list", "--month", "2020-11", "--json").stdout)
        assert [(i["id"], i["dismissed"], i["points"]) for i in listed] == [(incident_id, False, "10")]
    finally:
        recorder.stop()
        engine.dispose()
