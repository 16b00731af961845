"""Failover: a lease in the database makes one recorder the holder of the durable MQTT session and any other a
standby that takes over when the lease runs out (or at once, when its holder died on this machine).

The keeper renews every third of the lease; it calls `hold` when the lease becomes its own and `let_go` when
it is lost (taken, or lapsed while the database was unreachable), so two recorders never hold the session.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from monitor.adapters.store import lease
from monitor.config import MonitorConfig
from monitor.contract import now_utc

log = logging.getLogger(__name__)


def new_instance() -> str:
    """host|pid|tag: who holds the lease, and whether that process still runs (`dead_here`)."""
    return f"{socket.gethostname()}|{os.getpid()}|{uuid.uuid4().hex[:8]}"


def dead_here(holder: str) -> bool:
    """Whether `holder` was a process on this machine that no longer runs (a recorder killed and restarted
    takes its own lease back at once instead of waiting for it to expire)."""
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


class LeaseKeeper:
    """Keeps (or waits for) the lease named `session_name` for `instance`."""

    def __init__(
        self,
        config: MonitorConfig,
        engine: Engine,
        session_name: str,
        instance: str,
        *,
        hold: Callable[[bool], None],
        renewed: Callable[[], None],
        let_go: Callable[[], None],
        stop: threading.Event,
    ) -> None:
        self.engine = engine
        self.name = session_name
        self.instance = instance
        self.ttl = config.recorder.lease
        self._hold = hold
        self._renewed_hook = renewed
        self._let_go = let_go
        self._stop = stop
        self.holding = False
        self._renewed = 0.0

    def run(self) -> None:
        every = self.ttl.total_seconds() / 3
        told_standby = False
        while not self._stop.is_set():
            try:
                row = lease.acquire(self.engine, self.name, self.instance, now_utc(), self.ttl)
            except OperationalError as exc:
                log.error("recorder lease: database unavailable (%s)", exc.orig)
                if self.holding and time.monotonic() - self._renewed > self.ttl.total_seconds():
                    log.error("recorder lease lapsed: letting the MQTT session go")
                    self._release()
                self._stop.wait(every)
                continue
            if row.holder != self.instance and dead_here(row.holder):
                log.warning("recorder %s died without giving the lease back: taking it over", row.holder)
                if lease.take_over(self.engine, self.name, row.holder, self.instance, now_utc(), self.ttl):
                    continue
            if row.holder == self.instance:
                self._renewed = time.monotonic()
                if not self.holding:
                    self.holding = True
                    told_standby = False
                    self._hold(row.session_since is not None)
                self._renewed_hook()
            else:
                if self.holding:
                    log.error("recorder lease taken by %s: letting the MQTT session go", row.holder)
                    self._release()
                if not told_standby:
                    log.warning("standby: recorder %s holds the session until %s", row.holder, row.expires_at)
                    told_standby = True
            self._stop.wait(every)

    def _release(self) -> None:
        self.holding = False
        self._let_go()

    def note_session(self) -> None:
        """The broker confirmed the subscriptions: the durable session exists from now on."""
        lease.note_session(self.engine, self.name, now_utc())

    def give_back(self) -> None:
        """On a clean stop: a standby takes over at once."""
        if self.holding:
            self.holding = False
            lease.release(self.engine, self.name, self.instance, now_utc())
