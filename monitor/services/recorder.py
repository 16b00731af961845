"""The recorder: the single writer of incidents, dismissals, leave and the windows' states.

It holds a persistent MQTT session (fixed client id, clean_session=False, QoS 1), so nothing
published while it is down is lost; messages are applied in batches of up to 200, each one
transaction (what the batch needs read once, its rows written together at its end), and
acknowledged only after the batch commits, so a crash before the commit means redelivery, and
redelivery is harmless because recording is idempotent on (incident id, event, seq). No single
message can stop it: anything it cannot parse, authenticate, admit or store is refused with the
reason — on <prefix>/rejected, in the dead-letter table and in the log — acknowledged, and nothing
of it is written; an unexpected error quarantines that one message the same way. Only an
unreachable database holds messages back (unacknowledged) until it returns.

Records that cost or restore points must be signed (monitor.core.signature): an incident by the
camera service that runs its camera or by the patrolling supervisor, a dismissal or leave by the
supervisor who decides it. Supervisors' messages get a receipt on <prefix>/receipts/<kind>/<id>,
so their commands report what the recorder did, not merely that the broker took the message.

Two recorders may run against one database: a lease in the database (monitor.adapters.store.lease)
makes one the holder of the durable MQTT session and the other a standby that takes over when the
lease expires. Alerts are queued in the incident's transaction and delivered by a separate thread:
each row is claimed before delivery, MQTT alerts go at QoS 2 and are never re-published while the
client still holds them, so each alert goes out once per channel.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import queue
import socket
import threading
import time
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from decimal import Decimal

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, col, func, select

from monitor.adapters.mqtt.client import broker_address, disconnect, make_client
from monitor.adapters.store import alerts as alert_store
from monitor.adapters.store import lease
from monitor.adapters.store.accounts import active_role
from monitor.adapters.store.dead_letters import add_dead_letter, trim_dead_letters
from monitor.adapters.store.evidence import purge_evidence, save_evidence
from monitor.adapters.store.incidents import Conflict, IncidentBook, Outcome, as_incident, dismiss, record_event
from monitor.adapters.store.leaves import LeaveBook, leaves_ahead
from monitor.adapters.store.tables import AlertRow, DismissalRow, IncidentEventRow, IncidentRow
from monitor.adapters.store.window_states import record_window_state
from monitor.adapters.webhooks import WebhookFailed, send_text
from monitor.config import MonitorConfig, SignerConfig
from monitor.contract import (
    EARLIEST,
    LATEST,
    MAX_LEAVES,
    Alert,
    ApprovedLeave,
    ContractError,
    Dismissal,
    IncidentEvent,
    LeaveGrant,
    Receipt,
    Rejection,
    SystemAlert,
    Topics,
    WindowLeaves,
    WindowState,
    now_utc,
)
from monitor.core.admission import Refused, admit
from monitor.core.alerts import compose_alert
from monitor.core.calendar import WorkCalendar
from monitor.core.roles import may
from monitor.core.scoring import month_bounds, points_for
from monitor.core.signature import Record, Unauthenticated, acting_person, authorize

log = logging.getLogger(__name__)

COMPONENT = "recorder"
JPEG_MAGIC = b"\xff\xd8\xff"
BATCH = 200
"""Most messages applied in one transaction (one commit, then their acknowledgements)."""
ALERT_CLAIM = dt.timedelta(seconds=60)
"""How long a recorder holds an alert it is delivering before another may take it."""
PUBLISH_WAIT = 2.0
"""Seconds a round of alert delivery waits for the broker to complete its QoS 2 publishes."""
PENDING = "pending"
"""An alert's outcome while the MQTT client still holds its publish (it is not published again)."""


@dataclass(frozen=True, slots=True)
class Books:
    """What the database holds about one batch's incidents, read once for the batch (or once for one
    message, when each goes in a savepoint of its own) and kept current as it writes."""

    leaves: LeaveBook
    incidents: IncidentBook

    @classmethod
    def read(cls, session: Session, messages: Sequence[tuple[str, bytes]], topics: Topics) -> Books:
        events: list[IncidentEvent] = []
        for topic, payload in messages:
            if topic == topics.incidents:
                with contextlib.suppress(ContractError):  # refused when its turn comes
                    events.append(IncidentEvent.from_json(payload))
        return cls(LeaveBook(session, events), IncidentBook(session, events))


