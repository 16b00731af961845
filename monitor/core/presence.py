"""The presence machine (pure): seat readings + duty calendar -> window states and incidents.

No I/O and no clock: time comes in with each observation, so a live worker and a replay of the
same video produce the same states, incidents and incident ids.

How a window is judged (docs/video.md says the same for supervisors):

- Smoothing and hysteresis. A reading is one sampled frame's verdict for one seat (occupied or
  not, or None = unknown: camera offline). The machine keeps the known readings of the last few
  seconds. The seat becomes *present* when, over the last `arrive_after`, at least `confirm_ratio`
  of the readings show a person (and the newest one does); it becomes *absent* when, over the last
  `leave_after`, at least `confirm_ratio` of the readings show an empty seat. The span must be
  fully observed. Between the two the state holds, so a missed detection of a seated person or a
  citizen passing the counter changes nothing. A confirmed change is dated back to the first
  reading of the new state in the span (of a run of two or more, so a lone flicker does not date it).
- Unknown. A None reading makes the seat *unknown* at once and forgets the readings before it; a
  known state needs a freshly observed span again. Unknown time is never absence: an open empty
  post ends when the camera goes dark, and absence counts again from when it is observed anew.
- Duty. Outside the sessions (上午/下午 from the calendar) a window is *off_duty*; inside a session
  but on approved leave it is *leave*. A duty period is a session minus the window's approved leave;
  a period that starts when a leave ends is judged like a session start.
- Leave at run time. `set_leaves` replaces a window's leave (the same list again changes nothing);
  the next observation or tick moves from the current duty period to the new ones. Time already
  judged stays as judged, except that leave now covering part of the current period ends the period
  where the leave begins: an open empty post ends there (never before its own start), and no
  incident starts inside the leave.
- Incidents, one per absence at most:
  * ``late_arrival``: the first confirmed presence of a period comes after start + `late_grace`
    (minutes late counted from the period start), provided the machine saw the window continuously
    from the period start until the arrival (a worker started mid-session, or a camera dark for a
    while, cannot know when someone came).
  * ``empty_post``: the window is absent for `empty_post_after` of observed duty time. It starts
    when the seat became empty, or at the period start for a period nobody has staffed yet, then
    `new` when the threshold is crossed, `update` every `update_every`, `end` on return, at the
    period end, or when the camera goes dark. Overlap rule: an arrival after start +
    `empty_post_after` is an empty post from the period start, not also a late arrival. The `new`
    is sent `arrive_after` after the threshold is crossed: an arrival confirmed later is dated
    within its confirmation span, so it can never turn out to precede the threshold.
  * ``early_leave``: at the end of a session the window is absent since before end −
    `early_leave_grace`, after having been staffed in that period. An absence that already became
    an empty post stays an empty post (ended at the session end) and is not also an early leave.
- Ids are derived from camera, window, kind and start, so a restart or a replay gives the same id.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
from collections import deque
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from monitor.config.presence import PresenceConfig
from monitor.contract import IncidentEvent, Lifecycle, PresenceState, WindowState
from monitor.core.calendar import DutySession
from monitor.core.evidence import PictureKind
from monitor.core.incident import EARLY_LEAVE, EMPTY_POST, LATE_ARRIVAL

Physical = Literal["present", "absent", "unknown"]

NOTE_CAMERA_DARK = "摄像头离线，空岗只计至离线时刻"


@dataclass(frozen=True, slots=True)
class Observation:
    """One seat reading: occupied or not, None when unknown (camera offline, no frame)."""

    window: str
    at: dt.datetime
    occupied: bool | None


@dataclass(frozen=True, slots=True)
class Leave:
    """Approved leave (请假, 公出) of a window's staff: no duty in [start, end)."""

    window: str
    start: dt.datetime
    end: dt.datetime


@dataclass(frozen=True, slots=True)
class DutyPeriod:
    """A stretch of duty: a session, or the part of one not covered by leave."""

    session: str
    start: dt.datetime
    end: dt.datetime
    closes_session: bool


@dataclass(frozen=True, slots=True)
class StateChange:
    window: str
    state: PresenceState
    since: dt.datetime

    def to_payload(self, camera: str) -> WindowState:
        return WindowState(window=self.window, state=self.state, since=self.since, camera=camera)


