"""The district's recorder: one process, one `Recorder` per site on one engine, as `monitor recorder` runs a district
— here in a child process of its own, so that its CPU time and memory are its own, with each message's commit timed.

The recorders run on the simulated clock (the run's morning: their freshness and duty-hour checks see the times the
cameras stamp). Each recorder's batch writer is wrapped (`TimedWriter`) to note, after its batch committed, the wall
time of each message it applied, by the message's digest: the publisher notes the same digest when it publishes,
so the lag of every message is one subtraction, across the two processes (the same wall clock).

The parent drives it through a pipe: `wait_committed` (until that many distinct messages are committed),
`measure` (CPU and wall time count from here; it says the CPU so far, so two calls measure a span), `finish` (wait
for the last messages, stop, report).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import multiprocessing
import resource
import threading
import time
from collections import Counter
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from monitor.adapters.store.database import open_database
from monitor.config import MonitorConfig
from monitor.errors import MonitorError
from monitor.services.recorder import Handled, Recorder
from monitor.services.recorder.batches import BatchWriter

START_WAIT = 30.0
"""Seconds each recorder may take to confirm its subscriptions."""


class RecorderFailed(MonitorError):
    """The recorder process failed, or did not start."""


def digest(payload: bytes) -> bytes:
    """The key a message is known by in both processes."""
    return hashlib.blake2b(payload, digest_size=12).digest()


@dataclass(frozen=True, slots=True)
class RecorderRun:
    """What the recorder process did, from `measure` to the end of `finish`."""

    committed: dict[bytes, float]
    """Message digest -> wall time (time.time()) its batch committed; the first commit of a message delivered twice."""
    statuses: dict[str, int]
    """Handled.status -> messages (every message handled, the start's included)."""
    batches: int
    cpu_seconds: float
    """User + system CPU of the process (every recorder's threads) from `measure` until the last message committed."""
    wall_seconds: float
    """The same span's wall time."""
    peak_memory_mb: float
    """The process's peak resident memory (ru_maxrss), start included."""
    memory_mb: float
    """Its resident memory at the end, every recorder still running."""
    threads: int


class TimedWriter:
    """A recorder's batch writer that notes when each message it applied was committed."""

    def __init__(self, writer: BatchWriter, committed: dict[bytes, float], lock: threading.Lock) -> None:
        self._writer, self._committed, self._lock = writer, committed, lock

    def apply(self, messages: list[tuple[str, bytes]]) -> list[Handled] | None:
        results = self._writer.apply(messages)
        if results is not None:  # committed (None: stopping, nothing committed)
            now = time.time()
            with self._lock:
                for _, payload in messages:
                    self._committed.setdefault(digest(payload), now)
        return results

    def __getattr__(self, name: str) -> Any:
        return getattr(self._writer, name)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _resident_mb() -> float:
    statm = Path("/proc/self/statm")
    if not statm.exists():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return int(statm.read_text().split()[1]) * resource.getpagesize() / 1024**2


def _serve(config_json: str, start: str, t0: float, pipe: Connection) -> None:
    """The child: start the recorders, then answer the parent's commands until `finish`."""
    try:
        logging.basicConfig(level=logging.WARNING, format="recorder process: %(levelname)s %(name)s: %(message)s")
        logging.getLogger("monitor").setLevel(logging.WARNING)  # not a line per message
        config = MonitorConfig.model_validate_json(config_json)
        began = dt.datetime.fromisoformat(start)

        def clock() -> dt.datetime:
            return began + dt.timedelta(seconds=time.time() - t0)

        committed: dict[bytes, float] = {}
        statuses: Counter[str] = Counter()
        batches = [0]
        lock = threading.Lock()

        def handled(_topic: str, result: Handled) -> None:
            with lock:
                statuses[str(result.status)] += 1

        def batch(_size: int) -> None:
            with lock:
                batches[0] += 1

        engine = open_database(config.database.url)
        recorders = [
            Recorder(view, engine, clock=clock, on_handled=handled, on_batch=batch)
            for view in config.site_views.values()
        ]
        for recorder in recorders:
            recorder.intake.writer = TimedWriter(recorder.intake.writer, committed, lock)  # type: ignore[assignment]
        try:
            for recorder in recorders:
                if not recorder.start(wait=START_WAIT):
                    raise RecorderFailed(f"the recorder of site {recorder.config.site} was not subscribed in time")
            pipe.send(("ready", len(recorders)))
            cpu = wall = 0.0
            while True:
                command, count, timeout = pipe.recv()
                if command == "measure":
                    with lock:
                        batches[0] = 0
                    cpu, wall = _cpu(), time.perf_counter()
                    pipe.send(("measuring", cpu))
                    continue
                deadline = time.monotonic() + timeout
                while time.monotonic() < deadline:
                    with lock:
                        if len(committed) >= count:
                            break
                    time.sleep(0.05)
                if command == "wait":
                    with lock:
                        pipe.send(("committed", len(committed)))
                    continue
                with lock:
                    run = RecorderRun(
                        committed=dict(committed),
                        statuses=dict(statuses),
                        batches=batches[0],
                        cpu_seconds=_cpu() - cpu,
                        wall_seconds=time.perf_counter() - wall,
                        peak_memory_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                        memory_mb=_resident_mb(),
                        threads=threading.active_count(),
                    )
                pipe.send(("finished", run))
                return
        finally:
            logging.getLogger("monitor").setLevel(logging.ERROR)  # each link says it disconnected: that is the stop
            for recorder in recorders:
                recorder.stop()
            engine.dispose()
    except BaseException as exc:  # the parent reports it; a child's traceback would be lost
        pipe.send(("failed", f"{type(exc).__name__}: {exc}"))
    finally:
        pipe.close()


class RecorderProcess:
    """The recorder process, driven from the parent."""

    def __init__(self, config: MonitorConfig, start: dt.datetime, t0: float) -> None:
        context = multiprocessing.get_context("spawn")
        self._pipe, child_end = context.Pipe()
        self._process = context.Process(
            target=_serve, args=(config.model_dump_json(), start.isoformat(), t0, child_end), name="district-recorder"
        )
        self._process.start()
        child_end.close()
        self.sites = self._answer("ready", 120.0)

    def _answer(self, expected: str, timeout: float) -> Any:
        if not self._pipe.poll(timeout):
            raise RecorderFailed(f"the recorder process did not answer within {timeout:.0f}s")
        try:
            kind, value = self._pipe.recv()
        except EOFError:
            raise RecorderFailed(f"the recorder process ended (exit status {self._process.exitcode})") from None
        if kind == "failed":
            raise RecorderFailed(f"the recorder process failed: {value}")
        if kind != expected:
            raise RecorderFailed(f"the recorder process answered {kind}, not {expected}")
        return value

    def wait_committed(self, count: int, timeout: float) -> int:
        """Wait until `count` distinct messages are committed (or `timeout`); how many are."""
        self._pipe.send(("wait", count, timeout))
        return int(self._answer("committed", timeout + 30))

    def measure(self) -> float:
        """From now on the CPU, wall time and batches count (again); the process's CPU seconds so far."""
        self._pipe.send(("measure", 0, 0.0))
        return float(self._answer("measuring", 30.0))

    def finish(self, count: int, timeout: float) -> RecorderRun:
        """Wait for `count` distinct messages committed (or `timeout`), stop the recorders, and report."""
        self._pipe.send(("finish", count, timeout))
        run: RecorderRun = self._answer("finished", timeout + 60)
        self._process.join(timeout=30)
        return run

    def close(self) -> None:
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(timeout=10)
        self._pipe.close()
