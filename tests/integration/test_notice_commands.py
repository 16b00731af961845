"""`monitor notice weekly|monthly` on the seed hall's database: the notice from the store, its files,
a draft that names the missing inputs, and each bad period its own clear error."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import pytest
from click.testing import Result
from docx import Document
from PIL import Image
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from monitor.adapters.store.database import open_database
from monitor.adapters.store.tables import DocRegisterRow, EvidenceRow
from monitor.cli import _register, app
from monitor.contract import now_utc
from monitor.services.notices import issue_notice
from tests.support.config import hall_config
from tests.support.notices import at, incident, insert_incidents, seed_incidents


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), (90, 120, 150)).save(buffer, "JPEG")
    return buffer.getvalue()


def test_a_weekly_notice_from_the_store_with_evidence_and_a_dismissal(tmp_path: Path) -> None:
    config, path = hall_config(tmp_path)
    engine = open_database(config.database.url)
    insert_incidents(engine, seed_incidents(), dismissed=("inc-a05",))
    with Session(engine) as session:
        for name in ("20201103T011200Z-arrival.jpg", "20201103T010000Z-session_start.jpg"):
            session.add(EvidenceRow(incident_id="inc-c20", name=name, data=_jpeg(), received_at=at("2020-11-03 09:12")))
        session.commit()
    _register()
    result = CliRunner().invoke(app, ["-c", str(path), "notice", "weekly", "--week", "2020-W45", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["tables"]["violations"] == [
        ["序号", "日期", "窗口", "部门", "工作人员", "情况", "时间", "人员扣分", "窗口扣分", "来源"],
        ["1", "11月3日（周二）", "C20", "应急管理局", "", "迟到12分钟", "09:12到岗", "1", "1", "视频"],
    ]
    assert document["tables"]["by_kind"] == [["类型", "次数", "人员扣分", "窗口扣分"], ["迟到", "1", "1", "1"]]
    assert document["tables"]["by_department"] == [["部门", "次数", "窗口扣分"], ["应急管理局", "1", "1"]]
    text = document["text"]
    assert text.startswith("【草稿】未印发，无文号\n临沂市河东区政务服务管理办公室\n")
    assert (
        "区政务服务中心2020年11月2日至11月8日工作纪律情况通报\n区直有关部门、上级驻河东有关单位，中心各窗口：\n" in text
    )
    assert (
        "2020年11月2日至11月8日，中心窗口共发生违反工作纪律情况1起（次），其中迟到1人次，涉及应急管理局窗口。" in text
    )
    assert "inc-c20" not in text and "2.2020年11月2日至11月8日违反工作纪律抓拍照片" in text
    folder = tmp_path / "out" / "notices" / "2020-W45"
    assert sorted(p.name for p in folder.iterdir()) == [f"weekly-2020-W45.{s}" for s in ("docx", "html", "json", "md")]
    # The photos are in the document as captioned thumbnails.
    doc = Document(str(folder / "weekly-2020-W45.docx"))
    assert len(doc.inline_shapes) == 2
    captions = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    text = "".join(captions)
    start, arrival = "1. C20窗口 迟到 11月3日\n上班时间 09:00:00 座位无人", "1. C20窗口 迟到 11月3日\n09:12:00 到岗"
    assert start in text and arrival in text and text.index(start) < text.index(arrival), "in time order"


def _notice(path: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["-c", str(path), "notice", *args])


def test_issuing_takes_a_doc_number_once_and_a_correction_keeps_the_old_one(tmp_path: Path) -> None:
    config, path = hall_config(tmp_path)
    engine = open_database(config.database.url)
    insert_incidents(engine, seed_incidents(), dismissed=("inc-a05",))
    _register()
    folder = tmp_path / "out" / "notices" / "2020-W45"
    # A draft twice: the same bytes, no 文号.
    assert _notice(path, "weekly", "--week", "2020-W45").exit_code == 0
    first = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert _notice(path, "weekly", "--week", "2020-W45").exit_code == 0
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == first
    # Issued with the register's next number (where [notices] doc_number_from starts 2020) and its date.
    issued = _notice(path, "weekly", "--week", "2020-W45", "--issue", "--date", "2020-11-09")
    assert issued.exit_code == 0, issued.output
    assert "临东政管办发〔2020〕16号，2020-11-09" in issued.output
    saved = json.loads((folder / "weekly-2020-W45.json").read_text(encoding="utf-8"))
    assert saved["doc_number"] == "临东政管办发〔2020〕16号" and not saved["draft"]
    # Issuing it again is refused, in Chinese, with what to do.
    again = _notice(path, "weekly", "--week", "2020-W45", "--issue")
    assert again.exit_code == 1
    assert "2020年11月2日至11月8日周通报已于2020年11月9日印发（临东政管办发〔2020〕16号）" in str(again.exception)
    assert "如需更正" in str(again.exception)
    # A number already in the register is refused, whatever kind holds it.
    taken = _notice(path, "monthly", "--month", "2020-11", "--issue", "--number", "16", "--date", "2020-12-01")
    assert taken.exit_code == 1 and "文号不能重复使用" in str(taken.exception)
    # Shown again, the issued notice keeps its 文号 and date (and its bytes).
    issued_bytes = (folder / "weekly-2020-W45.docx").read_bytes()
    assert _notice(path, "weekly", "--week", "2020-W45").exit_code == 0
    assert (folder / "weekly-2020-W45.docx").read_bytes() == issued_bytes
    # New data for an issued week: the issued files are not rewritten, and the command says so.
    insert_incidents(engine, [incident("late-c21", "late_arrival", "C21", "卫健局", "2020-11-04 09:10", 10)])
    changed = _notice(path, "weekly", "--week", "2020-W45")
    assert changed.exit_code == 0 and "已印发的文件不改写" in changed.stdout.replace("\n", "")
    assert (folder / "weekly-2020-W45.docx").read_bytes() == issued_bytes
    refused = _notice(path, "weekly", "--week", "2020-W45", "--date", "2020-11-10")
    assert refused.exit_code == 1 and "日期不能改" in str(refused.exception)
    # A correction: a new number and date; the old files and number are kept.
    corrected = _notice(path, "weekly", "--week", "2020-W45", "--issue", "--correct", "--date", "2020-11-10")
    assert corrected.exit_code == 0, corrected.output
    assert "临东政管办发〔2020〕17号" in corrected.output
    kept = folder / "superseded-2020-16"
    assert (kept / "weekly-2020-W45.docx").read_bytes() == issued_bytes
    with Session(engine) as session:
        register = session.exec(select(DocRegisterRow).order_by(col(DocRegisterRow.doc_number))).all()
    assert [(r.doc_number, r.period, r.state) for r in register] == [
        (16, "2020-W45", "superseded"),
        (17, "2020-W45", "issued"),
    ]
    # A month with its inputs missing is refused with the list; confirmed with a reason it is issued, the reason
    # and what was missing kept in the register. A new year starts its register at doc_number_start.
    refused = _notice(path, "monthly", "--month", "2020-12", "--issue", "--date", "2021-01-04")
    assert refused.exit_code == 1 and "尚不能印发：缺少：2020年12月部门窗口考核录入分" in str(refused.exception)
    nextyear = _notice(
        path, "monthly", "--month", "2020-12", "--issue", "--date", "2021-01-04", "--confirm", "主任同意先发"
    )
    assert nextyear.exit_code == 0, nextyear.output
    assert "临东政管办发〔2021〕1号" in nextyear.output
    with Session(engine) as session:
        first = session.exec(select(DocRegisterRow).where(DocRegisterRow.doc_year == 2021)).one()
    assert first.confirmed.startswith("缺少：2020年12月部门窗口考核录入分") and first.confirmed.endswith(
        "确认理由：主任同意先发"
    )
    assert "草稿" not in (tmp_path / "out" / "notices" / "2020-12" / "monthly-2020-12.md").read_text(encoding="utf-8")


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
    assert document["text"].endswith("2020年12月4日\n河东区政务服务管理办公室　2020年12月4日印发")


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
        "2020年12月办件量",
        "2020年12月“好差评”评价数据",
        "2020年12月部门窗口考核录入分",
        "2020年12月工作人员考核录入分",
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
        pytest.param("2020-45", "--week：周“2020-45”格式不对：写作 YYYY-Www", id="not-an-iso-week"),
        pytest.param("2021-W53", "2021年没有第53周", id="no-such-week"),
    ],
)
def test_a_bad_week_is_refused(week: str, message: str, tmp_path: Path) -> None:
    _, path = hall_config(tmp_path)
    _register()
    result = CliRunner().invoke(app, ["-c", str(path), "notice", "weekly", "--week", week])
    assert result.exit_code == 1
    assert message in str(result.exception)


def test_a_correction_keeps_the_old_files_where_they_were_written(tmp_path: Path) -> None:
    """The office moved its output folder after issuing: the correction moves the old files aside in the folder
    they were written to, and makes no empty folder where they never were."""
    config, _ = hall_config(tmp_path)
    engine = open_database(config.database.url)
    insert_incidents(engine, seed_incidents(), dismissed=("inc-a05",))
    issue_notice(config, engine, "weekly", "2020-W45", now=now_utc(), day=dt.date(2020, 11, 9))
    old_folder = Path(config.notices.output_dir) / "notices" / "2020-W45"
    issued_bytes = (old_folder / "weekly-2020-W45.docx").read_bytes()
    moved = config.model_copy(
        update={"notices": config.notices.model_copy(update={"output_dir": str(tmp_path / "elsewhere")})}
    )
    notice, files = issue_notice(
        moved, engine, "weekly", "2020-W45", now=now_utc(), day=dt.date(2020, 11, 10), correct=True
    )
    assert notice.doc_number == "临东政管办发〔2020〕17号"
    kept = old_folder / "superseded-2020-16"
    assert (kept / "weekly-2020-W45.docx").read_bytes() == issued_bytes
    assert not (old_folder / "weekly-2020-W45.docx").exists()
    assert all(p.parent == tmp_path / "elsewhere" / "notices" / "2020-W45" for p in files)
    assert not list((tmp_path / "elsewhere").rglob("superseded-*"))
    with Session(engine) as session:
        old = session.exec(select(DocRegisterRow).where(DocRegisterRow.doc_number == 16)).one()
    assert old.state == "superseded" and old.folder == str(kept)
