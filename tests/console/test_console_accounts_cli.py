"""Accounts where the console reads them: `monitor demo --serve` prints the configuration it serves, `monitor user
add|passwd|disable` name the database they wrote to, and what they did is in the console's audit log (by 命令行).

The issue this answers: an account added without `--config` went to the embedded defaults' database, not the one
the demo's console served, and could not log in; nothing of it was in the audit log."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
from sqlmodel import Session, col, select

from monitor.adapters.mqtt.broker import free_port
from monitor.adapters.store.database import open_database
from monitor.adapters.store.tables import AuditRow
from monitor.config import load_config
from monitor.tools.demo import DEMO_ACCOUNT
from tests.support.config import hall_config
from tests.support.console import form_token
from tests.support.waiting import wait_for

PASSWORD = "s3cret-pass"


def monitor(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args], input=stdin, capture_output=True, text=True, check=False
    )


def _log_in(base: str, name: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=base, follow_redirects=False, timeout=30)
    form = client.get("/login")
    response = client.post("/login", data={"name": name, "password": password, "csrf": form_token(form.text)})
    assert response.status_code == 303, response.text
    return client


def test_account_commands_name_their_database_and_are_audited(tmp_path: Path, one_broker: str) -> None:
    hall = hall_config(tmp_path, mqtt_url=one_broker)
    database = Path(hall.config.database.url.removeprefix("sqlite:///")).resolve()
    added = monitor("--config", str(hall.path), "user", "add", "张主任", "--role", "admin", stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    assert f"已新增账号 张主任（管理员），写入数据库 {database}（配置：{hall.path}）" in added.stdout, added.stdout
    changed = monitor(
        "--config", str(hall.path), "user", "passwd", "张主任", "--password-stdin", stdin="another-pass\n"
    )
    assert changed.returncode == 0 and f"写入数据库 {database}" in changed.stdout, changed.stderr
    disabled = monitor("--config", str(hall.path), "user", "disable", "张主任")
    assert disabled.returncode == 0 and f"写入数据库 {database}" in disabled.stdout, disabled.stderr
    with Session(open_database(hall.config.database.url)) as session:
        rows = session.exec(select(AuditRow).order_by(col(AuditRow.id))).all()
    assert [(r.user, r.action, r.target, r.outcome, r.address) for r in rows] == [
        ("命令行", "user_add", "张主任", "ok", "命令行"),
        ("命令行", "user_passwd", "张主任", "ok", "命令行"),
        ("命令行", "user_disable", "张主任", "ok", "命令行"),
    ]
    assert rows[0].detail.startswith("新增账号 张主任（管理员）（系统账户 ")
    # Without --config the command says so: the embedded defaults' database is not a hall's.
    bare = subprocess.run(
        [sys.executable, "-m", "monitor", "user", "add", "王五", "--role", "viewer"],
        input=PASSWORD,
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if k != "MONITOR_CONFIG"},
    )
    assert bare.returncode == 0, bare.stderr
    default = (tmp_path / "var" / "monitor.db").resolve()
    assert f"写入数据库 {default}（配置：未指定 --config，内置默认配置）" in bare.stdout, bare.stdout


def test_demo_serve_prints_its_configuration_and_an_account_added_with_it_logs_in(tmp_path: Path) -> None:
    port = free_port()
    data = tmp_path / "demo"
    demo = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "monitor",
            "demo",
            "--no-video",
            "--serve",
            "--data-dir",
            str(data),
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(demo.stdout or []), daemon=True).start()
    try:

        def served() -> re.Match[str] | None:
            return re.search(r"控制台的配置文件：(\S+)（数据库 (\S+)）", "".join(lines))

        wait_for(served, timeout=180, what="the demo to print the configuration it serves")
        found = served()
        assert found is not None
        config_file, url = Path(found.group(1)), found.group(2)
        assert config_file == (data / "hall.toml").resolve() and config_file.is_file(), "".join(lines)
        assert load_config(config_file).database.url == url == f"sqlite:///{(data / 'demo.db').resolve()}"
        assert f"monitor --config {config_file} user add 姓名 --role supervisor" in "".join(lines)
        demo_password = re.search(rf"账号 {DEMO_ACCOUNT}\s+密码 (\S+)（仅显示这一次", "".join(lines))
        assert demo_password, "".join(lines)

        added = monitor("--config", str(config_file), "user", "add", "李督查", "--role", "supervisor", stdin=PASSWORD)
        assert added.returncode == 0, added.stderr
        assert f"写入数据库 {(data / 'demo.db').resolve()}" in added.stdout, added.stdout
        base = f"http://127.0.0.1:{port}"
        assert _log_in(base, "李督查", PASSWORD).get("/").status_code == 200  # the console serving the demo
        log = _log_in(base, DEMO_ACCOUNT, demo_password.group(1)).get("/audit").text
        assert re.search(r"命令行</td><td[^>]*>新增账号</td><td[^>]*>李督查</td>", log), log
    finally:
        demo.send_signal(signal.SIGTERM)
        demo.wait(timeout=60)
    assert demo.returncode == 0, "".join(lines)
