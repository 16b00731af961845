from __future__ import annotations

import datetime as dt

import pytest

from monitor.config import MonitorConfig
from monitor.contract import IncidentEvent
from monitor.core.admission import LeaveSpan, Refused, admit
from monitor.core.calendar import WorkCalendar

TZ = dt.timezone(dt.timedelta(hours=8))


def event(window: str = "C20", kind: str = "late_arrival", at: dt.datetime | None = None) -> IncidentEvent:
    return IncidentEvent(
        id="x", event="new", kind=kind, window=window, started_at=at or dt.datetime(2020, 11, 4, 9, 8, tzinfo=TZ)
    )


def _admit(config: MonitorConfig, e: IncidentEvent):  # type: ignore[no-untyped-def]
    return admit(e, config, WorkCalendar(config.calendar, config.duty, config.hall.tz))


def test_charges_the_rostered_person_and_department(hedong: MonitorConfig) -> None:
    charge = _admit(hedong, event("C11"))
    assert (charge.department, charge.staff, charge.session) == ("不动产登记交易中心", "尤洪粉", "上午")
    assert _admit(hedong, event("B13")).department == "税务局"


@pytest.mark.parametrize(
    ("e", "reason"),
    [
        (event(window="Z99"), "unknown window 'Z99'"),
        (event(kind="sleeping"), "unknown incident kind 'sleeping'"),
        (event(at=dt.datetime(2020, 11, 4, 12, 30, tzinfo=TZ)), "outside the duty sessions"),
        (event(at=dt.datetime(2020, 11, 4, 8, 59, tzinfo=TZ)), "outside the duty sessions"),
        (event(at=dt.datetime(2020, 10, 1, 9, 30, tzinfo=TZ)), "not a working day"),
        (event(at=dt.datetime(2020, 11, 7, 9, 30, tzinfo=TZ)), "not a working day"),
        (event(at=dt.datetime(2027, 3, 1, 9, 30, tzinfo=TZ)), "no holiday schedule for 2027"),
    ],
)
def test_refusals_say_why(hedong: MonitorConfig, e: IncidentEvent, reason: str) -> None:
    with pytest.raises(Refused, match=reason):
        _admit(hedong, e)


def test_make_up_saturday_is_admitted(hedong: MonitorConfig) -> None:
    assert _admit(hedong, event(at=dt.datetime(2020, 10, 10, 9, 20, tzinfo=TZ))).session == "上午"


def _leave(start: str, end: str) -> LeaveSpan:
    return LeaveSpan(
        dt.datetime.fromisoformat(f"2020-11-04T{start}+08:00"),
        dt.datetime.fromisoformat(f"2020-11-04T{end}+08:00"),
        "病假",
    )


def test_approved_leave_refuses_what_it_covers(hedong: MonitorConfig) -> None:
    calendar = WorkCalendar(hedong.calendar, hedong.duty, hedong.hall.tz)
    # A late arrival is late from the start of duty: back from leave at 10:00, in the seat at 10:05 is late
    # (docs/video.md: the end of a leave is judged like a session start); in the seat during the leave is not.
    assert admit(event(at=dt.datetime(2020, 11, 4, 10, 5, tzinfo=TZ)), hedong, calendar, [_leave("09:00", "10:00")])
    with pytest.raises(Refused, match=r"on approved leave until 2020-11-04 10:00: an arrival at 09:50 is not late"):
        admit(event(at=dt.datetime(2020, 11, 4, 9, 50, tzinfo=TZ)), hedong, calendar, [_leave("09:00", "10:00")])
    # Leave inside the span claimed late (late at 09:00, leave 09:30–09:45, arrival 10:08) is refused: a person
    # decides, with a patrol finding if it stands.
    with pytest.raises(Refused, match=r"approved leave 2020-11-04 09:30–09:45 \(病假\)"):
        admit(event(at=dt.datetime(2020, 11, 4, 10, 8, tzinfo=TZ)), hedong, calendar, [_leave("09:30", "09:45")])
    empty = IncidentEvent(
        id="e", event="new", kind="empty_post", window="C20", started_at=dt.datetime(2020, 11, 4, 14, 0, tzinfo=TZ)
    )
    with pytest.raises(Refused, match="approved leave"):
        admit(empty, hedong, calendar, [_leave("13:30", "17:00")])
    # Leave in the afternoon does not excuse a morning late arrival.
    assert admit(event(), hedong, calendar, [_leave("13:30", "17:00")]).session == "上午"
    # An empty post that a leave ends at its start (the camera's presence machine does) is not inside it.
    ended = empty.model_copy(update={"event": "end", "ended_at": dt.datetime(2020, 11, 4, 14, 30, tzinfo=TZ)})
    assert admit(ended, hedong, calendar, [_leave("14:30", "17:00")]).session == "下午"
    with pytest.raises(Refused, match="approved leave"):
        admit(ended, hedong, calendar, [_leave("14:29", "17:00")])
