"""The recorder service: the lease, the link, the intake and the alert courier wired together, and watched.

Every thread it runs is supervised: one that ends for any reason but a stop — an exception nothing
foresaw, a network thread ended by a fault — ends the process at once with a non-zero status (`on_fatal`).
systemd restarts it and meanwhile the lease passes to the standby: never a live process that records
nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sys
import threading
from collections.abc import Callable

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from monitor.adapters.mqtt.session import Received
from monitor.adapters.store.evidence import purge_evidence
from monitor.adapters.store.sites import for_site
from monitor.config import MonitorConfig
from monitor.contract import Topics, now_utc
from monitor.core.calendar import WorkCalendar
from monitor.services.recorder.batches import BatchWriter
from monitor.services.recorder.delivery import AlertCourier
from monitor.services.recorder.handlers import Handled
from monitor.services.recorder.intake import Intake
from monitor.services.recorder.lease import LeaseKeeper, new_instance
from monitor.services.recorder.leave_lists import LeaveLists
from monitor.services.recorder.link import RecorderLink, session_name
from monitor.services.recorder.liveness import CameraWatch

log = logging.getLogger(__name__)

FATAL_EXIT = 70
"""The process's status when a recorder thread dies (EX_SOFTWARE): systemd restarts it."""
WATCH_EVERY = 0.5
"""Seconds between the supervisor's looks at the threads."""


def exit_process(reason: str) -> None:
    """The default end of a recorder whose thread died: say so, then leave at once (no clean-up that could
    hang; the lease runs out or is taken over by a standby on this machine at once)."""
    log.critical("recorder stopped working: %s; exiting with status %d", reason, FATAL_EXIT)
    logging.shutdown()
    sys.stderr.flush()
    os._exit(FATAL_EXIT)


