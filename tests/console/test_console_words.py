"""Chinese everywhere a supervisor looks: every page the console serves (every GET route, with the seed month's
data in it), walked as a supervisor and as an admin, shows no command line, no file:line:column, no internal id
(camera:/patrol:, late_arrival, a record's id), no configuration key and no English word; the audit log names
what each entry touched in words (an old entry too); the menu marks the page it is on.

The pages are read as text (tags, scripts and styles removed; titles, placeholders and alternative texts kept):
faster than a browser for some forty pages, and stricter — hidden text counts too.

Against a real recorder, broker and store: the seed's four patrol findings and its imported inputs, its notices
issued, a dismissal with its reason, a leave, an import refused for a bad row, refused requests, and the demo's
two cameras (one online with statistics, one only saying online, none heard of the other)."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from urllib.parse import quote

import httpx
import pytest
from sqlmodel import Session, select

from monitor.adapters.store.accounts import audit, mark_reviewed
from monitor.adapters.store.database import open_database
from monitor.adapters.store.tables import DocRegisterRow, IncidentRow, LeaveRow
from monitor.config import MonitorConfig, load_config
from monitor.config.writer import write_config
from monitor.console.app import create_app
from monitor.console.context import Console
from monitor.console.live import LiveHall
from monitor.console.server import console_key
from monitor.services.notices import issue_notice
from monitor.services.patrol import dismissal, leave_grant, patrol_incident, submit
from monitor.tools.demo import SEED_INCIDENTS, demo_fixture, import_seed_inputs, video_hall_config
from tests.support.config import supervisor_key
from tests.support.console import ADMIN, SUPERVISOR, console_hall, form_token, logged_in, running_console
from tests.support.mqtt import publish
from tests.support.waiting import wait_for

TZ = dt.timezone(dt.timedelta(hours=8))
ALLOWED_ASCII = {
    # units and formats people read on a page, file types they download, key caps
    "KB", "MB", "PDF", "CSV", "UTF", "GBK", "Excel", "csv", "xlsx", "docx", "md", "json", "Enter", "Esc",
}  # fmt: skip
"""Runs of ASCII letters a page may show: everything else is an English word, an id or a key."""
SKIPPED = {"/events": "the live board's event stream (server-sent events, never ends)"}
CONFIG_KEY = re.compile(r"\[{1,2}[a-z_.]+\]{1,2}|\b[a-z_]+ ?= ?\S")
FILE_LINE = re.compile(r"\w+\.\w+:\d+(:\d+)?")
SOURCE_ID = re.compile(r"\b(camera|patrol|source|leave|seed|cam|demo)[:-]\w", re.IGNORECASE)
SNAKE = re.compile(r"\b[a-z]+_[a-z_]+\b")
LETTERS = re.compile(r"[A-Za-z]{2,}")


def visible_text(page: str) -> str:
    """What a person reads of a page: its text without scripts, styles and comments, with the titles, placeholders
    and alternative texts shown on hover or in place of a picture; entities decoded, spaces collapsed."""
    page = re.sub(r"<(script|style)\b.*?</\1>|<!--.*?-->", " ", page, flags=re.S | re.I)
    shown = re.findall(r'\b(?:title|alt|placeholder|aria-label)="([^"]*)"', page)
    text = re.sub(r"<[^>]+>", " ", page)
    return " ".join(html.unescape(" ".join([text, *shown])).split())


def programmers_text(text: str, ids: set[str]) -> list[str]:
    """What a supervisor should never read on a page, each found with a little of its context."""
    found: list[str] = []

    def note(what: str, match: re.Match[str]) -> None:
        found.append(f"{what}: …{text[max(0, match.start() - 30) : match.end() + 30]}…")

    for match in re.finditer(r"monitor |(?<![\w-])--[a-z]", text):
        note("command line", match)
    for match in re.finditer(r"\b\d{4}-W\d{2}\b", text):
        note("week code", match)
    for pattern, what in ((FILE_LINE, "file:line:column"), (CONFIG_KEY, "configuration key"), (SOURCE_ID, "id")):
        for match in pattern.finditer(text):
            note(what, match)
    for match in SNAKE.finditer(text):
        note("internal name", match)
    for match in LETTERS.finditer(text):
        if match.group(0) not in ALLOWED_ASCII:
            note("English", match)
    for identifier in ids:
        for match in re.finditer(re.escape(identifier), text):
            note("record id", match)
    return found


@pytest.fixture
def hall(tmp_path, one_broker) -> MonitorConfig:
    """The seed hall with the demo's two cameras (named A区东侧, B区西侧), as `monitor demo --serve` has it."""
    made = console_hall(tmp_path, mqtt_url=one_broker)
    write_config(video_hall_config(made.config, demo_fixture()[0]), made.path)
    return load_config(made.path)