@dataclass(frozen=True, slots=True)
class Handled:
    """What became of one message."""

    status: str
    """recorded, duplicate, dismissed or rejected."""
    detail: str = ""
    receipt: tuple[str, str] | None = None
    """(kind, id) of a supervisor's record: the recorder answers on <prefix>/receipts/<kind>/<id>."""
    leave_window: str | None = None
    """The window whose approved leave the message added: its list goes to the camera services after the commit."""


def _as_text(payload: bytes) -> str:
    """A refused payload for the rejected topic: its text, or its size when it is binary."""
    try:
        return payload.decode("utf-8")[:2000]
    except UnicodeDecodeError:
        return f"<{len(payload)} bytes of binary data>"


def _points_of(session: Session, row: IncidentRow, config: MonitorConfig) -> Decimal:
    """Points the new incident deducts, as the month's score sheet counts them (monitor.core.scoring):
    its rule's tier, and for an escalating rule its rank among the standing incidents of its window and
    kind in the month — one indexed count, so the cost does not grow with the month."""
    local = row.started_at.astimezone(config.hall.tz)
    rule = config.rule_set_on(local.date()).deduction(row.kind)
    if rule is None:
        return Decimal(0)
    occurrence = 1
    if rule.repeat_after is not None:
        start, _ = month_bounds(local.strftime("%Y-%m"), config.hall.tz)
        earlier = (col(IncidentRow.started_at) < row.started_at) | (
            (col(IncidentRow.started_at) == row.started_at) & (col(IncidentRow.id) <= row.id)
        )
        occurrence = session.exec(
            select(func.count())
            .select_from(IncidentRow)
            .join(DismissalRow, col(DismissalRow.incident_id) == col(IncidentRow.id), isouter=True)
            .where(
                IncidentRow.window == row.window,
                IncidentRow.kind == row.kind,
                IncidentRow.started_at >= start,
                earlier,
                col(DismissalRow.id).is_(None),
            )
        ).one()
    return points_for(rule, row.minutes, occurrence)


def _receipt_of(topic: str, payload: bytes, topics: Topics) -> tuple[str, str] | None:
    """(kind, id) of a supervisor's message, for its receipt, when the payload names one."""
    try:
        data = json.loads(payload)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    if topic == topics.dismissals and isinstance(data.get("incident_id"), str):
        return ("dismissal", data["incident_id"])
    if topic == topics.leaves and isinstance(data.get("id"), str):
        return ("leave", data["id"])
    if (
        topic == topics.incidents
        and str(data.get("source", "")).startswith("patrol:")
        and isinstance(data.get("id"), str)
    ):
        return ("incident", data["id"])
    return None


def _evidence_digests(session: Session, incident_id: str) -> tuple[set[str], dict[str, str]]:
    """The evidence names the incident's signed events announced, and their sha256 digests."""
    names: set[str] = set()
    digests: dict[str, str] = {}
    for payload in session.exec(select(IncidentEventRow.payload).where(IncidentEventRow.incident_id == incident_id)):
        event = IncidentEvent.from_json(payload)
        names.update(event.evidence)
        digests.update(event.digests)
    return names, digests


def _vouched(session: Session, signer: SignerConfig, record: Record) -> None:
    """A record the console signed must name a person with an active account that may act on incidents."""
    if signer.role != "console":
        return
    person = acting_person(record)
    role = active_role(session, person)
    if role is None or not may(role, "supervisor"):
        raise Unauthenticated(f"unauthenticated: {person!r} has no active console account allowed to do this")


