"""Waiting for what matters instead of sleeping: a condition polled until it holds (or a generous
timeout), and a background task whose failure ends the wait at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

DEFAULT_TIMEOUT = 30.0
"""Seconds a test waits for something that should happen at once: generous, for a busy machine."""


def wait_for(
    condition: Callable[[], object],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    what: str = "the condition",
    failure: Sequence[BaseException] = (),
) -> None:
    """Return as soon as `condition()` is true; fail after `timeout` seconds, or at once when a
    background task has put its exception into `failure` (see `in_background`)."""
    deadline = time.monotonic() + timeout
    while True:
        if failure:
            raise AssertionError(f"the background task failed while waiting for {what}") from failure[0]
        if condition():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(0.05)


def in_background(target: Callable[[], None]) -> tuple[threading.Thread, list[BaseException]]:
    """Start `target` in a thread; whatever it raises is kept in the list for the test to report."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            target()
        except BaseException as exc:  # reported by the test
            failure.append(exc)

    thread = threading.Thread(target=run, name="test-background")
    thread.start()
    return thread, failure
