"""The on-duty rate (monitor.core.duty_rate): duty, observed and staffed time per window, department and hall."""

from __future__ import annotations

import datetime as dt

import pytest

from monitor.config import MonitorConfig, StaffConfig, load_config
from monitor.contract import PresenceState
from monitor.core.calendar import DutySession
from monitor.core.duty_rate import (
    DutyRates,
    Tally,
    WindowHistory,
    by_rate,
    duty_rates,
    hall_duty_rates,
    window_department,
    window_tally,
)
from monitor.core.periods import period_bounds
from monitor.core.presence import DutyPeriod, Leave, StateChange, duty_periods
from monitor.errors import CalendarError, InputError
from tests.support.notices import SHANGHAI, at
from tests.support.paths import SEED_HALL

H = dt.timedelta(hours=1)
M = dt.timedelta(minutes=1)


def morning(day: str = "2020-11-04") -> DutyPeriod:
    return DutyPeriod("上午", at(f"{day} 09:00"), at(f"{day} 12:00"), closes_session=True)


def afternoon(day: str = "2020-11-04") -> DutyPeriod:
    return DutyPeriod("下午", at(f"{day} 13:30"), at(f"{day} 17:00"), closes_session=True)


def changes(window: str, *states: tuple[str, PresenceState]) -> list[StateChange]:
    """("2020-11-04 09:00", "present"), ... as the window's state changes."""
    return [StateChange(window, state, at(since)) for since, state in states]


def day_range(day: str = "2020-11-04") -> tuple[dt.datetime, dt.datetime]:
    return at(f"{day} 00:00"), at(f"{day} 00:00") + dt.timedelta(days=1)


def tally(periods: list[DutyPeriod], states: list[StateChange], day: str = "2020-11-04") -> Tally:
    return window_tally(periods, states, *day_range(day))


# --- one window ---


def test_present_and_absent_are_observed_and_present_is_staffed() -> None:
    states = changes(
        "C20", ("2020-11-04 09:00", "present"), ("2020-11-04 10:00", "absent"), ("2020-11-04 10:30", "present")
    )
    result = tally([morning()], states)
    assert result == Tally(duty=3 * H, observed=3 * H, staffed=150 * M)
    assert result.rate == pytest.approx(150 / 180)


def test_only_duty_time_counts() -> None:
    # Present all day long: the lunch break and the evening are not duty.
    states = changes("C20", ("2020-11-04 08:00", "present"), ("2020-11-04 18:00", "off_duty"))
    assert tally([morning(), afternoon()], states) == Tally(6.5 * H, 6.5 * H, 6.5 * H)


def test_a_state_before_the_range_carries_into_it() -> None:
    absent = changes("C20", ("2020-11-03 16:00", "absent"))
    assert tally([morning()], absent) == Tally(3 * H, 3 * H, dt.timedelta(0))
    assert tally([morning()], absent).rate == 0
    present = changes("C20", ("2020-11-03 16:00", "present"), ("2020-11-04 11:00", "absent"))
    assert tally([morning()], present) == Tally(3 * H, 3 * H, 2 * H)


def test_time_before_the_first_state_is_not_observed() -> None:
    states = changes("C20", ("2020-11-04 10:00", "present"))
    assert tally([morning()], states) == Tally(3 * H, 2 * H, 2 * H)
    assert tally([morning()], states).rate == 1


def test_unknown_gaps_are_neither_staffed_nor_absent() -> None:
    states = changes(
        "C20",
        ("2020-11-04 09:00", "present"),
        ("2020-11-04 09:30", "unknown"),  # camera dark
        ("2020-11-04 10:00", "absent"),
        ("2020-11-04 10:20", "unknown"),
        ("2020-11-04 11:00", "present"),
    )
    result = tally([morning()], states)
    assert result == Tally(duty=3 * H, observed=110 * M, staffed=90 * M)
    assert result.rate == pytest.approx(90 / 110)