class Recorder:
    """The single writer: MQTT in, database transactions, acknowledgements, alerts out."""

    def __init__(
        self,
        config: MonitorConfig,
        engine: Engine,
        *,
        clock: Callable[[], dt.datetime] = now_utc,
        on_handled: Callable[[str, Handled], None] | None = None,
        on_batch: Callable[[int], None] | None = None,
        on_fatal: Callable[[str], None] = exit_process,
    ) -> None:
        """`on_handled(topic, handled)` after each message is answered; `on_batch(size)` when a batch has
        committed (the benchmark times them)."""
        self.config = config
        self.engine = engine = for_site(engine, config.site)  # the site's records only (adapters.store.sites)
        self.clock = clock
        self.topics = Topics(config.mqtt.topic_prefix)
        self.instance = new_instance()
        self.session_name = session_name(config)
        self.ready = threading.Event()
        """Set once the broker has confirmed the recorder's subscriptions (what it publishes is kept)."""
        self.collision = threading.Event()
        """Set when another connection uses the recorder's client id."""
        self._on_fatal = on_fatal
        self._fatal = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._link: RecorderLink | None = None
        calendar = WorkCalendar(config.calendar, config.duty, config.hall.tz)
        self.writer = BatchWriter(config, engine, calendar, clock, self._stop)
        self.leave_lists = LeaveLists(engine, self.topics, clock, self.link)
        self.courier = AlertCourier(config, engine, self.instance, clock, self.link)
        self.cameras = CameraWatch(config, engine, calendar, clock, self.link)
        self.intake = Intake(
            config,
            self.writer,
            self.leave_lists,
            self.instance,
            clock,
            self.link,
            self._stop,
            on_handled,
            on_batch,
            on_tick=self.cameras.check,
        )
        self.lease = LeaseKeeper(
            config,
            engine,
            self.session_name,
            self.instance,
            hold=self._hold,
            renewed=self._renewed,
            let_go=self._let_go,
            stop=self._stop,
        )

    def link(self) -> RecorderLink | None:
        """The link while this recorder holds the session."""
        return self._link

    # --- lifecycle ---

    def start(self, *, wait: float = 15.0) -> bool:
        """Start: take the lease (or wait as a standby), then hold the durable session.

        Waits up to `wait` seconds for the broker to confirm the subscriptions (`ready`), so that what is
        published afterwards is kept for the recorder; returns whether it did. A standby, or a broker
        still unreachable, returns False and keeps trying in the background."""
        for target, name in (
            (self.lease.run, "recorder-lease"),
            (self.intake.run, "recorder-inbox"),
            (self._deliver_loop, "recorder-alerts"),
            (self._watch_loop, "recorder-watch"),
        ):
            thread = threading.Thread(target=self._supervised, args=(target, name), name=name, daemon=True)
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
            if thread is not threading.current_thread():
                thread.join(timeout=10)
        self._let_go()
        self.lease.give_back()

    def fatal(self, reason: str) -> None:
        """Something stopped the recorder's work: end (once), as `on_fatal` does."""
        if self._stop.is_set() or self._fatal.is_set():
            return
        self._fatal.set()
        log.critical("recorder: %s", reason)
        self._on_fatal(reason)

    def _supervised(self, target: Callable[[], None], name: str) -> None:
        try:
            target()
        except BaseException as exc:
            log.critical("recorder thread %s died", name, exc_info=exc)
            self.fatal(f"thread {name} died: {type(exc).__name__}: {exc}")
            return
        if not self._stop.is_set():
            self.fatal(f"thread {name} ended")

    def _watch_loop(self) -> None:
        """The network threads run as long as the link does: one ended by a fault ends the recorder."""
        while not self._stop.wait(WATCH_EVERY):
            link = self._link
            if link is not None and link.opened and not link.alive:
                self.fatal("the MQTT network thread ended")
                return

    def _fault(self, where: str, exc: BaseException) -> None:
        log.critical("MQTT callback %s failed", where, exc_info=exc)
        self.fatal(f"MQTT {where}: {type(exc).__name__}: {exc}")

    # --- the session, held while the lease is ours ---

    def _hold(self, expected_session: bool) -> None:
        self.courier.take_over()
        link = RecorderLink(
            self.config,
            self.instance,
            self.session_name,
            expected_session=expected_session,
            clock=self.clock,
            on_message=lambda message: self._received(link, message),
            on_subscribed=self._subscribed,
            on_fault=self._fault,
            collision=self.collision,
        )
        link.alerts.on_published(self.courier.on_published)
        self._link = link  # before the network thread runs: a system alert on connecting goes out through it
        link.open()

    def _received(self, link: RecorderLink, message: Received) -> None:
        """From the network thread: a camera service's status, statistics or availability is only noted, never
        stored (subscribed at QoS 0: nothing to acknowledge, and should a broker send one at QoS 1 it is
        acknowledged at once, or the durable session would hold it for ever); the rest goes to the inbox."""
        if not self.cameras.hear(message):
            self.intake.put(link, message)
        elif message.qos > 0:
            link.session.ack(message)

    def _subscribed(self) -> None:
        self.cameras.listen()
        self.lease.note_session()
        self.leave_lists.due.set()
        self.courier.wake.set()  # the lists go out before anything new is recorded
        self.ready.set()

    def _renewed(self) -> None:
        link = self._link
        if link is not None:
            link.announce_owner()

    def _let_go(self) -> None:
        link, self._link = self._link, None
        self.ready.clear()
        self.courier.forget()
        if link is not None:
            link.close()

    # --- what goes out after the commit ---

    def deliver_due_alerts(self) -> int:
        """One round of alert delivery now, waiting briefly for the broker (the demo and tests)."""
        return self.courier.deliver_due_alerts()

    def apply(self, messages: list[tuple[str, bytes]]) -> list[Handled] | None:
        """Apply messages and commit, without MQTT (tests and tools): BatchWriter.apply."""
        return self.writer.apply(messages)

    def purge_expired_evidence(self) -> int:
        with Session(self.engine) as session:
            purged = purge_evidence(session, self.clock() - self.config.evidence.retention)
            session.commit()
        if purged:
            log.info("deleted %d evidence snapshot(s) past the retention period", purged)
        return purged

    def _deliver_loop(self) -> None:
        """Alert delivery while due alerts remain, settled as soon as the broker acknowledges; the leave lists
        when owed; the evidence purge every `purge_every`."""
        next_purge = self.clock()
        while not self._stop.is_set():
            self.courier.wake.wait(1.0)
            self.courier.wake.clear()
            if self._stop.is_set() or self._link is None:
                continue
            self.leave_lists.publish_due()
            try:
                while self.courier.deliver_due_alerts(wait=0) and not self._stop.is_set():
                    pass
                if self.clock() >= next_purge:
                    self.purge_expired_evidence()
                    next_purge = self.clock() + self.config.evidence.purge_every
            except OperationalError as exc:
                log.error("alert delivery: database unavailable (%s)", exc.orig)
