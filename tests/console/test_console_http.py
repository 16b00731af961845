"""The console over HTTP against a real recorder, broker and store: who may do what, CSRF, the login limit,
uploads refused before they are read, the audit trail, imports that refuse a bad row, and records the recorder
refuses when they name the wrong person."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, select

from monitor.adapters.keys import read_key
from monitor.adapters.store.database import open_database
from monitor.adapters.store.incidents import incident_by_id
from monitor.adapters.store.tables import AuditRow, CaseVolumeRow, LeaveRow
from monitor.console.server import ConsoleNotReady, build_console
from monitor.services.patrol import dismissal, submit
from tests.support.console import (
    ADMIN,
    PASSWORD,
    SUPERVISOR,
    VIEWER,
    console_hall,
    flashes,
    form_token,
    logged_in,
    running_console,
)
from tests.support.mqtt import publish
from tests.support.waiting import wait_for


@pytest.fixture
def hall(tmp_path, one_broker):
    return console_hall(tmp_path, mqtt_url=one_broker).config


def _patrol(client, window="C20", at="2020-11-04T09:08", minutes="8") -> str:
    page = client.get("/incidents").text
    record_id = re.search(r'name="id" value="(patrol-[^"]+)"', page).group(1)
    response = client.post(
        "/patrol",
        data={
            "csrf": form_token(page),
            "id": record_id,
            "window": window,
            "kind": "late_arrival",
            "at": at,
            "minutes": minutes,
        },
    )
    assert response.headers["location"] == f"/incidents/{record_id}", flashes(client.get("/incidents").text)
    return record_id


def test_pages_need_a_login_and_each_action_its_role(hall):
    with running_console(hall) as base:
        anonymous = logged_out(base)
        for path in ("/", "/incidents", "/scores", "/board/tiles", "/events", "/audit"):
            response = anonymous.get(path)
            assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")
        assert "督查控制台登录" in anonymous.get("/login").text

        supervisor = logged_in(base, SUPERVISOR)
        incident = _patrol(supervisor)
        assert "已记录" in flashes(supervisor.get(f"/incidents/{incident}").text)[0]

        viewer = logged_in(base, VIEWER)
        page = viewer.get(f"/incidents/{incident}").text
        assert "撤销此违纪" not in page  # the button is hidden, and the server refuses the request anyway:
        refused = viewer.post(f"/incidents/{incident}/dismiss", data={"csrf": form_token(page), "category": "申诉成立"})
        assert refused.status_code == 403 and "权限不足" in refused.text
        assert viewer.get("/users").status_code == 403

        # Without its CSRF token (or with another login's) a supervisor's form is refused.
        assert supervisor.post(f"/incidents/{incident}/dismiss", data={"category": "申诉成立"}).status_code == 403
        forged = supervisor.post(
            f"/incidents/{incident}/dismiss", data={"csrf": form_token(page), "category": "申诉成立"}
        )
        assert forged.status_code == 403 and "安全令牌" in forged.text

        engine = open_database(hall.database.url)
        with Session(engine) as session:
            assert not incident_by_id(session, incident).dismissed
        ok = supervisor.post(
            f"/incidents/{incident}/dismiss",
            data={"csrf": form_token(supervisor.get("/").text), "category": "申诉成立", "reason": "提交了材料"},
        )
        assert ok.status_code == 303
        with Session(engine) as session:
            assert incident_by_id(session, incident).dismissed
            audit = session.exec(select(AuditRow).where(AuditRow.action != "login").order_by(AuditRow.id)).all()
        assert [(a.user, a.action, a.outcome) for a in audit] == [
            (SUPERVISOR, "patrol", "ok"),
            (VIEWER, "forbidden", "refused"),
            (SUPERVISOR, "csrf", "refused"),
            (SUPERVISOR, "csrf", "refused"),
            (SUPERVISOR, "dismiss", "ok"),
        ]
        admin = logged_in(base, ADMIN)
        log = admin.get("/audit").text
        assert "越权操作" in log and "撤销" in log and VIEWER in log


def logged_out(base: str) -> httpx.Client:
    return httpx.Client(base_url=base, follow_redirects=False, timeout=30)


def test_failed_logins_are_limited_per_account(hall):
    with running_console(hall) as base:
        client = logged_out(base)
        for _ in range(hall.console.login_attempts):
            token = form_token(client.get("/login").text)
            wrong = client.post("/login", data={"name": SUPERVISOR, "password": "wrong", "csrf": token})
            assert wrong.status_code == 401 and "用户名或密码错误" in wrong.text
        token = form_token(client.get("/login").text)
        limited = client.post("/login", data={"name": SUPERVISOR, "password": PASSWORD, "csrf": token})
        assert limited.status_code == 429 and "登录失败次数过多" in limited.text
        # Counted per account and address: another account logs in from the same address.
        assert "大厅看板" in logged_in(base, ADMIN).get("/").text
        # A login form posted without its own token is refused before any password is checked.
        assert logged_out(base).post("/login", data={"name": ADMIN, "password": PASSWORD}).status_code == 403


def test_an_upload_is_refused_by_role_or_size_before_it_is_read(hall):
    body = b"x" * (hall.console.upload_bytes + 1024 * 1024)
    with running_console(hall) as base:
        for name, status, reason in ((VIEWER, 403, "权限不足"), (ADMIN, 413, "提交的内容太大")):
            client = logged_in(base, name)
            response = client.post(
                "/inputs",
                data={"csrf": form_token(client.get("/").text), "part": "cases", "month": "2020-11"},
                files={"file": ("cases.csv", body, "text/csv")},
            )
            assert response.status_code == status and reason in response.text, response.text[:300]
            assert client.get("/").status_code == 200  # the refusal ended that connection, not the console


def test_the_recorder_refuses_a_console_record_that_names_someone_who_may_not_act(hall):
    key = read_key(Path(hall.console.signing_key))
    with running_console(hall) as base:
        incident = _patrol(logged_in(base, SUPERVISOR))
        as_viewer = submit(hall, dismissal(incident, "申诉成立", by=VIEWER), key)
        assert as_viewer.status == "rejected" and "console account" in as_viewer.detail
        as_nobody = submit(hall, dismissal(incident, "申诉成立", by="不存在的人"), key)
        assert as_nobody.status == "rejected"
        assert submit(hall, dismissal(incident, "申诉成立", by=SUPERVISOR), key).status == "dismissed"


def test_an_import_with_a_bad_row_shows_its_line_and_saves_nothing(hall, tmp_path):
    bad = tmp_path / "cases.csv"
    departments = [d.name for d in hall.departments]
    rows = ["部门,行政审批,便民服务,公共服务,收费"] + [f"{d},1,2,3,4" for d in departments]
    rows[3] = f"{departments[2]},十,2,3,4"
    bad.write_text("\n".join(rows) + "\n", encoding="utf-8")
    with running_console(hall) as base:
        admin = logged_in(base, ADMIN)
        token = form_token(admin.get("/inputs").text)
        with bad.open("rb") as file:
            response = admin.post(
                "/inputs",
                data={"csrf": token, "part": "cases", "month": "2020-11"},
                files={"file": ("cases.csv", file, "text/csv")},
            )
        assert response.status_code == 400
        assert "cases.csv 第4行第2列（行政审批）：“十”不是 0 或正整数" in response.text, response.text
        assert "未导入任何数据" in response.text
        with Session(open_database(hall.database.url)) as session:
            assert session.exec(select(CaseVolumeRow)).all() == []
        supervisor = logged_in(base, SUPERVISOR)
        with bad.open("rb") as file:
            refused = supervisor.post(
                "/inputs",
                data={"csrf": form_token(supervisor.get("/").text), "part": "cases", "month": "2020-11"},
                files={"file": ("cases.csv", file, "text/csv")},
            )
        assert refused.status_code == 403


def test_leave_entered_in_the_console_is_recorded_with_who_entered_it(hall):
    with running_console(hall) as base:
        supervisor = logged_in(base, SUPERVISOR)
        page = supervisor.get("/leave").text
        leave_id = re.search(r'name="id" value="(leave-[^"]+)"', page).group(1)
        data = {
            "csrf": form_token(page),
            "id": leave_id,
            "window": "C25",
            "kind": "请假",
            "reason": "病假",
            "start": "2020-11-24T14:00",
            "end": "2020-11-24T18:00",
        }
        assert supervisor.post("/leave", data=data).status_code == 303
        assert supervisor.post("/leave", data=data).status_code == 303  # sent twice: recorded once
        shown = supervisor.get("/leave").text
        assert "此前已记录" in flashes(shown)[0]
    with Session(open_database(hall.database.url)) as session:
        rows = session.exec(select(LeaveRow)).all()
    assert [(r.id, r.window, r.by, r.kind, r.reason) for r in rows] == [(leave_id, "C25", SUPERVISOR, "请假", "病假")]
    assert rows[0].start == dt.datetime(2020, 11, 24, 6, 0, tzinfo=dt.UTC)


def test_the_console_refuses_to_start_without_an_account_or_its_key(tmp_path, one_broker):
    from tests.support.config import hall_config

    bare = hall_config(tmp_path / "bare", mqtt_url=one_broker).config
    engine = open_database(bare.database.url)
    with pytest.raises(ConsoleNotReady, match="monitor user add"):
        build_console(bare, engine)
    hall = console_hall(tmp_path / "keyless", mqtt_url=one_broker).config
    keyless = hall.model_copy(update={"console": hall.console.model_copy(update={"signing_key": None})})
    with pytest.raises(ConsoleNotReady, match="monitor key new"):
        build_console(keyless, open_database(hall.database.url))


def test_the_cameras_page_shows_each_cameras_picture_with_its_zones_and_its_statistics(tmp_path, one_broker):
    hall = console_hall(tmp_path, hall="fixture", mqtt_url=one_broker).config
    prefix = hall.mqtt.topic_prefix
    with running_console(hall) as base:
        viewer = logged_in(base, VIEWER)
        publish(one_broker, f"{prefix}/cameras/cam-f03/status", [b"online"], retain=True)
        for seconds, frames in ((0, 0), (10, 20)):
            at = dt.datetime(2020, 11, 3, 9, 30, seconds, tzinfo=dt.UTC)
            stats = {
                "schema": 1,
                "camera": "cam-f03",
                "at": at.isoformat(),
                "frames": frames,
                "detections": frames,
                "inference_ms": 41.5,
                "dropped_frames": 0,
                "last_frame": at.isoformat(),
            }
            publish(one_broker, f"{prefix}/cameras/cam-f03/stats", [json.dumps(stats).encode()])
        wait_for(lambda: "2.00 帧/秒" in viewer.get("/cameras").text, what="the camera's rate on the page")
        page = viewer.get("/cameras").text
        assert "41.5 毫秒/帧" in page and "2020-11-03 17:30:10" in page  # the last frame, in the hall's time
        picture = viewer.get("/cameras/cam-f03/zones.jpg")
        assert picture.status_code == 200 and picture.headers["content-type"] == "image/jpeg"
        assert picture.content[:2] == b"\xff\xd8" and len(picture.content) > 20_000
        assert viewer.get("/cameras/no-such/zones.jpg").status_code == 404


def test_issuing_is_a_confirmation_step_and_the_register_lists_what_was_issued(hall):
    """印发 shows the 文号 and date to confirm and what is open; with a charge awaiting review it issues only with
    a reason, which the register keeps, with who issued it and the files."""
    with running_console(hall) as base:
        supervisor = logged_in(base, SUPERVISOR)
        _patrol(supervisor)  # 4 November 09:08, C20 late: awaiting review
        admin = logged_in(base, ADMIN)
        confirm = admin.get("/notices/weekly/2020-W45/issue")
        assert confirm.status_code == 200
        assert "待审核：11月4日09:08 C20窗口迟到" in confirm.text and "2020年11月2日至11月8日" in confirm.text
        assert "monitor " not in confirm.text and "--" not in confirm.text.replace("<!--", "")
        form = {"csrf": form_token(confirm.text), "kind": "weekly", "period": "2020-W45"}
        form |= {"number": "5", "date": "2020-11-09"}
        refused = admin.post("/notices/issue", data=form)
        assert refused.status_code == 400 and "请写明确认理由" in refused.text
        assert "尚未印发任何通报" in admin.get("/notices/register").text
        issued = admin.post("/notices/issue", data=form | {"reason": "督查室已电话核实，先行通报"})
        assert issued.status_code == 303 and issued.headers["location"] == "/notices/register"
        register = admin.get("/notices/register").text
        assert "临东政管办发〔2020〕5号" in register and "2020年11月9日" in register
        assert "2020年11月2日至11月8日" in register and ADMIN in register
        assert "待审核：11月4日09:08 C20窗口迟到。确认理由：督查室已电话核实，先行通报" in register
        link = re.search(r'href="(/notices/register/2020/5/[^"]+\.docx)"', register).group(1)
        document = admin.get(link)
        assert document.status_code == 200 and document.content.startswith(b"PK")
        assert admin.get("/notices/register/2020/5/..%2Fmonitor.db").status_code == 404
        # Issued once: the step is not offered again.
        again = admin.get("/notices/weekly/2020-W45/issue")
        assert again.status_code == 303 and again.headers["location"] == "/notices?kind=weekly&date=2020-11-02"
        assert "2020年11月2日至11月8日周通报已印发，不再改动" in flashes(admin.get(again.headers["location"]).text)[0]
    with Session(open_database(hall.database.url)) as session:
        entry = session.exec(select(AuditRow).where(AuditRow.action == "issue", AuditRow.outcome == "ok")).one()
    assert "确认理由：督查室已电话核实，先行通报" in entry.detail and entry.target == "2020年11月2日至11月8日周通报"