ShotFrame = Literal["current", "last_seen", "run_start", "period_start"]
"""Which frame a picture is of: the frame being read; the window's last frame with the seat occupied; the first
frame of the window's current run of equal readings (an arrival or a return, as it was dated); the window's first
frame of its current duty period (the seat at the session start)."""


@dataclass(frozen=True, slots=True)
class Shot:
    """An evidence picture the camera should send: what it shows, and of which frame (the worker names it after
    both, monitor.core.evidence)."""

    kind: PictureKind
    frame: ShotFrame


@dataclass(frozen=True, slots=True)
class IncidentChange:
    """One lifecycle event of an incident, before the worker attaches evidence and a send time."""

    id: str
    event: Lifecycle
    seq: int
    kind: str
    window: str
    started_at: dt.datetime
    ended_at: dt.datetime | None
    minutes: int
    shots: tuple[Shot, ...] = ()
    note: str = ""

    def to_event(
        self, source: str, *, evidence: Sequence[str] = (), sent_at: dt.datetime | None = None
    ) -> IncidentEvent:
        return IncidentEvent(
            id=self.id,
            event=self.event,
            seq=self.seq,
            kind=self.kind,
            window=self.window,
            started_at=self.started_at,
            ended_at=self.ended_at,
            minutes=self.minutes,
            source=source,
            note=self.note,
            evidence=list(evidence),
            sent_at=sent_at,
        )


Output = StateChange | IncidentChange


def incident_id(camera: str, window: str, kind: str, started_at: dt.datetime) -> str:
    """Stable id: readable prefix plus a digest of (camera, window, kind, start to the second, UTC)."""
    start = started_at.astimezone(dt.UTC).replace(microsecond=0)
    digest = hashlib.sha256(f"{camera}|{window}|{kind}|{start.isoformat()}".encode()).hexdigest()[:10]
    safe_window = re.sub(r"[^A-Za-z0-9_-]", "_", window)[:16]
    return f"{kind}-{safe_window}-{start:%Y%m%dT%H%M%SZ}-{digest}"


def whole_minutes(span: dt.timedelta) -> int:
    return max(0, math.floor(span.total_seconds() / 60))


def own_leaves(window: str, leaves: Iterable[Leave]) -> tuple[Leave, ...]:
    """The window's leaves, in time order, each once."""
    own = {leave for leave in leaves if leave.window == window}
    return tuple(sorted(own, key=lambda leave: (leave.start, leave.end)))


def duty_periods(sessions: Iterable[DutySession], leaves: Iterable[Leave]) -> list[DutyPeriod]:
    """The sessions of a day minus the leave intervals (of one window), in time order."""
    spans = sorted((leave.start, leave.end) for leave in leaves if leave.end > leave.start)
    periods: list[DutyPeriod] = []
    for session in sorted(sessions, key=lambda s: s.start):
        pieces = [(session.start, session.end)]
        for leave_start, leave_end in spans:
            cut: list[tuple[dt.datetime, dt.datetime]] = []
            for start, end in pieces:
                if leave_end <= start or leave_start >= end:
                    cut.append((start, end))
                    continue
                if leave_start > start:
                    cut.append((start, leave_start))
                if leave_end < end:
                    cut.append((leave_end, end))
            pieces = cut
        periods.extend(
            DutyPeriod(session=session.name, start=start, end=end, closes_session=end == session.end)
            for start, end in pieces
        )
    return periods


@dataclass
class _Open:
    """The open empty post of a window."""

    id: str
    started_at: dt.datetime
    seq: int
    last_sent: dt.datetime


