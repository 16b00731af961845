"""Admission (pure): may an incident event be recorded, and whom does it charge?

The recorder refuses, with a reason, anything that would put a wrong deduction on someone: an
unknown window or kind, a time outside the duty sessions or on a day the hall is closed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from monitor.config import MonitorConfig
from monitor.contract import IncidentEvent
from monitor.core.calendar import WorkCalendar
from monitor.core.incident import LATE_ARRIVAL
from monitor.core.periods import month_words, span_words
from monitor.errors import CalendarError


class Refused(ValueError):
    """The event cannot be recorded; the message says why (it goes to the rejected topic and the log), `words` says
    it to the supervisor who entered it (the console's pages, the receipt)."""

    def __init__(self, detail: str, words: str = "") -> None:
        super().__init__(detail)
        self.words = words or "记录服务不接受这条记录"


def _day(local: dt.datetime) -> str:
    return f"{local.month}月{local.day}日"


@dataclass(frozen=True, slots=True)
class LeaveSpan:
    """Approved leave of the window's staff: [start, end)."""

    start: dt.datetime
    end: dt.datetime
    reason: str


@dataclass(frozen=True, slots=True)
class Charge:
    """Who an admitted incident is charged to."""

    department: str
    staff: str | None
    session: str


def _span(event: IncidentEvent, session_start: dt.datetime, leaves: list[LeaveSpan]) -> tuple[dt.datetime, dt.datetime]:
    """The time the incident claims the post was not staffed as it should be. A late arrival is late from the
    start of duty: the session's start, or the end of the leave that covered it (back from leave at 10:00, in
    the seat at 10:08: 8 minutes late)."""
    if event.kind == LATE_ARRIVAL:
        duty = session_start
        for leave in sorted(leaves, key=lambda leave: leave.start):
            if leave.start <= duty < leave.end:
                duty = leave.end
        return duty, event.started_at
    return event.started_at, event.ended_at or event.started_at


def admit(
    event: IncidentEvent, config: MonitorConfig, calendar: WorkCalendar, leaves: Iterable[LeaveSpan] = ()
) -> Charge:
    """Admit the event or raise Refused. `leaves`: the window's approved leave around the event;
    an incident whose span touches one is refused (leave entered after recording is a dismissal)."""
    window = config.window_by_id.get(event.window)
    if window is None:
        raise Refused(
            f"unknown window {event.window!r}: not in the hall's [windows]",
            f"窗口“{event.window}”不在本中心的窗口名单中",
        )
    local = event.started_at.astimezone(config.hall.tz)
    rules = config.rule_set_on(local.date())
    if rules.deduction(event.kind) is None:
        known = ", ".join(d.kind for d in rules.deductions)
        raise Refused(
            f"unknown incident kind {event.kind!r} (the rules in force on {local.date()} know: {known})",
            f"{_day(local)}施行的考核规则中没有这种违纪类型",
        )
    if event.ended_at is not None and event.ended_at < event.started_at:
        raise Refused(
            f"ended_at {event.ended_at.isoformat()} is before started_at {event.started_at.isoformat()}",
            "结束时间早于开始时间",
        )
    try:
        if not calendar.is_working_day(local.date()):
            raise Refused(
                f"{local.date()} is not a working day of the hall (holiday or weekend)", f"{_day(local)}不是工作日"
            )
        session = calendar.session_at(local)
    except CalendarError as exc:
        raise Refused(str(exc), f"工作日历中没有{_day(local)}：请管理员补充工作日历") from None
    if session is None:
        hours = "；".join(f"{s.name} {s.start:%H:%M}–{s.end:%H:%M}" for s in calendar.sessions_on(local.date()))
        raise Refused(
            f"{local:%Y-%m-%d %H:%M} is outside the duty sessions ({hours})",
            f"{_day(local)} {local:%H:%M} 不在上班时间内（{hours}）",
        )
    leaves = list(leaves)
    start, end = _span(event, session.start, leaves)
    if event.kind == LATE_ARRIVAL and end <= start:
        tz = config.hall.tz
        raise Refused(
            f"window {window.id} was on approved leave until {start.astimezone(tz):%Y-%m-%d %H:%M}: an arrival at "
            f"{end.astimezone(tz):%H:%M} is not late",
            f"{window.id}窗口请假至 {_day(start.astimezone(tz))} {start.astimezone(tz):%H:%M}，"
            f"{_day(end.astimezone(tz))} {end.astimezone(tz):%H:%M} 到岗不算迟到",
        )
    for leave in leaves:  # an empty post that ends as a leave begins (the camera ends it there) is admitted
        if leave.start < end and start < leave.end:
            tz = config.hall.tz
            raise Refused(
                f"window {window.id} was on approved leave {leave.start.astimezone(tz):%Y-%m-%d %H:%M}–"
                f"{leave.end.astimezone(tz):%H:%M} ({leave.reason})",
                f"{window.id}窗口此时已登记请假或公出（{span_words(leave.start, leave.end, tz)}）",
            )
    person = config.staff_by_window.get(window.id)
    department = (person.department if person and person.department else None) or window.department
    return Charge(department=department, staff=event.staff or (person.name if person else None), session=session.name)


@dataclass(frozen=True, slots=True)
class Freshness:
    """How old or new a record may be when it arrives (docs/security.md, Freshness)."""

    now: dt.datetime
    tolerance: dt.timedelta
    """Clocks disagree: a start or end up to this far in the future is accepted."""
    camera_max_age: dt.timedelta
    """A camera's incident older than this is refused: a camera key cannot charge the past."""
    issued_month: str | None = None
    """The incident's month when its monthly notice is issued (then only a signed correction is accepted)."""


def check_fresh(event: IncidentEvent, by_camera: bool, rule: Freshness, tz: dt.tzinfo) -> None:
    """Refuse an event that starts or ends in the future, a camera's event from longer ago than its window,
    and one for a month whose notice is issued unless a supervisor sends it as a correction (`correction`:
    why it comes late), which the notices then show."""
    limit = rule.now + rule.tolerance
    for name, moment in (("started_at", event.started_at), ("ended_at", event.ended_at)):
        if moment is not None and moment > limit:
            raise Refused(
                f"{name} {moment.astimezone(tz):%Y-%m-%d %H:%M} lies in the future (now "
                f"{rule.now.astimezone(tz):%Y-%m-%d %H:%M}): only what has happened is recorded",
                f"时间 {_day(moment.astimezone(tz))} {moment.astimezone(tz):%H:%M} 晚于现在：只记录已经发生的情况",
            )
    if by_camera and event.started_at < rule.now - rule.camera_max_age:
        raise Refused(
            f"a camera's incident from {event.started_at.astimezone(tz):%Y-%m-%d %H:%M} is older than the "
            f"{rule.camera_max_age} a camera may report; a supervisor may enter it as a patrol finding"
        )
    if rule.issued_month is None and event.correction is not None:
        raise Refused(
            "a correction is for a month whose notice is issued; this month's is not: send it without one",
            "本月通报尚未印发，不需要作为更正补录",
        )
    if rule.issued_month is not None and (by_camera or event.correction is None):
        raise Refused(
            f"the notice of {rule.issued_month} is issued: a finding for that month is accepted only from a "
            "supervisor as a correction (with its reason), which the notices show",
            f"{month_words(rule.issued_month)}的通报已印发：该月的巡查发现只能作为更正补录，并写明补录理由",
        )
