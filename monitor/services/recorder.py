"""The recorder: the single writer of incidents.

It holds a persistent MQTT session (fixed client id, clean_session=False, QoS 1), so nothing
published while it is down is lost; a message is acknowledged only after its transaction commits,
so a crash before the commit means redelivery, and redelivery is harmless because recording is
idempotent on (incident id, event, seq). Anything it cannot record is refused with a reason on
<prefix>/rejected and in the log, acknowledged (it would fail again), and nothing of it is written.
Alerts are queued in the same transaction and delivered by a separate thread, so a slow webhook
never holds up recording.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import paho.mqtt.client as mqtt
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session

from monitor.adapters.mqtt.client import connect, disconnect, make_client
from monitor.adapters.store import alerts as alert_store
from monitor.adapters.store.evidence import purge_evidence, save_evidence
from monitor.adapters.store.incidents import Conflict, Outcome, dismiss, incident_by_id, load_incidents, record_event
from monitor.adapters.store.leaves import grant_leave, leaves_around
from monitor.adapters.store.tables import AlertRow, IncidentRow
from monitor.adapters.webhooks import WebhookFailed, send_text
from monitor.config import MonitorConfig
from monitor.contract import (
    Alert,
    ContractError,
    Dismissal,
    IncidentEvent,
    LeaveGrant,
    Rejection,
    Topics,
    now_utc,
)
from monitor.core.admission import Refused, admit
from monitor.core.alerts import compose_alert
from monitor.core.calendar import WorkCalendar
from monitor.core.scoring import deductions_for, month_bounds

log = logging.getLogger(__name__)

COMPONENT = "recorder"
JPEG_MAGIC = b"\xff\xd8\xff"


@dataclass(frozen=True, slots=True)
class Handled:
    """What became of one message."""

    status: str
    """recorded, duplicate, dismissed or rejected."""
    detail: str = ""


def _as_text(payload: bytes) -> str:
    """A refused payload for the rejected topic: its text, or its size when it is binary."""
    try:
        return payload.decode("utf-8")[:2000]
    except UnicodeDecodeError:
        return f"<{len(payload)} bytes of binary data>"


def _points_of(session: Session, incident_id: str, config: MonitorConfig) -> Decimal:
    """Points the incident deducts now, judged among its month's incidents (escalation rules)."""
    row = session.get(IncidentRow, incident_id)
    assert row is not None
    start, end = month_bounds(row.started_at.astimezone(config.hall.tz).strftime("%Y-%m"), config.hall.tz)
    mine = [d for d in deductions_for(load_incidents(session, start, end), config) if d.incident_id == incident_id]
    return max((d.points for d in mine), default=Decimal(0))


