"""The embedded broker for the quick start, the demo and a single-machine hall.

Mosquitto runs as a child process where its binary is installed (persistence on, so queued QoS 1
messages for the recorder's persistent session survive a broker restart). Without it, amqtt runs
in a background thread. Limits of amqtt, seen with 0.12.1: QoS 1 messages queued for a persistent
session while its client was away were not delivered when it came back, so the no-loss
guarantees need Mosquitto (or any MQTT 3.1.1/5 broker); amqtt keeps nothing across restarts.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

from monitor.errors import MonitorError

log = logging.getLogger(__name__)


class BrokerError(MonitorError):
    """The embedded broker could not start."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _wait_for_port(port: int, timeout: float, alive: Callable[[], bool] = lambda: True) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _port_open(port):
            return
        if not alive():
            break
        time.sleep(0.05)
    raise BrokerError(f"the embedded MQTT broker did not start listening on 127.0.0.1:{port}")


class MosquittoBroker:
    """`mosquitto -c <generated conf>` as a child process on 127.0.0.1."""

    kind = "mosquitto"

    def __init__(self, port: int, data_dir: Path, *, max_queued_messages: int = 100_000) -> None:
        self.port = port
        self.data_dir = data_dir
        self.max_queued_messages = max_queued_messages
        """QoS 1 messages kept for a persistent session while its client is away (Mosquitto's own default: 1000)."""
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(binary).exists():
            raise BrokerError('mosquitto is not installed (apt-get install mosquitto), set embedded_broker = "amqtt"')
        if _port_open(self.port):
            raise BrokerError(
                f"port {self.port} on 127.0.0.1 is taken (another broker?): set [mqtt] embedded_port, or point "
                f"[mqtt] url at that broker (mqtt://127.0.0.1:{self.port})"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        conf = self.data_dir / "mosquitto.conf"
        conf.write_text(
            # Started as root, mosquitto would switch to the user "mosquitto", which cannot save its
            # persistence in this process's folder: it runs as the user running the monitor.
            f"user {getpass.getuser()}\n"
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {self.data_dir.resolve()}/\n"
            "autosave_interval 5\n"
            f"max_queued_messages {self.max_queued_messages}\n"
            "log_dest stderr\n"
            "log_type error\nlog_type warning\n"
        )
        self._process = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _wait_for_port(self.port, 10, alive=lambda: self._process is not None and self._process.poll() is None)

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
        self._process = None


class AmqttBroker:
    """amqtt in a daemon thread with its own event loop."""

    kind = "amqtt"

    def __init__(self, port: int) -> None:
        self.port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._broker: object | None = None

    def start(self) -> None:
        from amqtt.broker import Broker

        if _port_open(self.port):
            raise BrokerError(f"port {self.port} on 127.0.0.1 is taken: set [mqtt] embedded_port")
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{self.port}"}},
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
        }
        started = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                self._broker = Broker(config, loop=loop)
                loop.run_until_complete(self._broker.start())  # type: ignore[attr-defined]
            except BaseException as exc:  # reported to the starting thread
                failure.append(exc)
                started.set()
                return
            started.set()
            loop.run_forever()

        logging.getLogger("amqtt").setLevel(logging.CRITICAL)  # it logs every probe of its port as an error
        self._thread = threading.Thread(target=run, name="amqtt-broker", daemon=True)
        self._thread.start()
        started.wait(10)
        if failure:
            raise BrokerError(f"amqtt did not start: {failure[0]}")
        _wait_for_port(self.port, 10)

    def stop(self) -> None:
        if self._loop is None or self._broker is None:
            return
        future = asyncio.run_coroutine_threadsafe(self._broker.shutdown(), self._loop)  # type: ignore[attr-defined]
        try:
            future.result(timeout=10)
        except Exception as exc:  # shutting down anyway
            log.debug("amqtt shutdown: %s", exc)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread:
            self._thread.join(timeout=5)
        self._loop = None


EmbeddedBroker = MosquittoBroker | AmqttBroker


def embedded_broker(kind: str, port: int, data_dir: Path) -> EmbeddedBroker:
    """The broker `[mqtt] embedded_broker` asks for ("auto": Mosquitto when installed)."""
    has_mosquitto = shutil.which("mosquitto") is not None or Path("/usr/sbin/mosquitto").exists()
    if kind == "mosquitto" or (kind == "auto" and has_mosquitto):
        return MosquittoBroker(port, data_dir)
    if kind == "auto":
        log.warning(
            "mosquitto is not installed: the embedded broker is amqtt, which does not keep queued messages "
            "for an absent recorder (install mosquitto for the no-loss guarantees)"
        )
    return AmqttBroker(port)
