"""The console's guards, in process (its FastAPI application on the test's store, its live hall fed by hand) and
against a real broker: bounded query parameters, a refused POST answered before its body is read, the body limit,
X-Forwarded-For from trusted proxies only, the login limit per account and address, the recorder's heartbeat
banner (记录器无响应) and alerts counted once."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from ipaddress import ip_network
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import Session, select

from monitor.adapters.store.database import open_database
from monitor.adapters.store.tables import AuditRow
from monitor.console.app import create_app
from monitor.console.auth import COOKIE, FORM_OVERHEAD
from monitor.console.context import Console, client_address
from monitor.console.live import NO_HEARTBEAT_GRACE, LiveHall
from monitor.console.server import console_key
from monitor.contract import Alert, RecorderHeartbeat, Topics
from tests.support.console import ADMIN, PASSWORD, SUPERVISOR, VIEWER, console_hall, form_token
from tests.support.mqtt import publish
from tests.support.waiting import wait_for

BANNER = "记录器无响应"
FORM = {"content-type": "application/x-www-form-urlencoded"}
HOME = "127.0.0.1"


def _console(directory: Path, **settings: object) -> Console:
    """The console of a fresh test hall, `[console]` changed by `settings`; its live hall is fed by the test."""
    config = console_hall(directory, **({"console": settings} if settings else {})).config
    return Console(config, open_database(config.database.url), LiveHall(config), console_key(config))


class Browser:
    """A browser at `host` (the peer address the console sees) with its cookies, on the application in process
    (httpx's ASGI transport; each request runs to its end before the call returns)."""

    def __init__(self, app: FastAPI, host: str, headers: dict[str, str] | None) -> None:
        self.app, self.host, self.headers = app, host, headers or {}
        self.cookies = httpx.Cookies()

    def get(self, path: str, **options: object) -> httpx.Response:
        return self.request("GET", path, **options)

    def post(self, path: str, **options: object) -> httpx.Response:
        return self.request("POST", path, **options)

    def request(self, method: str, path: str, **options: object) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app, client=(self.host, 50000))
            async with httpx.AsyncClient(
                transport=transport, base_url="http://testserver", headers=self.headers, cookies=self.cookies
            ) as client:
                response = await client.request(method, path, **options)  # type: ignore[arg-type]
                self.cookies = client.cookies
                return response

        return asyncio.run(send())


def _client(app: FastAPI, host: str = HOME, headers: dict[str, str] | None = None) -> Browser:
    return Browser(app, host, headers)


def _login(client: Browser, name: str, password: str = PASSWORD) -> int:
    token = form_token(client.get("/login").text)
    response = client.post("/login", data={"name": name, "password": password, "csrf": token, "next": "/"})
    return response.status_code


def _logged_in(app: FastAPI, name: str, host: str = HOME) -> Browser:
    client = _client(app, host)
    assert _login(client, name) == 303
    return client


def _audit(console: Console) -> list[tuple[str, str, str, str]]:
    with Session(console.engine) as session:
        rows = session.exec(select(AuditRow).order_by(AuditRow.id)).all()  # type: ignore[arg-type]
    return [(r.user, r.action, r.outcome, r.address) for r in rows]


@pytest.fixture
def console(tmp_path: Path) -> Console:
    return _console(tmp_path)


@pytest.fixture
def app(console: Console) -> FastAPI:
    return create_app(console)


# --- query parameters ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/audit?page=99999999999999999999", "页码超出范围：不能大于 100000"),
        ("/audit?page=-1", "页码超出范围：不能小于 0"),
        ("/audit?page=abc", "页码应为整数"),
        ("/audit?page=" + "9" * 5000, "页码"),
        ("/audit?user=" + "甲" * 65, "账号太长"),
        ("/incidents?date=9999-12-31", "日期 9999-12-31 超出范围"),
        ("/incidents?date=0001-01-01&span=month", "超出范围"),
        ("/incidents?date=2020-13-01", "日期“2020-13-01”不存在"),
        ("/incidents?span=year", "范围“year”无效"),
        ("/duty-rate?span=week&date=2200-01-01", "超出范围"),
        ("/scores?month=9999-12", "月份 9999-12 超出范围"),
        ("/scores?month=2020-13", "月份“2020-13”不存在"),
        ("/notices?kind=weekly&period=2020-W99", "2020年没有第99周"),
        ("/notices?kind=monthly&period=2020-11-01", "月份“2020-11-01”格式不对"),
        ("/notices?kind=daily", "通报类型“daily”无效"),
        ("/notices/monthly/9999-12/preview", "超出范围"),
        ("/notices/weekly/2020-11/file.md", "周通报的期间“2020-11”是一个月，不是一周"),
        ("/notices?kind=weekly&period=2020-11", "周通报的期间“2020-11”是一个月，不是一周"),
    ],
)
def test_a_parameter_out_of_range_or_malformed_is_answered_400_in_chinese(app, path, reason):
    admin = _logged_in(app, ADMIN)
    response = admin.get(path)
    assert response.status_code == 400, response.text[:300]
    assert "请求参数有误" in response.text and reason in response.text, response.text
    assert "无法完成" in response.text and "退出" in response.text  # the console's error page, logged in


