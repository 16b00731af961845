"""`monitor bench-district`: the run, its checks and its report (the package's docstring says what it models)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import statistics
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from importlib.metadata import version
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from monitor.adapters.mqtt.session import MqttSession
from monitor.adapters.store.database import open_database
from monitor.adapters.store.tables import AlertRow, DeadLetterRow, IncidentEventRow, IncidentRow, WindowStateRow
from monitor.config import MqttConfig
from monitor.errors import InputError
from monitor.tools.bench.district.boards import BoardFactory, BoardWatch, SeenKey
from monitor.tools.bench.district.brokers import DEPLOY, DistrictBrokers
from monitor.tools.bench.district.recorder import RecorderProcess, RecorderRun, digest
from monitor.tools.bench.district.sites import SIM_END, SIM_START, SimDistrict, build_district
from monitor.tools.bench.district.traffic import RECORDED, Cameras, Outgoing, Planned
from monitor.tools.bench.machine import basics
from monitor.tools.bench.recorder import (
    BenchFailed,
    bench_database,
    check_database,
    database_version,
    mosquitto_binary,
    mosquitto_version,
)

DEFAULT_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
"""Where the district's store runs by default: a PostgreSQL, in a schema of the run's own (dropped at the end)."""
SETTLE = 120.0
"""Seconds the recorder and the boards may take, after the last message, to have everything."""

Progress = Callable[[str, float, float], None]
"""on_progress(stage, done, total): "start" (messages committed), "run" (seconds), "drain" (messages committed)."""


@dataclass(frozen=True, slots=True)
class DistrictSpec:
    centres: int = 12
    centre_windows: int = 25
    centre_cameras: int = 10
    hall_windows: int = 93
    hall_cameras: int = 24
    seconds: int = 180
    """Length of the measured run, after the start (every camera's first messages) is committed."""
    state_every: float = 300.0
    """Mean seconds between two state changes of one window."""
    stats_every: float = 10.0
    """Seconds between two statistics of one camera (a third of its offline_after, as the camera service does)."""
    incidents_per_window_day: float = 0.15
    """Camera incidents per window and working day (a few a window a month); a day's worth is spread over the run."""
    gap: float = 5.0
    """Seconds between an empty post's new, update and end events."""
    idle: float = 10.0
    """Seconds of quiet before the run, to measure what the recorders cost with nothing to record (at most a third of
    a camera's offline_after, so that no camera is taken for silent)."""
    database: str = DEFAULT_DATABASE
    deploy: Path = DEPLOY
    """The shipped district broker configuration (deploy/mosquitto/district) the brokers run."""
    seed: int = 2020

    def __post_init__(self) -> None:
        longest = (dt.datetime.combine(dt.date.min, SIM_END) - dt.datetime.combine(dt.date.min, SIM_START)).seconds
        if not 1 <= self.seconds <= longest - 600:
            raise InputError(f"--seconds {self.seconds}: 1 to {longest - 600} (the run plays one morning session)")
        if self.state_every <= 0 or self.stats_every <= 0 or self.gap < 0 or not 0 < self.idle <= 10:
            raise InputError("--state-every and --stats-every must be above 0, the quiet spell 0 to 10 s")
        if not 0 <= self.incidents_per_window_day <= 1:
            raise InputError("--incidents-per-window-day: 0 to 1 (a run has at most one incident a window)")
        check_database(self.database)

    @property
    def windows(self) -> int:
        return self.hall_windows + self.centres * self.centre_windows

    @property
    def incidents(self) -> int:
        return round(self.windows * self.incidents_per_window_day)


@dataclass(frozen=True, slots=True)
class Spread:
    """Seconds: how many, median, 95th percentile and the worst."""

    count: int
    median: float | None
    p95: float | None
    worst: float | None

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        if not values:
            return cls(0, None, None, None)
        p95 = statistics.quantiles(values, n=20, method="inclusive")[18] if len(values) > 1 else values[0]
        return cls(len(values), statistics.median(values), p95, max(values))


@dataclass(frozen=True, slots=True)
class Verified:
    """What the store holds at the end, against what the cameras published (start and run)."""

    incidents: int
    events: int
    window_states: int
    incident_alerts: int
    camera_alerts: int
    dead_letters: int
    incidents_by_site: dict[str, int]


@dataclass(frozen=True, slots=True)
class DistrictReport:
    sites: int
    centres: int
    cameras: int
    windows: int
    seconds: float
    """The run's wall seconds (its planned length, or longer when the publisher fell behind)."""
    state_every: float
    stats_every: float
    incidents: int
    published: dict[str, int]
    """Messages the cameras published in the run, by kind (state, stats, incident)."""
    recorder_lag: dict[str, Spread]
    """Publish at the camera -> committed in the store, seconds: "all", "hall" (direct), "centres" (bridged)."""
    board_delay: dict[str, Spread]
    """Publish at the camera -> shown on the site's board on the district broker, seconds (window states)."""
    superseded: int
    """Window states replaced by the window's next one before the board showed them (not in board_delay)."""
    recorder: RecorderRun
    idle_cores: float
    """The recorder process's CPU over wall time in a quiet spell before the run (nothing published): what its
    threads cost with nothing to do."""
    broker_cpu_seconds: dict[str, float]
    """CPU of the brokers during the run: "district" and "centres" (all together)."""
    verified: Verified
    database: str
    machine: dict[str, str] = field(default_factory=dict)

    @property
    def messages_per_second(self) -> float:
        """What the cameras published, per second of the run (all kinds)."""
        return sum(self.published.values()) / max(self.seconds, 1e-9)

    @property
    def recorded_per_second(self) -> float:
        """What the recorder committed to the store, per second of the run."""
        recorded = sum(n for kind, n in self.published.items() if kind in RECORDED)
        return recorded / max(self.seconds, 1e-9)

    @property
    def recorder_cores(self) -> float:
        return self.recorder.cpu_seconds / max(self.recorder.wall_seconds, 1e-9)

    @property
    def cpu_ms_per_message(self) -> float:
        """The recorder's CPU per message it received in the run (statistics included)."""
        return 1000 * self.recorder.cpu_seconds / max(sum(self.published.values()), 1)

    def to_json(self) -> str:
        document = asdict(self)
        document["recorder"].pop("committed")
        figures = {
            "messages_per_second": round(self.messages_per_second, 2),
            "recorded_per_second": round(self.recorded_per_second, 2),
            "recorder_cores": round(self.recorder_cores, 3),
            "cpu_ms_per_message": round(self.cpu_ms_per_message, 3),
        }
        return json.dumps({**document, **figures}, ensure_ascii=False, indent=2)


class Publisher:
    """The district's camera services: one MQTT connection per site, to its centre's broker (or the district's),
    noting when each message went out."""

    def __init__(self, district: SimDistrict, brokers: DistrictBrokers, tag: str) -> None:
        self._sessions = {
            site.id: MqttSession(
                MqttConfig(url=brokers.url_of(site.id), topic_prefix=site.prefix),
                f"bench-cameras-{site.id}-{tag}",
                max_inflight=200,
            )
            for site in district.sites
        }
        self.at: dict[bytes, float] = {}
        """Message digest -> wall time it was published."""

    def open(self) -> None:
        for session in self._sessions.values():
            session.open()

    def send(self, message: Outgoing) -> None:
        self.at.setdefault(digest(message.payload), time.time())
        self._sessions[message.site].publish(message.topic, message.payload, qos=message.qos, retain=message.retain)

    def close(self) -> None:
        for session in self._sessions.values():
            session.close()


def run_district_bench(
    spec: DistrictSpec, board: BoardFactory, workdir: Path | None = None, *, on_progress: Progress | None = None
) -> DistrictReport:
    """Run the simulation (the package's docstring) in `workdir` (default a temporary folder); `board` makes a
    site's live view (the console's LiveHall)."""
    binary = mosquitto_binary()
    tag = uuid.uuid4().hex[:8]
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="monitor-bench-district-")))
        workdir.mkdir(parents=True, exist_ok=True)
        db_url = stack.enter_context(bench_database(spec.database, workdir))
        engine = open_database(db_url)  # migrated here, once, before the recorder process opens it
        stack.callback(engine.dispose)
        brokers = DistrictBrokers(binary, workdir / "brokers", tag, spec.deploy)
        stack.callback(brokers.stop)
        district = build_district(
            centres=spec.centres,
            centre_windows=spec.centre_windows,
            centre_cameras=spec.centre_cameras,
            hall_windows=spec.hall_windows,
            hall_cameras=spec.hall_cameras,
            db_url=db_url,
            mqtt_url=brokers.district_url,
            tag=tag,
            data_dir=str(workdir / "data"),
        )
        brokers.start((site.id, site.prefix) for site in district.sites if site.bridged)
        t0 = time.time()

        def clock() -> dt.datetime:
            return district.start + dt.timedelta(seconds=time.time() - t0)

        recorder = RecorderProcess(district.config, district.start, t0)
        stack.callback(recorder.close)
        boards = BoardWatch(board, district.config.site_views)
        boards.start()
        stack.callback(boards.stop)
        publisher = Publisher(district, brokers, tag)
        publisher.open()
        stack.callback(publisher.close)
        cameras = Cameras(district, spec.state_every, spec.stats_every, spec.incidents, spec.gap, spec.seed)

        # The start: every camera's first messages, committed and on the boards before the run is measured.
        first = cameras.start(clock())
        for message in first:
            publisher.send(message)
        start_recorded = len({digest(m.payload) for m in first if m.kind in RECORDED})
        if on_progress:
            on_progress("start", 0, start_recorded)
        committed = recorder.wait_committed(start_recorded, SETTLE)
        if committed < start_recorded:
            raise BenchFailed(f"the recorder committed {committed} of the start's {start_recorded} messages")
        boards.wait_seen([_seen_key(m) for m in first if m.state is not None], SETTLE)
        if on_progress:
            on_progress("start", start_recorded, start_recorded)

        # Quiet: the recorders' own cost (heartbeats, liveness checks, leases), then the run, in real time.
        quiet = recorder.measure()
        time.sleep(spec.idle)
        plan = cameras.plan(spec.seconds)
        idle_cpu = recorder.measure() - quiet
        brokers_before = brokers.cpu_seconds()
        sent, seconds = _play(plan, spec.seconds, cameras, publisher, clock, on_progress)

        expected = start_recorded + len({digest(m.payload) for m in sent if m.kind in RECORDED})
        run = recorder.finish(expected, SETTLE)
        if on_progress:
            on_progress("drain", len(run.committed), expected)
        brokers_after = brokers.cpu_seconds()
        states = [m for m in sent if m.state is not None]
        latest = {(m.site, m.state.window): _seen_key(m) for m in states if m.state is not None}
        boards.wait_seen(latest.values(), SETTLE)
        seen = boards.seen()
        verified = _verify(engine, first + sent, run, expected)
        database = database_version(engine)

    bridged = {site.id for site in district.sites if site.bridged}
    lags = _by_path(
        (
            (m.site, run.committed[digest(m.payload)] - publisher.at[digest(m.payload)])
            for m in sent
            if m.kind in RECORDED
        ),
        bridged,
    )
    shown = [(m, seen.get(_seen_key(m))) for m in states]
    delays = _by_path(((m.site, at - publisher.at[digest(m.payload)]) for m, at in shown if at is not None), bridged)
    superseded = sum(1 for _, at in shown if at is None)
    district_cpu, centres_cpu = (after - before for after, before in zip(brokers_after, brokers_before, strict=True))
    return DistrictReport(
        sites=len(district.sites),
        centres=len(bridged),
        cameras=district.cameras,
        windows=district.windows,
        seconds=seconds,
        state_every=spec.state_every,
        stats_every=spec.stats_every,
        incidents=spec.incidents,
        published=dict(Counter(m.kind for m in sent)),
        recorder_lag=lags,
        board_delay=delays,
        superseded=superseded,
        recorder=run,
        idle_cores=idle_cpu / spec.idle,
        broker_cpu_seconds={"district": district_cpu, "centres": centres_cpu},
        verified=verified,
        database=database,
        machine={
            **basics(),
            "database": database,
            "mosquitto": mosquitto_version(binary),
            "sqlalchemy": version("sqlalchemy"),
            "paho-mqtt": version("paho-mqtt"),
        },
    )


