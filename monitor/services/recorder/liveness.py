"""The cameras' liveness: the recorder judges, from what each camera's service publishes, whether it still answers
(monitor.core.liveness), and marks the windows of one that does not `unknown` — in the history, on the board and
in an alert to supervisors.

Why the recorder: a dead or hung camera service cannot say so itself, and the recorder hears every camera's
traffic and writes the history. Only the holder of the lease judges (a standby hears nothing).

What it hears, per camera: its status and statistics (<prefix>/cameras/<id>/status|stats), its service's
availability (<prefix>/availability/camera-<id>, whose last will is `offline`) and its windows' states. The first
three come at QoS 0 (never queued for the recorder's durable session, never acknowledged, never written per
message): the network thread notes each on receipt (`hear`), cheaply, and hands nothing to the inbox. The
windows' states go through the inbox as always, and are noted too.

The single-writer thread calls `check` with its heartbeat: each judgement not yet in the books is written in one
transaction — the camera's outage (camera_outage), its windows' `unknown` marks or, when it is heard again,
their revival, and the supervisors' alert when it falls in duty hours (once per outage, also when duty begins
during one) — and then published, retained, on <prefix>/cameras/<id>/liveness for the boards. A transaction
that fails is tried again at the next check.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Protocol

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from monitor.adapters.mqtt.session import Publication, Received
from monitor.adapters.store.alerts import queue_alert
from monitor.adapters.store.outages import begin_outage, end_outage, open_outages
from monitor.adapters.store.tables import CameraOutageRow
from monitor.adapters.store.window_states import latest_since, record_window_state
from monitor.config import CameraConfig, MonitorConfig
from monitor.contract import EARLIEST, LATEST, CameraLiveness, Liveness, Topics, WindowState
from monitor.core.alerts import compose_camera_alert, compose_link_alert
from monitor.core.calendar import WorkCalendar
from monitor.core.liveness import DOWN, Change, LivenessWatch, Reported, revival_marks, unknown_marks
from monitor.errors import CalendarError

log = logging.getLogger(__name__)

CHECK_EVERY = 0.5
"""Seconds between two looks at the judgements (the single-writer thread's loop comes round every 0.2 s)."""


class Link(Protocol):
    """The recorder's link, as far as the watch publishes through it (monitor.services.recorder.link)."""

    ready: threading.Event
    """Set while the broker has confirmed the subscriptions: only then does silence mean anything."""

    def publish(self, topic: str, payload: bytes | str, *, qos: int = 1, retain: bool = False) -> Publication: ...


def camera_traffic(topics: Topics, cameras: Iterable[str]) -> list[tuple[str, int]]:
    """What the recorder listens to, beside what it records, to judge the hall's cameras: at QoS 0, each configured
    camera's own topics and the site's link to this broker (a township centre's bridge), and none in a hall without
    cameras (the embedded amqtt broker, 0.12, also hands a retained message someone subscribed to to the next client
    that subscribes to anything: the fewer, the better)."""
    own = [
        (topic, 0)
        for camera in cameras
        for topic in (
            topics.camera_status(camera),
            topics.camera_stats(camera),
            topics.availability(topics.camera_component(camera)),
        )
    ]
    return [*own, (topics.link, 0)] if own else []


class CameraWatch:
    """One recorder's judgement of the hall's cameras: noted from the network thread, written from the writer's."""

    def __init__(
        self,
        config: MonitorConfig,
        engine: Engine,
        calendar: WorkCalendar,
        clock: Callable[[], dt.datetime],
        link: Callable[[], Link | None],
    ) -> None:
        self.config = config
        self.engine = engine
        self.calendar = calendar
        self.clock = clock
        self.topics = Topics(config.mqtt.topic_prefix)
        self._link = link
        self.cameras: dict[str, CameraConfig] = {camera.id: camera for camera in config.cameras}
        self._watcher = {zone.window: camera.id for camera in config.cameras for zone in camera.windows}
        self._lock = threading.Lock()  # the network thread notes, the writer's thread judges
        self._watch = LivenessWatch({c.id: c.offline_after for c in config.cameras}, clock())
        self._reported: dict[str, Reported] = {}
        self._reasons: dict[str, str] = {}
        self._unalerted: dict[str, int] = {}  # camera -> its open outage, not yet alerted (outside duty hours)
        self._published: dict[str, Liveness] = {}
        self._restore = True
        self._deaf = True
        self._next_check = 0.0
        self._link_down: dt.datetime | None = None
        """Since when the site's bridge to this broker is down (its `0` on <prefix>/link): the cameras falling silent
        meanwhile are the link's silence, not theirs."""
        self._link_alerted: dt.datetime | None = None
        """The cut (by its start) already alerted: one alert a cut, not one a camera."""

    # -- the network thread ---------------------------------------------------------------------------------------

    def listen(self) -> None:
        """The recorder holds the session anew (its subscriptions confirmed): silence counts from now, the outages
        the books hold open are taken up again and every camera's judgement is published again."""
        with self._lock:
            self._watch.listen(self.clock())
            self._restore = True
            self._deaf = False

    def hear(self, message: Received) -> bool:
        """Note a message of a camera's service (the network thread, cheaply; never raises). True when it is for
        the watch alone, False when the inbox takes it (a window's state is recorded as well)."""
        addressed = self.topics.parse(message.topic)
        if addressed is not None and addressed.kind == "link":
            state = message.payload.strip()
            if state in (b"0", b"1", b""):  # anything else says nothing (as on the console's board)
                with self._lock:
                    self._link_down = (self._link_down or self.clock()) if state == b"0" else None
            return True
        if addressed is None or addressed.kind not in ("camera_status", "camera_stats", "availability", "window_state"):
            return False
        try:
            self._note(addressed.kind, addressed.subject, message)
        except Exception as exc:  # a malformed message says nothing; it must not stop the network thread
            log.debug("camera liveness: ignored a message on %s: %s", message.topic[:200], exc)
        return addressed.kind != "window_state"

    def _note(self, kind: str, subject: str, message: Received) -> None:
        now = self.clock()
        text = message.payload.decode("utf-8", errors="replace")
        if kind == "window_state":
            if not message.payload:
                return
            state = WindowState.from_json(message.payload)
            camera = self._watcher.get(subject)  # the window's camera says its state
            if camera is None or state.window != subject:
                return
            with self._lock:
                known = self._reported.get(subject)
                if message.retain and known is not None and (known.state, known.since) == (state.state, state.since):
                    return  # the same word again, handed over on subscribing anew
                self._reported[subject] = Reported(state.state, state.since, None if message.retain else now)
                if not message.retain:
                    self._watch.heard(camera, now, state.since)
            return
        if kind == "availability":
            camera = Topics.camera_of_component(subject)
            if camera is not None and text in ("online", "offline"):
                with self._lock:
                    self._watch.availability(camera, text == "online", now, retained=message.retain)
            return
        if kind == "camera_status":
            online = text == "online"
            if not online and not text.startswith("offline"):
                return
            with self._lock:
                self._reasons[subject] = text.removeprefix("offline").lstrip(":： ")[:80]
                self._watch.status(subject, online, now, retained=message.retain)
            return
        document = json.loads(message.payload)
        last_frame = document.get("last_frame") if isinstance(document, dict) else None
        moment = dt.datetime.fromisoformat(last_frame) if isinstance(last_frame, str) else None
        if moment is not None and (moment.tzinfo is None or not EARLIEST <= moment < LATEST):
            moment = None  # no time a camera could vouch for
        with self._lock:
            self._watch.statistics(subject, now, moment)

    # -- the writer's thread ------------------------------------------------------------------------------------

    def check(self) -> None:
        """Write and publish the judgements not yet in the books (at most every CHECK_EVERY; the database being
        away, they are tried again at the next check)."""
        if time.monotonic() < self._next_check or not self.cameras:
            return
        self._next_check = time.monotonic() + CHECK_EVERY
        link = self._link()
        if link is None:
            return
        with self._lock:  # `listen` (after the link is ready) must not slip between the look and the note
            if not link.ready.is_set():
                self._deaf = True  # a recorder cut off from the broker hears nothing, and judges nothing
            if self._deaf:
                return  # until `listen` says that silence counts from the new connection
        now = self.clock()
        try:
            self._judge(link, now)
        except Exception:  # the cameras' liveness must not stop the recording; it is tried again at the next check
            log.exception("camera liveness: the judgement could not be written")

    def _judge(self, link: Link, now: dt.datetime) -> None:
        try:
            if self._restore:
                self._take_up(now)
            with self._lock:
                changes = self._watch.due(now)
            for change in changes:
                self._apply(change, now)
            if self._unalerted and self._on_duty(now):
                self._alert_open(now)
        except OperationalError as exc:
            log.error("camera liveness: database unavailable (%s); trying again", exc.orig)
            return
        self._publish(link, now)

    def _take_up(self, now: dt.datetime) -> None:
        """The outages open in the books (this recorder, or the one before it, judged them)."""
        with Session(self.engine) as session:
            rows = open_outages(session)
        with self._lock:
            self._watch.forget_outages()  # another recorder may have ended some since this one last held the session
            self._unalerted.clear()
            for row in rows:
                if row.camera in self.cameras and row.state in ("silent", "gone", "dark"):
                    self._watch.restore(row.camera, row.state, row.began_at, row.heard_at, row.since)  # type: ignore[arg-type]
                    if row.alerted_at is None and row.id is not None:
                        self._unalerted[row.camera] = row.id
            self._published.clear()
            self._restore = False
        if rows:
            log.warning("camera liveness: outages open: %s", ", ".join(f"{r.camera} ({r.state})" for r in rows))

    def _apply(self, change: Change, now: dt.datetime) -> None:
        camera = self.cameras[change.camera]
        windows = [zone.window for zone in camera.windows]
        with self._lock:
            reported = dict(self._reported)
            reason = self._reasons.get(camera.id, "")
        waiting: int | None = None  # the outage to alert once duty begins
        with Session(self.engine) as session:
            if change.state == "live":
                end_outage(session, camera.id, now)
                if change.previous in DOWN:
                    latest = latest_since(session, windows)
                    revived = revival_marks(windows, reported, change.down_since, change.vouched, latest)
                    for window, (state, since) in revived.items():
                        self._record(session, window, state, since, camera.id, now)
            else:
                row = begin_outage(session, camera.id, change.state, now, change.heard_at, change.vouched)
                if change.state in DOWN and change.previous not in DOWN:
                    latest = latest_since(session, windows)
                    for window, since in unknown_marks(windows, change.vouched, latest).items():
                        self._record(session, window, "unknown", since, camera.id, now)
                assert row.id is not None
                if row.alerted_at is None:
                    if self._on_duty(now):
                        since = change.heard_at if change.state in DOWN and change.heard_at else now
                        self._alert(session, row, camera, change.state, since, reason, now)
                    else:
                        waiting = row.id
            session.commit()
        if waiting is None:
            self._unalerted.pop(camera.id, None)
        else:
            self._unalerted[camera.id] = waiting
        with self._lock:
            self._watch.applied(change, now)
        log.warning(
            "camera %s: %s (was %s; last heard %s, vouched for %s)",
            camera.id,
            change.state,
            change.previous,
            change.heard_at.isoformat() if change.heard_at else "never",
            change.vouched.isoformat() if change.vouched else "nothing",
        )

    def _record(
        self, session: Session, window: str, state: str, since: dt.datetime, camera: str, now: dt.datetime
    ) -> None:
        try:
            mark = WindowState(window=window, state=state, since=since, camera=camera)  # type: ignore[arg-type]
        except ValueError as exc:  # a time outside the contract's years: never from a camera's valid word
            log.error("window %s: %s not recorded: %s", window, state, exc)
            return
        record_window_state(session, mark, now)

    def _alert_open(self, now: dt.datetime) -> None:
        """Duty has begun while cameras are out: one alert each, for the outage under way."""
        with Session(self.engine) as session:
            for camera_id, outage in list(self._unalerted.items()):
                row = session.get(CameraOutageRow, outage)
                camera = self.cameras.get(camera_id)
                if row is None or camera is None or row.ended_at is not None or row.alerted_at is not None:
                    continue
                with self._lock:
                    reason = self._reasons.get(camera_id, "")
                since = row.heard_at if row.state in DOWN and row.heard_at else row.began_at
                self._alert(session, row, camera, row.state, since, reason, now)  # type: ignore[arg-type]
            session.commit()
        self._unalerted.clear()

    def _alert(
        self,
        session: Session,
        row: CameraOutageRow,
        camera: CameraConfig,
        state: Liveness,
        since: dt.datetime,
        reason: str,
        now: dt.datetime,
    ) -> None:
        """The supervisors' alert of an outage, noted on it. While the site's link is down the silence is the link's:
        the first outage of the cut is alerted as the site's (站点离线, every watched window), the others are noted
        as told by it."""
        with self._lock:
            cut = self._link_down
        assert row.id is not None
        if cut is None or state not in DOWN:
            alert = compose_camera_alert(camera, state, since, row.id, self.config, reason)
            queue_alert(session, alert, self.config.alerts, now, outage_id=row.id)
        elif self._link_alerted != cut:
            alert = compose_link_alert(self.config, camera.id, cut, row.id)
            queue_alert(session, alert, self.config.alerts, now, outage_id=row.id)
            self._link_alerted = cut
        row.alerted_at = now
        session.add(row)

    def _on_duty(self, now: dt.datetime) -> bool:
        try:
            return self.calendar.session_at(now) is not None
        except CalendarError as exc:  # a year the calendar does not cover: better an alert too many than none
            log.error("camera liveness: %s", exc)
            return True

    def _publish(self, link: Link, now: dt.datetime) -> None:
        """Each camera's judgement, retained, when it differs from what was last published."""
        with self._lock:
            due = [
                (camera, self._watch.state(camera), self._watch.heard_of(camera))
                for camera in self._watch.cameras
                if self._published.get(camera) != self._watch.state(camera)
            ]
        for camera, state, heard in due:
            try:
                payload = CameraLiveness(
                    camera=camera, state=state, heard_at=heard.heard_at, since=heard.vouched, at=now
                )
            except ValueError as exc:
                log.error("camera %s: liveness not published: %s", camera, exc)
                continue
            link.publish(self.topics.camera_liveness(camera), payload.to_json(), qos=1, retain=True)
            self._published[camera] = state