def _seed_month(config: MonitorConfig) -> None:
    """The seed month as the demo makes it: four patrol findings through the recorder, the inputs imported, every
    finding reviewed, the monthly notice and a week's issued; then a dismissal and a leave through the recorder."""
    key = supervisor_key(config)
    for incident_id, kind, window, seen_at, minutes in SEED_INCIDENTS:
        finding = patrol_incident(window=window, kind=kind, seen_at=seen_at, minutes=minutes, note="", by=key.name)
        receipt = submit(config, finding.model_copy(update={"id": incident_id}), key)
        assert receipt.status == "recorded", receipt
    engine = open_database(config.database.url)
    import_seed_inputs(config, engine)
    with Session(engine) as session:
        for incident_id, *_ in SEED_INCIDENTS:
            mark_reviewed(session, incident_id, SUPERVISOR, dt.datetime(2020, 11, 30, tzinfo=dt.UTC))
        session.commit()
    for kind, period, number, day in (("weekly", "2020-W45", 16, dt.date(2020, 11, 9)),):
        issue_notice(config, engine, kind, period, now=dt.datetime.now(dt.UTC), number=number, day=day)
    issue_notice(
        config, engine, "monthly", "2020-11", now=dt.datetime.now(dt.UTC), number=20, day=dt.date(2020, 12, 17)
    )
    receipt = submit(config, dismissal("seed-2020-11-d05", "申诉成立：系统故障，已核实", by=key.name), key)
    assert receipt.status == "dismissed", receipt
    leave = leave_grant(
        window="C20",
        start=dt.datetime(2020, 12, 1, 9, 0, tzinfo=TZ),
        end=dt.datetime(2020, 12, 1, 13, 0, tzinfo=TZ),
        kind="公出",
        reason="市局培训",
        by=key.name,
    )
    assert submit(config, leave, key).status == "recorded"
    engine.dispose()


def _old_audit_entries(config: MonitorConfig, leave_id: str) -> None:
    """Entries as earlier versions of the console wrote them: ids, kinds and addresses, not words."""
    engine = open_database(config.database.url)
    at = dt.datetime(2020, 12, 1, 2, 0, tzinfo=dt.UTC)
    rows = [
        ("dismiss", "ok", "seed-2020-11-d05", "撤销已记录", "127.0.0.1"),
        ("leave", "ok", f"C20 {leave_id}", "C20 公出已记录", "127.0.0.1"),
        ("issue", "ok", "weekly 2020-W45", "已印发", "127.0.0.1"),
        ("issue", "ok", "2020年11月月度通报", "已印发", "127.0.0.1"),
        ("import", "refused", "2020-11 cases 办件量.csv", "未导入", "127.0.0.1"),
        ("forbidden", "refused", "/notices/issue", "权限不足", "127.0.0.1"),
        ("forbidden", "refused", "/incidents/seed-2020-11-c20/dismiss", "权限不足", "127.0.0.1"),
        ("patrol", "refused", "patrol-0123456789ab", "巡查发现（C20）被拒绝", "127.0.0.1"),
        ("user_add", "ok", "张主任", "admin", "127.0.0.1"),
        ("review_many", "ok", "2 条违纪（窗口 C20、C29）", "已标记为已审核 2 条", "127.0.0.1"),
        ("leave_withdraw", "refused", f"C20 {leave_id}", "撤销请假被拒绝", "127.0.0.1"),
        ("reinstate", "refused", "seed-2020-11-c29", "恢复扣分被拒绝", "127.0.0.1"),
    ]
    with Session(engine) as session:
        for action, outcome, target, detail, address in rows:
            audit(
                session,
                at=at,
                user=ADMIN,
                action=action,
                outcome=outcome,
                target=target,
                detail=detail,
                address=address,
            )
        session.commit()
    engine.dispose()


