"""The live view of the hall: the latest retained window states, camera statuses and statistics from MQTT, and
whether the recorder is answering.

The console keeps no state of its own about the hall: it subscribes to what the camera services publish
(retained, so a restarted console sees the hall at once) and renders it. `version` grows with every
change, so a page's event stream knows when to tell the browser to refresh.

The recorder's retained heartbeat says it is alive and working. Whether it has gone silent depends on the
clock as much as on messages (a dead recorder sends nothing), so `recorder_silence` is asked at render time,
and the board's event stream asks it too (docs/console.md, 记录器无响应).

Whether a camera's service still answers is the recorder's judgement (retained on <p>/cameras/<id>/liveness): a
service `silent` or `gone` makes its camera offline here (摄像头服务无响应, since it was last heard), whatever
its last status and states say. While the recorder itself is silent its judgement is stale, so the console judges
alone, the same way, from what it hears: a camera whose service it has not heard for the camera's
`offline_after` is offline too (`services_down`).

Leave and supervisors' decisions are in the store, not in retained states: the console hears that one was recorded
from the recorder, which answers every supervisor's record (leave, its withdrawal or change, a dismissal or its
reversal, a patrol finding) on <p>/receipts/<kind>/<id> after committing it, and republishes the windows' leave
lists (retained, <p>/windows/<id>/leaves). Each bumps `version`, so an open board shows it within the second. The
leave lists also say when each leave begins and ends (`on_leave`), which the board's event stream watches with the
clock.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass

from monitor.adapters.mqtt.session import MqttSession, Received
from monitor.config import MonitorConfig
from monitor.contract import (
    Alert,
    CameraLiveness,
    ContractError,
    RecorderHeartbeat,
    Topics,
    WindowLeaves,
    WindowState,
)
from monitor.core.board import CameraReport, WindowReport

log = logging.getLogger(__name__)

NO_HEARTBEAT_GRACE = 30.0
"""Seconds connected to the broker without any recorder heartbeat before the recorder is taken for silent
(a retained heartbeat arrives at once; a recorder that has never beaten, or cleared it, is not running)."""
HEARTBEAT_BEATS = 2
"""Once a heartbeat has said its interval, this many intervals without one while connected mean silence."""
SEEN_ALERTS = 1000
"""Alert ids remembered to drop repeats (alerts are delivered at least once)."""
SERVICE_SILENT = "摄像头服务无响应"
"""Why a camera is offline when its service does not answer (as the board and the cameras page say it)."""


@dataclass(frozen=True, slots=True)
class RecorderSilence:
    """The recorder is not answering: the banner of every page says so, with its last heartbeat if any."""

    last: dt.datetime | None
    """When the last heartbeat was sent (the recorder's clock); None when none has arrived."""


class LiveHall:
    """Subscribed to `<p>/windows/+/state|leaves`, `<p>/cameras/+/status|stats|liveness`, `<p>/availability/+`, the
    alerts (each alert is a newly recorded incident, or a camera out of service), the recorder's receipts (each a
    supervisor's record committed) and its heartbeat."""

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
        self._liveness: dict[str, CameraLiveness] = {}
        self._heard: dict[str, dt.datetime] = {}
        """When the console last heard each camera's service (not a retained message): its own judgement."""
        self._offline_after = {camera.id: camera.offline_after for camera in config.cameras}
        self._watcher = {zone.window: camera.id for camera in config.cameras for zone in camera.windows}
        self._alerts: OrderedDict[str, None] = OrderedDict()
        self._leaves: dict[str, tuple[tuple[dt.datetime, dt.datetime], ...]] = {}
        """Each window's approved leave not yet ended, as the recorder last listed it: (start, end)."""
        self._heartbeat: RecorderHeartbeat | None = None
        self._every: float | None = None
        """The interval the last heartbeat announced (kept when a cleared heartbeat forgets the heartbeat)."""
        self._connected_at: dt.datetime | None = None
        self._link_down: dt.datetime | None = None
        """Since when the site's bridge to this broker is down (its retained `0` on <p>/link); None while it is up,
        and for a site that reaches the broker without a bridge (nothing published there)."""
        self._bridged = False
        """Whether the site's bridge has said anything on <p>/link (1 or 0): a site that reaches the broker without a
        bridge says nothing there, and its link is not shown."""
        self.version = 0
        self._session: MqttSession | None = None

    @property
    def subscriptions(self) -> list[str]:
        topics = self._topics
        return [
            topics.window_state("+"),
            topics.window_leaves("+"),
            topics.camera_status("+"),
            topics.camera_stats("+"),
            topics.camera_liveness("+"),
            topics.availability("+"),
            topics.alerts,
            topics.receipt("+", "+"),
            topics.recorder_heartbeat,
            topics.link,
        ]

    @property
    def connected(self) -> bool:
        """Whether the console holds a connection to the broker (the board warns when not)."""
        return self._connected_at is not None

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        """Connect and subscribe; BrokerUnreachable when the broker does not answer. paho reconnects afterwards,
        and the session subscribes again on every connection."""
        session = MqttSession(
            self._config.mqtt,
            f"console-{uuid.uuid4().hex[:8]}",
            subscriptions=self.subscriptions,
            on_message=self.received,
            on_connected=self.connected_now,
            on_lost=self.lost,
        )
        session.open()
        self._session = session

    def stop(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None
        self.lost()

    # -- updates (the MQTT thread) ----------------------------------------------------------------

    def connected_now(self, _session_present: bool = False) -> None:
        with self._lock:
            self._connected_at = dt.datetime.now(dt.UTC)
        self._bump()

    def lost(self, _reason: str = "") -> None:
        with self._lock:
            self._connected_at = None
        self._bump()

    def received(self, message: Received) -> None:
        self.take(message.topic, message.payload, retained=message.retain)

    def take(self, topic: str, payload: bytes, *, retained: bool = False) -> None:
        """One message; a malformed one is logged and ignored (it cannot stop the console). A message that is not
        retained says its camera's service was heard now."""
        addressed = self._topics.parse(topic)
        if addressed is None:
            return
        if not retained:
            self._hear(addressed.kind, addressed.subject, payload)
        try:
            match addressed.kind:
                case "window_state":
                    self._window(addressed.subject, payload)
                case "window_leaves":
                    self._window_leaves(addressed.subject, payload)
                case "receipt":
                    pass  # a supervisor's record is committed (or refused): what the store holds may have changed
                case "camera_status":
                    with self._lock:
                        self._status[addressed.subject] = (payload.decode()[:300], dt.datetime.now(dt.UTC))
                case "camera_stats":
                    self._camera_stats(addressed.subject, payload)
                case "camera_liveness":
                    self._camera_liveness(addressed.subject, payload)
                case "availability":
                    with self._lock:
                        self._available[addressed.subject] = payload.decode()[:32]
                case "alerts":
                    if not self._new_alert(payload):
                        return
                case "heartbeat":
                    self._beat(payload)
                case "link":
                    self._link(payload)
                case _:
                    return
        except (ContractError, UnicodeDecodeError, ValueError, TypeError, KeyError) as exc:
            log.warning("console: ignored a message on %s: %s", topic[:200], exc)
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

    def _window_leaves(self, window: str, payload: bytes) -> None:
        if window not in self._config.window_by_id:  # not the hall's: kept nowhere (no topic grows the console)
            raise ValueError(f"leave of window {window[:32]!r}, which is not the hall's")
        if not payload:  # cleared
            with self._lock:
                self._leaves.pop(window, None)
            return
        listed = WindowLeaves.from_json(payload)
        if listed.window != window:
            raise ValueError(f"the leave of window {listed.window!r} on the topic of window {window!r}")
        with self._lock:
            self._leaves[window] = tuple((leave.start, leave.end) for leave in listed.leaves)

    def _hear(self, kind: str, subject: str, payload: bytes) -> None:
        """A camera service spoke: its status, statistics, availability `online`, or a state of its windows."""
        if kind in ("camera_status", "camera_stats"):
            camera: str | None = subject
        elif kind == "availability" and payload == b"online":
            camera = Topics.camera_of_component(subject)
        elif kind == "window_state":
            camera = self._watcher.get(subject)
        else:
            return
        if camera in self._offline_after:
            with self._lock:
                self._heard[camera] = dt.datetime.now(dt.UTC)

    def _camera_liveness(self, camera: str, payload: bytes) -> None:
        if not payload:  # cleared
            with self._lock:
                self._liveness.pop(camera, None)
            return
        liveness = CameraLiveness.from_json(payload)
        if liveness.camera != camera:
            raise ValueError(f"the liveness of camera {liveness.camera!r} on the topic of camera {camera!r}")
        with self._lock:
            self._liveness[camera] = liveness

    def _new_alert(self, payload: bytes) -> bool:
        """A new incident: the board's marks of today's incidents change. An alert is delivered at least once;
        a repeat of an id already seen changes nothing."""
        alert = Alert.from_json(payload)
        with self._lock:
            if alert.id in self._alerts:
                return False
            self._alerts[alert.id] = None
            while len(self._alerts) > SEEN_ALERTS:
                self._alerts.popitem(last=False)
        return True

    def _link(self, payload: bytes) -> None:
        """The bridge's notification: b"1" connected, b"0" down (kept down since the first 0 heard)."""
        match payload.strip():
            case b"0":
                with self._lock:
                    self._link_down = self._link_down or dt.datetime.now(dt.UTC)
                    self._bridged = True
            case b"1" | b"":
                with self._lock:
                    self._link_down = None
                    self._bridged = bool(payload.strip())
            case _:
                raise ValueError(f"link state {payload[:16]!r}: not 0 or 1")

    def link_down(self) -> dt.datetime | None:
        """Since when the site is cut off from this broker (站点离线): what its cameras said last is not now."""
        with self._lock:
            return self._link_down

    def bridged(self) -> bool:
        """Whether the site reaches this broker over a bridge that has said whether it is up (a cleared notification
        forgets it)."""
        with self._lock:
            return self._bridged

    def _beat(self, payload: bytes) -> None:
        if not payload:  # cleared: no recorder holds the session
            with self._lock:
                self._heartbeat = None
            return
        heartbeat = RecorderHeartbeat.from_json(payload)
        with self._lock:
            self._heartbeat = heartbeat
            self._every = heartbeat.every

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

    def recorder_silence(self, now: dt.datetime) -> RecorderSilence | None:
        """Whether the recorder is not answering at `now`: its last heartbeat is stale, or none has come while
        the console has been connected for longer than a heartbeat should take (NO_HEARTBEAT_GRACE, or
        HEARTBEAT_BEATS of the interval the recorder last announced). None while it answers, and while the
        console has never been connected (the board says that instead)."""
        with self._lock:
            heartbeat, every, since = self._heartbeat, self._every, self._connected_at
        if heartbeat is not None:
            return RecorderSilence(heartbeat.at) if heartbeat.stale(now) else None
        if since is None:
            return None
        grace = HEARTBEAT_BEATS * every if every is not None else NO_HEARTBEAT_GRACE
        return RecorderSilence(None) if (now - since).total_seconds() > grace else None

    def on_leave(self, now: dt.datetime) -> frozenset[str]:
        """The windows whose listed leave covers `now`: the set changes when a leave begins or ends."""
        with self._lock:
            return frozenset(w for w, spans in self._leaves.items() if any(s <= now < e for s, e in spans))

    def windows(self) -> dict[str, WindowReport]:
        with self._lock:
            return dict(self._windows)

    def services_down(self, now: dt.datetime) -> dict[str, dt.datetime | None]:
        """The cameras whose service does not answer at `now`, with when it was last heard: as the recorder judges
        (`silent` or `gone`), or, while the recorder is silent, as the console hears them itself (nothing for the
        camera's `offline_after` since the console connected)."""
        recorder_silent = self.recorder_silence(now) is not None
        with self._lock:
            if not recorder_silent:
                return {c: v.heard_at for c, v in self._liveness.items() if v.state in ("silent", "gone")}
            if self._connected_at is None:
                return {}
            down: dict[str, dt.datetime | None] = {}
            for camera, offline_after in self._offline_after.items():
                heard = self._heard.get(camera)
                if now - (self._connected_at if heard is None else max(heard, self._connected_at)) > offline_after:
                    down[camera] = heard
            return down

    def cameras(self, now: dt.datetime | None = None) -> dict[str, CameraReport]:
        """Each camera that said anything, or whose service does not answer at `now` (default: the clock's now);
        offline when its camera service's availability is offline, or its service does not answer."""
        down = self.services_down(now or dt.datetime.now(dt.UTC))
        with self._lock:
            names = set(self._status) | set(self._stats) | set(down)
            reports: dict[str, CameraReport] = {}
            for camera in names:
                status, at = self._status.get(camera, ("online", None))  # stats flowing: it is running
                if self._available.get(Topics.camera_component(camera)) == "offline":
                    status = f"offline: {SERVICE_SILENT}"
                if camera in down:  # since it was last heard; never heard: since its status came
                    status, at = f"offline: {SERVICE_SILENT}", down[camera] or at
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
