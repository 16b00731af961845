"""Alert delivery from the outbox in the database: each alert on each channel once.

Alerts are queued in the incident's transaction. A delivery round claims the due rows (so that a second
recorder never takes them), publishes the MQTT ones at QoS 2 through a durable session of their own, one
unacknowledged at a time, and posts the webhook ones. An MQTT alert is recorded as delivered in the network
thread the moment the broker completes it (PUBCOMP), before the next one is sent; while the broker is away its
claim is extended and it is never published a second time (paho resends it on reconnection).

Each alert is published under a message id of its own (CHOSEN_MIDS, from its row). A recorder killed while
the broker still holds an alert mid-handshake leaves it to the next one, which publishes it again under the
same id: the broker knows it and does not deliver it twice. What remains is one alert whose last round trip
the kill cut (the broker done with it, the recorder not yet told): it can arrive twice. Every alert carries
its `id`, the same on each delivery, and consumers drop repeats by it (docs/mqtt.md).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy import Engine
from sqlmodel import Session

from monitor.adapters.mqtt.client import CHOSEN_MIDS
from monitor.adapters.mqtt.session import Publication
from monitor.adapters.store import alerts as alert_store
from monitor.adapters.store.tables import AlertRow
from monitor.adapters.webhooks import WebhookFailed, send_text
from monitor.config import MonitorConfig
from monitor.contract import Alert, ContractError, Topics
from monitor.services.recorder.link import RecorderLink

log = logging.getLogger(__name__)

ALERT_CLAIM = dt.timedelta(seconds=60)
"""How long a recorder holds an alert it is delivering before another may take it (renewed while in flight)."""
PUBLISH_WAIT = 2.0
"""Seconds a round called from outside waits for the broker to acknowledge its QoS 2 publishes."""
ROUND = 200
"""Most alerts claimed at once, and most MQTT alerts held unacknowledged (each with a message id of its own)."""
EXTEND_EVERY = 10.0
"""Seconds between renewals of the claims of alerts still in flight (well inside ALERT_CLAIM)."""


class AlertCourier:
    """Delivers one recorder's claimed alerts through its link and the webhooks."""

    def __init__(
        self,
        config: MonitorConfig,
        engine: Engine,
        instance: str,
        clock: Callable[[], dt.datetime],
        link: Callable[[], RecorderLink | None],
    ) -> None:
        self.config = config
        self.engine = engine
        self.instance = instance
        self.clock = clock
        self.topics = Topics(config.mqtt.topic_prefix)
        self._link = link
        self._lock = threading.Lock()
        self._in_flight: dict[int, Publication] = {}  # alert row id -> its QoS 2 publish
        self._by_mid: dict[int, int] = {}  # message id -> alert row id
        self._round = 0  # each round claims under a name of its own
        self._extend_at = 0.0
        self.wake = threading.Event()
        """Set when the broker acknowledges a publish (a round settles at once) or other work is due."""

    def take_over(self) -> None:
        """The lease became this instance's: alerts another recorder claimed are due again at once (each goes out
        under its own message id, so one the other had sent reaches the subscribers once)."""
        with Session(self.engine) as session:
            freed = alert_store.release_claims(session, self.instance)
            session.commit()
        if freed:
            log.warning("%d alert(s) claimed by a previous holder of the session are delivered again", freed)

    def forget(self) -> None:
        """The session was let go: its publishes are no longer ours; their claims run out for the next holder."""
        with self._lock:
            self._in_flight.clear()
            self._by_mid.clear()

    def _note_delivered(self, row_id: int) -> None:
        alert_store.note_delivered(self.engine, row_id, self.clock())

    def on_published(self, mid: int) -> None:
        """From the alert session's network thread, at PUBCOMP: noted delivered before the next is sent."""
        with self._lock:
            row_id = self._by_mid.get(mid)
        if row_id is None:
            return
        try:
            self._note_delivered(row_id)
        except Exception:  # the sweep (`settle`) notes it on its next round
            log.exception("alert %d: delivered, not yet noted", row_id)
            self.wake.set()
            return
        with self._lock:
            self._in_flight.pop(row_id, None)
            self._by_mid.pop(mid, None)
            drained = not self._in_flight
        if drained:  # the round is done: the next one is claimed at once
            self.wake.set()

    def settle(self) -> int:
        """Record as delivered every in-flight alert the broker has acknowledged, and keep the claims of the
        others (renewed every EXTEND_EVERY); returns how many were settled."""
        with self._lock:
            done = [row_id for row_id, sent in self._in_flight.items() if sent.published]
            waiting = [row_id for row_id in self._in_flight if row_id not in done]
        extend = bool(waiting) and time.monotonic() >= self._extend_at
        if not done and not extend:
            return 0
        now = self.clock()
        with Session(self.engine) as session:
            alert_store.mark_delivered(session, done, now)
            if extend:
                alert_store.extend_claims(session, waiting, now, ALERT_CLAIM)
            session.commit()
        if extend:
            self._extend_at = time.monotonic() + EXTEND_EVERY
        with self._lock:
            for row_id in done:
                sent = self._in_flight.pop(row_id, None)
                if sent is not None:
                    self._by_mid.pop(sent.mid, None)
        return len(done)

    def deliver_due_alerts(self, wait: float = PUBLISH_WAIT) -> int:
        """Claim the due alerts (up to ROUND, less those in flight), send each once, and record what became of
        them, waiting up to `wait` seconds for the broker's acknowledgements (the delivery loop does not wait: each
        acknowledgement is noted as it comes); return how many were delivered. No transaction is open while an
        alert waits on the broker or a webhook (on SQLite it would hold the write lock)."""
        delivered = self.settle()
        self._round += 1
        now = self.clock()
        rows: list[AlertRow] = []
        room = ROUND - self.in_flight()  # a broker away for long: claim no more than one round ahead
        if room > 0:
            with Session(self.engine, expire_on_commit=False) as session:
                rows = alert_store.claim_due(session, f"{self.instance}#{self._round}", now, ALERT_CLAIM, room)
                session.commit()
        if rows:
            self._extend_at = time.monotonic() + EXTEND_EVERY
            failures: dict[int, str] = {}
            for row in rows:
                assert row.id is not None
                error = self._publish(row) if row.channel == alert_store.MQTT_CHANNEL else self._post(row)
                if error is not None:
                    failures[row.id] = error
                elif row.channel != alert_store.MQTT_CHANNEL:
                    self._note_delivered(row.id)  # at once: a kill later in the round does not post it again
                    delivered += 1
            if failures:
                now = self.clock()
                with Session(self.engine) as session:
                    for row in rows:
                        error = failures.get(row.id)  # type: ignore[arg-type]
                        if error is not None:
                            alert_store.mark_failed(row, error, self.config.alerts, now)
                            session.add(row)
                            log.warning(
                                "alert %s via %s failed (attempt %d): %s",
                                row.incident_id or f"camera outage {row.outage_id}",
                                row.channel,
                                row.attempts,
                                error,
                            )
                    session.commit()
        deadline = time.monotonic() + wait
        while self.in_flight() and time.monotonic() < deadline:
            self.wake.wait(min(0.05, max(deadline - time.monotonic(), 0.0)))
            delivered += self.settle()
        return delivered

    def in_flight(self) -> int:
        with self._lock:
            return len(self._in_flight)

    def _publish(self, row: AlertRow) -> str | None:
        """The alert's QoS 2 publish, unless one is already in flight (then it is not published again)."""
        assert row.id is not None
        with self._lock:
            if row.id in self._in_flight:
                return None
        link = self._link()
        if link is None:
            return "the recorder does not hold the MQTT session"
        # Under a message id of its own: published again after a crash, the broker knows it (Client).
        mid = CHOSEN_MIDS.start + row.id % len(CHOSEN_MIDS)
        with self._lock:  # before the publish: its acknowledgement may come before publish() returns
            self._by_mid[mid] = row.id
        sent = link.alerts.publish(self.topics.alerts, row.payload.encode(), qos=2, mid=mid)
        with self._lock:
            if not sent.queued:
                self._by_mid.pop(mid, None)
                return sent.error
            if self._by_mid.get(mid) == row.id:  # else already acknowledged and noted
                self._in_flight[row.id] = sent
        return None

    def _post(self, row: AlertRow) -> str | None:
        """Send the alert to its webhook: None when it took it, else the error."""
        name = row.channel.removeprefix("webhook:")
        webhook = next((w for w in self.config.alerts.webhooks if w.name == name), None)
        if webhook is None:
            return f"webhook {name!r} is no longer configured"
        try:
            alert = Alert.from_json(row.payload)
        except ContractError as exc:
            return f"the queued alert is unreadable: {exc}"
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
