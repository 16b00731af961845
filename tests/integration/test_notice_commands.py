"""`monitor notice weekly|monthly` on the seed hall's database: the notice from the store, its files,
a draft that names the missing inputs, and each bad period its own clear error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import Session
from typer.testing import CliRunner

from monitor.adapters.store.database import open_database
from monitor.adapters.store.tables import EvidenceRow
from monitor.cli import _register, app
from tests.support.config import hall_config
from tests.support.notices import at, incident, insert_incidents, seed_incidents


def test_a_weekly_notice_from_the_store_with_evidence_and_a_dismissal(tmp_path: Path) -> None:
    config, path = hall_config(tmp_path)
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


def test_a_quiet_week(tmp_path: Path) -> None:
    _, path = hall_config(tmp_path)
    _register()
    result = CliRunner().invoke(
        app, ["-c", str(path), "notice", "weekly", "--week", "2020-W49", "--json", "--date", "2020-12-04"]
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["tables"] == {}
    assert "2020年11月30日至12月6日，中心窗口未发现违反工作纪律情况。" in document["text"]
    assert document["text"].endswith("2020年12月4日")


def test_a_month_without_inputs_is_a_draft_naming_them(tmp_path: Path) -> None:
    config, path = hall_config(tmp_path)
    engine = open_database(config.database.url)
    december = incident("dec-1", "empty_post", "B06", "人社局", "2020-12-02 10:00", 40, staff="李赛男")
    insert_incidents(engine, [*seed_incidents(), december])
    _register()
    result = CliRunner().invoke(app, ["-c", str(path), "notice", "monthly", "--month", "2020-12", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    text = document["text"]
    assert text.startswith("【草稿】缺少：")
    for missing in (
        "2020-12 办件量",
        "2020-12 “好差评”评价数据",
        "2020-12 部门窗口考核录入分",
        "2020-12 工作人员考核录入分",
    ):
        assert missing in text
    assert document["attachments"]["3"] == [["部门", "行政审批", "便民服务", "公共服务", "收费", "合计"]]
    people = {row[0]: row for row in document["attachments"]["1"][1:]}
    assert people["人社局"][1] == "20" and people["人社局"][-1] == "90.0"
    assert "本月人社局窗口共发生违反中心工作纪律情况1起（次）" in text
    assert "空岗1人次" in text


@pytest.mark.parametrize(
    ("week", "message"),
    [
        pytest.param("2020-45", "write an ISO week as YYYY-Www", id="not-an-iso-week"),
        pytest.param("2021-W53", "2021 has no week 53", id="no-such-week"),
    ],
)
def test_a_bad_week_is_refused(week: str, message: str, tmp_path: Path) -> None:
    _, path = hall_config(tmp_path)
    _register()
    result = CliRunner().invoke(app, ["-c", str(path), "notice", "weekly", "--week", week])
    assert result.exit_code == 1
    assert message in str(result.exception)