@pytest.mark.parametrize("state", ["unknown", "off_duty", "leave"])
def test_states_other_than_present_and_absent_are_not_observed(state: PresenceState) -> None:
    states = changes("C20", ("2020-11-04 08:00", state))
    result = tally([morning()], states)
    assert result == Tally(3 * H, dt.timedelta(0), dt.timedelta(0))
    assert result.rate is None


def test_nothing_observed_has_no_rate() -> None:
    assert tally([morning()], []).rate is None
    assert Tally().rate is None


def test_a_day_with_no_duty_counts_nothing() -> None:
    states = changes("C20", ("2020-11-07 09:00", "present"))  # a Saturday: no duty periods
    result = tally([], states, day="2020-11-07")
    assert result == Tally()
    assert result.rate is None


def test_changes_at_the_same_moment_the_last_one_holds() -> None:
    states = changes("C20", ("2020-11-04 09:00", "absent"), ("2020-11-04 09:00", "present"))
    assert tally([morning()], states) == Tally(3 * H, 3 * H, 3 * H)


def test_changes_in_any_order_are_put_in_time_order() -> None:
    states = changes("C20", ("2020-11-04 10:00", "absent"), ("2020-11-04 09:00", "present"))
    assert tally([morning()], states) == Tally(3 * H, 3 * H, 1 * H)


def test_the_range_clips_duty_and_states() -> None:
    states = changes("C20", ("2020-11-04 09:00", "present"), ("2020-11-04 11:00", "absent"))
    # [10:00, 11:30): half the morning, staffed until 11:00.
    result = window_tally([morning(), afternoon()], states, at("2020-11-04 10:00"), at("2020-11-04 11:30"))
    assert result == Tally(90 * M, 90 * M, 60 * M)
    # A state after the range's end changes nothing inside it.
    later = changes("C20", ("2020-11-04 09:00", "present"), ("2020-11-04 12:30", "absent"))
    assert window_tally([morning()], later, at("2020-11-04 09:00"), at("2020-11-04 10:00")) == Tally(H, H, H)


def test_overlapping_duty_periods_count_once() -> None:
    doubled = [morning(), DutyPeriod("上午", at("2020-11-04 10:00"), at("2020-11-04 12:00"), True)]
    states = changes("C20", ("2020-11-04 09:00", "present"))
    assert tally(doubled, states) == Tally(3 * H, 3 * H, 3 * H)


def test_overlapping_leave_is_taken_out_of_duty_once() -> None:
    sessions = [
        DutySession("上午", at("2020-11-04 09:00"), at("2020-11-04 12:00")),
        DutySession("下午", at("2020-11-04 13:30"), at("2020-11-04 17:00")),
    ]
    leaves = [
        Leave("C20", at("2020-11-04 09:30"), at("2020-11-04 10:30")),
        Leave("C20", at("2020-11-04 10:00"), at("2020-11-04 11:00")),  # overlaps the first
        Leave("C20", at("2020-11-04 16:00"), at("2020-11-04 18:00")),  # past the session's end
    ]
    states = changes(
        "C20",
        ("2020-11-04 09:00", "present"),
        ("2020-11-04 09:30", "leave"),  # what the camera service says while the staff is away
        ("2020-11-04 11:00", "absent"),
        ("2020-11-04 11:15", "present"),
    )
    result = tally(duty_periods(sessions, leaves), states)
    # Duty: 09:00-09:30, 11:00-12:00, 13:30-16:00 = 4 h; observed all of it; absent 15 minutes.
    assert result == Tally(duty=4 * H, observed=4 * H, staffed=4 * H - 15 * M)


# --- departments and the hall ---


def history(window: str, department: str, *states: tuple[str, PresenceState]) -> WindowHistory:
    return WindowHistory(window, department, [morning()], changes(window, *states))