def test_parameters_in_range_or_left_empty_still_work(app):
    admin = _logged_in(app, ADMIN)
    for path in (
        "/audit?page=0",
        "/audit?page=100000",
        "/incidents?span=day&date=2020-12-01",
        "/incidents?date=&span=",  # a form's empty fields: today, this month
        "/duty-rate?span=week&date=2099-12-31",
        "/scores?month=",
        "/scores?month=2020-11",
        "/notices?kind=weekly&period=2020-W45",
        "/notices?kind=weekly&date=2020-11-04&month=2020-11",  # the form sends both: the week's day counts
    ):
        assert admin.get(path).status_code == 200, path


# --- POST bodies -----------------------------------------------------------------------------------


def _post_without_body(app: FastAPI, path: str, session_cookie: str, length: int) -> tuple[int, str]:
    """POST `path` declaring a body of `length` bytes that never comes: the answer must not need it."""

    async def run() -> tuple[int, str]:
        never = asyncio.Event()
        sent: list[dict] = []

        async def receive() -> dict:
            await never.wait()  # a request that reads the body waits here for ever
            raise AssertionError("unreachable")

        async def send(message: dict) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [
                (b"host", b"testserver"),
                (b"cookie", f"{COOKIE}={session_cookie}".encode()),
                (b"content-type", b"multipart/form-data; boundary=xyz"),
                (b"content-length", str(length).encode()),
            ],
            "client": (HOME, 50000),
            "server": ("testserver", 80),
            "state": {},
        }
        await asyncio.wait_for(app(scope, receive, send), timeout=20)
        status = next(m["status"] for m in sent if m["type"] == "http.response.start")
        body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        return status, body.decode()

    return asyncio.run(run())


def test_a_post_refused_by_role_is_answered_before_its_body_is_read(console, app):
    viewer = _logged_in(app, VIEWER)
    supervisor = _logged_in(app, SUPERVISOR)
    for client in (viewer, supervisor):
        status, text = _post_without_body(app, "/inputs", client.cookies[COOKIE], 60 * 1024 * 1024)
        assert status == 403 and "权限不足：此操作需要管理员权限" in text, text
    viewer_dismissal = _post_without_body(app, "/incidents/x/dismiss", viewer.cookies[COOKIE], 1000)
    assert viewer_dismissal[0] == 403
    refused = [(user, action) for user, action, outcome, _ in _audit(console) if outcome == "refused"]
    assert refused == [(VIEWER, "forbidden"), (SUPERVISOR, "forbidden"), (VIEWER, "forbidden")]


