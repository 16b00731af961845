from __future__ import annotations

import datetime as dt

import pytest

from monitor.config import CalendarConfig, MonitorConfig
from monitor.config.calendar import DateOverrideConfig, YearScheduleConfig
from monitor.core.calendar import WorkCalendar
from monitor.errors import CalendarError


def _calendar(config: MonitorConfig, calendar: CalendarConfig | None = None) -> WorkCalendar:
    return WorkCalendar(calendar or config.calendar, config.duty, config.hall.tz)


def test_make_up_saturday_is_a_working_day_and_holidays_are_not(hedong: MonitorConfig) -> None:
    cal = _calendar(hedong)
    assert cal.is_working_day(dt.date(2020, 10, 10))  # Saturday, 调休 for the National Day holiday
    assert not cal.is_working_day(dt.date(2020, 10, 1))  # National Day
    assert not cal.is_working_day(dt.date(2020, 10, 8))  # a Thursday inside the holiday
    assert not cal.is_working_day(dt.date(2020, 11, 7))  # an ordinary Saturday
    assert cal.is_working_day(dt.date(2020, 11, 9))


def test_sessions_follow_the_season(hedong: MonitorConfig) -> None:
    cal = _calendar(hedong)
    winter = cal.sessions_on(dt.date(2020, 11, 3))
    assert [(s.name, s.start.time(), s.end.time()) for s in winter] == [
        ("上午", dt.time(9), dt.time(12)),
        ("下午", dt.time(13, 30), dt.time(17)),
    ]
    summer = cal.sessions_on(dt.date(2020, 7, 1))
    assert summer[1].start.time() == dt.time(14)
    assert cal.sessions_on(dt.date(2020, 10, 1)) == []
    assert winter[0].start.tzinfo is not None


def test_session_at(hedong: MonitorConfig) -> None:
    cal = _calendar(hedong)
    tz = hedong.hall.tz
    assert cal.session_at(dt.datetime(2020, 11, 3, 9, 0, tzinfo=tz)).name == "上午"  # type: ignore[union-attr]
    assert cal.session_at(dt.datetime(2020, 11, 3, 12, 0, tzinfo=tz)) is None  # lunch break
    assert cal.session_at(dt.datetime(2020, 11, 3, 16, 59, tzinfo=tz)).name == "下午"  # type: ignore[union-attr]
    # The same instant written in UTC.
    assert cal.session_at(dt.datetime(2020, 11, 3, 1, 30, tzinfo=dt.UTC)).name == "上午"  # type: ignore[union-attr]


def test_a_year_nobody_covers_is_refused_not_guessed(hedong: MonitorConfig) -> None:
    with pytest.raises(CalendarError, match=r"2027.*\[\[calendar.years\]\]"):
        _calendar(hedong).is_working_day(dt.date(2027, 3, 1))


def test_a_year_entered_in_config_works(hedong: MonitorConfig) -> None:
    calendar = CalendarConfig(
        years=[
            YearScheduleConfig(
                year=2027,
                holidays=[dt.date(2027, 1, 1)],
                workdays=[dt.date(2027, 2, 6)],  # a Saturday
            )
        ]
    )
    cal = _calendar(hedong, calendar)
    assert not cal.is_working_day(dt.date(2027, 1, 1))
    assert cal.is_working_day(dt.date(2027, 2, 6))
    assert cal.is_working_day(dt.date(2027, 3, 1))
    assert not cal.is_working_day(dt.date(2027, 3, 6))


def test_overrides_win(hedong: MonitorConfig) -> None:
    calendar = CalendarConfig(
        overrides=[
            DateOverrideConfig(date=dt.date(2020, 11, 3), working=False, reason="停电"),
            DateOverrideConfig(date=dt.date(2020, 11, 7), working=True, reason="周六延时服务"),
        ]
    )
    cal = _calendar(hedong, calendar)
    assert not cal.is_working_day(dt.date(2020, 11, 3))
    assert cal.is_working_day(dt.date(2020, 11, 7))


def test_statutory_off_needs_the_year_in_config(hedong: MonitorConfig) -> None:
    with pytest.raises(CalendarError):
        _calendar(hedong, CalendarConfig(statutory=False)).is_working_day(dt.date(2020, 11, 3))