def handle_message(
    session: Session, config: MonitorConfig, calendar: WorkCalendar, topic: str, payload: bytes, now: dt.datetime
) -> Handled:
    """Apply one message in the caller's transaction (which the caller commits)."""
    topics = Topics(config.mqtt.topic_prefix)
    if topic == topics.incidents:
        try:
            event = IncidentEvent.from_json(payload)
            leaves = leaves_around(session, event.window, event.started_at, dt.timedelta(days=1))
            charge = admit(event, config, calendar, leaves)
            outcome = record_event(session, event, charge, now)
        except (ContractError, Refused, Conflict) as exc:
            return Handled("rejected", str(exc))
        if outcome is Outcome.DUPLICATE:
            return Handled("duplicate", f"{event.id} {event.event} #{event.seq}")
        if outcome is Outcome.NEW_INCIDENT:
            session.flush()
            incident = incident_by_id(session, event.id)
            alert = compose_alert(incident, _points_of(session, event.id, config), config)
            alert_store.queue_alert(session, alert, config.alerts, now)
        return Handled("recorded", f"{event.id} {event.event} #{event.seq} {event.kind} {event.window}")
    if topic.startswith(f"{topics.prefix}/evidence/"):
        parts = topic.removeprefix(f"{topics.prefix}/evidence/").split("/")
        if len(parts) != 2 or not all(parts) or len(parts[1]) > 80:
            return Handled("rejected", f"evidence topic must be {topics.prefix}/evidence/<incident id>/<name>")
        if not payload.startswith(JPEG_MAGIC):
            return Handled("rejected", "evidence is not a JPEG image")
        fresh = save_evidence(session, parts[0], parts[1], payload, now)
        return Handled("recorded" if fresh else "duplicate", f"evidence {parts[0]}/{parts[1]} ({len(payload)} bytes)")
    if topic == topics.leaves:
        try:
            grant = LeaveGrant.from_json(payload)
        except ContractError as exc:
            return Handled("rejected", str(exc))
        if grant.window not in config.window_by_id:
            return Handled("rejected", f"unknown window {grant.window!r}: not in the hall's [windows]")
        if grant.end <= grant.start:
            return Handled("rejected", "leave ends before it starts")
        fresh = grant_leave(session, grant, now)
        return Handled("recorded" if fresh else "duplicate", f"leave {grant.id} {grant.window}")
    if topic == topics.dismissals:
        try:
            dismissal = Dismissal.from_json(payload)
            fresh = dismiss(session, dismissal, now)
        except (ContractError, LookupError) as exc:
            return Handled("rejected", str(exc).strip("'\""))
        return Handled("dismissed" if fresh else "duplicate", dismissal.incident_id)
    return Handled("rejected", f"no handler for topic {topic}")