def handle_message(
    session: Session,
    config: MonitorConfig,
    calendar: WorkCalendar,
    topic: str,
    payload: bytes,
    now: dt.datetime,
    books: Books,
) -> Handled:
    """Apply one message in the caller's transaction, which the caller commits. A rejection writes
    nothing: every refusal is decided before the first write."""
    topics = Topics(config.mqtt.topic_prefix)
    receipt = _receipt_of(topic, payload, topics)
    if topic == topics.incidents:
        try:
            event = IncidentEvent.from_json(payload)
            _vouched(session, authorize(event, config), event)
            charge = admit(event, config, calendar, books.leaves.around(event.window, event.started_at))
            outcome, row = record_event(books.incidents, event, charge, now)
        except (ContractError, Unauthenticated, Refused, Conflict) as exc:
            return Handled("rejected", str(exc), receipt)
        if outcome is Outcome.DUPLICATE:
            return Handled("duplicate", f"{event.id} {event.event} #{event.seq}", receipt)
        if outcome is Outcome.NEW_INCIDENT:
            assert row is not None
            # Just recorded, so not dismissed: a dismissal names a recorded incident.
            alert = compose_alert(as_incident(row, dismissed=False), _points_of(session, row, config), config)
            alert_store.queue_alert(session, alert, config.alerts, now)
        return Handled("recorded", f"{event.id} {event.event} #{event.seq} {event.kind} {event.window}", receipt)
    if topic.startswith(f"{topics.prefix}/evidence/"):
        return _evidence(session, config, topic.removeprefix(f"{topics.prefix}/evidence/"), payload, now)
    if topic.startswith(f"{topics.prefix}/windows/") and topic.endswith("/state"):
        return _window_state(
            session, config, topic.removeprefix(f"{topics.prefix}/windows/")[: -len("/state")], payload, now
        )
    if topic == topics.leaves:
        try:
            grant = LeaveGrant.from_json(payload)
            _vouched(session, authorize(grant, config), grant)
        except (ContractError, Unauthenticated) as exc:
            return Handled("rejected", str(exc), receipt)
        if grant.window not in config.window_by_id:
            return Handled("rejected", f"unknown window {grant.window!r}: not in the hall's [windows]", receipt)
        if grant.end <= grant.start:
            return Handled("rejected", "leave ends before it starts", receipt)
        if not books.leaves.grant(grant, now):
            return Handled("duplicate", f"leave {grant.id} {grant.window}", receipt)
        return Handled("recorded", f"leave {grant.id} {grant.window}", receipt, leave_window=grant.window)
    if topic == topics.dismissals:
        try:
            dismissal = Dismissal.from_json(payload)
            _vouched(session, authorize(dismissal, config), dismissal)
            fresh = dismiss(session, dismissal, now)
        except (ContractError, Unauthenticated) as exc:
            return Handled("rejected", str(exc), receipt)
        except LookupError as exc:
            return Handled("rejected", str(exc).strip("'\""), receipt)
        return Handled("dismissed" if fresh else "duplicate", dismissal.incident_id, receipt)
    return Handled("rejected", f"no handler for topic {topic}")


def _evidence(session: Session, config: MonitorConfig, path: str, payload: bytes, now: dt.datetime) -> Handled:
    """A snapshot of a recorded incident, announced (and its digest signed) by the incident's events."""
    parts = path.split("/")
    if len(parts) != 2 or not all(parts) or len(parts[0]) > 64 or len(parts[1]) > 80:
        return Handled("rejected", "evidence topic must be <prefix>/evidence/<incident id>/<name>")
    incident_id, name = parts
    limit = config.evidence.max_bytes
    if len(payload) > limit:
        return Handled("rejected", f"evidence of {len(payload)} bytes: more than [evidence] max_bytes = {limit}")
    if not payload.startswith(JPEG_MAGIC):
        return Handled("rejected", "evidence is not a JPEG image")
    if session.get(IncidentRow, incident_id) is None:
        return Handled("rejected", f"evidence for {incident_id!r}, which is not a recorded incident")
    names, digests = _evidence_digests(session, incident_id)
    if name not in names:
        return Handled("rejected", f"evidence {name!r} is not announced by incident {incident_id}'s events")
    if name in digests and hashlib.sha256(payload).hexdigest() != digests[name]:
        return Handled("rejected", f"evidence {incident_id}/{name} does not match the digest its incident signed")
    fresh = save_evidence(session, incident_id, name, payload, now)
    return Handled("recorded" if fresh else "duplicate", f"evidence {incident_id}/{name} ({len(payload)} bytes)")