def test_a_body_over_the_upload_limit_is_refused_413_before_it_is_read(tmp_path):
    console = _console(tmp_path, upload_bytes=4096)
    app = create_app(console)
    admin = _logged_in(app, ADMIN)
    limit = 4096 + FORM_OVERHEAD
    status, text = _post_without_body(app, "/inputs", admin.cookies[COOKIE], limit + 1)
    assert status == 413 and "提交的内容太大：导入文件不能超过 4 KB" in text, text

    async def chunks(size: int) -> AsyncIterator[bytes]:  # no Content-Length: counted as it is read
        for _ in range(size // 1024):
            yield b"a" * 1024

    async def one(data: bytes) -> AsyncIterator[bytes]:
        yield data

    chunked = admin.post("/inputs", content=chunks(limit + 4096), headers=FORM)
    assert chunked.status_code == 413 and "提交的内容太大" in chunked.text
    # Under the limit the form is read and its CSRF token still checked, chunked or not.
    small = admin.post(
        "/inputs",
        content=one(b"part=cases&csrf=wrong"),
        headers=FORM,
    )
    assert small.status_code == 403 and "安全令牌" in small.text
    page = admin.get("/inputs").text
    upload = admin.post(
        "/inputs",
        data={"csrf": form_token(page), "part": "cases", "month": "2020-11"},
        files={"file": ("cases.csv", b"x" * 5000, "text/csv")},
    )
    assert (
        upload.status_code == 400 and "文件超过 4 KB" in upload.text
    )  # within the form's overhead: the import's check
    # The login form is small: a big one is not read either.
    big_login = _client(app).post("/login", content=b"a" * (32 * 1024), headers=FORM)
    assert big_login.status_code == 413


# --- the client's address ------------------------------------------------------------------------


def test_x_forwarded_for_is_believed_from_a_trusted_proxy_only():
    trusted = [ip_network("127.0.0.1/32"), ip_network("10.0.0.0/8")]
    assert client_address("127.0.0.1", ["203.0.113.7"], []) == "127.0.0.1"  # none trusted: never believed
    assert client_address("198.51.100.9", ["203.0.113.7"], trusted) == "198.51.100.9"  # not from a proxy
    assert client_address("127.0.0.1", ["203.0.113.7"], trusted) == "203.0.113.7"
    # Right-most untrusted: what the client wrote itself (left of it) is not believed.
    assert client_address("127.0.0.1", ["6.6.6.6, 203.0.113.7, 10.1.2.3"], trusted) == "203.0.113.7"
    assert client_address("127.0.0.1", ["6.6.6.6", "203.0.113.7"], trusted) == "203.0.113.7"  # two headers
    assert client_address("127.0.0.1", ["not-an-address, 10.0.0.2"], trusted) == "10.0.0.2"
    assert client_address("127.0.0.1", [], trusted) == "127.0.0.1"
    assert client_address("::ffff:127.0.0.1", ["[2001:db8::1]:4431"], trusted) == "2001:db8::1"


@pytest.mark.parametrize(
    ("proxies", "peer", "recorded"),
    [([], HOME, HOME), (["127.0.0.1"], HOME, "203.0.113.7"), (["127.0.0.1"], "198.51.100.9", "198.51.100.9")],
)
def test_the_audit_trail_records_the_address_the_trusted_proxies_give(tmp_path, proxies, peer, recorded):
    console = _console(tmp_path, trusted_proxies=proxies)
    client = _client(create_app(console), peer, headers={"X-Forwarded-For": "203.0.113.7"})
    assert _login(client, ADMIN) == 303
    assert _audit(console)[-1] == (ADMIN, "login", "ok", recorded)


# --- the login limit -----------------------------------------------------------------------------


def test_wrong_passwords_for_one_account_do_not_lock_another_out_of_the_same_address(console, app):
    attempts = console.config.console.login_attempts
    browser = _client(app)
    for _ in range(attempts):
        assert _login(browser, SUPERVISOR, "wrong") == 401
    assert _login(browser, SUPERVISOR) == 429  # that account, from that address, waits
    assert _login(_client(app), ADMIN) == 303  # another account from the same address does not
    assert _login(_client(app, "192.0.2.20"), SUPERVISOR) == 303  # nor that account elsewhere


def test_one_account_guessed_from_many_addresses_and_many_names_from_one_address_are_limited(tmp_path):
    console = _console(tmp_path, login_attempts=1)  # 1 per account and address, 3 per account, 10 per address
    app = create_app(console)
    for host in ("192.0.2.1", "192.0.2.2", "192.0.2.3"):
        assert _login(_client(app, host), SUPERVISOR, "wrong") == 401
    refused = _client(app, "192.0.2.4")
    token = form_token(refused.get("/login").text)
    response = refused.post("/login", data={"name": SUPERVISOR, "password": PASSWORD, "csrf": token})
    assert response.status_code == 429 and "登录失败次数过多" in response.text

    guesser = _client(app, "198.51.100.1")
    for number in range(10):
        assert _login(guesser, f"无此人{number}", "wrong") == 401
    token = form_token(guesser.get("/login").text)
    response = guesser.post("/login", data={"name": ADMIN, "password": PASSWORD, "csrf": token})
    assert response.status_code == 429 and "此地址登录失败次数过多" in response.text
    assert _login(_client(app, "198.51.100.2"), ADMIN) == 303


# --- the recorder's heartbeat ---------------------------------------------------------------------


def _beat(console: Console, at: dt.datetime, every: float = 10.0) -> None:
    heartbeat = RecorderHeartbeat(instance="host|1|test", at=at, every=every, processed=3)
    console.live.take(Topics(console.config.mqtt.topic_prefix).recorder_heartbeat, heartbeat.to_json())


def _banners(client: Browser) -> dict[str, int]:
    return {path: client.get(path).text.count(BANNER) for path in ("/", "/board/tiles", "/incidents", "/scores")}


def test_a_stale_or_absent_recorder_heartbeat_shows_the_banner_on_every_page(console, app, monkeypatch):
    viewer = _logged_in(app, VIEWER)
    now = dt.datetime.now(dt.UTC)
    assert set(_banners(viewer).values()) == {0}  # never connected: the board says that instead

    console.live.connected_now()
    assert set(_banners(viewer).values()) == {0}  # just connected: the retained heartbeat is on its way
    later = now + dt.timedelta(seconds=NO_HEARTBEAT_GRACE + 5)
    monkeypatch.setattr(console, "now", lambda: later)
    page = viewer.get("/incidents").text
    assert "记录器无响应（未收到心跳）：违纪记录、撤销与请假暂时无法记录" in page
    assert set(_banners(viewer).values()) == {1}  # once on each page, the board's in its live fragment
    monkeypatch.undo()

    _beat(console, dt.datetime.now(dt.UTC))
    assert set(_banners(viewer).values()) == {0}

    last = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    _beat(console, last)  # 5 minutes old at 10 s intervals: stale
    shown = last.astimezone(console.config.hall.tz).strftime("%H:%M:%S")
    assert f"记录器无响应（最后心跳 {shown}）：违纪记录、撤销与请假暂时无法记录" in viewer.get("/").text
    assert set(_banners(viewer).values()) == {1}

    # Staleness comes with the clock, not with a message: a fresh heartbeat ages into the banner.
    _beat(console, dt.datetime.now(dt.UTC))
    assert viewer.get("/board/tiles").text.count(BANNER) == 0
    monkeypatch.setattr(console, "now", lambda: dt.datetime.now(dt.UTC) + dt.timedelta(seconds=31))
    assert viewer.get("/board/tiles").text.count(BANNER) == 1

    console.live.take(Topics(console.config.mqtt.topic_prefix).recorder_heartbeat, b"{not json")
    assert viewer.get("/board/tiles").status_code == 200  # a malformed heartbeat is ignored


def test_the_boards_event_stream_tells_the_browser_when_the_recorder_falls_silent(console, app, monkeypatch):
    viewer = _logged_in(app, VIEWER)
    _beat(console, dt.datetime.now(dt.UTC))
    version = console.live.version

    async def run() -> list[bytes]:
        chunks: list[bytes] = []
        never = asyncio.Event()

        async def receive() -> dict:
            await never.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            if message["type"] == "http.response.body" and message.get("body"):
                chunks.append(message["body"])

        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": "/events",
            "raw_path": b"/events",
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"testserver"), (b"cookie", f"{COOKIE}={viewer.cookies[COOKIE]}".encode())],
            "client": (HOME, 50000),
            "server": ("testserver", 80),
            "state": {},
        }
        task = asyncio.create_task(app(scope, receive, send))
        try:
            for _ in range(40):  # the stream has started
                if chunks:
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(1.2)
            assert not any(c.startswith(b"data:") for c in chunks), chunks  # nothing changed yet
            monkeypatch.setattr(console, "now", lambda: dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5))
            for _ in range(40):
                if any(c.startswith(b"data:") for c in chunks):
                    break
                await asyncio.sleep(0.1)
        finally:
            task.cancel()
        return chunks

    chunks = asyncio.run(run())
    assert f"data: {version}\n\n".encode() in chunks, chunks  # no message came: the clock made it silent


