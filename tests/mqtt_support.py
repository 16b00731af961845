"""Small real-MQTT helpers for tests: a collecting subscriber, a QoS 1 publisher, waiting."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion


def _client(url: str, client_id: str | None = None, clean: bool = True) -> mqtt.Client:
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id or f"t-{uuid.uuid4().hex[:10]}",
        clean_session=clean,
        protocol=mqtt.MQTTv311,
    )
    parts = urlsplit(url)
    client.connect(parts.hostname or "127.0.0.1", parts.port or 1883, keepalive=30)
    client.loop_start()
    return client


class Collector:
    """Subscribes to a topic filter and keeps (topic, payload) pairs."""

    def __init__(self, url: str, topic: str) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        subscribed = threading.Event()
        self.client = _client(url)
        self.client.on_message = lambda _c, _u, m: self._keep(m)
        self.client.on_subscribe = lambda *_a: subscribed.set()
        self.client.subscribe(topic, qos=1)
        assert subscribed.wait(10), "subscription not acknowledged"

    def _keep(self, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((message.topic, message.payload))

    def payloads(self) -> list[bytes]:
        with self._lock:
            return [p for _t, p in self.messages]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def publish(url: str, topic: str, payloads: list[bytes]) -> None:
    client = _client(url)
    try:
        for payload in payloads:
            info = client.publish(topic, payload, qos=1)
            info.wait_for_publish(10)
            assert info.is_published()
    finally:
        client.disconnect()
        client.loop_stop()


def wait_for(condition: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
