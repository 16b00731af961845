"""The live view of the hall: the latest retained window states, camera statuses and statistics from MQTT.

The console keeps no state of its own about the hall: it subscribes to what the camera services publish
(retained, so a restarted console sees the hall at once) and renders it. `version` grows with every
change, so a page's event stream knows when to tell the browser to refresh.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import uuid

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode

from monitor.adapters.mqtt.client import connect, disconnect, make_client
from monitor.config import MonitorConfig
from monitor.contract import ContractError, Topics, WindowState
from monitor.core.board import CameraReport, WindowReport

log = logging.getLogger(__name__)


class LiveHall:
    """Subscribed to `<p>/windows/+/state`, `<p>/cameras/+/status|stats`, `<p>/availability/+` and the alerts
    (each alert is a newly recorded incident)."""

    def __init__(self, config: MonitorConfig) -> None:
        self._config = config
        self._topics = Topics(config.mqtt.topic_prefix)
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._windows: dict[str, WindowReport] = {}
        self._status: dict[str, tuple[str, dt.datetime]] = {}
        self._stats: dict[str, dict[str, object]] = {}
        self._rates: dict[str, float] = {}
        self._available: dict[str, str] = {}
        self.version = 0
        self.connected = False
        self._client: mqtt.Client | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        client = make_client(self._config.mqtt, f"console-{uuid.uuid4().hex[:8]}")
        prefix = self._topics.prefix
        wanted = [f"{prefix}/windows/+/state", f"{prefix}/cameras/+/status", f"{prefix}/cameras/+/stats"]
        wanted += [f"{prefix}/availability/+", self._topics.alerts]

        def subscribe(c: mqtt.Client, _u: object, _f: object, reason: ReasonCode, _p: object) -> None:
            if not reason.is_failure:
                self.connected = True
                c.subscribe([(topic, 1) for topic in wanted])

        def lost(_c: mqtt.Client, _u: object, _f: object, _r: object, _p: object) -> None:
            self.connected = False
            self._bump()

        client.on_connect = subscribe
        client.on_disconnect = lost
        client.on_message = lambda _c, _u, message: self.take(message.topic, message.payload)
        connect(client, self._config.mqtt)
        self._client = client

    def stop(self) -> None:
        if self._client is not None:
            disconnect(self._client, self._config.mqtt)
            self._client = None

    # -- updates (the MQTT thread) ----------------------------------------------------------------

    def take(self, topic: str, payload: bytes) -> None:
        """One message; a malformed one is logged and ignored (it cannot stop the console)."""
        parts = topic.removeprefix(self._topics.prefix + "/").split("/")
        try:
            if len(parts) == 3 and parts[0] == "windows" and parts[2] == "state":
                self._window(parts[1], payload)
            elif len(parts) == 3 and parts[0] == "cameras" and parts[2] == "status":
                with self._lock:
                    self._status[parts[1]] = (payload.decode()[:300], dt.datetime.now(dt.UTC))
            elif len(parts) == 3 and parts[0] == "cameras" and parts[2] == "stats":
                self._camera_stats(parts[1], payload)
            elif topic == self._topics.alerts:
                pass  # a new incident: the board's marks of today's incidents change
            elif len(parts) == 2 and parts[0] == "availability":
                with self._lock:
                    self._available[parts[1]] = payload.decode()[:32]
            else:
                return
        except (ContractError, UnicodeDecodeError, ValueError, TypeError) as exc:
            log.warning("console: ignored a message on %s: %s", topic, exc)
            return
        self._bump()

    def _window(self, window: str, payload: bytes) -> None:
        if not payload:  # a cleared retained message
            with self._lock:
                self._windows.pop(window, None)
            return
        state = WindowState.from_json(payload)
        with self._lock:
            self._windows[state.window] = WindowReport(state.state, state.since, state.camera)

    def _camera_stats(self, camera: str, payload: bytes) -> None:
        document = json.loads(payload)
        if not isinstance(document, dict):
            raise ValueError("not a JSON object")
        at = dt.datetime.fromisoformat(str(document["at"]))
        frames = int(document["frames"])
        with self._lock:
            before = self._stats.get(camera)
            if before is not None:
                seconds = (at - before["at_time"]).total_seconds()  # type: ignore[operator]
                grown = frames - int(before["frames"])  # type: ignore[call-overload]
                if seconds > 0 and grown >= 0:
                    self._rates[camera] = grown / seconds
            self._stats[camera] = {**document, "at_time": at}

    def _bump(self) -> None:
        with self._changed:
            self.version += 1
            self._changed.notify_all()

    # -- reading (request threads) ----------------------------------------------------------------

    def wait_change(self, seen: int, timeout: float) -> int:
        """Block until `version` passes `seen` or `timeout` runs out; the version now."""
        with self._changed:
            self._changed.wait_for(lambda: self.version != seen, timeout=timeout)
            return self.version

    def windows(self) -> dict[str, WindowReport]:
        with self._lock:
            return dict(self._windows)

    def cameras(self) -> dict[str, CameraReport]:
        """Each camera that said anything; offline when its camera service's availability is offline."""
        with self._lock:
            names = set(self._status) | set(self._stats)
            reports: dict[str, CameraReport] = {}
            for camera in names:
                status, at = self._status.get(camera, ("online", None))  # stats flowing: it is running
                if self._available.get(f"camera-{camera}") == "offline":
                    status = "offline: 视频服务未运行"
                stats = self._stats.get(camera, {})
                inference = stats.get("inference_ms")
                last_frame = stats.get("last_frame")
                reports[camera] = CameraReport(
                    status=status,
                    at=at,
                    fps=self._rates.get(camera),
                    inference_ms=float(inference) if isinstance(inference, int | float) else None,
                    stats_at=stats.get("at_time"),  # type: ignore[arg-type]
                    last_frame=dt.datetime.fromisoformat(last_frame) if isinstance(last_frame, str) else None,
                )
            return reports
