"""The console's commands as an operator runs them: accounts with the password on stdin (never an argument),
`monitor console` refusing to start without an account and serving once it has one, `monitor db upgrade`."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlmodel import Session

from monitor.adapters.keys import write_key
from monitor.adapters.mqtt.broker import free_port
from monitor.adapters.passwords import password_matches
from monitor.adapters.store.accounts import user_row
from monitor.adapters.store.database import migrate, open_database
from monitor.config import SignerConfig, load_config
from monitor.core.signature import SigningKey
from tests.support.config import hall_config, write_config
from tests.support.waiting import wait_for

PG_URL = os.environ.get("MONITOR_TEST_PG_URL")


def monitor(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args], input=stdin, capture_output=True, text=True, check=False
    )


@pytest.fixture
def hall(tmp_path, one_broker) -> Path:
    """The seed hall with a console signer and its key, on a free port; no account yet."""
    base = hall_config(tmp_path, mqtt_url=one_broker).config
    key = SigningKey.generate("控制台")
    write_key(tmp_path / "keys" / "console.key", key)
    config = base.model_copy(
        update={
            "signers": [*base.signers, SignerConfig(name=key.name, role="console", public_key=key.public_text())],
            "console": base.console.model_copy(
                update={"port": free_port(), "signing_key": str(tmp_path / "keys" / "console.key")}
            ),
        }
    )
    return write_config(config, tmp_path / "hall.toml")


def test_accounts_and_the_console_from_the_command_line(hall: Path) -> None:
    config = load_config(hall)
    refused = monitor("--config", str(hall), "console")
    assert refused.returncode == 1 and "monitor user add" in refused.stderr and "Traceback" not in refused.stderr

    added = monitor("--config", str(hall), "user", "add", "张主任", "--role", "admin", stdin="s3cret-pass\n")
    assert added.returncode == 0, added.stderr
    short = monitor("--config", str(hall), "user", "add", "李四", "--role", "viewer", stdin="short\n")
    assert short.returncode == 1 and "密码至少 8 位" in short.stderr
    wrong_role = monitor("--config", str(hall), "user", "add", "王五", "--role", "root", stdin="s3cret-pass\n")
    assert wrong_role.returncode == 1 and "viewer, supervisor, admin" in wrong_role.stderr
    with Session(open_database(config.database.url)) as session:
        row = user_row(session, "张主任")
        assert row is not None and row.role == "admin" and password_matches(row.password_hash, "s3cret-pass")
        assert "s3cret-pass" not in row.password_hash
    assert "张主任" in monitor("--config", str(hall), "user", "list").stdout
    upgraded = monitor("--config", str(hall), "db", "upgrade")
    # The head revision grows with the store; any "latest version" line will do here.
    assert upgraded.returncode == 0 and re.search(r"数据库结构为最新版本 \d{4}", upgraded.stdout), upgraded.stderr

    server = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(hall), "console"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(server.stdout or []), daemon=True).start()
    try:
        base = f"http://127.0.0.1:{config.console.port}"

        def answers() -> bool:
            try:
                return httpx.get(f"{base}/login", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(answers, timeout=60, what="the console to answer")
        assert httpx.get(f"{base}/", timeout=5).status_code == 303  # unauthenticated: to the login page
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    assert server.returncode == 0, "".join(lines)
    assert any("督查控制台" in line for line in lines)


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="MONITOR_TEST_PG_URL not set (.ci/run sets it); the race is PostgreSQL's")
def test_services_starting_together_on_postgresql_take_turns_to_migrate() -> None:
    """SQLite serves one machine, whose services `monitor run` starts as one process; PostgreSQL serves several."""
    assert PG_URL
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in PG_URL else "?"
    engines = [create_engine(f"{PG_URL}{separator}options=-csearch_path%3D{schema}") for _ in range(3)]
    errors: list[BaseException] = []

    def start(engine: Engine) -> None:
        try:
            migrate(engine)
        except BaseException as exc:
            errors.append(exc)

    try:
        threads = [threading.Thread(target=start, args=(engine,)) for engine in engines]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not errors, errors
    finally:
        for engine in engines:
            engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
