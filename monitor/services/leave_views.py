"""Approved leave as the leave page (请假登记) shows it: kind, window, person, time, who approved it, where it stands
(进行中, 未开始, 已结束, 已撤销; 已修改 when its time was changed) and its history; and the checks a withdrawal or a
change must pass before it is sent, so that the recorder's refusals are the rare race, not the daily answer.

Read-only: the leave and its changes are the recorder's (monitor.services.patrol builds the records).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from sqlmodel import Session

from monitor.adapters.store.leaves import leave_history, leaves_ending_after
from monitor.adapters.store.ledger import issued
from monitor.adapters.store.tables import LeaveRow
from monitor.config import MonitorConfig
from monitor.contract import leave_why
from monitor.core.leave_changes import Span, changed_time, months_of
from monitor.core.periods import month_words, span_words

RECENT = dt.timedelta(days=7)
"""Leave the page lists: not over (or withdrawn) more than this long ago."""

LeaveState = Literal["进行中", "未开始", "已结束", "已撤销"]


@dataclass(frozen=True, slots=True)
class LeaveEntry:
    """One line of a leave's history: granted, changed or withdrawn, by whom, when, why."""

    what: str
    at: dt.datetime
    by: str
    span: str
    """The leave's time after it, in words."""
    reason: str


@dataclass(frozen=True, slots=True)
class LeaveView:
    id: str
    window: str
    person: str
    """The person rostered at the window, empty when nobody is."""
    kind: str
    why: str
    span: str
    """Its time as it stands, in words (a withdrawn one: as it stood when withdrawn)."""
    start: dt.datetime
    end: dt.datetime
    by: str
    state: LeaveState
    note: str
    """For a withdrawn leave: 未开始即撤销, or from when it no longer ran (10:30 起不再请假)."""
    changed: bool
    history: tuple[LeaveEntry, ...]

    @property
    def open(self) -> bool:
        """Whether it may still be withdrawn or changed (not withdrawn, not over)."""
        return self.state in ("进行中", "未开始")


def leave_view(session: Session, config: MonitorConfig, row: LeaveRow, now: dt.datetime) -> LeaveView:
    tz = config.hall.tz
    staff = config.staff_by_window.get(row.window)
    changes = leave_history(session, row.id)
    history = [LeaveEntry("登记", row.decided_at, row.by, span_words(row.granted_start, row.granted_end, tz), "")]
    span, note = span_words(row.start, row.end, tz), ""
    for c in changes:
        if c.action == "withdraw":
            # Shown as it stood when withdrawn, and when the withdrawal ended it.
            span = span_words(c.before_start, c.before_end, tz)
            ended = c.after_end.astimezone(tz)
            note = "未开始即撤销" if c.after_end <= c.after_start else f"{ended:%H:%M} 起不再请假"
            after = note if c.after_end <= c.after_start else f"{span_words(c.after_start, c.after_end, tz)}，{note}"
            history.append(LeaveEntry("撤销请假", c.decided_at, c.by, after, c.reason))
        else:
            history.append(
                LeaveEntry("修改起止时间", c.decided_at, c.by, span_words(c.after_start, c.after_end, tz), c.reason)
            )
    withdrawn = row.withdrawn_at is not None
    state: LeaveState = (
        "已撤销" if withdrawn else "已结束" if row.end <= now else "进行中" if row.start <= now else "未开始"
    )
    return LeaveView(
        id=row.id,
        window=row.window,
        person=staff.name if staff else "",
        kind=row.kind,
        why=leave_why(row.kind, row.reason) if row.reason != row.kind else "",
        span=span,
        start=row.start,
        end=row.end,
        by=row.by,
        state=state,
        note=note,
        changed=any(c.action == "change" for c in changes),
        history=tuple(history),
    )


def recent_leave(session: Session, config: MonitorConfig, now: dt.datetime) -> list[LeaveView]:
    """Leave under way, to come, or over or withdrawn within RECENT, soonest first."""
    return [leave_view(session, config, r, now) for r in leaves_ending_after(session, now - RECENT, withdrawn=True)]


def change_refused(
    session: Session, config: MonitorConfig, row: LeaveRow, after: Span | None, now: dt.datetime
) -> str | None:
    """Why a withdrawal (`after` None) or a change to `after` of the leave `row` would be refused, in words; None
    when it may be sent. The recorder checks the same (monitor.core.leave_changes, issued months)."""
    tz = config.hall.tz
    if row.withdrawn_at is not None:
        return "此请假已撤销，不能再修改或撤销；如仍需请假，请重新登记"
    if after is None:
        if row.end <= now:
            end = row.end.astimezone(tz)
            return f"此请假已于 {end.month}月{end.day}日 {end:%H:%M} 结束，无需撤销"
        after = Span(row.start, max(row.start, now))
    elif after.empty:
        return "结束时间必须晚于开始时间"
    closed = sorted(issued(session, "monthly", months_of(changed_time(Span(row.start, row.end), after), tz)))
    if closed:
        months = "、".join(month_words(m) for m in closed)
        return f"{months}的考核通报已印发，其中的请假不再撤销或修改"
    return None
