"""Real MQTT for tests: a Mosquitto of the test's own, a recording subscriber, QoS 1 publishing.

One way to do each thing: `Mosquitto` (a private broker on a free port, which a test may stop and
start again; the broker fixtures in conftest.py use it too), `Subscriber` (records what arrives on a
topic filter, persistent or not), `publish`; free ports come from the product's
monitor.adapters.mqtt.broker.free_port, waiting from tests.support.waiting.
"""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import threading
import uuid
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from monitor.adapters.mqtt.broker import free_port
from tests.support.waiting import DEFAULT_TIMEOUT, wait_for

MOSQUITTO = shutil.which("mosquitto") or next(
    (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if Path(p).exists()), None
)
"""The mosquitto binary, when installed (apt-get install mosquitto)."""


def _port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
    except OSError:
        return False
    return True


class Mosquitto:
    """`mosquitto` on a free port with persistence in `workdir`, so queued messages survive a restart.

    Skips the test when the binary is not installed.
    """

    def __init__(self, workdir: Path) -> None:
        if MOSQUITTO is None:
            pytest.skip("the mosquitto binary is not installed (apt-get install mosquitto)")
        self.port = free_port()
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.conf = workdir / "mosquitto.conf"
        self.conf.write_text(
            # `user`: mosquitto started as root drops to user "mosquitto", which cannot write here.
            f"user {getpass.getuser()}\nlistener {self.port} 127.0.0.1\nallow_anonymous true\n"
            f"persistence true\npersistence_location {workdir}/\nautosave_interval 1\n"
            f"log_dest file {workdir}/mosquitto.log\n"
        )
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start it; an AssertionError with its log when it does not listen (a configuration it refused)."""
        assert MOSQUITTO is not None
        self.process = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)])
        try:
            wait_for(lambda: _port_open(self.port), what=f"mosquitto listening on port {self.port}")
        except AssertionError as exc:
            log = self.workdir / "mosquitto.log"
            raise AssertionError(f"mosquitto did not start: {log.read_text() if log.exists() else exc}") from exc

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()  # SIGTERM: mosquitto saves its persistence file
            self.process.wait(timeout=30)
            self.process = None

    def __enter__(self) -> Mosquitto:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def _client(url: str, client_id: str | None, clean: bool) -> mqtt.Client:
    return mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id or f"t-{uuid.uuid4().hex[:10]}",
        clean_session=clean,
        protocol=mqtt.MQTTv311,
    )


def _address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 1883


class Subscriber:
    """Subscribes to a topic filter (QoS 1, or `qos`) and records every (topic, payload, retain) that arrives.

    The constructor returns once the broker has acknowledged the subscription, so nothing published
    afterwards is missed. `client_id` makes a persistent session (clean_session false): what is
    published while it is away is kept for it; it resubscribes on every reconnect.
    """

    def __init__(self, url: str, topic: str, *, client_id: str | None = None, qos: int = 1) -> None:
        self.messages: list[tuple[str, bytes, bool]] = []
        self._lock = threading.Lock()
        subscribed = threading.Event()
        self.client = _client(url, client_id, clean=client_id is None)
        self.client.reconnect_delay_set(min_delay=1, max_delay=2)
        self.client.on_message = lambda _c, _u, m: self._keep(m)
        self.client.on_connect = lambda c, *_: c.subscribe(topic, qos=qos)
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.connect(*_address(url), keepalive=30)
        self.client.loop_start()
        if not subscribed.wait(DEFAULT_TIMEOUT):
            self.close()
            raise AssertionError(f"the broker at {url} did not acknowledge the subscription to {topic}")

    def _keep(self, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((message.topic, bytes(message.payload), bool(message.retain)))

    def snapshot(self) -> list[tuple[str, bytes, bool]]:
        with self._lock:
            return list(self.messages)

    def payloads(self, topic: str = "") -> list[bytes]:
        """The payloads, in arrival order, of the messages whose topic starts with `topic`."""
        return [p for t, p, _ in self.snapshot() if t.startswith(topic)]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def __enter__(self) -> Subscriber:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def publish(url: str, topic: str, payloads: Sequence[bytes], *, retain: bool = False) -> None:
    """Publish each payload at QoS 1 and return once the broker has acknowledged them all."""
    client = _client(url, None, clean=True)
    client.connect(*_address(url), keepalive=30)
    client.loop_start()
    try:
        for payload in payloads:
            info = client.publish(topic, payload, qos=1, retain=retain)
            info.wait_for_publish(DEFAULT_TIMEOUT)
            assert info.is_published(), f"the broker at {url} did not acknowledge a message on {topic}"
    finally:
        client.disconnect()
        client.loop_stop()
