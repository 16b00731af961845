"""The supervisor's commands, run as a supervisor runs them: as processes."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import Session, select

from monitor.adapters.store.database import open_database
from monitor.adapters.store.tables import DismissalRow, IncidentRow
from monitor.services.recorder import Recorder
from tests.support.config import hall_config, supervisor_key_file
from tests.support.paths import SEED_HALL
from tests.support.waiting import wait_for

SEED_DISCIPLINE = {"C20": 39, "C29": 39, "D05": 39, "C25": 30}


def monitor(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "monitor", *args], capture_output=True, text=True, check=False)


# Attachment 1 of the seed: department, 窗口出勤, 好差评, 加分, 得分 (办件管理 20 and 综合管理 40 throughout).
SEED_ATTACHMENT_1 = """
不动产登记交易中心 30 10 2 102.0|行政审批服务局 30 10 2 102.0|人社局 30 10 2 102.0|医保局 30 10 2 102.0
公积金服务中心 30 9 2 101.0|税务局 30 9 2 101.0|奥德燃气 30 8 2 100.0|公交公司 30 8 2 100.0
市场监管局 30 8 1.2 99.2|交通运输分局 30 8 1.2 99.2|自然资源局 30 8 1.2 99.2|凤凰水业 30 8 1.2 99.2
临沂市测绘院 29 8 2 99.0|农业银行 30 8 0.8 98.8|住建局 30 8 0.8 98.8|广电网络 30 8 0.6 98.6|临沂建行 30 8 0.6 98.6
商务局 30 8 0.4 98.4|供电公司 30 8 0.4 98.4|临商银行 30 8 0.4 98.4|司法局 30 8 0 98.0|公章刻制 30 6 2 98.0
教育和体育局 30 8 0 98.0|生态环境局 30 8 0 98.0|邮政快递 29 8 0.8 97.8|应急管理局 29 8 0.4 97.4|卫健局 20 8 0 88.0
"""
# Attachment 2 of the seed: the windows with a bonus (加分); every other window has 0.
SEED_BONUS = {"B06": 2, "B11": 1, "B12": 1, "B15": 2, "C03": 2, "C04": 2, "C06": 2, "C09": 1, "1": 2}


def test_demo_then_scores_json_shows_the_seed_figures(tmp_path: Path) -> None:
    demo = monitor("demo", "--data-dir", str(tmp_path / "demo"))
    assert demo.returncode == 0, demo.stderr
    assert "卫健局" in demo.stdout and "C25" in demo.stdout and "monthly-2020-11.docx" in demo.stdout
    # The camera day: the clips' ground truth, found by the shipped detector, on the seed windows.
    assert "跳过视频部分" not in demo.stdout
    assert "A02窗口（行政审批服务局 杜政颖）迟到3分钟，扣1分。来源：视频 · A区东侧" in demo.stdout
    assert "A01窗口（行政审批服务局 杨杰）空岗" in demo.stdout
    assert "B06窗口（人社局 李赛男）空岗" in demo.stdout
    assert "weekly-2020-W49.docx" in demo.stdout
    # November issued as the office did: the seed's own 文号 and date, every charge reviewed before its notice.
    november = (tmp_path / "demo" / "notices" / "2020-11" / "monthly-2020-11.md").read_text(encoding="utf-8")
    assert "临东政管办发〔2020〕20号" in november and "2020年12月17日" in november and "草稿" not in november
    _, path = hall_config(tmp_path, db_url=f"sqlite:///{tmp_path / 'demo' / 'demo.db'}")
    result = monitor("--config", str(path), "scores", "--month", "2020-11", "--json")
    assert result.returncode == 0, result.stderr
    sheet = json.loads(result.stdout)
    assert sheet["month"] == "2020-11"
    expected = [row.split() for line in SEED_ATTACHMENT_1.strip().splitlines() for row in line.split("|")]
    got = [
        [
            r["department"],
            str(r["scores"]["窗口出勤"]),
            str(r["scores"]["好差评"]),
            str(r["scores"]["加分"]),
            f"{r['total']:.1f}",
        ]
        for r in sheet["departments"]
    ]
    assert got == expected
    assert all(r["scores"]["办件管理"] == 20 and r["scores"]["综合管理"] == 40 for r in sheet["departments"])
    assert [r["rank"] for r in sheet["departments"]] == list(range(1, 28))
    assert len(sheet["staff"]) == 93
    for row in sheet["staff"]:
        discipline, bonus = SEED_DISCIPLINE.get(row["window"], 40), SEED_BONUS.get(row["window"], 0)
        assert row["scores"] == {"工作纪律": discipline, "人员出勤": 30, "规范服务": 20, "综合评议": 10, "加分": bonus}
        assert row["total"] == discipline + 60 + bonus
    assert next(r for r in sheet["staff"] if r["window"] == "1")["name"] == "刘商含"


def test_patrol_add_list_dismiss(tmp_path: Path, broker_url: str) -> None:
    config, hall_file = hall_config(tmp_path, mqtt_url=broker_url)
    path, key = str(hall_file), str(supervisor_key_file(config))
    engine = open_database(config.database.url)
    recorder = Recorder(config, engine)
    recorder.start()
    try:
        added = monitor(
            "--config",
            path,
            "incident",
            "add",
            "--window",
            "C25",
            "--kind",
            "empty_post",
            "--at",
            "2020-11-24T14:50",
            "--minutes",
            "40",
            "--note",
            "巡查发现",
            "--key",
            key,
        )
        assert added.returncode == 0, added.stderr
        incident_id = added.stdout.strip()
        assert incident_id.startswith("patrol-")

        def recorded() -> IncidentRow | None:
            with Session(engine) as session:
                return session.get(IncidentRow, incident_id)

        wait_for(lambda: recorded() is not None, what="the patrol incident")
        row = recorded()
        assert row is not None and row.source.startswith("patrol:") and row.note == "巡查发现"
        # Seen empty at 14:50 after 40 minutes: empty from 14:10 until 14:50.
        tz = config.hall.tz
        assert (row.started_at.astimezone(tz), row.ended_at and row.ended_at.astimezone(tz)) == (
            dt.datetime(2020, 11, 24, 14, 10, tzinfo=tz),
            dt.datetime(2020, 11, 24, 14, 50, tzinfo=tz),
        )

        listed = json.loads(monitor("--config", path, "incident", "list", "--month", "2020-11", "--json").stdout)
        assert [(i["id"], i["window"], i["points"], i["dismissed"]) for i in listed] == [
            (incident_id, "C25", "10", False)
        ]

        dismissed = monitor("--config", path, "incident", "dismiss", incident_id, "--reason", "已请假", "--key", key)
        assert dismissed.returncode == 0, dismissed.stderr
        assert dismissed.stdout.strip() == f"已撤销：{incident_id}"

        def dismissal() -> DismissalRow | None:
            with Session(engine) as session:
                return session.exec(select(DismissalRow)).first()

        wait_for(lambda: dismissal() is not None, what="the dismissal")
        listed = json.loads(monitor("--config", path, "incident", "list", "--month", "2020-11", "--json").stdout)
        assert listed[0]["dismissed"] is True and listed[0]["dismissal_reason"] == "已请假"
        scores = json.loads(monitor("--config", path, "scores", "--month", "2020-11", "--json").stdout)
        assert next(r for r in scores["staff"] if r["window"] == "C25")["scores"]["工作纪律"] == 40
    finally:
        recorder.stop()
        engine.dispose()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["incident", "add", "--window", "Z9", "--kind", "late_arrival", "--at", "2020-11-04T09:10"],
            "unknown window 'Z9'",
            id="unknown-window",
        ),
        pytest.param(
            ["incident", "add", "--window", "C20", "--kind", "late_arrival", "--at", "yesterday"],
            "not an ISO 8601 time",
            id="bad-time",
        ),
        pytest.param(
            ["incident", "add", "--window", "C20", "--kind", "late_arrival", "--at", "2020-10-01T09:10"],
            "not a working day",
            id="holiday",
        ),
        pytest.param(
            ["incident", "add", "--window", "C20", "--kind", "late_arrival", "--at", "2020-11-04T09:10"],
            "cannot reach the MQTT broker",
            id="no-broker",
        ),
        pytest.param(["incident", "dismiss", "nope", "--reason", "x"], "no incident 'nope'", id="unknown-incident"),
        pytest.param(["scores", "--month", "2020-13"], "--month：月份“2020-13”格式不对：写作 YYYY-MM", id="bad-month"),
    ],
)
def test_bad_input_gets_a_clear_error_and_no_traceback(args: list[str], message: str, tmp_path: Path) -> None:
    config, path = hall_config(tmp_path, mqtt_url="mqtt://127.0.0.1:1")
    key = ["--key", str(supervisor_key_file(config))] if args[0] == "incident" else []
    result = monitor("--config", str(path), *args, *key)
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_check_config_reports_the_seed_hall() -> None:
    result = monitor("--config", str(SEED_HALL), "check-config")
    assert result.returncode == 0, result.stderr
    assert "派驻部门 27 个" in result.stdout and "窗口 93 个" in result.stdout


def test_check_config_names_the_bad_key_without_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "hall.toml"
    path.write_text("[hall]\ntimezone = 'Mars/Base'\n", encoding="utf-8")
    result = monitor("--config", str(path), "check-config")
    assert result.returncode == 1
    assert "hall.timezone: unknown timezone 'Mars/Base'" in result.stderr
    assert "Traceback" not in result.stderr