class Recorder:
    """The recorder service: MQTT in, database transactions, acknowledgements, alert delivery."""

    def __init__(
        self,
        config: MonitorConfig,
        engine: Engine,
        *,
        clock: Callable[[], dt.datetime] = now_utc,
        on_handled: Callable[[str, Handled], None] | None = None,
    ) -> None:
        self.config = config
        self.engine = engine
        self.clock = clock
        self.on_handled = on_handled
        self.topics = Topics(config.mqtt.topic_prefix)
        self.calendar = WorkCalendar(config.calendar, config.duty, config.hall.tz)
        self._inbox: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.client = make_client(config.mqtt, COMPONENT, component=COMPONENT, clean_session=False, manual_ack=True)
        self.client.on_message = lambda _c, _u, message: self._inbox.put(message)
        self._announce = self.client.on_connect
        self.client.on_connect = self._on_connect

    def _on_connect(self, client: mqtt.Client, userdata: object, flags: object, reason: object, props: object) -> None:
        if self._announce:
            self._announce(client, userdata, flags, reason, props)
        # Subscribing again on every connect is harmless and covers a broker that lost the session.
        topics = self.topics
        client.subscribe(
            [(topics.incidents, 1), (topics.dismissals, 1), (topics.leaves, 1), (topics.evidence("+", "+"), 1)]
        )

    def start(self) -> None:
        connect(self.client, self.config.mqtt)
        for target, name in ((self._process_loop, "recorder-inbox"), (self._deliver_loop, "recorder-alerts")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        log.info("recorder started: %s, database %s", self.topics.prefix, self.engine.url.render_as_string(True))

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)
        disconnect(self.client, self.config.mqtt, COMPONENT)

    # --- inbox: one message at a time, acknowledged after commit ---

    def _process_loop(self) -> None:
        while not self._stop.is_set():
            try:
                message = self._inbox.get(timeout=0.2)
            except queue.Empty:
                continue
            handled = self._apply_until_committed(message)
            if handled is None:
                return  # stopping: not acknowledged, the broker redelivers it
            if handled.status == "rejected":
                log.warning("rejected message on %s: %s", message.topic, handled.detail)
                rejection = Rejection(
                    topic=message.topic, reason=handled.detail, payload=_as_text(message.payload), at=self.clock()
                )
                self.client.publish(self.topics.rejected, rejection.to_json(), qos=1)
            else:
                log.info("%s: %s", handled.status, handled.detail)
            self.client.ack(message.mid, message.qos)
            if self.on_handled:
                self.on_handled(message.topic, handled)

    def _apply_until_committed(self, message: mqtt.MQTTMessage) -> Handled | None:
        """Apply and commit; retry while the database is unavailable (unacknowledged meanwhile).

        An integrity error is retried a few times (another recorder may have written the same event
        concurrently; the retry then sees it as a duplicate) and then refused with its reason.
        """
        delay, conflicts = 0.5, 0
        while not self._stop.is_set():
            try:
                with Session(self.engine) as session:
                    handled = handle_message(
                        session, self.config, self.calendar, message.topic, message.payload, self.clock()
                    )
                    if handled.status == "rejected":
                        session.rollback()
                    else:
                        session.commit()
                return handled
            except IntegrityError as exc:
                conflicts += 1
                if conflicts >= 3:
                    return Handled("rejected", f"the database refused it: {exc.orig}")
                log.info("concurrent write on %s (%s), retrying", message.topic, exc.orig)
            except OperationalError as exc:
                log.error("database unavailable (%s); retrying in %.1fs, message not acknowledged", exc.orig, delay)
                self._stop.wait(delay)
                delay = min(delay * 2, 30)
        return None

    # --- alert outbox delivery ---

    def _deliver_loop(self) -> None:
        """Alert delivery every second; the evidence retention purge every `[evidence] purge_every`."""
        next_purge = self.clock()
        while not self._stop.wait(1.0):
            try:
                self.deliver_due_alerts()
                if self.clock() >= next_purge:
                    self.purge_expired_evidence()
                    next_purge = self.clock() + self.config.evidence.purge_every
            except OperationalError as exc:
                log.error("alert delivery: database unavailable (%s)", exc.orig)

    def purge_expired_evidence(self) -> int:
        with Session(self.engine) as session:
            purged = purge_evidence(session, self.clock() - self.config.evidence.retention)
            session.commit()
        if purged:
            log.info("deleted %d evidence snapshot(s) past the retention period", purged)
        return purged

    def deliver_due_alerts(self) -> int:
        """Try every due alert once; return how many were delivered."""
        delivered = 0
        with Session(self.engine) as session:
            for row in alert_store.due_alerts(session, self.clock()):
                error = self._deliver(row)
                now = self.clock()
                if error is None:
                    row.delivered_at = now
                    delivered += 1
                else:
                    alert_store.mark_failed(row, error, self.config.alerts, now)
                    log.warning(
                        "alert %s via %s failed (attempt %d): %s", row.incident_id, row.channel, row.attempts, error
                    )
                session.add(row)
                session.commit()
        return delivered

    def _deliver(self, row: AlertRow) -> str | None:
        alert = Alert.from_json(row.payload)
        if row.channel == alert_store.MQTT_CHANNEL:
            info = self.client.publish(self.topics.alerts, row.payload.encode(), qos=1)
            try:
                info.wait_for_publish(timeout=5)
            except (RuntimeError, ValueError) as exc:
                return str(exc)
            return None if info.is_published() else "broker did not acknowledge in 5s"
        name = row.channel.removeprefix("webhook:")
        webhook = next((w for w in self.config.alerts.webhooks if w.name == name), None)
        if webhook is None:
            return f"webhook {name!r} is no longer configured"
        try:
            send_text(
                webhook,
                alert.message,
                timeout=self.config.alerts.timeout.total_seconds(),
                document=alert.model_dump(mode="json", by_alias=True),
            )
        except WebhookFailed as exc:
            return str(exc)
        return None


def run_recorder(config: MonitorConfig, engine: Engine, stop: threading.Event) -> None:
    """Run until `stop` is set."""
    recorder = Recorder(config, engine)
    recorder.start()
    try:
        while not stop.wait(0.5):
            pass
    finally:
        recorder.stop()
