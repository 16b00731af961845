"""A district's brokers for tests, from the shipped files: the district's Mosquitto and each township centre's, bridged
to it through a `Link` the test can cut (the government extranet).

The brokers run deploy/mosquitto/district/district.conf and centre.conf, their ACL files made as docs/deploy.md
says (deploy/mosquitto/acl with each site's prefix, then the bridge accounts' template filled by
deploy/mosquitto/district/fill), with only what cannot run in a test replaced: the TLS listener and its
certificates, the ports, the files' folders (`TEST_ONLY`). A `Watcher` logs in with an account and records what
arrives.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import threading
import uuid
from collections.abc import Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from monitor.adapters.mqtt.broker import free_port
from monitor.config import MonitorConfig
from tests.support.mqtt import MOSQUITTO, Mosquitto
from tests.support.paths import ROOT
from tests.support.waiting import DEFAULT_TIMEOUT, wait_for

DEPLOY = ROOT / "deploy" / "mosquitto"
DISTRICT = DEPLOY / "district"
ROLE_ACL = DEPLOY / "acl"
ROLE_ACL_PREFIX = "hall/hedong"
"""The prefix deploy/mosquitto/acl is written for; docs/deploy.md's sed puts a site's in its place."""
ROLES = ("recorder", "cameras", "supervisor", "scheduler", "viewer")
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd") or next(
    (p for p in ("/usr/bin/mosquitto_passwd", "/usr/local/bin/mosquitto_passwd") if Path(p).exists()), None
)
DISTRICT_HOST = "127.0.0.1"
"""What the test fills in for @DISTRICT_HOST@: the centres reach the district through their `Link` on this host."""

TEST_ONLY: dict[str, str | None] = {
    # line of a shipped conf -> what replaces it in the test (None: dropped)
    "listener 8883": None,  # TLS: no certificates in a test
    "certfile /etc/mosquitto/certs/server.crt": None,
    "keyfile /etc/mosquitto/certs/server.key": None,
    "listener 1883 127.0.0.1": "listener {port} 127.0.0.1",
    "password_file /etc/mosquitto/passwd": "password_file {workdir}/passwd",
    "acl_file /etc/mosquitto/acl": "acl_file {workdir}/acl",
    "persistence_location /var/lib/mosquitto/": "persistence_location {workdir}/",
    # a centre's bridge: to the district through its link, without TLS
    f"address {DISTRICT_HOST}:8883": "address 127.0.0.1:{link}",
    "bridge_cafile /etc/mosquitto/certs/district-ca.crt": None,
}
"""The only lines of the shipped confs a test replaces; every other line is kept as is."""
BRIDGE_LINES = tuple(line.startswith(("address ", "bridge_")) for line in TEST_ONLY)
"""Which of `TEST_ONLY` only a centre's conf has."""


def fill(template: str, site: str, prefix: str, password: str = "") -> str:
    """deploy/mosquitto/district/fill run on one of the folder's templates, as docs/deploy.md runs it."""
    done = subprocess.run(
        [str(DISTRICT / "fill"), site, prefix, DISTRICT_HOST],
        input=(DISTRICT / template).read_text(encoding="utf-8"),
        capture_output=True,
        text=True,
        env={**os.environ, "BRIDGE_PASSWORD": password},
        check=False,
    )
    assert done.returncode == 0, f"fill {template}: {done.stderr}"
    assert "@" not in "".join(line for line in done.stdout.splitlines() if not line.startswith("#")), done.stdout
    return done.stdout


def role_acl(prefix: str) -> str:
    """deploy/mosquitto/acl for a site's prefix: docs/deploy.md's `sed "s#hall/hedong#$PREFIX#g"`."""
    return ROLE_ACL.read_text(encoding="utf-8").replace(ROLE_ACL_PREFIX, prefix)


