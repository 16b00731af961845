"""`monitor bench-recorder`: how fast the recorder drains a backlog of signed incidents.

The scenario is the recorder's worst ordinary day: it was down (an upgrade, a database restart)
while the hall kept publishing, and on its return the broker hands it everything at once. So:

1. a Mosquitto of the benchmark's own on a free port, configured to keep the whole backlog for an
   absent persistent session (`max_queued_messages`, as deploy/mosquitto/monitor.conf does);
2. a fresh database: a SQLite file in the work folder, or a PostgreSQL schema of its own (created
   and dropped here) when a PostgreSQL URL is given;
3. the seed hall (monitor/halls/hedong.toml) on that broker and database, with a benchmark
   supervisor as its only signer;
4. the recorder started once, so that its durable subscription exists, and stopped;
5. N patrol incidents, each admissible (a window of the hall, late_arrival or empty_post, a time
   inside a duty session of a working day of one month), given a unique id and signed, published
   at QoS 1 while the recorder is down: they queue in the broker;
6. the recorder started again, measured while it drains them: the wall time at which each message
   was handled (`Recorder(on_handled=...)`), CPU seconds of this process (getrusage: the recorder's
   threads; the broker and a PostgreSQL server are other processes);
7. the result verified: exactly N incidents and N events recorded, an alert row per incident and
   channel, N messages handled, none rejected and no dead letters. A mismatch fails the benchmark
   (BenchFailed): it is an error, not a figure. Messages the recorder reports as duplicates (each
   incident is sent once, so a duplicate is a batch applied again after a partial commit) are
   counted and shown, not failed: the records are right, the receipts said "duplicate".
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import random
import resource
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from importlib.metadata import version
from importlib.resources import as_file, files
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, func, select

from monitor.adapters.mqtt.broker import MosquittoBroker, free_port
from monitor.adapters.mqtt.session import MqttSession
from monitor.adapters.store.database import create_db_engine, open_database
from monitor.adapters.store.tables import AlertRow, DeadLetterRow, IncidentEventRow, IncidentRow
from monitor.config import MonitorConfig, SignerConfig, load_config
from monitor.contract import IncidentEvent, Topics
from monitor.core.calendar import WorkCalendar
from monitor.core.incident import LATE_ARRIVAL
from monitor.core.signature import SigningKey
from monitor.errors import InputError, MonitorError
from monitor.services.patrol import patrol_incident
from monitor.services.recorder import Handled, Recorder
from monitor.tools.bench.machine import basics

SUPERVISOR = "基准巡查员"
"""The benchmark's supervisor: the hall's only signer during the run."""
KINDS = (LATE_ARRIVAL, "empty_post")
STALL = 600.0
"""Seconds without a single message handled before the benchmark gives up on the recorder (it may back off for
30 s at a time while the database is locked, and a batch is handled only once all of it is applied)."""
MOSQUITTO_PATHS = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")
"""Where Debian and a source build put the binary when it is not on PATH."""
START_WAIT = 30.0
"""Seconds the recorder may take to confirm its subscriptions."""

Progress = Callable[[str, int, int], None]
"""on_progress(stage, done, total): stage is "sign", "publish" or "drain"."""


class BenchFailed(MonitorError):
    """The benchmark could not run, or the recorder did not record what it was sent."""


@dataclass(frozen=True, slots=True)
class RecorderBenchSpec:
    incidents: int = 20_000
    database: str | None = None
    """A SQLAlchemy URL (sqlite:///new-file or postgresql+psycopg://...); None: a SQLite file in the work folder."""
    block: int = 1_000
    """Incidents per block of the sustained-rate figures."""
    month: str = "2020-11"
    """The month the incidents fall in (working days and duty sessions of the seed hall)."""
    seed: int = 2020

    def __post_init__(self) -> None:
        if self.incidents < 1:
            raise InputError(f"--incidents {self.incidents}: at least 1")
        if self.block < 1:
            raise InputError(f"--block {self.block}: at least 1")
        try:
            dt.datetime.strptime(self.month, "%Y-%m")
        except ValueError:
            raise InputError(f"month {self.month!r}: use YYYY-MM") from None
        if self.database is not None:
            check_database(self.database)


@dataclass(frozen=True, slots=True)
class Block:
    """One block of consecutive handled messages: its sustained rate."""

    index: int
    """1 for the first block."""
    first: int
    """Ordinal (1-based) of its first message in the order they were handled."""
    last: int
    seconds: float
    """Wall seconds from the end of the previous block (the recorder's start, for the first) to its last message."""
    rate: float
    """Incidents per second."""


@dataclass(frozen=True, slots=True)
class Verified:
    """What the database holds after the drain, and what became of the messages."""

    incidents: int
    events: int
    alerts: int
    expected_alerts: int
    dead_letters: int
    statuses: dict[str, int]
    """Handled.status -> messages: all "recorded" when the run is right."""

    @property
    def rejected(self) -> int:
        return self.statuses.get("rejected", 0)

    @property
    def duplicates(self) -> int:
        """Messages reported as duplicates. Each incident is sent once, so these are batches applied again
        after a failure whose first attempt had committed part of them (see docs/benchmarks.md)."""
        return self.statuses.get("duplicate", 0)


@dataclass(frozen=True, slots=True)
class RecorderBenchReport:
    incidents: int
    block: int
    month: str
    database: str
    """Backend and version, e.g. "sqlite 3.40.1" or "postgresql 15.20"."""
    windows: int
    sign_seconds: float
    publish_seconds: float
    first_commit_seconds: float
    """From the recorder's start to its first batch committed (lease, connection, subscriptions, one batch)."""
    drain_seconds: float
    """From the recorder's start to the last message handled."""
    cpu_seconds: float
    """CPU (user + system) of this process during the drain: every recorder thread."""
    batches: int
    """Batches the recorder applied (one transaction each, as the recorder intends it)."""
    largest_batch: int
    blocks: tuple[Block, ...]
    verified: Verified
    machine: dict[str, str] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        """Incidents per second over the whole drain."""
        return self.incidents / max(self.drain_seconds, 1e-9)

    @property
    def first_block(self) -> Block:
        return self.blocks[0]

    @property
    def last_block(self) -> Block:
        return self.blocks[-1]

    @property
    def slowest_block(self) -> Block:
        return min(self.blocks, key=lambda b: b.rate)

    @property
    def median_rate(self) -> float:
        return statistics.median(b.rate for b in self.blocks)

    @property
    def cpu_ms_per_incident(self) -> float:
        return 1000 * self.cpu_seconds / self.incidents

    @property
    def cores_busy(self) -> float:
        """CPU seconds over wall seconds of the drain: how many cores the recorder kept busy."""
        return self.cpu_seconds / max(self.drain_seconds, 1e-9)

    def to_json(self) -> str:
        figures = {
            "rate": round(self.rate, 1),
            "first_block_rate": round(self.first_block.rate, 1),
            "median_block_rate": round(self.median_rate, 1),
            "last_block_rate": round(self.last_block.rate, 1),
            "slowest_block": asdict(self.slowest_block),
            "cpu_ms_per_incident": round(self.cpu_ms_per_incident, 3),
            "cores_busy": round(self.cores_busy, 2),
            "rejected": self.verified.rejected,
            "duplicates": self.verified.duplicates,
        }
        return json.dumps({**asdict(self), **figures}, ensure_ascii=False, indent=2)


def message_times(start: float, batches: Sequence[tuple[float, int]]) -> list[float]:
    """When each message was made durable. The recorder commits a batch at once, so the messages of a batch
    are placed evenly between the previous batch's commit (`start` for the first) and their own: they were
    applied one after another in that span. Without this, a block boundary inside a batch would put the whole
    batch's time on one side of it."""
    times: list[float] = []
    previous = start
    for committed, size in batches:
        times.extend(previous + (committed - previous) * (k + 1) / size for k in range(size))
        previous = committed
    return times


def blocks_of(start: float, times: Sequence[float], size: int) -> tuple[Block, ...]:
    """Blocks of `size` consecutive messages (the last one may be shorter), each timed from the previous
    block's last message (`start` for the first)."""
    out = []
    previous = start
    for index, first in enumerate(range(0, len(times), size), start=1):
        chunk = times[first : first + size]
        seconds = chunk[-1] - previous
        out.append(Block(index, first + 1, first + len(chunk), seconds, len(chunk) / max(seconds, 1e-9)))
        previous = chunk[-1]
    return tuple(out)


# --- the pieces: broker, database, hall, incidents ---


def mosquitto_binary() -> str:
    binary = shutil.which("mosquitto") or next((p for p in MOSQUITTO_PATHS if Path(p).exists()), None)
    if binary is None:
        raise BenchFailed(
            "bench-recorder needs Mosquitto (apt-get install mosquitto): it measures the recorder draining a backlog "
            "the broker kept for it, which the embedded amqtt broker does not keep"
        )
    return binary


def mosquitto_version(binary: str) -> str:
    try:
        done = subprocess.run([binary, "-h"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    line = next((line for line in done.stdout.splitlines() if "version" in line), "")
    return line.split("version", 1)[1].strip() if line else "unknown"


def check_database(url: str) -> str:
    """The backend of a database URL the benchmark can use (a new SQLite file, or PostgreSQL); InputError if not."""
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError and ValueError for bad URLs
        raise InputError(f"--database {url!r}: not a SQLAlchemy URL ({exc})") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise InputError("--database: an in-memory SQLite database is one per connection; name a file")
        if Path(parsed.database).exists():
            raise InputError(f"--database {url}: the file exists; the benchmark needs a new, empty database")
    elif backend != "postgresql":
        raise InputError(f"--database {url}: SQLite or PostgreSQL (postgresql+psycopg://user@host:port/db)")
    return backend


@contextlib.contextmanager
def bench_database(url: str | None, workdir: Path) -> Iterator[str]:
    """A fresh, empty database's URL: a new SQLite file, or a PostgreSQL schema of its own (dropped afterwards)."""
    if url is None:
        yield f"sqlite:///{workdir / 'bench.db'}"
        return
    if check_database(url) == "sqlite":
        yield url
        return
    parsed = make_url(url)
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_db_engine(url)
    try:
        with admin.begin() as connection:
            connection.execute(text(f"CREATE SCHEMA {schema}"))
    except Exception as exc:
        admin.dispose()
        raise BenchFailed(f"cannot create a schema in {parsed.render_as_string(hide_password=True)}: {exc}") from None
    separator = "&" if "?" in url else "?"
    try:
        yield f"{url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def database_version(engine: Engine) -> str:
    backend = engine.dialect.name
    with engine.connect() as connection:
        if backend == "sqlite":
            found = connection.execute(text("select sqlite_version()")).scalar()
        elif backend == "postgresql":
            found = connection.execute(text("show server_version")).scalar()
        else:
            found = ".".join(str(v) for v in engine.dialect.server_version_info or ())
    return f"{backend} {found}"


def bench_hall(db_url: str, broker_port: int, workdir: Path, key: SigningKey) -> MonitorConfig:
    """The seed hall on the benchmark's database and broker, with its supervisor as the only signer."""
    with as_file(files("monitor") / "halls" / "hedong.toml") as path:
        config = load_config(path)
    tag = uuid.uuid4().hex[:8]
    return config.model_copy(
        update={
            "database": config.database.model_copy(update={"url": db_url}),
            "mqtt": config.mqtt.model_copy(
                update={
                    "url": f"mqtt://127.0.0.1:{broker_port}",
                    "topic_prefix": f"bench/{tag}",
                    "client_id": f"bench-{tag}",
                }
            ),
            "paths": config.paths.model_copy(update={"data_dir": str(workdir)}),
            "notices": config.notices.model_copy(update={"output_dir": str(workdir / "out")}),
            "signers": [SignerConfig(name=key.name, role="supervisor", public_key=key.public_text())],
        }
    )


def bench_incidents(config: MonitorConfig, count: int, month: str, seed: int) -> Iterator[IncidentEvent]:
    """`count` admissible patrol incidents (unsigned): windows in turn, a random duty session of a working day
    of `month` each, late arrivals (1-60 minutes) and empty posts (5-60 minutes, ended inside the session)."""
    calendar = WorkCalendar(config.calendar, config.duty, config.hall.tz)
    first = dt.datetime.strptime(month, "%Y-%m").date()
    days = [first + dt.timedelta(days=n) for n in range(31) if (first + dt.timedelta(days=n)).month == first.month]
    sessions = [s for day in days if calendar.is_working_day(day) for s in calendar.sessions_on(day)]
    if not sessions:
        raise InputError(f"{month} has no duty session in the seed hall's calendar")
    windows = [w.id for w in config.window_list]
    rng = random.Random(seed)
    for n in range(count):
        session = rng.choice(sessions)
        kind = KINDS[n % len(KINDS)]
        length = int((session.end - session.start).total_seconds() // 60)
        if kind == LATE_ARRIVAL:
            minutes = rng.randint(1, 60)
            at = session.start + dt.timedelta(minutes=minutes)
        else:
            minutes = rng.randint(5, 60)
            at = session.start + dt.timedelta(minutes=rng.randrange(0, length - minutes) + minutes)  # seen: the end
        event = patrol_incident(
            window=windows[n % len(windows)],
            kind=kind,
            seen_at=at,
            minutes=minutes,
            note="基准测试 bench",
            by=SUPERVISOR,
        )
        yield event.model_copy(update={"id": f"bench-{n + 1:07d}"})


# --- the run ---


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _publish(config: MonitorConfig, payloads: list[bytes], on_progress: Progress | None) -> None:
    """Publish at QoS 1; return once the broker has acknowledged every message."""
    session = MqttSession(config.mqtt, f"bench-publisher-{uuid.uuid4().hex[:8]}", max_inflight=100)
    session.open()
    topic = Topics(config.mqtt.topic_prefix).incidents
    try:
        publications = [session.publish(topic, payload, qos=1) for payload in payloads]
        for done, publication in enumerate(publications, start=1):
            if not publication.wait(STALL):
                raise BenchFailed(f"the broker did not acknowledge incident {done} of {len(payloads)} in {STALL:.0f}s")
            if on_progress and (done % 200 == 0 or done == len(publications)):
                on_progress("publish", done, len(publications))
    finally:
        session.close()


def _drain(
    config: MonitorConfig, engine: Engine, count: int, on_progress: Progress | None
) -> tuple[float, list[tuple[float, int]], Counter[str], float]:
    """Start the recorder over the backlog; (its start, its batches' commit times and sizes, what became of
    the messages, CPU seconds until the last one was handled)."""
    statuses: Counter[str] = Counter()
    lock = threading.Lock()
    done = threading.Event()

    def handled(_topic: str, result: Handled) -> None:
        with lock:
            statuses[result.status] += 1
            if statuses.total() >= count:
                done.set()

    batches: list[tuple[float, int]] = []  # when each batch committed, and its size
    recorder = Recorder(
        config, engine, on_handled=handled, on_batch=lambda size: batches.append((time.perf_counter(), size))
    )
    cpu, start = _cpu(), time.perf_counter()
    try:
        if not recorder.start(wait=START_WAIT):
            raise BenchFailed(f"the recorder did not confirm its subscriptions within {START_WAIT:.0f}s")
        seen, last_progress = 0, time.perf_counter()
        while not done.wait(0.25):
            with lock:
                now = statuses.total()
            if now != seen:
                seen, last_progress = now, time.perf_counter()
            elif time.perf_counter() - last_progress > STALL:
                raise BenchFailed(
                    f"the recorder handled {now} of {count} incidents and then nothing for {STALL:.0f}s "
                    f"(statuses so far: {dict(statuses)}): the broker dropped part of the backlog, or the recorder "
                    "is stuck (its log says why)"
                )
            if on_progress:
                on_progress("drain", now, count)
        cpu = _cpu() - cpu
        if on_progress:
            on_progress("drain", count, count)
    finally:
        recorder.stop()
    with lock:
        return start, list(batches), Counter(statuses), cpu


def _verify(config: MonitorConfig, engine: Engine, count: int, statuses: Counter[str]) -> Verified:
    with Session(engine) as session:
        rows = {
            table: int(session.exec(select(func.count()).select_from(table)).one())
            for table in (IncidentRow, IncidentEventRow, AlertRow, DeadLetterRow)
        }
    verified = Verified(
        incidents=rows[IncidentRow],
        events=rows[IncidentEventRow],
        alerts=rows[AlertRow],
        expected_alerts=count * (1 + len(config.alerts.webhooks)),
        dead_letters=rows[DeadLetterRow],
        statuses=dict(statuses),
    )
    wrong = []
    if verified.rejected or sum(verified.statuses.values()) != count:
        wrong.append(f"{sum(verified.statuses.values())} messages handled: {verified.statuses}")
    if verified.incidents != count or verified.events != count:
        wrong.append(f"{verified.incidents} incidents and {verified.events} events recorded instead of {count}")
    if verified.alerts != verified.expected_alerts:
        wrong.append(f"{verified.alerts} alert rows instead of {verified.expected_alerts}")
    if verified.dead_letters:
        wrong.append(f"{verified.dead_letters} dead letters")
    if wrong:
        raise BenchFailed("the recorder did not record what it was sent: " + "; ".join(wrong))
    return verified


def machine(database: str, mosquitto: str) -> dict[str, str]:
    return {
        **basics(),
        "database": database,
        "mosquitto": mosquitto,
        "sqlalchemy": version("sqlalchemy"),
        "paho-mqtt": version("paho-mqtt"),
    }


def run_recorder_bench(
    spec: RecorderBenchSpec, workdir: Path | None = None, *, on_progress: Progress | None = None
) -> RecorderBenchReport:
    """Run the benchmark (see the module's docstring) in `workdir` (default: a temporary folder)."""
    binary = mosquitto_binary()
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="monitor-bench-recorder-")))
        workdir.mkdir(parents=True, exist_ok=True)
        db_url = stack.enter_context(bench_database(spec.database, workdir))
        broker = MosquittoBroker(
            free_port(), workdir / "mosquitto", max_queued_messages=max(200_000, 2 * spec.incidents)
        )
        broker.start()
        stack.callback(broker.stop)
        engine = open_database(db_url)
        stack.callback(engine.dispose)
        key = SigningKey.generate(SUPERVISOR)
        config = bench_hall(db_url, broker.port, workdir, key)

        # The recorder's durable subscription, so that the broker keeps what is published while it is down.
        first = Recorder(config, engine)
        try:
            if not first.start(wait=START_WAIT):
                raise BenchFailed(f"the recorder did not confirm its subscriptions within {START_WAIT:.0f}s")
        finally:
            first.stop()

        began = time.perf_counter()
        payloads = []
        for n, event in enumerate(bench_incidents(config, spec.incidents, spec.month, spec.seed), start=1):
            payloads.append(key.sign(event).to_json())
            if on_progress and (n % 500 == 0 or n == spec.incidents):
                on_progress("sign", n, spec.incidents)
        signed = time.perf_counter()
        _publish(config, payloads, on_progress)
        published = time.perf_counter()

        start, batches, statuses, cpu = _drain(config, engine, spec.incidents, on_progress)
        times = message_times(start, batches)
        verified = _verify(config, engine, spec.incidents, statuses)
        database = database_version(engine)
    return RecorderBenchReport(
        incidents=spec.incidents,
        block=spec.block,
        month=spec.month,
        database=database,
        windows=len(config.window_list),
        sign_seconds=signed - began,
        publish_seconds=published - signed,
        first_commit_seconds=batches[0][0] - start,
        drain_seconds=batches[-1][0] - start,
        cpu_seconds=cpu,
        batches=len(batches),
        largest_batch=max(size for _, size in batches),
        blocks=blocks_of(start, times, spec.block),
        verified=verified,
        machine=machine(database, mosquitto_version(binary)),
    )