def test_a_departments_rate_is_the_ratio_of_its_sums() -> None:
    histories = [
        history("C09", "税务局", ("2020-11-04 09:00", "present"), ("2020-11-04 10:00", "absent")),  # 1 of 3 h
        history("C10", "税务局", ("2020-11-04 11:00", "present")),  # 1 of 1 h observed
        history("C20", "应急管理局", ("2020-11-04 09:00", "present")),
    ]
    rates = duty_rates(histories, *day_range())
    assert [(w.window, w.department, w.tally.rate) for w in rates.windows] == [
        ("C09", "税务局", pytest.approx(1 / 3)),
        ("C10", "税务局", 1.0),
        ("C20", "应急管理局", 1.0),
    ]
    tax = rates.departments[0]
    assert (tax.department, tax.windows) == ("税务局", ("C09", "C10"))
    assert tax.tally == Tally(duty=6 * H, observed=4 * H, staffed=2 * H)
    assert tax.tally.rate == 0.5  # not the mean of 1/3 and 1
    assert rates.total == Tally(duty=9 * H, observed=7 * H, staffed=5 * H)


def test_departments_come_in_the_given_order_then_as_their_windows_come() -> None:
    histories = [
        history("X1", "乙"),
        history("X2", "丙"),
        history("X3", "甲"),
    ]
    rates = duty_rates(histories, *day_range(), departments=["甲", "空", "乙"])
    assert [d.department for d in rates.departments] == ["甲", "乙", "丙"]  # 空 has no window
    assert all(d.tally.rate is None for d in rates.departments)


def test_an_office_reads_the_rates_lowest_first_and_the_unobserved_apart() -> None:
    histories = [
        history("X1", "甲", ("2020-11-04 09:00", "present")),  # 100%
        history("X2", "乙"),  # nothing observed
        history("X3", "丙", ("2020-11-04 09:00", "present"), ("2020-11-04 10:00", "absent")),  # 1 of 3 h
        history("X4", "丁", ("2020-11-04 09:00", "absent")),  # 0%: observed, never staffed
        history("X5", "戊"),
        history("X6", "己", ("2020-11-04 09:00", "present"), ("2020-11-04 10:00", "absent")),  # ties with 丙
    ]
    rates = duty_rates(histories, *day_range(), departments=["甲", "乙", "丙", "丁", "戊", "己"])
    ranked, unobserved = by_rate(rates.departments)
    assert [d.department for d in ranked] == ["丁", "丙", "己", "甲"]  # a tie keeps the given order
    assert [d.department for d in unobserved] == ["乙", "戊"]
    windows, dark = by_rate(rates.windows)
    assert [w.window for w in windows] == ["X4", "X3", "X6", "X1"] and [w.window for w in dark] == ["X2", "X5"]


def test_an_empty_range_counts_nothing() -> None:
    start = at("2020-11-04 10:00")
    rates = duty_rates([history("C20", "应急管理局", ("2020-11-04 09:00", "present"))], start, start - H)
    assert (rates.start, rates.end) == (start, start)
    assert rates.windows[0].tally == Tally()
    assert rates.total == Tally()


# --- the hall ---


def test_the_hall_on_a_working_day(hedong: MonitorConfig) -> None:
    states = [
        *changes("C20", ("2020-11-03 17:05", "off_duty"), ("2020-11-04 09:00", "present")),
        *changes("C25", ("2020-11-04 09:00", "present"), ("2020-11-04 14:10", "absent")),
        *changes("Z99", ("2020-11-04 09:00", "present")),  # not a window of the hall: ignored
    ]
    leaves = [Leave("C20", at("2020-11-04 13:30"), at("2020-11-04 17:00"))]
    rates = hall_duty_rates(hedong, *day_range(), states, leaves)
    assert [w.window for w in rates.windows] == [w.id for w in hedong.window_list]
    by_window = {w.window: w for w in rates.windows}
    assert by_window["C20"].tally == Tally(3 * H, 3 * H, 3 * H)  # the afternoon was leave
    assert by_window["C25"].tally == Tally(6.5 * H, 6.5 * H, 3 * H + 40 * M)
    assert by_window["A01"].tally == Tally(6.5 * H, dt.timedelta(0), dt.timedelta(0))
    counted = {w.department for w in rates.windows}
    assert [d.department for d in rates.departments] == [d.name for d in hedong.departments if d.name in counted]
    assert rates.total.observed == 9.5 * H
    assert rates.total.duty == 6.5 * H * len(hedong.window_list) - 3.5 * H