def _play(
    plan: list[Planned],
    seconds: int,
    cameras: Cameras,
    publisher: Publisher,
    clock: Callable[[], dt.datetime],
    on_progress: Progress | None,
) -> tuple[list[Outgoing], float]:
    """Publish the plan in real time; what was sent, and the run's wall seconds (longer when it fell behind)."""
    began = time.time()
    run_start = clock()
    sent: list[Outgoing] = []
    for n, planned in enumerate(plan):
        time.sleep(max(0.0, began + planned.at - time.time()))
        message = cameras.message(planned, clock(), run_start)
        publisher.send(message)
        sent.append(message)
        if on_progress and n % 50 == 0:
            on_progress("run", min(time.time() - began, seconds), seconds)
    time.sleep(max(0.0, began + seconds - time.time()))
    if on_progress:
        on_progress("run", seconds, seconds)
    return sent, time.time() - began


def _by_path(values: Iterable[tuple[str, float]], bridged: set[str]) -> dict[str, Spread]:
    """(site, seconds) spread over all sites, the hall's (direct to the district broker), the centres' (bridged)."""
    paths: dict[str, list[float]] = {"all": [], "hall": [], "centres": []}
    for site, value in values:
        paths["all"].append(value)
        paths["centres" if site in bridged else "hall"].append(value)
    return {name: Spread.of(found) for name, found in paths.items()}


