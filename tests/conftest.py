"""Shared fixtures: the seed hall, databases and brokers to test against; the layer markers.

Real services when the environment names them (`.ci/run` does): MONITOR_TEST_PG_URL for
PostgreSQL, MONITOR_TEST_MQTT_URL for a running Mosquitto. Otherwise SQLite, a Mosquitto started
on a free port when its binary is installed, and the embedded amqtt broker; a test that needs a
service that is not there is skipped with the reason.

Every test is marked by its folder: `unit` (tests/unit), `integration` (tests/integration) and
`video` (tests/video) and `console` (tests/console), e.g. `pytest -m unit` for the fast pure tests.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy

from monitor.adapters.mqtt.broker import AmqttBroker, free_port
from monitor.config import MonitorConfig, load_config
from tests.support.config import hall_config
from tests.support.mqtt import MOSQUITTO, Mosquitto
from tests.support.paths import SEED_HALL

PG_URL = os.environ.get("MONITOR_TEST_PG_URL")
MQTT_URL = os.environ.get("MONITOR_TEST_MQTT_URL")
LAYERS = ("unit", "integration", "video", "console")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        layer = item.path.relative_to(here).parts[0] if item.path.is_relative_to(here) else None
        if layer in LAYERS:
            item.add_marker(layer)


@pytest.fixture(scope="session")
def hedong() -> MonitorConfig:
    """The seed hall as its file says (read only: tests that change it take `hall_config`)."""
    return load_config(SEED_HALL)


# --- databases ---


def _databases() -> list[object]:
    return [
        "sqlite",
        pytest.param(
            "postgres",
            marks=[
                pytest.mark.postgres,
                pytest.mark.skipif(not PG_URL, reason="MONITOR_TEST_PG_URL not set (.ci/run sets it)"),
            ],
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


@pytest.fixture
def own_mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    """A running Mosquitto of the test's own, which the test may stop and start again."""
    with Mosquitto(tmp_path / "mosquitto") as broker:
        yield broker


def _brokers() -> list[object]:
    return [
        pytest.param(
            "shared",
            marks=pytest.mark.skipif(not MQTT_URL, reason="MONITOR_TEST_MQTT_URL not set (.ci/run sets it)"),
        ),
        pytest.param(
            "mosquitto",
            marks=[pytest.mark.mosquitto, pytest.mark.skipif(not MOSQUITTO, reason="mosquitto is not installed")],
        ),
        "amqtt",
    ]


@contextlib.contextmanager
def _running_broker(kind: str, workdir: Path) -> Iterator[str]:
    """The URL of a running broker of `kind`: the shared Mosquitto, one of the test's own, or the embedded amqtt."""
    if kind == "shared":
        assert MQTT_URL
        yield MQTT_URL
    elif kind == "mosquitto":
        with Mosquitto(workdir / "mosquitto") as broker:
            yield broker.url
    else:
        amqtt = AmqttBroker(free_port())
        amqtt.start()
        try:
            yield f"mqtt://127.0.0.1:{amqtt.port}"
        finally:
            amqtt.stop()


@pytest.fixture(params=_brokers())
def broker_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each running broker in turn: the shared Mosquitto, one of the test's own, the embedded amqtt."""
    with _running_broker(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def one_broker(tmp_path: Path) -> Iterator[str]:
    """One running broker: the shared Mosquitto, else one of the test's own, else the embedded amqtt."""
    with _running_broker("shared" if MQTT_URL else "mosquitto" if MOSQUITTO else "amqtt", tmp_path) as url:
        yield url


@pytest.fixture
def mosquitto_url(tmp_path: Path) -> Iterator[str]:
    """A Mosquitto (shared or own) for tests that rely on its persistent-session guarantees."""
    if MQTT_URL:
        yield MQTT_URL
        return
    if not MOSQUITTO:
        pytest.skip("needs Mosquitto's persistent sessions (amqtt 0.12 loses queued QoS 1 messages)")
    with Mosquitto(tmp_path / "mosquitto") as broker:
        yield broker.url


# --- halls ---


@pytest.fixture
def fixture_hall(tmp_path: Path) -> MonitorConfig:
    """The fixture hall of the clips (fixtures/videos/hall.toml) on the test's own folders and topic prefix,
    its clips and detector weights by absolute path (tests change it further with `hall_config`)."""
    return hall_config(tmp_path, hall="fixture").config