def test_the_hall_on_a_closed_day_has_no_duty(hedong: MonitorConfig) -> None:
    for day in ("2020-11-07", "2020-10-01"):  # a Saturday, National Day
        rates = hall_duty_rates(hedong, *day_range(day), changes("C20", (f"{day} 09:00", "present")), [])
        assert rates.total == Tally()
        assert all(w.tally.rate is None for w in rates.windows)


def test_the_hall_over_a_week_with_a_make_up_saturday(hedong: MonitorConfig) -> None:
    # 2020-W41: Monday 5 October to Sunday 11 October; the National Day holiday runs to Thursday the 8th,
    # Friday the 9th is a working day and Saturday the 10th a make-up working day (调休).
    start, end = period_bounds("week", "2020-W41", hedong.hall.tz)
    rates = hall_duty_rates(hedong, start, end, changes("C20", ("2020-10-01 09:00", "present")), [])
    c20 = next(w for w in rates.windows if w.window == "C20")
    assert c20.tally == Tally(2 * 6.5 * H, 2 * 6.5 * H, 2 * 6.5 * H)  # 6.5 h of winter hours a day


def test_a_year_the_calendar_does_not_cover_is_refused(hedong: MonitorConfig) -> None:
    with pytest.raises(CalendarError, match="2027"):
        hall_duty_rates(hedong, *day_range("2027-03-01"), [], [])


def test_a_window_counts_for_its_rostered_persons_department() -> None:
    config = load_config(SEED_HALL)
    config = config.model_copy(
        update={"staff": [StaffConfig(window="C09", name="某", department="不动产登记交易中心")]}
    )
    assert window_department(config, "C09") == "不动产登记交易中心"
    assert window_department(config, "C10") == "税务局"  # the window's first department
    rates = hall_duty_rates(config, *day_range(), [], [])
    assert next(w for w in rates.windows if w.window == "C09").department == "不动产登记交易中心"
    assert "C09" in next(d for d in rates.departments if d.department == "不动产登记交易中心").windows


def test_rates_are_small_frozen_values() -> None:
    rates = duty_rates([], *day_range())
    assert isinstance(rates, DutyRates)
    with pytest.raises(AttributeError):
        rates.total.duty = H  # type: ignore[misc]


# --- periods ---


@pytest.mark.parametrize(
    ("kind", "period", "start", "end"),
    [
        ("day", "2020-11-04", "2020-11-04 00:00", "2020-11-05 00:00"),
        ("week", "2020-W45", "2020-11-02 00:00", "2020-11-09 00:00"),
        ("month", "2020-11", "2020-11-01 00:00", "2020-12-01 00:00"),
        ("month", "2020-12", "2020-12-01 00:00", "2021-01-01 00:00"),
    ],
)
def test_periods_in_the_halls_timezone(kind: str, period: str, start: str, end: str) -> None:
    assert period_bounds(kind, period, SHANGHAI) == (at(start), at(end))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "period", "message"),
    [
        ("day", "2020-11-4", "“2020-11-4”"),
        ("day", "2020-13-01", "YYYY-MM-DD"),
        ("day", "20201104", "YYYY-MM-DD"),
        ("day", "2020-W45-3", "YYYY-MM-DD"),
        ("week", "2020-45", "YYYY-Www"),
        ("week", "2021-W53", "2021年没有第53周"),
        ("month", "2020-13", "YYYY-MM"),
    ],
)
def test_a_malformed_period_is_refused(kind: str, period: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        period_bounds(kind, period, SHANGHAI)  # type: ignore[arg-type]