@dataclass
class WindowMachine:
    """The presence of one window: feed it readings and time in order; it returns what changed."""

    camera: str
    window: str
    config: PresenceConfig
    sessions_on: Callable[[dt.date], Sequence[DutySession]]
    tz: dt.tzinfo
    leaves: tuple[Leave, ...] = ()
    """The window's approved leave, in time order (`set_leaves` replaces it)."""

    _cursor: dt.datetime | None = None
    _readings: deque[tuple[dt.datetime, bool]] = field(default_factory=deque)
    _history_start: dt.datetime | None = None
    physical: Physical = "unknown"
    _physical_since: dt.datetime | None = None
    _known_since: dt.datetime | None = None
    _period: DutyPeriod | None = None
    _staffed: bool = False
    _open: _Open | None = None
    _reported: PresenceState | None = None
    _cache: dict[dt.date, tuple[Sequence[DutySession], list[DutyPeriod]]] = field(default_factory=dict)
    _replan: bool = False

    # -- public -------------------------------------------------------------------------------

    def observe(self, at: dt.datetime, occupied: bool | None) -> list[Output]:
        """One reading at `at` (not earlier than the previous one)."""
        out = self._advance(at)
        if occupied is None:
            self._go_unknown(at, out)
        else:
            self._read(at, occupied, out)
        self._report(at, out)
        return out

    def tick(self, at: dt.datetime) -> list[Output]:
        """Time passes without a reading: duty periods may start or end. Nothing is judged on unread time."""
        out = self._advance(at)
        self._report(at, out)
        return out

    @property
    def state(self) -> PresenceState:
        return self._reported or "unknown"

    @property
    def period_start(self) -> dt.datetime | None:
        """When the duty period under way started; None outside duty (the worker keeps the seat's first frame of
        each period for a late arrival's evidence)."""
        return self._period.start if self._period is not None else None

    def set_leaves(self, leaves: Iterable[Leave]) -> None:
        """Replace the window's approved leave (leaves of other windows are ignored; the same list again
        changes nothing). The duty periods of the days the change touches are worked out again, and the
        next observe or tick moves from the current period to the new ones (`_replan_at`)."""
        new = own_leaves(self.window, leaves)
        if new == self.leaves:
            return
        changed = set(new) ^ set(self.leaves)
        self.leaves = new
        self._cache = {
            day: plan
            for day, plan in self._cache.items()
            if not any(
                leave.start.astimezone(self.tz).date() <= day <= leave.end.astimezone(self.tz).date()
                for leave in changed
            )
        }
        self._replan = self._cursor is not None

    # -- time and duty periods ------------------------------------------------------------------

    def _day(self, day: dt.date) -> tuple[Sequence[DutySession], list[DutyPeriod]]:
        """The day's sessions and its duty periods (the sessions less the window's leave)."""
        if day not in self._cache:
            self._cache = {d: p for d, p in self._cache.items() if d >= day - dt.timedelta(days=1)}
            sessions = self.sessions_on(day)
            self._cache[day] = (sessions, duty_periods(sessions, self.leaves))
        return self._cache[day]

    def _days(self, start: dt.datetime, end: dt.datetime) -> Iterable[dt.date]:
        day = start.astimezone(self.tz).date() - dt.timedelta(days=1)
        last = end.astimezone(self.tz).date()
        while day <= last:
            yield day
            day += dt.timedelta(days=1)

    def _periods_between(self, start: dt.datetime, end: dt.datetime) -> list[DutyPeriod]:
        return [p for day in self._days(start, end) for p in self._day(day)[1] if p.end > start and p.start <= end]

    def _sessions_between(self, start: dt.datetime, end: dt.datetime) -> list[DutySession]:
        return [s for day in self._days(start, end) for s in self._day(day)[0] if s.end > start and s.start <= end]

    def _period_at(self, at: dt.datetime) -> DutyPeriod | None:
        return next((p for p in self._periods_between(at, at) if p.start <= at < p.end), None)

    def _advance(self, at: dt.datetime) -> list[Output]:
        if at.tzinfo is None:
            raise ValueError(f"naive time {at}: observations need aware datetimes")
        out: list[Output] = []
        if self._cursor is None:
            self._cursor = at
            self._period = self._period_at(at)
            return out
        if at < self._cursor:
            raise ValueError(f"window {self.window}: time went backwards ({at} < {self._cursor})")
        if self._replan:
            self._replan = False
            self._replan_at(self._cursor, out)
        # At one moment: a period ends (0), a period starts (1), a session starts or ends while on leave (2).
        boundaries: list[tuple[dt.datetime, int, DutyPeriod | None]] = []
        for period in self._periods_between(self._cursor, at):
            if self._cursor < period.end <= at:
                boundaries.append((period.end, 0, period))
            if self._cursor < period.start <= at:
                boundaries.append((period.start, 1, period))
        for session in self._sessions_between(self._cursor, at):
            boundaries += [(moment, 2, None) for moment in (session.start, session.end) if self._cursor < moment <= at]
        for moment, kind, period in sorted(boundaries, key=lambda b: (b[0], b[1])):
            if kind == 0 and self._period is not None and self._period.end == moment:
                self._end_period(self._period, out)
            elif kind == 1 and period is not None:
                self._start_period(period, out)
            elif kind == 2 and self._period is None:
                self._report(moment, out)
        self._cursor = at
        return out

    def _replan_at(self, now: dt.datetime, out: list[Output]) -> None:
        """Move from the current duty period to the periods of the window's new leave, at `now` (the cursor).

        Time already judged is not judged again, with one exception: an open empty post that leave now covers
        in part ends where that leave begins (at its own start if the leave began before it). If `now` is duty,
        the period under way takes its new end (and, when a leave now lies between its start and `now`, the
        start after that leave: an absence counts from there, an arrival not yet made is late from there). If
        `now` is on leave, duty ended where that leave began. If `now` was on leave and is duty again, duty
        starts at `now`."""
        current, period = self._period, self._period_at(now)
        if current is None:
            if period is not None:
                self._start_period(replace(period, start=now), out)
            return
        opened = self._open
        if opened is not None and (period is None or opened.started_at < period.start):
            holder = self._period_at(opened.started_at)
            ended = holder.end if holder is not None else opened.started_at
            self._close(ended, out, shots=(Shot("session_end", "current"),))
        if period is not None:
            self._period = replace(period, start=max(period.start, current.start))
            return
        began = max((p.end for p in self._periods_between(current.start, now) if p.end <= now), default=current.start)
        self._end_period(DutyPeriod(current.session, current.start, began, closes_session=False), out)

    def _start_period(self, period: DutyPeriod, out: list[Output]) -> None:
        self._period = period
        self._staffed = self.physical == "present"
        self._report(period.start, out)

    def _end_period(self, period: DutyPeriod, out: list[Output]) -> None:
        if self._open is not None:
            self._close(period.end, out, shots=(Shot("session_end", "current"),))
        elif (
            period.closes_session
            and self._staffed
            and self.physical == "absent"
            and self._physical_since is not None
            and period.start <= self._physical_since < period.end - self.config.early_leave_grace
        ):
            left = self._physical_since
            out.append(
                IncidentChange(
                    id=incident_id(self.camera, self.window, EARLY_LEAVE, left),
                    event="new",
                    seq=0,
                    kind=EARLY_LEAVE,
                    window=self.window,
                    started_at=left,
                    ended_at=period.end,
                    minutes=whole_minutes(period.end - left),
                    shots=(Shot("last_seen", "last_seen"), Shot("session_end", "current")),
                )
            )
        self._period = None
        self._staffed = False
        self._report(period.end, out)

    # -- readings -------------------------------------------------------------------------------

    def _go_unknown(self, at: dt.datetime, out: list[Output]) -> None:
        if self._open is not None:
            self._close(at, out, note=NOTE_CAMERA_DARK)
        self._readings.clear()
        self._history_start = None
        self._known_since = None
        self._set_physical("unknown", at)

    def _read(self, at: dt.datetime, occupied: bool, out: list[Output]) -> None:
        if self._history_start is None:
            self._history_start = at
        self._readings.append((at, occupied))
        keep = max(self.config.arrive_after, self.config.leave_after)
        while len(self._readings) > 1 and self._readings[0][0] <= at - keep:
            self._readings.popleft()

        if self.physical != "present" and occupied:
            since = self._confirmed(at, True, self.config.arrive_after)
            if since is not None:
                self._arrive(since, out)
        elif self.physical != "absent" and not occupied:
            since = self._confirmed(at, False, self.config.leave_after)
            if since is not None:
                self._set_physical("absent", since)
        if self.physical == "absent" and self._period is not None:
            self._judge_absence(at, out)

    def _confirmed(self, at: dt.datetime, value: bool, span: dt.timedelta) -> dt.datetime | None:
        """When the span up to `at` confirms `value`: the time it is dated back to; else None."""
        assert self._history_start is not None
        if self._history_start > at - span:
            return None
        recent = [(t, v) for t, v in self._readings if t > at - span]
        agreeing = sum(1 for _, v in recent if v == value)
        if agreeing < self.config.confirm_ratio * len(recent):
            return None
        for index, (moment, reading) in enumerate(recent):
            run = index + 1 < len(recent) and recent[index + 1][1] == value
            if reading == value and run:
                return moment
        return next(t for t, v in recent if v == value)

    def _arrive(self, since: dt.datetime, out: list[Output]) -> None:
        self._set_physical("present", since)
        period = self._period
        if period is None:
            return
        if self._open is not None:
            self._close(max(since, self._open.started_at), out, shots=(Shot("return", "run_start"),))
        elif (
            not self._staffed
            and self._known_since is not None
            and self._known_since <= period.start
            and since > period.start + self.config.late_grace
        ):
            out.append(
                IncidentChange(
                    id=incident_id(self.camera, self.window, LATE_ARRIVAL, since),
                    event="new",
                    seq=0,
                    kind=LATE_ARRIVAL,
                    window=self.window,
                    started_at=since,
                    ended_at=since,
                    minutes=whole_minutes(since - period.start),
                    shots=(Shot("session_start", "period_start"), Shot("arrival", "run_start")),
                )
            )
        self._staffed = True

    def _judge_absence(self, at: dt.datetime, out: list[Output]) -> None:
        period = self._period
        assert period is not None and self._physical_since is not None
        if self._open is None:
            start = max(self._physical_since, period.start)
            # Any arrival confirmed from now on is dated after at - arrive_after, so after the threshold.
            if at - start >= self.config.empty_post_after + self.config.arrive_after:
                before = Shot("last_seen", "last_seen") if self._physical_since >= period.start else None
                # Nobody came since the period started: the seat at its start shows it.
                shots = (before or Shot("session_start", "period_start"), Shot("threshold", "current"))
                self._open = _Open(incident_id(self.camera, self.window, EMPTY_POST, start), start, 0, at)
                out.append(self._change("new", at, None, shots))
        elif at - self._open.last_sent >= self.config.update_every:
            self._open.seq += 1
            self._open.last_sent = at
            out.append(self._change("update", at, None, ()))

    def _close(self, ended: dt.datetime, out: list[Output], *, shots: tuple[Shot, ...] = (), note: str = "") -> None:
        assert self._open is not None
        self._open.seq += 1
        out.append(self._change("end", ended, ended, shots, note))
        self._open = None

    def _change(
        self, event: Lifecycle, at: dt.datetime, ended: dt.datetime | None, shots: tuple[Shot, ...], note: str = ""
    ) -> IncidentChange:
        assert self._open is not None
        return IncidentChange(
            id=self._open.id,
            event=event,
            seq=self._open.seq,
            kind=EMPTY_POST,
            window=self.window,
            started_at=self._open.started_at,
            ended_at=ended,
            minutes=whole_minutes(at - self._open.started_at),
            shots=shots,
            note=note,
        )

    def _set_physical(self, physical: Physical, since: dt.datetime) -> None:
        if physical != "unknown" and self.physical == "unknown":
            self._known_since = since
        self.physical = physical
        self._physical_since = since

    def _report(self, at: dt.datetime, out: list[Output]) -> None:
        period = self._period
        state: PresenceState
        if period is not None:
            state = self.physical
        else:  # in a session but in no duty period: on leave
            state = "leave" if any(s.start <= at < s.end for s in self._sessions_between(at, at)) else "off_duty"
        if state == self._reported:
            return
        since = at
        if period is not None and self._physical_since is not None:
            since = max(min(self._physical_since, at), period.start)
        self._reported = state
        out.append(StateChange(self.window, state, since))