def _seen_key(message: Outgoing) -> SeenKey:
    assert message.state is not None
    return (message.site, message.state.window, message.state.state, message.state.since)


def _verify(engine: Engine, messages: list[Outgoing], run: RecorderRun, expected: int) -> Verified:
    """The store against what was published: every incident once at its site, every event, every state, an alert per
    incident, nothing refused. A mismatch fails the run (BenchFailed): it is an error, not a figure."""
    with Session(engine) as session:  # the district's view: every site

        def count(query: object) -> int:
            return int(session.exec(query).one())  # type: ignore[call-overload]

        by_site = {
            str(site): int(n)
            for site, n in session.exec(
                select(IncidentRow.site, func.count()).group_by(col(IncidentRow.site)).order_by(col(IncidentRow.site))
            ).all()
        }
        verified = Verified(
            incidents=sum(by_site.values()),
            events=count(select(func.count()).select_from(IncidentEventRow)),
            window_states=count(
                select(func.count())
                .select_from(WindowStateRow)
                .where(col(WindowStateRow.state).in_(("present", "absent")))
            ),
            incident_alerts=count(
                select(func.count()).select_from(AlertRow).where(col(AlertRow.incident_id).is_not(None))
            ),
            camera_alerts=count(select(func.count()).select_from(AlertRow).where(col(AlertRow.outage_id).is_not(None))),
            dead_letters=count(select(func.count()).select_from(DeadLetterRow)),
            incidents_by_site=by_site,
        )
    events = [(m.site, json.loads(m.payload)) for m in messages if m.kind == "incident"]
    wanted_by_site = Counter(site for site, event in events if event["seq"] == 0)
    wrong = []
    if len(run.committed) < expected:
        wrong.append(f"{len(run.committed)} of {expected} messages committed")
    if run.statuses.get("rejected") or run.statuses.get("conflict") or verified.dead_letters:
        wrong.append(f"refused: {run.statuses}, {verified.dead_letters} dead letters")
    if verified.incidents_by_site != dict(sorted(wanted_by_site.items())):
        wrong.append(f"incidents by site {verified.incidents_by_site}, published {dict(wanted_by_site)}")
    if verified.events != len(events):
        wrong.append(f"{verified.events} incident events recorded of {len(events)}")
    states = sum(1 for m in messages if m.kind == "state")
    if verified.window_states != states:
        wrong.append(f"{verified.window_states} window states recorded of {states}")
    if verified.incident_alerts != verified.incidents:
        wrong.append(f"{verified.incident_alerts} incident alerts for {verified.incidents} incidents")
    if wrong:
        raise BenchFailed("the district's recorder did not record what its cameras sent: " + "; ".join(wrong))
    return verified
