"""The district's boards: one live view of each site on the district broker, watched for the moment each window's
new state shows on it.

The live view is the console's (`monitor.console.live.LiveHall`), which the caller hands in as a factory: the tools
sit below the console and do not import it. A watcher thread per board wakes on each change of the view
(`wait_change`) and notes the wall time at which each (window, state, since) first appears in it (`windows`).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterable
from typing import Protocol

from monitor.config import MonitorConfig
from monitor.core.board import WindowReport

SeenKey = tuple[str, str, str, dt.datetime]
"""(site, window, state, since): one state of one window, as a board shows it."""


class Board(Protocol):
    """What the watch needs of a live view of one site (LiveHall)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def wait_change(self, seen: int, timeout: float) -> int: ...

    def windows(self) -> dict[str, WindowReport]: ...


BoardFactory = Callable[[MonitorConfig], Board]


class BoardWatch:
    """Every site's board, and when each window state was first seen on it."""

    def __init__(self, factory: BoardFactory, sites: dict[str, MonitorConfig]) -> None:
        self._boards = {site: factory(view) for site, view in sites.items()}
        self._seen: dict[SeenKey, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for site, board in self._boards.items():
            board.start()
            thread = threading.Thread(target=self._watch, args=(site, board), name=f"board-{site}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _watch(self, site: str, board: Board) -> None:
        version = -1
        while not self._stop.is_set():
            version = board.wait_change(version, 0.5)
            now = time.time()
            shown = board.windows()
            with self._lock:
                for window, report in shown.items():
                    self._seen.setdefault((site, window, report.state, report.since), now)

    def seen(self) -> dict[SeenKey, float]:
        with self._lock:
            return dict(self._seen)

    def wait_seen(self, keys: Iterable[SeenKey], timeout: float) -> int:
        """Wait until every state of `keys` has been seen (or `timeout`); how many of them are missing."""
        wanted = set(keys)
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                missing = len(wanted - self._seen.keys())
            if not missing or time.monotonic() > deadline:
                return missing
            time.sleep(0.1)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        for board in self._boards.values():
            board.stop()