def test_an_alert_delivered_twice_changes_the_board_once(console):
    alert = Alert(
        id="alert-C20-1",
        incident_id="C20-1",
        kind="late_arrival",
        label="迟到",
        window="C20",
        department="部门",
        points="1",
        started_at=dt.datetime(2020, 11, 4, 1, 8, tzinfo=dt.UTC),
        message="C20 迟到",
    )
    topic = Topics(console.config.mqtt.topic_prefix).alerts
    before = console.live.version
    console.live.take(topic, alert.to_json())
    console.live.take(topic, alert.to_json())
    assert console.live.version == before + 1
    console.live.take(topic, alert.model_copy(update={"id": "alert-C20-2"}).to_json())
    assert console.live.version == before + 2


def test_the_live_hall_hears_the_recorders_heartbeat_through_the_broker(tmp_path, one_broker):
    config = console_hall(tmp_path, mqtt_url=one_broker).config
    topics = Topics(config.mqtt.topic_prefix)
    live = LiveHall(config)
    old = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
    publish(
        one_broker,
        topics.recorder_heartbeat,
        [RecorderHeartbeat(instance="r", at=old, every=10).to_json()],
        retain=True,
    )
    live.start()
    try:
        wait_for(lambda: live.connected, what="the console's connection")
        # Retained: a console started after the recorder died sees its last heartbeat at once.
        wait_for(lambda: live.recorder_silence(dt.datetime.now(dt.UTC)) is not None, what="the stale heartbeat")
        silence = live.recorder_silence(dt.datetime.now(dt.UTC))
        assert silence is not None and silence.last == old
        fresh = RecorderHeartbeat(instance="r", at=dt.datetime.now(dt.UTC), every=10).to_json()
        publish(one_broker, topics.recorder_heartbeat, [fresh], retain=True)
        wait_for(lambda: live.recorder_silence(dt.datetime.now(dt.UTC)) is None, what="the fresh heartbeat")
    finally:
        live.stop()
        publish(one_broker, topics.recorder_heartbeat, [b""], retain=True)  # the shared broker keeps it otherwise
    assert not live.connected
