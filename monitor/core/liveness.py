"""Whether each camera's service answers (pure, time a parameter): what the recorder hears from it, the judgement
it draws, and the window states that judgement writes into the history.

A camera's windows are only as good as its service's word. A service that dies (killed, its machine gone) or
hangs (alive on MQTT, publishing nothing) cannot mark its windows `unknown` itself, and its last state would
otherwise count for ever: as staffed on the board, and in the on-duty rate. The recorder hears every camera's
traffic, so it judges:

- `gone`: the service's availability is `offline` (its last will fired, or it stopped);
- `silent`: nothing from the service — status, statistics, its windows' states — for the camera's
  `offline_after` (counted from when the recorder began to listen, for a service it has not heard yet);
- `dark`: the service answers but its status says the camera is offline (no video; the service has marked its
  windows `unknown` itself);
- `live` otherwise. A camera that was `silent` or `gone` is `live` again only once its service vouches for a time
  again (statistics with a newer last frame, a window's state) after the outage began, and after `settle`, so that
  what the service sent in the same breath (its windows' states) has been heard first.

Retained messages say what a topic holds, not that anyone is speaking: they set the availability and status
but are never "heard".

`LivenessWatch.due` says which judgements are not yet in the books; the recorder writes each (`unknown_marks`,
`revival_marks`, an outage, an alert) and then calls `applied`. A change that could not be written is due again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from monitor.contract import Liveness, PresenceState

DOWN: frozenset[Liveness] = frozenset({"silent", "gone"})
"""Judgements under which the camera's windows are marked `unknown` by the recorder (its service cannot)."""
REVIVAL_SETTLE = dt.timedelta(seconds=1)
"""How long a camera must be heard live again before it is taken for revived (its burst of states comes first)."""


@dataclass
class Heard:
    """What the recorder has heard of one camera's service."""

    offline_after: dt.timedelta
    watched_from: dt.datetime
    """When the recorder began to listen: a service not heard since counts as silent from here."""
    heard_at: dt.datetime | None = None
    """When its last message arrived (the recorder's clock); retained messages do not count."""
    vouched: dt.datetime | None = None
    """The latest time it vouched for, on the camera's clock: its last frame, a window's `since`."""
    vouched_at: dt.datetime | None = None
    """When a message last vouched for a time (the recorder's clock)."""
    connected: bool | None = None
    """Its availability: False once it is `offline` (last will, or a clean stop); None before any word."""
    status_online: bool | None = None
    """Its status: False while it says the camera is offline; None before any word."""

    def judge(self, now: dt.datetime, down: Liveness, since: dt.datetime | None) -> Liveness:
        """The judgement at `now`, the camera's applied one being `down`, silent or gone `since` (wall clock)."""
        if self.connected is False:
            return "gone"
        last = self.watched_from if self.heard_at is None else max(self.heard_at, self.watched_from)
        if now - last > self.offline_after:
            return "silent"
        if self.status_online is False:
            return "dark"
        if down in DOWN and not (self.vouched_at is not None and (since is None or self.vouched_at > since)):
            return down  # speaking, but it has vouched for nothing since it fell silent
        return "live"


@dataclass(frozen=True, slots=True)
class Change:
    """A judgement not yet in the books."""

    camera: str
    state: Liveness
    previous: Liveness
    down_since: dt.datetime | None
    """When the camera applied was taken for silent or gone (None when it is not): only what it says after that
    revives it."""
    heard_at: dt.datetime | None
    vouched: dt.datetime | None


@dataclass
class _Applied:
    state: Liveness = "live"
    began: dt.datetime | None = None
    """When the outage began (any reason)."""
    down_since: dt.datetime | None = None
    """When it became silent or gone (it may have been dark before)."""