def _cameras_heard(config: MonitorConfig) -> None:
    """A区东侧 online with its statistics; B区西侧 only saying online (its retained status, no statistics)."""
    prefix = config.mqtt.topic_prefix
    first, second = (camera.id for camera in config.cameras)
    publish(config.mqtt.url, f"{prefix}/cameras/{first}/status", [b"online"], retain=True)
    publish(config.mqtt.url, f"{prefix}/cameras/{second}/status", [b"online"], retain=True)
    now = dt.datetime.now(dt.UTC)
    for seconds, frames in ((0, 0), (10, 20)):
        at = (now + dt.timedelta(seconds=seconds - 10)).isoformat()
        stats = {"schema": 1, "camera": first, "at": at, "frames": frames, "detections": frames,
                 "inference_ms": 40.0, "dropped_frames": 0, "last_frame": at}  # fmt: skip
        publish(config.mqtt.url, f"{prefix}/cameras/{first}/stats", [json.dumps(stats).encode()])


def _routes(config: MonitorConfig) -> list[str]:
    """Every GET route of the console's application, as a path template (from the schema FastAPI makes of the
    application, which lists its routes however its routers are nested)."""
    engine = open_database(config.database.url)
    app = create_app(Console(config, engine, LiveHall(config), console_key(config)))
    paths = [path for path, methods in app.openapi()["paths"].items() if "get" in methods]
    engine.dispose()
    assert len(paths) > 20, paths
    return sorted(paths)


def _addresses(config: MonitorConfig, templates: list[str]) -> tuple[list[str], list[str]]:
    """Each route with its parameters filled from the seed month's data (and the pages' filters that show it);
    the routes whose parameters this test cannot fill."""
    with Session(open_database(config.database.url)) as session:
        register = session.exec(select(DocRegisterRow).where(DocRegisterRow.kind == "monthly")).one()
        leave = session.exec(select(LeaveRow)).one()
    files = json.loads(register.files)
    values = {
        "incident_id": "seed-2020-11-c20",
        "camera_id": config.cameras[0].id,
        "kind": "monthly",
        "period": "2020-11",
        "fmt": "md",
        "year": str(register.doc_year),
        "serial": str(register.doc_number),
        "name": files[0] if files else "x.docx",
        "leave_id": leave.id,
    }
    addresses, unfilled = [], []
    for template in templates:
        if template in SKIPPED:
            continue
        names = re.findall(r"{(\w+)(?::\w+)?}", template)
        if any(n not in values for n in names):
            unfilled.append(template)
            continue
        addresses.append(re.sub(r"{(\w+)(?::\w+)?}", lambda m: quote(values[m.group(1)]), template))
    filters = [
        "/incidents?state=all",
        "/incidents?state=dismissed",
        "/incidents/seed-2020-11-d05",
        "/scores?month=2020-11",
        "/scores?month=2020-12",
        "/duty-rate?span=day&date=2020-11-04",
        "/notices?kind=weekly&period=2020-W45",
        "/notices/weekly/2020-W46/issue",
        "/audit?action=forbidden",
    ]
    return addresses + filters, unfilled


def _get(client: httpx.Client, address: str) -> httpx.Response:
    """GET `address`; once more on a new connection when the last one was cut (after a failed request the
    server closes the connection: the page after it is not the one at fault)."""
    try:
        return client.get(address)
    except httpx.TransportError:
        return client.get(address)


def _ids(config: MonitorConfig) -> set[str]:
    """The internal ids a page must never show: incidents', leave's, cameras', and each kind's."""
    with Session(open_database(config.database.url)) as session:
        ids = {row.id for row in session.exec(select(IncidentRow))} | {row.id for row in session.exec(select(LeaveRow))}
    ids |= {camera.id for camera in config.cameras}
    ids |= {d.kind for r in config.rules for d in r.deductions}
    return ids


