"""The outbox against a real Mosquitto that is stopped and restarted, and across a worker restart."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from monitor.adapters.mqtt.outbox import Outbox, OutboxError
from monitor.adapters.mqtt.session import MqttSession
from monitor.config import MqttConfig
from tests.support.mqtt import Mosquitto, Subscriber
from tests.support.waiting import wait_for

pytestmark = pytest.mark.mosquitto


def publisher(broker: Mosquitto, name: str) -> MqttSession:
    session = MqttSession(MqttConfig(url=broker.url, client_id="outbox-test"), name)
    session.client.reconnect_delay_set(min_delay=1, max_delay=2)  # the test restarts the broker: retry soon
    return session


def expected(n: int) -> list[bytes]:
    return [f"message {k}".encode() for k in range(n)]


def test_broker_killed_mid_stream_loses_nothing(tmp_path: Path) -> None:
    broker = Mosquitto(tmp_path / "broker")
    broker.start()
    subscriber = Subscriber(broker.url, "t/out/#", client_id="test-sub")
    session = publisher(broker, "pub")
    session.open()
    outbox = Outbox(tmp_path / "outbox.sqlite", session)
    try:
        for k, payload in enumerate(expected(150)):
            if k == 50:
                # Mid-stream: the first messages are flowing (some arrived) when the broker goes down.
                wait_for(lambda: subscriber.payloads(), what="the first messages through the broker")
                broker.stop()
            if k == 100:
                assert outbox.pending() >= 50, "what was put while the broker was down waits in the outbox"
                broker.start()
            outbox.put(f"t/out/{k}", payload)
        assert outbox.wait_empty(60), f"{outbox.pending()} entries never acknowledged"
        wait_for(lambda: set(subscriber.payloads()) >= set(expected(150)), what="all 150 messages")
    finally:
        outbox.close()
        session.close()
        subscriber.close()
        broker.stop()


def test_worker_restart_resends_pending_entries_in_order(tmp_path: Path) -> None:
    broker = Mosquitto(tmp_path / "broker")
    path = tmp_path / "outbox.sqlite"
    first = publisher(broker, "pub")  # never connected: the broker is down
    outbox = Outbox(path, first)
    for k, payload in enumerate(expected(20)):
        outbox.put(f"t/out/{k}", payload, retain=k == 19)
    assert outbox.pending() == 20
    outbox.close()

    broker.start()
    subscriber = Subscriber(broker.url, "t/out/#", client_id="test-sub")  # returns once subscribed
    second = publisher(broker, "pub")
    second.open()
    outbox = Outbox(path, second)
    try:
        assert outbox.wait_empty(60)
        wait_for(lambda: len(subscriber.payloads()) >= 20, what="the 20 pending messages")
        assert subscriber.payloads()[:20] == expected(20)
    finally:
        outbox.close()
        second.close()
        subscriber.close()
        broker.stop()


def test_an_entry_is_written_before_it_is_published(tmp_path: Path) -> None:
    broker = Mosquitto(tmp_path / "broker")  # not started
    outbox = Outbox(tmp_path / "o.sqlite", publisher(broker, "pub"))
    outbox.put("t/x", b"payload")
    rows = sqlite3.connect(tmp_path / "o.sqlite").execute("SELECT topic, payload FROM entry").fetchall()
    assert rows == [("t/x", b"payload")]
    assert not outbox.wait_empty(0.2)  # nobody to acknowledge it: it stays (a bound on waiting, not a speed)
    outbox.close()


def test_unwritable_outbox_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OutboxError, match="data_dir"):
        Outbox(blocker / "sub" / "o.sqlite", publisher(Mosquitto(tmp_path / "b"), "pub"))
