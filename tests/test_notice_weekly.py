"""The weekly discipline notice: every standing violation of the week, points as the rules deduct them."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from sqlmodel import Session
from typer.testing import CliRunner

from monitor.cli import _register, app
from monitor.incident import Incident
from monitor.notices.weekly import WeeklyData, compose_weekly, context_start, week_bounds
from monitor.store.database import open_database
from monitor.store.tables import EvidenceRow
from tests.notices_support import SHANGHAI, at, insert_incidents, seed_config, seed_incidents
from tests.test_notice_month import HALL, INCIDENTS


def test_week_bounds() -> None:
    start, end = week_bounds("2020-W45", SHANGHAI)
    assert (start, end) == (at("2020-11-02 00:00"), at("2020-11-09 00:00"))
    assert context_start("2020-W45", SHANGHAI) == at("2020-11-01 00:00")
    assert context_start("2020-W53", SHANGHAI) == at("2020-12-01 00:00")


def test_from_the_store_with_evidence_and_a_dismissal(tmp_path: Path) -> None:
    config, path = seed_config(tmp_path)
    engine = open_database(config.database.url)
    insert_incidents(engine, seed_incidents(), dismissed=("inc-a05",))
    with Session(engine) as session:
        for name in ("last_seen.jpg", "return.jpg"):
            session.add(
                EvidenceRow(incident_id="inc-c20", name=name, data=b"\xff\xd8", received_at=at("2020-11-03 09:12"))
            )
        session.commit()
    _register()
    result = CliRunner().invoke(app, ["-c", str(path), "notice", "weekly", "--week", "2020-W45", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["tables"]["violations"] == [
        ["序号", "日期", "时间", "窗口", "部门", "工作人员", "类型", "迟到/持续时长", "扣分", "证据"],
        [
            "1",
            "11月3日（周二）",
            "09:12",
            "C20",
            "应急管理局",
            "—",
            "迟到",
            "12分钟",
            "1",
            "inc-c20（last_seen.jpg、return.jpg）",
        ],
    ]
    assert document["tables"]["by_kind"] == [["类型", "次数", "扣分"], ["迟到", "1", "1"]]
    assert document["tables"]["by_department"] == [["部门", "次数", "扣分"], ["应急管理局", "1", "1"]]
    text = document["text"]
    assert text.startswith("区政务服务中心2020年第45周工作纪律情况通报\n中心各窗口：\n")
    assert (
        "2020年11月2日至11月8日，中心窗口共发生违反工作纪律情况1起（次），其中迟到1人次，涉及应急管理局窗口。" in text
    )
    assert text.endswith("区政务服务管理办公室\n2020年11月6日")  # the Friday it is due
    folder = tmp_path / "out" / "notices" / "2020-W45"
    assert sorted(p.name for p in folder.iterdir()) == [
        "weekly-2020-W45.docx",
        "weekly-2020-W45.json",
        "weekly-2020-W45.md",
    ]


def test_quiet_week(tmp_path: Path) -> None:
    _, path = seed_config(tmp_path)
    _register()
    result = CliRunner().invoke(
        app, ["-c", str(path), "notice", "weekly", "--week", "2020-W49", "--json", "--date", "2020-12-04"]
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["tables"] == {}
    assert "2020年11月30日至12月6日，中心窗口未发现违反工作纪律情况。" in document["text"]
    assert document["text"].endswith("2020年12月4日")


def test_bad_week_is_refused(tmp_path: Path) -> None:
    _, path = seed_config(tmp_path)
    _register()
    result = CliRunner().invoke(app, ["-c", str(path), "notice", "weekly", "--week", "2020-45"])
    assert result.exit_code == 1
    assert "write an ISO week as YYYY-Www" in str(result.exception)
    result = CliRunner().invoke(app, ["-c", str(path), "notice", "weekly", "--week", "2021-W53"])
    assert "2021 has no week 53" in str(result.exception)


def test_repeat_points_count_the_whole_month_and_tiers_apply() -> None:
    # Week 11 of 2021 (15–21 March): A1's third late arrival of March (2 points); the earlier two were in
    # weeks 9 and 10. Week 10 has C1's 45-minute empty post (5 points) and the dismissed early leave is left out.
    week_11 = compose_weekly(HALL, WeeklyData("2021-W11", INCIDENTS, {}, dt.date(2021, 3, 19)))
    violations = week_11.tables[0]
    assert [row[3:9] for row in violations.rows[1:]] == [("A1", "甲局", "张三", "迟到", "3分钟", "2")]
    week_10 = compose_weekly(HALL, WeeklyData("2021-W10", INCIDENTS, {}, dt.date(2021, 3, 12)))
    rows = week_10.tables[0].rows[1:]
    assert [(r[3], r[6], r[7], r[8]) for r in rows] == [("A1", "迟到", "5分钟", "1"), ("C1", "空岗", "45分钟", "5")]
    assert week_10.tables[1].rows[1:] == (("迟到", "1", "1"), ("空岗", "1", "5"))
    assert week_10.tables[2].rows[1:] == (("甲局", "1", "1"), ("丁公司", "1", "5"))
    assert "迟到1人次、空岗1人次，涉及甲局、丁公司窗口" in week_10.text


def test_an_open_incident_is_marked() -> None:
    started = at("2021-03-17 10:00")
    ongoing = Incident("i9", "empty_post", "C1", "丁公司", started, None, 12)
    notice = compose_weekly(HALL, WeeklyData("2021-W11", [ongoing], {}, dt.date(2021, 3, 19)))
    assert notice.tables[0].rows[1][7] == "12分钟（未结束）"
    assert notice.tables[0].rows[1][8] == "3"
