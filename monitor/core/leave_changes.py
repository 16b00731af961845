"""Withdrawing and changing approved leave (pure): the leave's time after a change, and the time a change touches.

A withdrawal ends the leave when it was decided: the time the leave already covered stays covered (the person was
excused then, and the cameras judged it so), and a leave that had not begun covers nothing from then on. A change
gives the leave a new start and end, shorter, longer or moved. A withdrawn leave is not changed again: a new grant
says the person is away after all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from monitor.contract import LeaveChange
from monitor.core.admission import Refused


@dataclass(frozen=True, slots=True)
class Span:
    """The time a leave covers: [start, end); none when end is not after start."""

    start: dt.datetime
    end: dt.datetime

    @property
    def empty(self) -> bool:
        return self.end <= self.start


def revised(
    current: Span, change: LeaveChange, *, withdrawn: bool, now: dt.datetime, tolerance: dt.timedelta, tz: dt.tzinfo
) -> Span:
    """The leave's time after `change`, or Refused: a withdrawn leave, a decision dated in the future (beyond the
    clocks' `tolerance`), the withdrawal of a leave already over, a change that ends before it starts."""
    if withdrawn:
        raise Refused(
            f"leave {change.leave_id} is withdrawn: it is neither changed nor withdrawn again",
            "这条请假已撤销，不能再修改或撤销",
        )
    if change.at > now + tolerance:
        raise Refused(
            f"the decision is dated {change.at.astimezone(tz):%Y-%m-%d %H:%M}, in the future (now "
            f"{now.astimezone(tz):%Y-%m-%d %H:%M})",
            "决定时间晚于现在，请按实际时间填写",
        )
    if change.action == "withdraw":
        if change.at >= current.end:
            raise Refused(
                f"leave {change.leave_id} ended {current.end.astimezone(tz):%Y-%m-%d %H:%M}: nothing is left to "
                "withdraw (a change corrects its time)",
                "这条请假已结束，无需撤销",
            )
        return Span(current.start, max(current.start, change.at))
    assert change.start is not None and change.end is not None  # the contract requires them of a change
    if change.end <= change.start:
        raise Refused("the changed leave ends before it starts", "结束时间必须晚于开始时间")
    return Span(change.start, change.end)


def changed_time(before: Span, after: Span) -> list[Span]:
    """The time that is leave before the change and not after it, or after it and not before: what the change
    touches (in time order, each piece non-empty)."""
    pieces: list[Span] = []
    for one, other in ((before, after), (after, before)):
        if one.empty:
            continue
        if other.empty or other.end <= one.start or other.start >= one.end:
            pieces.append(one)
            continue
        pieces += [Span(one.start, other.start), Span(other.end, one.end)]
    return sorted((p for p in pieces if not p.empty), key=lambda p: (p.start, p.end))


def months_of(spans: Iterable[Span], tz: dt.tzinfo) -> list[str]:
    """The months (YYYY-MM, the hall's time) the spans lie in, in order."""
    months: set[str] = set()
    for span in spans:
        if span.empty:
            continue
        first = span.start.astimezone(tz).date().replace(day=1)
        last = (span.end - dt.timedelta(microseconds=1)).astimezone(tz).date()
        while first <= last:
            months.add(f"{first:%Y-%m}")
            first = (first + dt.timedelta(days=32)).replace(day=1)
    return sorted(months)