def test_every_page_speaks_chinese_to_a_supervisor_and_an_admin(hall, tmp_path):
    bad = tmp_path / "办件量-有错.csv"
    departments = [d.name for d in hall.departments]
    rows = ["部门,行政审批,便民服务,公共服务,收费", *(f"{d},1,2,3,4" for d in departments)]
    rows[3] = f"{departments[2]},十,2,3,4"
    rows.append("不存在局,1,2,3,4")
    bad.write_text("\n".join(rows) + "\n", encoding="utf-8")

    problems: dict[str, list[str]] = {}

    def check(who: str, what: str, response: httpx.Response) -> None:
        if not response.headers.get("content-type", "").startswith(("text/html", "text/plain")):
            return
        found = programmers_text(visible_text(response.text), ids)
        if found:
            problems[f"{who} {what} ({response.status_code})"] = found

    with running_console(hall) as base:
        _seed_month(hall)
        with Session(open_database(hall.database.url)) as session:
            leave_id = session.exec(select(LeaveRow)).one().id
        _old_audit_entries(hall, leave_id)
        addresses, unfilled = _addresses(hall, _routes(hall))
        assert not unfilled, f"GET routes this test does not know how to fill: {unfilled}"
        ids = _ids(hall)
        _cameras_heard(hall)
        admin, supervisor = logged_in(base, ADMIN), logged_in(base, SUPERVISOR)
        wait_for(lambda: "在线" in admin.get("/cameras").text, what="a camera's statistics on the cameras page")

        # An import refused for its bad rows (its page), and a form without its file (a flash on the next page).
        token = form_token(admin.get("/inputs").text)
        with bad.open("rb") as file:
            refused = admin.post(
                "/inputs",
                data={"csrf": token, "part": "cases", "month": "2020-11"},
                files={"file": (bad.name, file, "text/csv")},
            )
        assert refused.status_code == 400 and "第4行第2列（行政审批）：“十”不是 0 或正整数" in refused.text, (
            refused.text
        )
        assert "部门“不存在局”不在本中心的部门名单中，请核对名称或请管理员添加" in refused.text
        check(ADMIN, "POST /inputs (bad rows)", refused)
        no_file = admin.post("/inputs", data={"csrf": token, "part": "cases", "month": "2020-11"})
        assert no_file.status_code == 303
        flashed = admin.get("/inputs")
        assert "请选择要导入的文件" in flashed.text
        check(ADMIN, "GET /inputs after a form without its file", flashed)
        # Accounts: a form that does not validate, then one that does (each answered by a flash on the page).
        token = form_token(admin.get("/users").text)
        short = admin.post("/users", data={"csrf": token, "name": "李四", "role": "supervisor", "password": "short"})
        assert short.status_code == 303
        page = admin.get("/users")
        assert "未新增：密码至少 8 位" in page.text, page.text
        check(ADMIN, "GET /users after a short password", page)
        added = admin.post("/users", data={"csrf": token, "name": "李四", "role": "supervisor", "password": "x" * 9})
        assert added.status_code == 303
        page = admin.get("/users")
        assert "已新增账号 李四（督查员）" in page.text, page.text
        check(ADMIN, "GET /users after adding an account", page)
        # A supervisor refused what only an admin may do (the error page; the audit log keeps where).
        token = form_token(supervisor.get("/").text)
        forbidden = supervisor.post("/notices/issue", data={"csrf": token, "kind": "monthly", "period": "2020-12"})
        assert forbidden.status_code == 403
        check(SUPERVISOR, "POST /notices/issue", forbidden)

        # November's notice is issued and a dismissal came after it: its sheet and the incident say the figures
        # differ from the notice until a correction is issued.
        sheet = visible_text(admin.get("/scores?month=2020-11").text)
        assert "本月考核通报已于" in sheet and "印发后又有 1 项补录、撤销或恢复扣分，下表已与通报不同" in sheet, sheet
        assert "需按更正重新印发" in visible_text(supervisor.get("/incidents/seed-2020-11-d05").text)
        assert "下表已与通报不同" not in visible_text(admin.get("/scores?month=2020-12").text)

        login = httpx.get(f"{base}/login", timeout=30)
        assert "请联系管理员开通" in login.text
        check("nobody", "GET /login", login)
        for who, client in ((SUPERVISOR, supervisor), (ADMIN, admin)):
            for address in addresses:
                try:
                    response = _get(client, address)
                except httpx.HTTPError as exc:  # the server failed the request (a 500 its ASGI server cut short)
                    problems[f"{who} GET {address}"] = [f"no answer: {exc}"]
                    continue
                if response.status_code >= 500:
                    problems[f"{who} GET {address}"] = [f"answered {response.status_code}"]
                    continue
                check(who, f"GET {address}", response)

        # The audit log in words: an incident as its window, person, kind and time; a dismissal with its reason;
        # a leave with its window, person, kind and span; a notice by its 文号 and title; a refused request as what
        # was tried. Old entries (ids, kinds, addresses) read as well as new ones.
        log = visible_text(admin.get("/audit").text)
        with Session(open_database(hall.database.url)) as session:
            d05, c20 = (session.get(IncidentRow, f"seed-2020-11-{w}") for w in ("d05", "c20"))
        assert d05 is not None and c20 is not None

        # Dates of another year than the one it is read in name their year (2020年11月19日 read in 2026).
        year = "" if dt.datetime.now(TZ).year == 2020 else "2020年"

        def words(row: IncidentRow) -> str:
            at = row.started_at.astimezone(TZ)
            who = f" {row.staff}" if row.staff else ""
            return f"{row.window}{who} 迟到 {year}{at.month}月{at.day}日 {at:%H:%M}"

        assert words(d05) in log and words(d05).startswith("D05") and "11月19日" in words(d05), log
        assert "申诉成立：系统故障，已核实" in log
        rostered = hall.staff_by_window.get("C20")
        assert f"C20{f' {rostered.name}' if rostered else ''} 公出 {year}12月1日 09:00 至 13:00" in log
        assert "政管办发〔2020〕16号 2020年11月2日至11月8日工作纪律通报" in log
        assert "政管办发〔2020〕20号 2020年11月考核通报" in log
        assert "2020年11月办件量（办件量.csv）" in log and "2020年11月办件量（办件量-有错.csv）" in log
        assert "印发通报" in log and f"撤销 {words(c20)}" in log
        assert "未记录的巡查发现" in log and "管理员 127.0.0.1" in log  # an account's role (old entries: its id)
        assert "新增账号 李四 成功 新增账号 李四（督查员）" in log
        assert "批量审核 2 条违纪（窗口 C20、C29）" in log and "撤销请假 C20" in log and "恢复扣分 C29" in log

    assert not problems, "\n".join(f"{page}:\n  " + "\n  ".join(found) for page, found in problems.items())