def runnable(conf: str, workdir: Path, port: int, link: int | None = None) -> str:
    """A shipped conf with its `TEST_ONLY` lines replaced (each must be there: a centre's bridge lines only with a
    `link`), run as this user, logging to a file."""
    lines = [line.strip() for line in conf.splitlines()]
    needed = {line for line, bridge in zip(TEST_ONLY, BRIDGE_LINES, strict=True) if link is not None or not bridge}
    missing = needed - set(lines)
    assert not missing, f"a shipped conf changed shape: update TEST_ONLY for {sorted(missing)}"
    values = {"port": port, "workdir": workdir, "link": link}
    kept = [TEST_ONLY.get(line, line) for line in lines]
    return "\n".join(
        [
            # Started as root, mosquitto drops to user "mosquitto", which cannot write the test's folder.
            f"user {getpass.getuser()}",
            f"log_dest file {workdir}/mosquitto.log",
            *(line.format(**values) for line in kept if line is not None),
            "",
        ]
    )


def password_file(path: Path, passwords: Mapping[str, str]) -> None:
    assert MOSQUITTO_PASSWD is not None
    for k, (account, password) in enumerate(passwords.items()):
        create = ["-c"] if k == 0 else []
        subprocess.run([MOSQUITTO_PASSWD, *create, "-b", str(path), account, password], check=True)


def _broker(workdir: Path, conf: str, acl: str, passwords: Mapping[str, str], link: int | None = None) -> Mosquitto:
    if MOSQUITTO is None or MOSQUITTO_PASSWD is None:
        pytest.skip("mosquitto and mosquitto_passwd are not installed (apt-get install mosquitto mosquitto-clients)")
    broker = Mosquitto(workdir)
    (workdir / "acl").write_text(acl, encoding="utf-8")
    password_file(workdir / "passwd", passwords)
    broker.conf.write_text(runnable(conf, workdir, broker.port, link), encoding="utf-8")
    return broker


@dataclass(frozen=True)
class Site:
    id: str
    prefix: str


def passwords_of(sites: Iterable[Site]) -> dict[str, str]:
    """A password for each role's account and each centre's bridge account (`bridge-<site>`)."""
    accounts = [*ROLES, *(f"bridge-{site.id}" for site in sites)]
    return {account: uuid.uuid4().hex for account in accounts}


def district_broker(
    workdir: Path, sites: Iterable[Site], bridged: Iterable[str], passwords: Mapping[str, str]
) -> Mosquitto:
    """The district's Mosquitto (not started): district.conf; its ACL, per site, the roles' ACL with the site's
    prefix and, for a centre with a box (`bridged`), its bridge account's."""
    sites, bridged = list(sites), set(bridged)
    acl = "".join(
        role_acl(site.prefix) + (fill("district-bridge.acl", site.id, site.prefix) if site.id in bridged else "")
        for site in sites
    )
    conf = (DISTRICT / "district.conf").read_text(encoding="utf-8")
    return _broker(workdir, conf, acl, passwords)


def centre_broker(workdir: Path, site: Site, link: Link, passwords: Mapping[str, str]) -> Mosquitto:
    """A centre's Mosquitto (not started): centre.conf filled for the site, its bridge to the district through
    `link` with the password of `bridge-<site>`; its ACL and accounts the roles' with the site's prefix."""
    conf = fill("centre.conf", site.id, site.prefix, passwords[f"bridge-{site.id}"])
    return _broker(workdir, conf, role_acl(site.prefix), {role: passwords[role] for role in ROLES}, link=link.port)


