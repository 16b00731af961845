"""The district overview (区域总览): each site as a card, and a month's roll-up that compares the sites.

Pure: the console gathers each site's board, cameras, link and recorder, and its month's on-duty rate, incidents and
score sheets, and these functions say what the overview shows of them. A card is read at a glance from the district
office: how many windows are staffed, empty, unknown or on leave, today's standing incidents, whether the cameras
and the recorder answer, and whether the site is cut off from the district (站点离线, since when: its windows are then
未知, whatever its cameras said last).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from monitor.core.board import SITE_OFFLINE, Board, CameraReport, camera_word, since_text
from monitor.core.duty_rate import Tally
from monitor.core.incident import Incident
from monitor.core.scoring import MonthScores, ScoreRow

CARD_STATES = ("present", "absent", "unknown", "leave")
"""The window counts a card shows, in its order: 在岗, 空岗, 未知, 请假 (非工作时间 is none of these)."""


@dataclass(frozen=True, slots=True)
class SiteCard:
    """One site at a glance."""

    site: str
    name: str
    counts: dict[str, int]
    """CARD_STATES -> number of windows."""
    incidents_today: int
    """Today's incidents that stand (not dismissed)."""
    cameras: int
    cameras_online: int
    """Cameras whose service is heard measuring (在线); the others are offline, silent or not heard of."""
    link: str
    """The site's link to the district: 站点离线 自 09:10 while cut, 在线 while its bridge is up, "" for a site that
    reaches the district's broker without a bridge."""
    offline: bool
    recorder_answers: bool

    @property
    def cameras_offline(self) -> int:
        return self.cameras - self.cameras_online


def site_card(
    site: str,
    name: str,
    board: Board,
    cameras: Mapping[str, CameraReport],
    camera_ids: Sequence[str],
    *,
    link_down: dt.datetime | None,
    bridged: bool,
    recorder_answers: bool,
    now: dt.datetime,
    tz: ZoneInfo,
) -> SiteCard:
    """A site's card from its board (composed with its link, so a cut site's windows are 未知 already), its cameras'
    reports, whether its bridge is down (since when) or up (`bridged`), and whether its recorder answers."""
    online = sum(camera_word(cameras.get(camera)) == "在线" for camera in camera_ids)
    link = "在线" if bridged else ""
    if link_down is not None:
        link = f"{SITE_OFFLINE} {since_text(link_down, now, tz)}"
    return SiteCard(
        site=site,
        name=name,
        counts={state: board.counts.get(state, 0) for state in CARD_STATES},
        incidents_today=sum(tile.incidents_today for row in board.rows for tile in row.tiles),
        cameras=len(camera_ids),
        cameras_online=0 if link_down is not None else online,
        link=link,
        offline=link_down is not None,
        recorder_answers=recorder_answers,
    )


@dataclass(frozen=True, slots=True)
class SiteMonth:
    """One site's line of the month's roll-up."""

    site: str
    name: str
    duty: Tally
    """The site's on-duty time over the month (so far): its rate is staffed over observed."""
    incidents: dict[str, int]
    """Standing incidents per kind (the kind's id -> count)."""
    department_average: Decimal | None
    staff_average: Decimal | None
    inputs_missing: int
    """The month's inputs not imported: the averages count their columns at full marks until they are."""

    @property
    def total_incidents(self) -> int:
        return sum(self.incidents.values())


@dataclass(frozen=True, slots=True)
class RollUp:
    """A month's comparison of the sites."""

    month: str
    kinds: dict[str, str]
    """The kinds of incident the sites' rules name, as the hall says them (late_arrival: 迟到), in their order."""
    sites: tuple[SiteMonth, ...]


def site_month(
    site: str,
    name: str,
    duty: Tally,
    incidents: Iterable[Incident],
    scores: MonthScores,
    inputs_missing: int,
) -> SiteMonth:
    """A site's month: its on-duty time, its standing incidents counted by kind, the averages of its department and
    staff totals (None for a sheet without rows)."""
    return SiteMonth(
        site=site,
        name=name,
        duty=duty,
        incidents=dict(Counter(i.kind for i in incidents if not i.dismissed)),
        department_average=_average(scores.departments),
        staff_average=_average(scores.staff),
        inputs_missing=inputs_missing,
    )


def roll_up(month: str, kinds: Iterable[Mapping[str, str]], sites: Iterable[SiteMonth]) -> RollUp:
    """The month's roll-up: `kinds`, each site's kind labels (the sites' rules may differ), merged in order of
    appearance."""
    labels: dict[str, str] = {}
    for named in kinds:
        for kind, label in named.items():
            labels.setdefault(kind, label)
    return RollUp(month, labels, tuple(sites))


def _average(rows: Sequence[ScoreRow]) -> Decimal | None:
    if not rows:
        return None
    return (sum((row.total for row in rows), Decimal(0)) / len(rows)).quantize(Decimal("0.01"), ROUND_HALF_UP)