class LivenessWatch:
    """The cameras of one hall as one recorder hears them (not thread-safe: the caller holds a lock)."""

    def __init__(
        self, cameras: Mapping[str, dt.timedelta], now: dt.datetime, settle: dt.timedelta = REVIVAL_SETTLE
    ) -> None:
        """`cameras`: each camera's `offline_after`; `now`: when the recorder begins to listen."""
        self._heard = {camera: Heard(offline_after, now) for camera, offline_after in cameras.items()}
        self._applied = {camera: _Applied() for camera in cameras}
        self._reviving: dict[str, dt.datetime] = {}
        self._settle = settle

    def listen(self, now: dt.datetime) -> None:
        """The recorder listens again from `now` (it was cut off from the broker): silence counts from here."""
        for heard in self._heard.values():
            heard.watched_from = max(heard.watched_from, now)

    @property
    def cameras(self) -> list[str]:
        return list(self._heard)

    def heard_of(self, camera: str) -> Heard:
        return self._heard[camera]

    def state(self, camera: str) -> Liveness:
        """The judgement in the books."""
        return self._applied[camera].state

    def began(self, camera: str) -> dt.datetime | None:
        """When the camera's outage began (None while it is live)."""
        return self._applied[camera].began

    def forget_outages(self) -> None:
        """The books are read again (`restore` follows for each outage they hold open): none is taken for applied."""
        self._applied = {camera: _Applied() for camera in self._heard}
        self._reviving.clear()

    def restore(
        self,
        camera: str,
        state: Liveness,
        began: dt.datetime,
        heard_at: dt.datetime | None,
        vouched: dt.datetime | None,
    ) -> None:
        """An outage the books hold open from before this recorder listened (a restart, a failover), with when the
        camera was last heard and what it last vouched for then."""
        heard = self._heard.get(camera)
        if heard is None:
            return
        self._applied[camera] = _Applied(state, began, began if state in DOWN else None)
        heard.heard_at = heard_at if heard.heard_at is None or heard_at is None else max(heard.heard_at, heard_at)
        if vouched is not None and (heard.vouched is None or vouched > heard.vouched):
            heard.vouched = vouched

    # -- what is heard ------------------------------------------------------------------------------------------

    def heard(self, camera: str, at: dt.datetime, vouched: dt.datetime | None = None) -> None:
        """A message of the camera's service arrived at `at`; `vouched`: the camera time it vouches for."""
        heard = self._heard.get(camera)
        if heard is None:
            return
        heard.heard_at = at if heard.heard_at is None else max(heard.heard_at, at)
        if vouched is not None:
            heard.vouched = vouched if heard.vouched is None else max(heard.vouched, vouched)
            heard.vouched_at = at

    def statistics(self, camera: str, at: dt.datetime, last_frame: dt.datetime | None) -> None:
        """Its statistics arrived: it is heard, and it vouches for its last frame when that is newer."""
        heard = self._heard.get(camera)
        if heard is None:
            return
        newer = last_frame is not None and (heard.vouched is None or last_frame > heard.vouched)
        self.heard(camera, at, last_frame if newer else None)

    def availability(self, camera: str, online: bool, at: dt.datetime, *, retained: bool) -> None:
        """Its availability: `offline` is its last will (or a clean stop), which says nothing was heard."""
        heard = self._heard.get(camera)
        if heard is None:
            return
        heard.connected = online
        if online and not retained:
            self.heard(camera, at)

    def status(self, camera: str, online: bool, at: dt.datetime, *, retained: bool) -> None:
        heard = self._heard.get(camera)
        if heard is None:
            return
        heard.status_online = online
        if not retained:
            self.heard(camera, at)

    # -- judging --------------------------------------------------------------------------------------------------

    def due(self, now: dt.datetime) -> list[Change]:
        """The judgements at `now` that differ from those in the books (a revival once it has settled)."""
        changes: list[Change] = []
        for camera, heard in self._heard.items():
            applied = self._applied[camera]
            state = heard.judge(now, applied.state, applied.down_since)
            if state == applied.state:
                self._reviving.pop(camera, None)
                continue
            if state == "live" and applied.state in DOWN:
                first = self._reviving.setdefault(camera, now)
                if now - first < self._settle:
                    continue
            else:
                self._reviving.pop(camera, None)
            changes.append(Change(camera, state, applied.state, applied.down_since, heard.heard_at, heard.vouched))
        return changes

    def applied(self, change: Change, now: dt.datetime) -> None:
        """`change` is in the books: an outage begins at `now`, goes on (another reason), or is over."""
        self._reviving.pop(change.camera, None)
        applied = self._applied[change.camera]
        if change.state == "live":
            self._applied[change.camera] = _Applied()
            return
        if applied.state == "live":
            applied.began = now
        if change.state in DOWN and applied.state not in DOWN:
            applied.down_since = now
        elif change.state not in DOWN:
            applied.down_since = None
        applied.state = change.state


# -- the history ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reported:
    """A window's state as its camera's service last published it, and when the recorder heard it (None for the
    retained state handed over on subscribing: said before anything this recorder saw)."""

    state: PresenceState
    since: dt.datetime
    noted_at: dt.datetime | None


def unknown_marks(
    windows: Iterable[str], vouched: dt.datetime | None, latest: Mapping[str, dt.datetime]
) -> dict[str, dt.datetime]:
    """The `unknown` state each window gets when its camera's service falls silent or goes: since the last time
    the camera vouched for, never before the window's latest stored change (the history stays in order; without a
    vouched time that latest change no longer counts). A window with neither gets none: nothing was observed."""
    marks: dict[str, dt.datetime] = {}
    for window in windows:
        known = [t for t in (vouched, latest.get(window)) if t is not None]
        if known:
            marks[window] = max(known)
    return marks


def revival_marks(
    windows: Iterable[str],
    reported: Mapping[str, Reported],
    began: dt.datetime | None,
    vouched: dt.datetime | None,
    latest: Mapping[str, dt.datetime],
) -> dict[str, tuple[PresenceState, dt.datetime]]:
    """What each window's history gets when its camera's service is heard again after an outage begun at `began`:
    its last reported state again, since the time the service now vouches for — so that the time counts as
    observed again. Not for a window the service has spoken of since the outage began (that state is recorded as
    it came), nor when the vouched time is not after the window's latest stored change (it would rewrite it)."""
    marks: dict[str, tuple[PresenceState, dt.datetime]] = {}
    if vouched is None:
        return marks
    for window in windows:
        last = reported.get(window)
        if last is None:
            continue
        if last.noted_at is not None and (began is None or last.noted_at > began):
            continue
        stored = latest.get(window)
        if stored is not None and vouched <= stored:
            continue
        marks[window] = (last.state, vouched)
    return marks