def test_the_menu_marks_the_page_it_is_on(hall):
    pages = {
        "/": "大厅看板",
        "/incidents": "违纪审核",
        "/incidents/seed-2020-11-c20": "违纪审核",
        "/leave": "请假登记",
        "/scores": "考核得分",
        "/duty-rate": "在岗率",
        "/notices": "通报",
        "/notices/register": "通报",
        "/inputs": "数据导入",
        "/cameras": "摄像头",
        "/users": "账号",
        "/audit": "操作记录",
    }
    with running_console(hall) as base:
        admin = logged_in(base, ADMIN)
        for address, item in pages.items():
            page = admin.get(address).text
            marked = re.findall(r'<a href="([^"]*)" aria-current="page">([^<]*)</a>', page)
            assert [label for _href, label in marked] == [item], (address, marked)


def test_the_check_finds_what_the_issue_found() -> None:
    """The words the issue saw on the console's pages are each caught (a check that could not fail proves nothing);
    the units, formats and key caps a page may show are not."""
    seen = visible_text(
        "<p>bad-cases.csv:4:4: 部门“甲”不在配置的 [departments] 中</p><p>请运行 monitor user add 姓名 --role 角色</p>"
        '<td>weekly 2020-W49</td><td title="camera:cam-a">视频</td><td>late_arrival</td><td>leave-a1d9c0ffee12</td>'
        "<script>var english = 'ignored';</script>"
    )
    found = "\n".join(programmers_text(seen, {"leave-a1d9c0ffee12"}))
    for what in ("file:line:column", "configuration key", "command line", "week code", "internal name", "record id"):
        assert what in found, (what, found)
    assert "English: …" in found and "ignored" not in found
    assert (
        programmers_text(visible_text("<p>文件超过 5120 KB；下载 .docx / .xlsx；<kbd>Esc</kbd> 返回</p>"), set()) == []
    )
