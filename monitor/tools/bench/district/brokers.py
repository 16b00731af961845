"""The simulation's brokers: the district's Mosquitto, and one Mosquitto per township centre bridged to it, each run
with the shipped configuration (deploy/mosquitto/district: district.conf, and centre.conf filled for the site by the
folder's `fill`, as docs/deploy.md does it).

What cannot run on one machine without certificates and accounts is replaced, line by line (`adapted`): the TLS
listener and its certificates are dropped, the local listener gets a free port, the accounts (password and ACL
files, the bridge's remote username and password) give way to anonymous access, the persistence folder and the
bridge's address are the run's own. Everything else is the shipped file: the bridge's topics (the site's own, QoS 1
out, the statistics at 0), its persistent sessions, its queue, its link notification on `<prefix>/link`.

Each broker runs as a child process on 127.0.0.1; the CPU time of each is read from /proc (Linux), so the report can
say what the brokers cost besides the recorder.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from monitor.adapters.mqtt.broker import free_port
from monitor.adapters.mqtt.session import MqttSession, Received
from monitor.config import MqttConfig
from monitor.errors import InputError, MonitorError

DEPLOY = Path("deploy/mosquitto/district")
"""The shipped district configuration, from the repository's root."""
START_WAIT = 15.0
"""Seconds a broker may take to listen, and the bridges to connect."""
TLS_LISTENER = "listener 8883"
DROPPED = frozenset(
    {"certfile", "keyfile", "password_file", "acl_file", "remote_username", "remote_password", "bridge_cafile"}
)
"""Settings of the shipped files that need certificates or accounts: left out (with the TLS listener)."""


class BrokerFailed(MonitorError):
    """A broker of the simulation did not start, or a bridge did not connect."""


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def filled(deploy: Path, template: str, site: str, prefix: str) -> str:
    """A shipped template filled for one site by the folder's own `fill` (the district's host: 127.0.0.1)."""
    done = subprocess.run(
        ["sh", str(deploy / "fill"), site, prefix, "127.0.0.1"],
        input=(deploy / template).read_text(encoding="utf-8"),
        capture_output=True,
        text=True,
        env={**os.environ, "BRIDGE_PASSWORD": ""},
        check=False,
    )
    if done.returncode != 0:
        raise BrokerFailed(f"{deploy / 'fill'} {site}: {done.stderr.strip()}")
    return done.stdout


def adapted(shipped: str, port: int, folder: Path, district_port: int) -> str:
    """A shipped configuration as the simulation runs it (the module's docstring says what changes)."""
    lines = [
        # Started as root, mosquitto would switch to the user "mosquitto", which cannot write in this folder.
        f"user {getpass.getuser()}",
        f"log_dest file {folder.resolve()}/mosquitto.log",
    ]
    for line in shipped.splitlines():
        kept = line.strip()
        if kept == TLS_LISTENER or kept.split(" ", 1)[0] in DROPPED:
            continue
        if kept == "listener 1883 127.0.0.1":
            line = f"listener {port} 127.0.0.1"
        elif kept == "allow_anonymous false":
            line = "allow_anonymous true"
        elif kept.startswith("persistence_location "):
            line = f"persistence_location {folder.resolve()}/"
        elif kept.startswith("address "):
            line = f"address 127.0.0.1:{district_port}"
        lines.append(line)
    return "\n".join(lines) + "\n"


class Mosquitto:
    """One mosquitto process."""

    def __init__(self, binary: str, name: str, folder: Path, conf: str, port: int) -> None:
        self.name, self.port = name, port
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "mosquitto.conf"
        path.write_text(conf, encoding="utf-8")
        self._process = subprocess.Popen(
            [binary, "-c", str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self._log = folder / "mosquitto.log"

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def wait_listening(self, deadline: float) -> None:
        while not _listening(self.port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                said = self._log.read_text(errors="replace")[-500:] if self._log.exists() else ""
                raise BrokerFailed(f"mosquitto ({self.name}) did not start on port {self.port}: {said}")
            time.sleep(0.05)

    def cpu_seconds(self) -> float:
        """User + system CPU of the process so far (/proc on Linux; 0 elsewhere)."""
        stat = Path(f"/proc/{self._process.pid}/stat")
        if not stat.exists():
            return 0.0
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()


class DistrictBrokers:
    """The district's broker and the bridged centres' brokers, started together, stopped together."""

    def __init__(self, binary: str, folder: Path, tag: str, deploy: Path = DEPLOY) -> None:
        if not all((deploy / name).is_file() for name in ("district.conf", "centre.conf", "fill")):
            raise InputError(
                f"{deploy}: the shipped district.conf, centre.conf and fill are not there (run from the repository's "
                "root, or name the folder with --deploy)"
            )
        self.binary, self.folder, self.tag, self.deploy = binary, folder, tag, deploy
        self.district_port = free_port()
        self.district: Mosquitto | None = None
        self.centres: dict[str, Mosquitto] = {}

    @property
    def district_url(self) -> str:
        return f"mqtt://127.0.0.1:{self.district_port}"

    def start(self, centres: Iterable[tuple[str, str]]) -> None:
        """Start the district's broker, then each centre's (site, topic prefix) with its bridge; return once every
        bridge has said it is connected (its retained 1 on the district broker)."""
        deadline = time.monotonic() + START_WAIT
        folder = self.folder / "district"
        conf = adapted((self.deploy / "district.conf").read_text(encoding="utf-8"), self.district_port, folder, 0)
        self.district = Mosquitto(self.binary, "district", folder, conf, self.district_port)
        self.district.wait_listening(deadline)
        prefixes = dict(centres)
        for site, prefix in prefixes.items():
            port, folder = free_port(), self.folder / site
            shipped = filled(self.deploy, "centre.conf", site, prefix)
            self.centres[site] = Mosquitto(
                self.binary, site, folder, adapted(shipped, port, folder, self.district_port), port
            )
        for broker in self.centres.values():
            broker.wait_listening(deadline)
        self._wait_bridges({f"{prefix}/link" for prefix in prefixes.values()}, deadline)

    def _wait_bridges(self, links: set[str], deadline: float) -> None:
        if not links:
            return
        up: set[str] = set()
        lock = threading.Lock()
        all_up = threading.Event()

        def heard(message: Received) -> None:
            with lock:
                if message.payload.strip() == b"1":
                    up.add(message.topic)
                if up >= links:
                    all_up.set()

        watcher = MqttSession(
            MqttConfig(url=self.district_url, topic_prefix=f"bench{self.tag}/watch"),
            f"bench-bridges-{self.tag}",
            subscriptions=sorted(links),
            on_message=heard,
        )
        watcher.open()
        try:
            if not all_up.wait(max(0.0, deadline - time.monotonic())):
                with lock:
                    missing = sorted(links - up)
                raise BrokerFailed(f"bridges not connected within {START_WAIT:.0f}s: {', '.join(missing)}")
        finally:
            watcher.close()

    def url_of(self, site: str) -> str:
        """Where a site's cameras publish: its centre's broker, or the district's for a site without one."""
        broker = self.centres.get(site)
        return broker.url if broker is not None else self.district_url

    def cpu_seconds(self) -> tuple[float, float]:
        """CPU so far of (the district's broker, all the centres' brokers together)."""
        district = self.district.cpu_seconds() if self.district is not None else 0.0
        return district, sum(b.cpu_seconds() for b in self.centres.values())

    def stop(self) -> None:
        for broker in [*self.centres.values(), *([self.district] if self.district else [])]:
            with contextlib.suppress(OSError):
                broker.stop()
