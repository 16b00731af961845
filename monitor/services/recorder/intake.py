"""The recorder's inbox: messages in batches through the BatchWriter, then for each its answer (a rejection
on <prefix>/rejected, a receipt to the supervisor) and its acknowledgement — after the commit, so a crash
before it means redelivery, which recording is idempotent to.

Each message's answer and acknowledgement is guarded on its own: whatever fails there is logged and the
next message goes on. The same thread sends the heartbeat (<prefix>/recorder/heartbeat), so a recorder
whose work has stopped falls silent, and writes the cameras' liveness (`on_tick`).
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import time
from collections.abc import Callable

from monitor.adapters.mqtt.session import Received
from monitor.config import MonitorConfig
from monitor.contract import ContractError, Receipt, RecorderHeartbeat, Rejection, Status, Topics
from monitor.formatting import storable
from monitor.services.recorder.batches import BATCH_SIZE, BatchWriter
from monitor.services.recorder.handlers import Handled
from monitor.services.recorder.leave_lists import LeaveLists
from monitor.services.recorder.link import RecorderLink

log = logging.getLogger(__name__)


def _as_text(payload: bytes) -> str:
    """A refused payload for the rejected topic: its text, or its size when it is binary."""
    try:
        return storable(payload.decode("utf-8"), 2000)
    except UnicodeDecodeError:
        return f"<{len(payload)} bytes of binary data>"


class Intake:
    """Takes what the link receives and applies it, one batch at a time."""

    def __init__(
        self,
        config: MonitorConfig,
        writer: BatchWriter,
        leave_lists: LeaveLists,
        instance: str,
        clock: Callable[[], dt.datetime],
        link: Callable[[], RecorderLink | None],
        stop: threading.Event,
        on_handled: Callable[[str, Handled], None] | None = None,
        on_batch: Callable[[int], None] | None = None,
        on_tick: Callable[[], None] | None = None,
    ) -> None:
        """`on_tick` is called with every look at the heartbeat (at least every 0.2 s), in this thread: the cameras'
        liveness is written by the single writer too."""
        self.writer = writer
        self._on_tick = on_tick
        self._on_batch = on_batch
        self.leave_lists = leave_lists
        self.instance = instance
        self.clock = clock
        self.topics = Topics(config.mqtt.topic_prefix)
        self.every = config.recorder.heartbeat.total_seconds()
        self._link = link
        self._stop = stop
        self._on_handled = on_handled
        self._inbox: queue.Queue[tuple[RecorderLink, Received]] = queue.Queue()
        self.processed = 0
        self.last_message_at: dt.datetime | None = None
        self._next_beat = 0.0
        self._beat_floor = 0.0

    def put(self, link: RecorderLink, message: Received) -> None:
        """From the network thread: queued, applied by `run`."""
        self._inbox.put((link, message))

    def run(self) -> None:
        while not self._stop.is_set():
            self.beat()
            if self._on_tick is not None:
                self._on_tick()
            try:
                first = self._inbox.get(timeout=0.2)
            except queue.Empty:
                continue
            batch = [first]
            while len(batch) < BATCH_SIZE:
                try:
                    batch.append(self._inbox.get_nowait())
                except queue.Empty:
                    break
            results = self.writer.apply([(m.topic, m.payload) for _, m in batch])
            if results is None:
                return  # stopping: not acknowledged, the broker redelivers them
            if self._on_batch is not None:
                self._on_batch(len(results))
            granted = {h.leave_window for h in results if h.leave_window is not None}
            if granted:  # before the receipts: a supervisor's `leave add` returns once the cameras' list is out
                self.leave_lists.publish_safely(granted)
            for (link, message), handled in zip(batch, results, strict=True):
                self._settle(link, message, handled)
            self.processed += len(batch)
            self.last_message_at = self.clock()
            self.beat(after_batch=True)

    def _settle(self, link: RecorderLink, message: Received, handled: Handled) -> None:
        """Answer, acknowledge and report one applied message; a failure here stops nothing else."""
        try:
            self._answer(message, handled)
        except Exception:
            log.exception("the answer to a message on %s could not be sent", storable(message.topic, 200))
        if link is self._link():  # else the session moved on: its next holder gets the message again
            try:
                link.session.ack(message)
            except Exception:
                log.exception("a message on %s could not be acknowledged", storable(message.topic, 200))
        if self._on_handled is not None:
            try:
                self._on_handled(message.topic, handled)
            except Exception:
                log.exception("on_handled failed")

    def _answer(self, message: Received, handled: Handled) -> None:
        link = self._link()
        refused = handled.status in (Status.REJECTED, Status.CONFLICT)
        if refused:
            log.warning("%s message on %s: %s", handled.status, storable(message.topic, 200), handled.detail)
            if link is not None:
                rejection = Rejection(
                    topic=storable(message.topic, 1000),
                    reason=storable(handled.detail, 4000),
                    payload=_as_text(message.payload),
                    at=self.clock(),
                )
                link.publish(self.topics.rejected, rejection.to_json(), qos=1)
        else:
            log.info("%s: %s", handled.status, handled.detail)
        if handled.receipt is not None and link is not None:
            kind, record = handled.receipt
            try:
                receipt = Receipt(
                    kind=kind,
                    id=record,
                    status=handled.status,
                    detail=storable(handled.detail, 4000),
                    words=handled.words[:500],
                    at=self.clock(),
                )
            except (ContractError, ValueError) as exc:  # never from values that passed validation; logged if so
                log.error("no receipt for %s %r: %s", kind, storable(record, 100), exc)
                return
            link.publish(self.topics.receipt(kind, record), receipt.to_json(), qos=1)

    def beat(self, *, after_batch: bool = False) -> None:
        """The heartbeat, every `every` seconds and after a batch (at most once a second)."""
        now = time.monotonic()
        if now < self._next_beat and not (after_batch and now >= self._beat_floor):
            return
        link = self._link()
        if link is None:
            return
        self._next_beat = now + self.every
        self._beat_floor = now + 1.0
        heartbeat = RecorderHeartbeat(
            instance=self.instance[:64],
            at=self.clock(),
            every=self.every,
            last_message_at=self.last_message_at,
            processed=self.processed,
            waiting=self._inbox.qsize(),
        )
        link.publish(self.topics.recorder_heartbeat, heartbeat.to_json(), qos=1, retain=True)
