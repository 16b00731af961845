"""What the district's cameras publish, when: the simulation's schedule and its messages, in the contract's form.

Per camera, as its camera service does (monitor.services.camera): its availability `online` and status `online`
(retained, at the start), its statistics every `stats_every` seconds (QoS 0, the service's sign of life), and for
each window it watches the window's state (retained, QoS 1) at the start and at every change. Changes come at
random, on average every `state_every` seconds a window (exponential gaps: people leave and return at no fixed
time). Incidents (signed with the site's camera key, QoS 1): `incidents` of them, spread evenly at random over the
run — a working day's in a few minutes — each on a window of the district drawn at random, no window twice (a
camera names an incident by its window and start to the second: two at once would be one): two in three an empty post
(空岗: new when it has lasted 15 minutes, an update, its end), one in three a late arrival (迟到: one event). An
empty post's three events follow each other `gap` seconds apart (at most a quarter of the run): minutes of the day
compressed into seconds.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass, field
from typing import Literal

from monitor.contract import SCHEMA_VERSION, Topics, WindowState
from monitor.core.calendar import WorkCalendar
from monitor.core.incident import EMPTY_POST, LATE_ARRIVAL
from monitor.core.presence import IncidentChange, incident_id, whole_minutes
from monitor.errors import InputError
from monitor.tools.bench.district.sites import SimDistrict

Kind = Literal["state", "stats", "incident", "status", "availability"]
RECORDED: frozenset[Kind] = frozenset({"state", "incident"})
"""The kinds the recorder commits to the store (statistics, status and availability it only hears)."""
EMPTY_AFTER = dt.timedelta(minutes=15)
"""An empty post is established (its `new` event) when it has lasted this long: the seed hall's empty_post_after."""


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message as a camera service publishes it."""

    site: str
    kind: Kind
    topic: str
    payload: bytes
    qos: int
    retain: bool
    state: WindowState | None = None
    """The window's state (kind "state"): what the board shows once it has it."""


@dataclass(frozen=True, slots=True)
class Incident:
    site: str
    camera: str
    window: str
    kind: str
    offset: float
    """Seconds into the run of its first event."""


@dataclass(frozen=True, slots=True)
class Planned:
    """One message due `at` seconds into the run."""

    at: float
    kind: Kind
    site: str
    camera: str
    window: str = ""
    incident: Incident | None = None
    seq: int = 0