class PresenceMachine:
    """The windows of one camera. Observations must come in time order per window."""

    def __init__(
        self,
        camera: str,
        windows: Iterable[str],
        config: PresenceConfig,
        sessions_on: Callable[[dt.date], Sequence[DutySession]],
        tz: dt.tzinfo,
        leaves: Collection[Leave] = (),
    ) -> None:
        self.camera = camera
        self.machines = {
            window: WindowMachine(camera, window, config, sessions_on, tz, own_leaves(window, leaves))
            for window in windows
        }

    def _machine(self, window: str) -> WindowMachine:
        machine = self.machines.get(window)
        if machine is None:
            raise KeyError(f"camera {self.camera} has no window {window}")
        return machine

    def observe(self, observation: Observation) -> list[Output]:
        return self._machine(observation.window).observe(observation.at, observation.occupied)

    def set_leaves(self, window: str, leaves: Iterable[Leave]) -> None:
        """Replace `window`'s approved leave with `leaves` (idempotent); it applies from the next observe or tick
        (WindowMachine.set_leaves)."""
        self._machine(window).set_leaves(leaves)

    def tick(self, at: dt.datetime) -> list[Output]:
        return [change for machine in self.machines.values() for change in machine.tick(at)]

    def states(self) -> dict[str, PresenceState]:
        return {window: machine.state for window, machine in self.machines.items()}