def _window_state(session: Session, config: MonitorConfig, window: str, payload: bytes, now: dt.datetime) -> Handled:
    """A window's presence (retained, unsigned: it costs no points), kept for the on-duty rate once per
    (window, since, state)."""
    try:
        state = WindowState.from_json(payload)
    except ContractError as exc:
        return Handled("rejected", str(exc))
    if state.window != window:
        return Handled("rejected", f"the state of window {state.window!r} on the topic of window {window!r}")
    if window not in config.window_by_id:
        return Handled("rejected", f"unknown window {window!r}: not in the hall's [windows]")
    if not EARLIEST <= state.since < LATEST:
        return Handled("rejected", f"since: {state.since.isoformat()} is outside {EARLIEST.year}–{LATEST.year - 1}")
    if len(state.camera) > 64 or "\x00" in state.camera:
        return Handled("rejected", "camera: at most 64 characters, no NUL")
    fresh = record_window_state(session, state, now)
    return Handled(
        "recorded" if fresh else "duplicate", f"state {window} {state.state} since {state.since.isoformat()}"
    )


def _instance() -> str:
    return f"{socket.gethostname()}|{os.getpid()}|{uuid.uuid4().hex[:8]}"


def _dead_here(holder: str) -> bool:
    """Whether `holder` was a process on this machine that no longer runs (a recorder killed and
    restarted takes its own lease back at once instead of waiting for it to expire)."""
    host, _, rest = holder.partition("|")
    pid = rest.partition("|")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


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
        self.instance = _instance()
        self.session_name = f"{config.mqtt.client_id}-{COMPONENT}"
        self.ready = threading.Event()
        """Set once the broker has confirmed the recorder's subscriptions (what it publishes is kept)."""
        self.collision = threading.Event()
        """Set when another connection uses the recorder's client id."""
        self._inbox: queue.Queue[tuple[mqtt.Client, mqtt.MQTTMessage]] = queue.Queue()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._client: mqtt.Client | None = None
        self._watch: mqtt.Client | None = None
        self._in_flight: dict[int, mqtt.MQTTMessageInfo] = {}  # alert row id -> its QoS 2 publish
        self._holding = False
        self._renewed = 0.0
        self._round = 0  # rounds of alert delivery: each claims under a name of its own
        self._leaves_due = threading.Event()  # every window's leave list is owed to the camera services
        self._leaves_lock = threading.Lock()  # one list read and published at a time: never a stale one last

    # --- lifecycle ---

    def start(self, *, wait: float = 15.0) -> bool:
        """Start: take the lease (or wait as a standby), then hold the durable session.

        Waits up to `wait` seconds for the broker to confirm the subscriptions (`ready`), so that what is
        published afterwards is kept for the recorder; returns whether it did. A standby, or a broker
        still unreachable, returns False and keeps trying in the background."""
        thread = threading.Thread(target=self._lease_loop, name="recorder-lease", daemon=True)
        thread.start()
        self._threads.append(thread)
        for target, name in ((self._process_loop, "recorder-inbox"), (self._deliver_loop, "recorder-alerts")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        log.info(
            "recorder %s started: %s, database %s",
            self.instance,
            self.topics.prefix,
            self.engine.url.render_as_string(True),
        )
        if wait and not self.ready.wait(wait):
            log.warning(
                "recorder: subscriptions not confirmed within %.0fs (standby, or the broker is unreachable)", wait
            )
        return self.ready.is_set()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)
        held = self._holding
        self._let_go()
        if held:  # a standby takes over at once
            lease.release(self.engine, self.session_name, self.instance, now_utc())

    # --- the lease and the durable session ---

    def _lease_loop(self) -> None:
        ttl = self.config.recorder.lease
        every = ttl.total_seconds() / 3
        told_standby = False
        while not self._stop.is_set():
            try:
                row = lease.acquire(self.engine, self.session_name, self.instance, now_utc(), ttl)
            except OperationalError as exc:
                log.error("recorder lease: database unavailable (%s)", exc.orig)
                if self._holding and time.monotonic() - self._renewed > ttl.total_seconds():
                    log.error("recorder lease lapsed: letting the MQTT session go")
                    self._let_go()
                self._stop.wait(every)
                continue
            if row.holder != self.instance and _dead_here(row.holder):
                log.warning("recorder %s died without giving the lease back: taking it over", row.holder)
                if lease.take_over(self.engine, self.session_name, row.holder, self.instance, now_utc(), ttl):
                    continue
            if row.holder == self.instance:
                self._renewed = time.monotonic()
                if not self._holding:
                    self._holding = True
                    told_standby = False
                    self._hold(row.session_since)
                self._announce_owner()
            else:
                if self._holding:
                    log.error("recorder lease taken by %s: letting the MQTT session go", row.holder)
                    self._let_go()
                if not told_standby:
                    log.warning("standby: recorder %s holds the session until %s", row.holder, row.expires_at)
                    told_standby = True
            self._stop.wait(every)

    def _hold(self, session_since: dt.datetime | None) -> None:
        """Connect with the durable session; paho retries with backoff while the broker is unreachable."""
        client = make_client(self.config.mqtt, COMPONENT, component=COMPONENT, clean_session=False, manual_ack=True)
        announce = client.on_connect
        expected = session_since is not None

        def on_connect(
            c: mqtt.Client, userdata: object, flags: mqtt.ConnectFlags, reason: ReasonCode, props: object
        ) -> None:
            if reason.is_failure:
                log.error("the MQTT broker refused the recorder: %s", reason)
                return
            if announce:
                announce(c, userdata, flags, reason, props)
            if expected and not flags.session_present:
                self._system_alert(
                    "【系统告警】消息服务器丢失了记录器的会话：记录器离线期间发布的违纪记录可能已丢失，"
                    "请核对各摄像头和巡查记录（broker lost the recorder's persistent session)"
                )
            topics = self.topics
            c.subscribe(
                [
                    (topics.incidents, 1),
                    (topics.dismissals, 1),
                    (topics.leaves, 1),
                    (topics.evidence("+", "+"), 1),
                    (topics.window_state("+"), 1),
                ]
            )

        def on_subscribe(
            c: mqtt.Client, userdata: object, mid: int, codes: Sequence[ReasonCode], props: object
        ) -> None:
            failed = [str(code) for code in codes if code.is_failure]
            if failed:
                log.error("the broker refused the recorder's subscriptions (%s): check its ACL", ", ".join(failed))
                self._system_alert("【系统告警】消息服务器拒绝了记录器的订阅，违纪记录无法接收，请检查 ACL 配置")
                return
            lease.note_session(self.engine, self.session_name, now_utc())
            self._leaves_due.set()
            self.ready.set()

        def on_disconnect(c: mqtt.Client, userdata: object, flags: object, reason: ReasonCode, props: object) -> None:
            self.ready.clear()
            if not self._stop.is_set():
                log.warning("recorder disconnected from the broker (%s); reconnecting", reason)

        def on_message(c: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
            self._inbox.put((c, message))

        client.on_connect = on_connect
        client.on_subscribe = on_subscribe
        client.on_disconnect = on_disconnect
        client.on_message = on_message
        address = broker_address(self.config.mqtt)
        keepalive = int(self.config.mqtt.keepalive.total_seconds())
        self._client = client  # before the network thread runs: on_connect's system alert goes out through it
        client.connect_async(address.host, address.port, keepalive=keepalive)
        client.loop_start()
        # A watcher with a client id of its own announces, at every lease renewal, that this instance holds the
        # session, and hears any other instance that believes the same (`_check_owner`).
        watch = make_client(self.config.mqtt, f"{COMPONENT}-watch-{uuid.uuid4().hex[:8]}")
        watch.on_connect = lambda c, *_: c.subscribe(self._owner_topic, qos=0)
        watch.on_message = lambda _c, _u, message: self._check_owner(message)
        watch.connect_async(address.host, address.port, keepalive=keepalive)
        watch.loop_start()
        self._watch = watch
        log.info("recorder %s holds the session %s", self.instance, self.session_name)

    @property
    def _owner_topic(self) -> str:
        return f"{self.topics.prefix}/recorders/{self.session_name}/owner"

    def _announce_owner(self) -> None:
        if self._watch is not None:
            self._watch.publish(self._owner_topic, json.dumps({"instance": self.instance}), qos=0)

    def _check_owner(self, message: mqtt.MQTTMessage) -> None:
        """Another instance announcing the same session means two processes share the client id."""
        try:
            other = str(json.loads(message.payload)["instance"])
        except (ValueError, KeyError, TypeError):
            return
        if other != self.instance and self._holding and not self.collision.is_set():
            self.collision.set()
            log.error(
                "client id collision: %s also connects as %s; two recorders must not share one client id "
                "(give each hall its own [mqtt] client_id, or let the second run as a standby on the same database)",
                other,
                self.session_name,
            )
            self._system_alert(f"【系统告警】记录器客户端标识 {self.session_name} 被另一进程同时使用，请检查部署")

    def _let_go(self) -> None:
        watch, self._watch = self._watch, None
        if watch is not None:
            watch.disconnect()
            watch.loop_stop()
        client, self._client = self._client, None
        self._holding = False
        self._in_flight.clear()  # their claims run out; the next holder delivers them
        self.ready.clear()
        if client is not None:
            try:
                disconnect(client, self.config.mqtt, COMPONENT)
            except (OSError, RuntimeError, ValueError) as exc:
                log.warning("recorder: disconnect: %s", exc)

    def _system_alert(self, message: str) -> None:
        log.error("%s", message)
        client = self._client
        if client is not None:
            alert = SystemAlert(component=COMPONENT, message=message, at=self.clock())
            client.publish(self.topics.system_alerts, alert.to_json(), qos=1)
        for webhook in self.config.alerts.webhooks:
            try:
                send_text(webhook, message, timeout=self.config.alerts.timeout.total_seconds())
            except WebhookFailed as exc:
                log.warning("system alert via %s: %s", webhook.name, exc)

    # --- inbox: batches, each one transaction; acknowledged after commit ---

    def _process_loop(self) -> None:
        while not self._stop.is_set():
            try:
                first = self._inbox.get(timeout=0.2)
            except queue.Empty:
                continue
            batch = [first]
            while len(batch) < BATCH:
                try:
                    batch.append(self._inbox.get_nowait())
                except queue.Empty:
                    break
            results = self.apply([(m.topic, m.payload) for _, m in batch])
            if results is None:
                return  # stopping: not acknowledged, the broker redelivers them
            granted = {h.leave_window for h in results if h.leave_window is not None}
            if granted:  # before the receipts: a supervisor's `leave add` returns once the cameras' list is out
                try:
                    self.publish_leaves(granted)
                except OperationalError as exc:
                    self._leaves_due.set()
                    log.error("approved leave for the cameras: database unavailable (%s); retrying", exc.orig)
            for (client, message), handled in zip(batch, results, strict=True):
                self._answer(message.topic, message.payload, handled)
                if client is self._client:  # else the session moved on: its next holder gets it again
                    client.ack(message.mid, message.qos)
                if self.on_handled:
                    self.on_handled(message.topic, handled)

    def _answer(self, topic: str, payload: bytes, handled: Handled) -> None:
        client = self._client
        if handled.status == "rejected":
            log.warning("rejected message on %s: %s", topic, handled.detail)
            if client is not None:
                rejection = Rejection(
                    topic=topic[:1000], reason=handled.detail[:4000], payload=_as_text(payload), at=self.clock()
                )
                client.publish(self.topics.rejected, rejection.to_json(), qos=1)
        else:
            log.info("%s: %s", handled.status, handled.detail)
        if handled.receipt is not None and client is not None:
            kind, record = handled.receipt
            receipt = Receipt(
                kind=kind, id=record, status=handled.status, detail=handled.detail[:4000], at=self.clock()
            )
            client.publish(self.topics.receipt(kind, record), receipt.to_json(), qos=1)

    def apply(self, messages: Sequence[tuple[str, bytes]]) -> list[Handled] | None:
        """Apply messages and commit: every message ends recorded, duplicate, dismissed or rejected.

        One transaction for the batch. A rejected message writes nothing; one that fails after writing
        (another recorder wrote the same record at the same moment, or an unexpected error) sends the
        batch round again with a savepoint per message, so that it rolls back alone and is kept as a
        dead letter. Only the database being unavailable holds the batch back (retried with backoff);
        None when the recorder stops meanwhile.
        """
        delay = 0.5
        while not self._stop.is_set():
            try:
                return self._apply_once(messages)
            except OperationalError as exc:
                log.error("database unavailable (%s); retrying in %.1fs, messages not acknowledged", exc.orig, delay)
                self._stop.wait(delay)
                delay = min(delay * 2, 30)
        return None

    def _apply_once(self, messages: Sequence[tuple[str, bytes]]) -> list[Handled]:
        now = self.clock()
        with Session(self.engine) as session:
            try:
                results = self._apply_batch(session, messages, now, isolated=False)
            except OperationalError:
                raise
            except Exception as exc:  # the isolated round names the culprit and quarantines it alone
                log.debug("batch failed as a whole (%s: %s); applying it message by message", type(exc).__name__, exc)
                session.rollback()
                results = self._apply_batch(session, messages, now, isolated=True)
            session.commit()
        return results

    def _apply_batch(
        self, session: Session, messages: Sequence[tuple[str, bytes]], now: dt.datetime, *, isolated: bool
    ) -> list[Handled]:
        """Apply the batch in the session's transaction: as a whole (its rows written together at the end), or
        `isolated`, each message in a savepoint of its own."""
        books = None if isolated else Books.read(session, messages, self.topics)
        results: list[Handled] = []
        for topic, payload in messages:
            if books is None:
                handled = self._apply_isolated(session, topic, payload, now)
            else:
                handled = handle_message(session, self.config, self.calendar, topic, payload, now, books)
            if handled.status == "rejected":
                add_dead_letter(session, topic, handled.detail, payload, now)
            results.append(handled)
        if any(h.status == "rejected" for h in results):
            trim_dead_letters(session, self.config.recorder.dead_letters)
        session.flush()  # a write the database refuses fails here, inside the round, not at the commit
        return results

    def _apply_isolated(self, session: Session, topic: str, payload: bytes, now: dt.datetime) -> Handled:
        for attempt in range(3):
            savepoint = session.begin_nested()
            try:
                books = Books.read(session, [(topic, payload)], self.topics)
                handled = handle_message(session, self.config, self.calendar, topic, payload, now, books)
                session.flush()
            except OperationalError:
                savepoint.rollback()
                raise
            except IntegrityError as exc:
                # Another recorder wrote the same record at the same moment: the retry sees a duplicate.
                savepoint.rollback()
                if attempt == 2:
                    return Handled(
                        "rejected", f"the database refused it: {exc.orig}", _receipt_of(topic, payload, self.topics)
                    )
                continue
            except Exception as exc:  # quarantine: one message must never stop the recorder
                savepoint.rollback()
                log.exception("message on %s could not be handled; quarantined", topic)
                return Handled(
                    "rejected",
                    f"could not be recorded ({type(exc).__name__}: {str(exc)[:500]}); kept as a dead letter",
                    _receipt_of(topic, payload, self.topics),
                )
            savepoint.commit()
            return handled
        raise AssertionError("unreachable")

    # --- alert outbox delivery ---

    def _deliver_loop(self) -> None:
        """Alert delivery every second while due alerts remain; the evidence purge every `purge_every`."""
        next_purge = self.clock()
        while not self._stop.wait(1.0):
            if not self._holding:
                continue
            self._publish_leaves_due()
            try:
                while self.deliver_due_alerts() and not self._stop.is_set():
                    pass
                if self.clock() >= next_purge:
                    self.purge_expired_evidence()
                    next_purge = self.clock() + self.config.evidence.purge_every
            except OperationalError as exc:
                log.error("alert delivery: database unavailable (%s)", exc.orig)

    def _publish_leaves_due(self) -> None:
        """Every window's leave list, when owed: each time the recorder holds the session anew, and after a
        list could not be published."""
        if not self._leaves_due.is_set():
            return
        self._leaves_due.clear()
        try:
            self.publish_leaves()
        except OperationalError as exc:
            self._leaves_due.set()
            log.error("approved leave for the cameras: database unavailable (%s); retrying", exc.orig)

    def publish_leaves(self, windows: Collection[str] | None = None) -> int:
        """Publish, retained at QoS 1 on <prefix>/windows/<id>/leaves, the approved leave not yet ended of
        `windows` (default: of every window that has such leave), for the camera services; returns how many
        lists went out. A leave that has ended is left out; a window with none gets an empty list."""
        with self._leaves_lock:
            client = self._client
            if client is None:
                return 0  # the next holder of the session publishes them
            now = self.clock()
            with Session(self.engine) as session:
                ahead = leaves_ahead(session, now, windows)
            listed = sorted(ahead.keys() | set(windows or ()))
            for window in listed:
                rows = ahead.get(window, [])
                if len(rows) > MAX_LEAVES:
                    log.warning("window %s: %d leaves to come, cameras get the first %d", window, len(rows), MAX_LEAVES)
                leaves = [ApprovedLeave(id=r.id, start=r.start, end=r.end, reason=r.reason) for r in rows[:MAX_LEAVES]]
                payload = WindowLeaves(window=window, leaves=leaves, at=now).to_json()
                client.publish(self.topics.window_leaves(window), payload, qos=1, retain=True)
            if listed:
                log.info("approved leave published for the cameras: %s", ", ".join(listed))
            return len(listed)

    def purge_expired_evidence(self) -> int:
        with Session(self.engine) as session:
            purged = purge_evidence(session, self.clock() - self.config.evidence.retention)
            session.commit()
        if purged:
            log.info("deleted %d evidence snapshot(s) past the retention period", purged)
        return purged

    def deliver_due_alerts(self) -> int:
        """Claim the due alerts (up to 200), try each once, and record what became of them; return how many
        were delivered. Two short transactions: none is open while an alert waits on the broker or a
        webhook (on SQLite it would hold the write lock)."""
        self._round += 1
        now = self.clock()
        with Session(self.engine, expire_on_commit=False) as session:
            rows = alert_store.claim_due(session, f"{self.instance}#{self._round}", now, ALERT_CLAIM)
            session.commit()
        if not rows:
            return 0
        outcomes = self._send(rows)
        now = self.clock()
        delivered = [row_id for row_id, error in outcomes.items() if error is None]
        with Session(self.engine) as session:
            alert_store.mark_delivered(session, delivered, now)
            alert_store.extend_claims(session, [i for i, e in outcomes.items() if e == PENDING], now, ALERT_CLAIM)
            for row in rows:
                error = outcomes[row.id]  # type: ignore[index]
                if error is not None and error != PENDING:
                    alert_store.mark_failed(row, error, self.config.alerts, now)
                    session.add(row)
                    log.warning(
                        "alert %s via %s failed (attempt %d): %s", row.incident_id, row.channel, row.attempts, error
                    )
            session.commit()
        return len(delivered)

    def _send(self, rows: Sequence[AlertRow]) -> dict[int, str | None]:
        """Each row's outcome: None when delivered, PENDING while the MQTT client still holds its publish,
        else the error. MQTT alerts are all published first and waited for together."""
        outcomes: dict[int, str | None] = {}
        publishing: dict[int, mqtt.MQTTMessageInfo] = {}
        for row in rows:
            assert row.id is not None
            if row.channel == alert_store.MQTT_CHANNEL:
                sent = self._publish(row.id, row.payload)
                if isinstance(sent, str):
                    outcomes[row.id] = sent
                else:
                    publishing[row.id] = sent
            else:
                outcomes[row.id] = self._post(row)
        deadline = time.monotonic() + PUBLISH_WAIT
        for row_id, info in publishing.items():
            if not info.is_published():
                with contextlib.suppress(RuntimeError, ValueError):  # not connected: paho sends it on reconnect
                    info.wait_for_publish(timeout=max(deadline - time.monotonic(), 0.0))
            if info.is_published():
                del self._in_flight[row_id]
                outcomes[row_id] = None
            else:
                outcomes[row_id] = PENDING
        return outcomes

    def _publish(self, row_id: int, payload: str) -> mqtt.MQTTMessageInfo | str:
        """The alert's QoS 2 publish (the one already in flight, if any), or PENDING / the error."""
        info = self._in_flight.get(row_id)
        if info is not None:
            return info
        client = self._client
        if client is None:
            return PENDING
        # QoS 2: the broker passes it on exactly once; paho keeps it across reconnects, so it is never
        # published a second time while this client holds it.
        info = client.publish(self.topics.alerts, payload.encode(), qos=2)
        if info.rc == mqtt.MQTT_ERR_NO_CONN:
            info.rc = mqtt.MQTT_ERR_SUCCESS  # queued in the client: sent when it reconnects
        elif info.rc != mqtt.MQTT_ERR_SUCCESS:
            return mqtt.error_string(info.rc)
        self._in_flight[row_id] = info
        return info

    def _post(self, row: AlertRow) -> str | None:
        """Send the alert to its webhook: None when it took it, else the error."""
        name = row.channel.removeprefix("webhook:")
        webhook = next((w for w in self.config.alerts.webhooks if w.name == name), None)
        if webhook is None:
            return f"webhook {name!r} is no longer configured"
        alert = Alert.from_json(row.payload)
        try:
            send_text(
                webhook,
                alert.message,
                timeout=self.config.alerts.timeout.total_seconds(),
                document=alert.model_dump(mode="json", by_alias=True),
                key=f"alert-{row.id}",  # the row: one alert on one channel (ASCII, as headers must be)
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