@dataclass
class Cameras:
    """The district's camera services: the messages of the start, the run's schedule, and each message built at the
    moment it is published (its times on the simulated clock)."""

    district: SimDistrict
    state_every: float
    stats_every: float
    incidents: int
    gap: float
    seed: int = 2020
    _states: dict[tuple[str, str], str] = field(default_factory=dict)
    _frames: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        config = self.district.config
        self._calendar = WorkCalendar(config.calendar, config.duty, config.hall.tz)
        self._topics = {site.id: Topics(site.prefix) for site in self.district.sites}
        self._watcher = {
            (site.id, window): camera
            for site in self.district.sites
            for camera, windows in site.cameras.items()
            for window in windows
        }

    # -- the start --------------------------------------------------------------------------------------------------

    def start(self, now: dt.datetime) -> list[Outgoing]:
        """Every camera's availability and status, every window's first state (present), one statistics each."""
        out: list[Outgoing] = []
        for site in self.district.sites:
            topics = self._topics[site.id]
            for camera, windows in site.cameras.items():
                component = topics.availability(Topics.camera_component(camera))
                out.append(Outgoing(site.id, "availability", component, b"online", 1, True))
                out.append(Outgoing(site.id, "status", topics.camera_status(camera), b"online", 1, True))
                out += [self._state(site.id, camera, window, "present", now) for window in windows]
                out.append(self._stats(site.id, camera, now))
        return out

    # -- the run ------------------------------------------------------------------------------------------------------

    def plan(self, seconds: float) -> list[Planned]:
        """The run's messages in time order."""
        rng = random.Random(self.seed)
        planned: list[Planned] = []
        windows = sorted(self._watcher)
        for (site, window), camera in sorted(self._watcher.items()):
            at = rng.expovariate(1 / self.state_every)
            while at < seconds:
                planned.append(Planned(at, "state", site, camera, window))
                at += rng.expovariate(1 / self.state_every)
        for site in self.district.sites:
            for camera in site.cameras:
                at = rng.uniform(0, self.stats_every)  # each camera's own phase
                while at < seconds:
                    planned.append(Planned(at, "stats", site.id, camera))
                    at += self.stats_every
        gap = min(self.gap, seconds / 4)  # a short run keeps an empty post's three events inside it
        if self.incidents > len(windows):
            raise InputError(f"bench-district: {self.incidents} incidents for {len(windows)} windows: at most one each")
        for site, window in rng.sample(windows, self.incidents):  # two at one window could share an id
            kind = EMPTY_POST if rng.random() < 2 / 3 else LATE_ARRIVAL
            events = 3 if kind == EMPTY_POST else 1
            offset = rng.uniform(0, seconds - (events - 1) * gap)
            incident = Incident(site, self._watcher[(site, window)], window, kind, offset)
            planned += [
                Planned(offset + seq * gap, "incident", site, incident.camera, window, incident, seq)
                for seq in range(events)
            ]
        planned.sort(key=lambda p: p.at)
        return planned

    def message(self, planned: Planned, now: dt.datetime, run_start: dt.datetime) -> Outgoing:
        """The planned message as published at `now` (simulated); `run_start`: the simulated start of the run."""
        if planned.kind == "stats":
            return self._stats(planned.site, planned.camera, now)
        if planned.kind == "state":
            state = "absent" if self._states.get((planned.site, planned.window)) == "present" else "present"
            return self._state(planned.site, planned.camera, planned.window, state, now)
        assert planned.incident is not None
        return self._incident(planned, now, run_start)

    # -- the messages -------------------------------------------------------------------------------------------------

    def _state(self, site: str, camera: str, window: str, state: str, now: dt.datetime) -> Outgoing:
        self._states[(site, window)] = state
        payload = WindowState(window=window, state=state, since=now, camera=camera)  # type: ignore[arg-type]
        topic = self._topics[site].window_state(window)
        return Outgoing(site, "state", topic, payload.to_json(), 1, True, payload)

    def _stats(self, site: str, camera: str, now: dt.datetime) -> Outgoing:
        frames = self._frames[camera] = self._frames.get(camera, 0) + round(self.stats_every)
        document = {
            "schema": SCHEMA_VERSION,
            "camera": camera,
            "at": now.isoformat(),
            "frames": frames,
            "detections": frames // 8,
            "inference_ms": 24.0,
            "dropped_frames": 0,
            "last_frame": now.isoformat(),
        }
        topic = self._topics[site].camera_stats(camera)
        return Outgoing(site, "stats", topic, json.dumps(document).encode(), 0, False)

    def _incident(self, planned: Planned, now: dt.datetime, run_start: dt.datetime) -> Outgoing:
        """An event of an incident, its times from its planned moments (so every event names the same incident)."""
        incident, seq = planned.incident, planned.seq
        assert incident is not None
        first = run_start + dt.timedelta(seconds=incident.offset)
        if incident.kind == LATE_ARRIVAL:
            arrived = first - dt.timedelta(seconds=30)  # confirmed present after arrive_after
            session = self._calendar.session_at(arrived)
            assert session is not None  # the run lies inside the morning session (sites.SIM_START, SIM_END)
            change = IncidentChange(
                id=incident_id(incident.camera, incident.window, LATE_ARRIVAL, arrived),
                event="new",
                seq=0,
                kind=LATE_ARRIVAL,
                window=incident.window,
                started_at=arrived,
                ended_at=arrived,
                minutes=whole_minutes(arrived - session.start),
            )
        else:
            began = first - EMPTY_AFTER
            at = run_start + dt.timedelta(seconds=planned.at)
            change = IncidentChange(
                id=incident_id(incident.camera, incident.window, EMPTY_POST, began),
                event=("new", "update", "end")[seq],  # type: ignore[arg-type]
                seq=seq,
                kind=EMPTY_POST,
                window=incident.window,
                started_at=began,
                ended_at=at if seq == 2 else None,
                minutes=whole_minutes(at - began),
            )
        key = self.district.site(incident.site).key
        event = key.sign(change.to_event(f"camera:{incident.camera}", sent_at=now))
        return Outgoing(incident.site, "incident", self._topics[incident.site].incidents, event.to_json(), 1, False)