class Link:
    """The extranet between a centre's bridge and the district's broker: a TCP forwarder on a port of its own that
    `cut` closes (its listening socket and every connection through it: both brokers see the connection drop) and
    `restore` opens again on the same port."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.port = free_port()
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self.restore()

    @property
    def up(self) -> bool:
        with self._lock:
            return self._listener is not None

    def restore(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(8)
        with self._lock:
            assert self._listener is None, "the link is already up"
            self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), name=f"link-{self.port}", daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            connections, self._open = self._open, set()
        assert listener is not None, "the link is already cut"
        _close(listener)
        for connection in connections:
            _close(connection)

    def close(self) -> None:
        if self.up:
            self.cut()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                inside, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                outside = socket.create_connection(("127.0.0.1", self.target), timeout=DEFAULT_TIMEOUT)
                outside.settimeout(None)
            except OSError:
                _close(inside)
                continue
            with self._lock:
                if self._listener is not listener:  # cut meanwhile
                    _close(inside)
                    _close(outside)
                    return
                self._open |= {inside, outside}
            for source, sink in ((inside, outside), (outside, inside)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._open -= {source, sink}
            _close(source)
            _close(sink)


def _close(sock: socket.socket) -> None:
    """Shut down (wakes a thread blocked in accept or recv on it, sends the peer its end) and close."""
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


class Watcher:
    """A client logged in as `account`, subscribed (QoS 2) to `topics`, recording every (topic, payload, retain).
    The constructor returns once the broker has acknowledged the subscriptions."""

    def __init__(self, port: int, account: str, password: str, topics: Iterable[str]) -> None:
        self.messages: list[tuple[str, bytes, bool]] = []
        self._lock = threading.Lock()
        subscribed = threading.Event()
        filters = [(topic, 2) for topic in topics]
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"watch-{account}-{uuid.uuid4().hex[:8]}",
            protocol=mqtt.MQTTv311,
        )
        self.client.username_pw_set(account, password)
        self.client.on_message = lambda _c, _u, m: self._keep(m)
        self.client.on_connect = lambda c, *_: c.subscribe(filters)
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.connect("127.0.0.1", port, keepalive=30)
        self.client.loop_start()
        if not subscribed.wait(DEFAULT_TIMEOUT):
            self.close()
            raise AssertionError(f"{account} could not subscribe to {filters} on port {port}")

    def _keep(self, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((message.topic, bytes(message.payload), bool(message.retain)))

    def payloads(self, topic: str) -> list[bytes]:
        """The payloads of the messages on `topic` exactly, in arrival order."""
        with self._lock:
            return [p for t, p, _ in self.messages if t == topic]

    def under(self, prefix: str) -> list[tuple[str, bytes]]:
        with self._lock:
            return [(t, p) for t, p, _ in self.messages if t.startswith(prefix)]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def __enter__(self) -> Watcher:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def publish_as(port: int, account: str, password: str, topic: str, payload: bytes) -> None:
    """Publish at QoS 1 as `account`; returns once the broker acknowledged it (as it does a publish it drops)."""
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    client.username_pw_set(account, password)
    client.connect("127.0.0.1", port, keepalive=30)
    client.loop_start()
    try:
        info = client.publish(topic, payload, qos=1)
        info.wait_for_publish(DEFAULT_TIMEOUT)
        assert info.is_published(), f"the broker did not acknowledge {account}'s message on {topic}"
    finally:
        client.disconnect()
        client.loop_stop()


def as_account(
    config: MonitorConfig, url: str, account: str, password: str, monkeypatch: pytest.MonkeyPatch
) -> MonitorConfig:
    """`config` connecting to `url` as `account`: its credentials in environment variables of the account's own
    ([mqtt] username_env / password_env), so that processes of several roles share the test's environment."""
    variable = f"MONITOR_TEST_MQTT_{account.upper().replace('-', '_')}"
    monkeypatch.setenv(f"{variable}_USER", account)
    monkeypatch.setenv(f"{variable}_PASSWORD", password)
    mqtt_config = config.mqtt.model_copy(
        update={"url": url, "username_env": f"{variable}_USER", "password_env": f"{variable}_PASSWORD"}
    )
    return config.model_copy(update={"mqtt": mqtt_config})


def wait_link(watcher: Watcher, topic: str, state: bytes, what: str) -> None:
    """Wait until the latest message on a link topic says `state` (b"1" up, b"0" down)."""
    wait_for(lambda: watcher.payloads(topic)[-1:] == [state], what=what)
