"""A durable local outbox: what a worker must deliver is written to SQLite before it is published.

An entry (incident event, evidence image, retained state) is committed to the outbox file, then
published with QoS 1 through the worker's MqttSession; it is deleted only when the broker acknowledges
it (PUBACK: the session's `on_published` with the message id). A broker outage loses nothing: paho keeps
unacknowledged QoS 1
messages and resends them, in order, when it reconnects. A worker restart loses nothing either:
`Outbox` publishes every entry left in the file, oldest first, before anything new. Delivery is
at least once; receivers are idempotent (the recorder on (id, event, seq), evidence on
(incident, name), retained states by their nature).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from pathlib import Path

from monitor.adapters.mqtt.session import MqttSession
from monitor.errors import MonitorError

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entry (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    retain INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL
)
"""
# An acknowledgement can arrive before publish() has returned its message id to us; such early
# acks are kept this long, which is far shorter than the time paho needs to reuse a message id.
_EARLY_ACK_TTL = 60.0


class OutboxError(MonitorError):
    """The outbox file cannot be opened or written."""


class Outbox:
    """Entries of one worker, stored in `path` and published through `session` (QoS 1).

    The session may be connected or not: what it cannot send yet, paho queues until it connects.
    """

    def __init__(self, path: Path, session: MqttSession) -> None:
        self.path = path
        self.session = session
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise OutboxError(f"cannot open the outbox {path}: {exc} (check [paths] data_dir is writable)") from None
        self._lock = threading.Lock()  # guards the database and the maps; never held while calling paho
        self._send = threading.Lock()  # keeps publishes in entry order
        self._by_mid: dict[int, int] = {}
        self._early: dict[int, float] = {}
        self._sent: set[int] = set()
        self._unregister = session.on_published(self._on_publish)
        self.resend()

    def put(self, topic: str, payload: bytes, *, retain: bool = False) -> int:
        """Store an entry durably, then publish it. Returns the entry id."""
        with self._lock:
            try:
                cursor = self._db.execute(
                    "INSERT INTO entry (topic, payload, retain, created) VALUES (?, ?, ?, ?)",
                    (topic, payload, int(retain), time.time()),
                )
            except sqlite3.Error as exc:
                raise OutboxError(f"cannot write to the outbox {self.path}: {exc}") from None
            entry = int(cursor.lastrowid or 0)
        self._publish(entry, topic, payload, retain)
        return entry

    def resend(self) -> int:
        """Publish every stored entry not yet handed to paho in this process (oldest first)."""
        with self._lock:
            rows = self._db.execute("SELECT id, topic, payload, retain FROM entry ORDER BY id").fetchall()
        count = 0
        for entry, topic, payload, retain in rows:
            if entry not in self._sent:
                self._publish(entry, topic, bytes(payload), bool(retain))
                count += 1
        if count:
            log.info("outbox %s: %d pending entries re-sent", self.path.name, count)
        return count

    def pending(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM entry").fetchone()[0])

    def wait_empty(self, timeout: float) -> bool:
        """Wait until every entry is acknowledged; False when `timeout` seconds pass first."""
        deadline = time.monotonic() + timeout
        while self.pending():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

    def close(self) -> None:
        self._unregister()
        with self._lock:
            self._db.close()

    def _publish(self, entry: int, topic: str, payload: bytes, retain: bool) -> None:
        with self._send:
            publication = self.session.publish(topic, payload, qos=1, retain=retain)
            if not publication.queued:
                # Not queued by paho (e.g. a full queue): the entry stays in the file for the next start.
                log.warning("outbox: %s not queued (%s); kept for the next start", topic, publication.error)
                return
            with self._lock:
                self._sent.add(entry)
                acked = self._early.pop(publication.mid, None)
                if acked is not None and time.monotonic() - acked < _EARLY_ACK_TTL:
                    self._delete(entry)
                else:
                    self._by_mid[publication.mid] = entry

    def _on_publish(self, mid: int) -> None:
        with self._lock:
            entry = self._by_mid.pop(mid, None)
            if entry is None:
                now = time.monotonic()
                self._early = {m: t for m, t in self._early.items() if now - t < _EARLY_ACK_TTL}
                self._early[mid] = now
            else:
                self._delete(entry)

    def _delete(self, entry: int) -> None:
        self._db.execute("DELETE FROM entry WHERE id = ?", (entry,))
        self._sent.discard(entry)
