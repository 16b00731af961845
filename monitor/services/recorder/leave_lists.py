"""The approved leave the camera services act on: each window's leave not yet ended, published retained on
<prefix>/windows/<id>/leaves after a grant, a withdrawal or a change is committed and whenever the recorder takes
the session anew. Each leave as it now stands, after any withdrawal or change.

A leave that ended lately (ENDED_LATELY) stays in the list: a camera's frames run a little behind the recorder's
clock, so a leave withdrawn (ended) at 09:02 may reach a camera whose last frame is 09:01:59. Were it left out, the
camera would judge the window from 09:01:59, and an empty post starting there, inside the leave as recorded, would be
refused — a violation lost. With it, the camera judges the window from 09:02, where the leave ended."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Collection

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from monitor.adapters.store.leaves import leaves_ahead
from monitor.contract import MAX_LEAVES, MAX_PAYLOAD, ApprovedLeave, Topics, WindowLeaves
from monitor.services.recorder.link import RecorderLink

log = logging.getLogger(__name__)

ENDED_LATELY = dt.timedelta(minutes=10)
"""Leave that ended this long before the recorder's clock is still listed: far more than a camera's frames lag
behind it (a camera without a frame for `offline_after`, 30 s by default, is offline)."""


class LeaveLists:
    """Publishes the windows' leave lists through the recorder's link."""

    def __init__(
        self,
        engine: Engine,
        topics: Topics,
        clock: Callable[[], dt.datetime],
        link: Callable[[], RecorderLink | None],
    ) -> None:
        self.engine = engine
        self.topics = topics
        self.clock = clock
        self._link = link
        self.due = threading.Event()
        """Every window's list is owed (a new session, or a list that could not be published)."""
        self._lock = threading.Lock()  # one list read and published at a time: never a stale one last

    def publish_due(self) -> None:
        if self.due.is_set():
            self.due.clear()
            self.publish_safely()

    def publish_safely(self, windows: Collection[str] | None = None) -> None:
        try:
            self.publish(windows)
        except OperationalError as exc:
            self.due.set()
            log.error("approved leave for the cameras: database unavailable (%s); retrying", exc.orig)

    def publish(self, windows: Collection[str] | None = None) -> int:
        """Publish, retained at QoS 1, the approved leave not yet ended (or ended lately) of `windows` (default: of
        every window that has such leave); returns how many lists went out. A window with none gets an empty list."""
        with self._lock:
            link = self._link()
            if link is None:
                return 0  # the next holder of the session publishes them
            now = self.clock()
            with Session(self.engine) as session:
                ahead = leaves_ahead(session, now - ENDED_LATELY, windows)
            listed = sorted(ahead.keys() | set(windows or ()))
            for window in listed:
                rows = ahead.get(window, [])
                if len(rows) > MAX_LEAVES:
                    log.warning("window %s: %d leaves to come, cameras get the first %d", window, len(rows), MAX_LEAVES)
                leaves = [
                    ApprovedLeave(id=r.id, start=r.start, end=r.end, kind=r.kind, reason=r.reason)
                    for r in rows[:MAX_LEAVES]
                ]
                payload = WindowLeaves(window=window, leaves=leaves, at=now).to_json()
                while len(payload) > MAX_PAYLOAD:  # the cameras read no more: the latest leave waits for its turn
                    leaves.pop()
                    payload = WindowLeaves(window=window, leaves=leaves, at=now).to_json()
                link.publish(self.topics.window_leaves(window), payload, qos=1, retain=True)
            if listed:
                log.info("approved leave published for the cameras: %s", ", ".join(listed))
            return len(listed)
