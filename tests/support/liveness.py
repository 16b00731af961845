"""Camera services for the liveness tests: a hall on duty around today, a service that speaks as a camera service
does (its MQTT session with the last will, its windows' states, its statistics every second) and can hang, and
one in a process of its own that a test kills with SIGKILL; what the recorder published about a camera."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from monitor.adapters.mqtt.session import MqttSession
from monitor.adapters.store.tables import WindowStateRow
from monitor.config import CameraConfig, MonitorConfig
from monitor.contract import SCHEMA_VERSION, CameraLiveness, PresenceState, Topics, WindowState
from tests.support.mqtt import Subscriber

PLACE = "A区东侧"
CAMERA = "cam-a-east"
WINDOWS = ("A01", "A02")


def duty_around_today(tz: dt.tzinfo, days: Iterable[int] = (-1, 0, 1, 2)) -> dict[str, object]:
    """`hall_config` sections under which the days around today (hall time) are one duty session each, from 00:00 to
    the end of the day: whenever the test runs, now is in duty hours, and so is the next day."""
    today = dt.datetime.now(tz).date()
    session = {"name": "全天", "start": dt.time(0), "end": dt.time.max}
    return {
        "duty": {"seasons": [{"name": "全年", "sessions": [session]}]},
        "calendar": {
            "statutory": False,
            "overrides": [{"date": today + dt.timedelta(days=n), "working": True} for n in days],
        },
    }


def seed_camera(offline_after: dt.timedelta, url: str = "rtsp://127.0.0.1:9/none") -> CameraConfig:
    """A camera of the seed hall, at A区东侧, watching A01 and A02."""
    zone = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]]
    return CameraConfig.model_validate(
        {
            "id": CAMERA,
            "name": PLACE,
            "url": url,
            "offline_after": offline_after,
            "windows": [{"window": window, "polygon": zone} for window in WINDOWS],
        }
    )


class SpeakingService:
    """A camera service as the recorder hears one, in this process: its session (availability, last will), its
    windows' states, statistics every `every` seconds with its last frame at the clock's now. `hang` stops the
    statistics while the session stays up (alive on MQTT, saying nothing); `resume` starts them again."""

    def __init__(
        self, config: MonitorConfig, camera: str = CAMERA, every: float = 0.5, *, announce: bool = True
    ) -> None:
        """`announce`: hold the service's own session (availability, last will); without it, speak through another
        (a process of its own holds the service's session: `session_process`)."""
        self.topics = Topics(config.mqtt.topic_prefix)
        self.camera = camera
        self.every = every
        component = f"camera-{camera}"
        self.session = MqttSession(
            config.mqtt, component if announce else f"stand-in-{camera}", component=component if announce else None
        )
        self.session.open()
        self.last_frame: dt.datetime | None = None
        self._quiet = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._speak, daemon=True)
        self._thread.start()

    def state(self, window: str, state: PresenceState, since: dt.datetime) -> None:
        payload = WindowState(window=window, state=state, since=since, camera=self.camera).to_json()
        assert self.session.publish(self.topics.window_state(window), payload, qos=1, retain=True).wait(10)

    def _speak(self) -> None:
        while not self._stop.wait(self.every):
            if self._quiet.is_set():
                continue
            frame = dt.datetime.now(dt.UTC)
            document = {"schema": SCHEMA_VERSION, "camera": self.camera, "at": frame.isoformat(), "frames": 1}
            document["last_frame"] = frame.isoformat()
            self.session.publish(self.topics.camera_stats(self.camera), json.dumps(document), qos=0)
            self.last_frame = frame

    def hang(self) -> dt.datetime | None:
        """Say nothing more (the session stays up: no last will); the last frame it vouched for."""
        self._quiet.set()
        return self.last_frame

    def resume(self) -> None:
        self._quiet.clear()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.session.close()


def session_process(config_path: Path, camera: str, log: Path) -> subprocess.Popen[bytes]:
    """A process holding camera `camera`'s service session (availability online, last will offline) and nothing
    else, for a test to kill."""
    script = (
        "import sys, time\n"
        "from monitor.adapters.mqtt.session import MqttSession\n"
        "from monitor.config import load_config\n"
        "config = load_config(sys.argv[1])\n"
        "name = 'camera-' + sys.argv[2]\n"
        "MqttSession(config.mqtt, name, component=name).open()\n"
        "print('connected', flush=True)\n"
        "time.sleep(3600)\n"
    )
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-c", script, str(config_path), camera], stdout=out, stderr=subprocess.STDOUT
        )


class Judged:
    """What the recorder published on a camera's liveness topic (retained), as a subscriber saw it."""

    def __init__(self, url: str, config: MonitorConfig, camera: str = CAMERA) -> None:
        self.topic = Topics(config.mqtt.topic_prefix).camera_liveness(camera)
        self.watcher = Subscriber(url, self.topic)

    def all(self) -> list[CameraLiveness]:
        return [CameraLiveness.from_json(p) for p in self.watcher.payloads(self.topic) if p]

    def states(self) -> list[str]:
        return [j.state for j in self.all()]

    def last(self) -> str:
        return (self.states()[-1:] or [""])[0]

    def close(self) -> None:
        self.watcher.close()


def worker_process(config_path: Path, camera: str, log: Path) -> subprocess.Popen[bytes]:
    """`monitor worker --camera CAMERA` (the camera service with one camera) as a process of its own; its log goes to
    `log` (the test's folder keeps it for a failure's diagnosis)."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "monitor", "--config", str(config_path), "worker", "--camera", camera],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )


def history(engine: Engine, window: str) -> list[tuple[str, dt.datetime]]:
    """The window's stored states (state, since), in order."""
    with Session(engine) as session:
        rows = session.exec(
            select(WindowStateRow)
            .where(WindowStateRow.window == window)
            .order_by(col(WindowStateRow.since), col(WindowStateRow.received_at), col(WindowStateRow.id))
        ).all()
    return [(r.state, r.since) for r in rows]
