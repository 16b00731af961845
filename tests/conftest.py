"""Shared fixtures: the seed hall, databases and brokers to test against.

Real services when the environment names them (`.ci/run` does): MONITOR_TEST_PG_URL for
PostgreSQL, MONITOR_TEST_MQTT_URL for a running Mosquitto. Otherwise SQLite, a Mosquitto started
on a free port when its binary is installed, and the embedded amqtt broker; a test that needs a
service that is not there is skipped with the reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy

from monitor.config import MonitorConfig, load_config
from monitor.mqtt.broker import AmqttBroker, _wait_for_port, free_port

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("MONITOR_TEST_PG_URL")
MQTT_URL = os.environ.get("MONITOR_TEST_MQTT_URL")
MOSQUITTO = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)


@pytest.fixture(scope="session")
def hedong() -> MonitorConfig:
    return load_config(ROOT / "config" / "hedong.toml")


# --- databases ---


def _databases() -> list[object]:
    return [
        "sqlite",
        pytest.param(
            "postgres",
            marks=pytest.mark.skipif(not PG_URL, reason="MONITOR_TEST_PG_URL not set (.ci/run sets it)"),
        ),
    ]


@pytest.fixture(params=_databases())
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a PostgreSQL schema of its own (dropped afterwards)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'monitor.db'}"
        return
    assert PG_URL
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sqlalchemy.text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sqlalchemy.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


# --- brokers ---


class OwnMosquitto:
    """A mosquitto of the test's own on a free port, which the test may stop and start again."""

    def __init__(self, data_dir: Path) -> None:
        assert MOSQUITTO
        self.port = free_port()
        self.data_dir = data_dir
        self.process: subprocess.Popen[bytes] | None = None
        data_dir.mkdir(parents=True, exist_ok=True)
        self.conf = data_dir / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
            f"persistence_location {data_dir}/\nautosave_interval 1\n"
        )

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        assert MOSQUITTO
        self.process = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        _wait_for_port(self.port, 10)

    def stop(self) -> None:
        if self.process:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


@pytest.fixture
def own_mosquitto(tmp_path: Path) -> Iterator[OwnMosquitto]:
    if not MOSQUITTO:
        pytest.skip("mosquitto is not installed: this test stops and restarts a broker of its own")
    broker = OwnMosquitto(tmp_path / "mosquitto")
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


def _brokers() -> list[object]:
    return [
        pytest.param(
            "shared",
            marks=pytest.mark.skipif(not MQTT_URL, reason="MONITOR_TEST_MQTT_URL not set (.ci/run sets it)"),
        ),
        pytest.param("mosquitto", marks=pytest.mark.skipif(not MOSQUITTO, reason="mosquitto is not installed")),
        "amqtt",
    ]


@pytest.fixture(params=_brokers())
def broker_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A running broker: the shared Mosquitto, one of the test's own, or the embedded amqtt."""
    if request.param == "shared":
        assert MQTT_URL
        yield MQTT_URL
    elif request.param == "mosquitto":
        broker = OwnMosquitto(tmp_path / "mosquitto")
        broker.start()
        try:
            yield broker.url
        finally:
            broker.stop()
    else:
        amqtt = AmqttBroker(free_port())
        amqtt.start()
        try:
            yield f"mqtt://127.0.0.1:{amqtt.port}"
        finally:
            amqtt.stop()


@pytest.fixture
def mosquitto_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A Mosquitto (shared or own) for tests that rely on its persistent-session guarantees."""
    if MQTT_URL:
        yield MQTT_URL
        return
    if not MOSQUITTO:
        pytest.skip("needs Mosquitto's persistent sessions (amqtt 0.12 loses queued QoS 1 messages)")
    broker = OwnMosquitto(tmp_path / "mosquitto")
    broker.start()
    try:
        yield broker.url
    finally:
        broker.stop()
