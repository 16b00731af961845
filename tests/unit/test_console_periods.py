"""Periods as the console's pages pick them (monitor/console/params.py): a day by its date, a Monday–Sunday week by
any of its days, a month by the month picker; older links' ISO weeks understood; anything that does not fit refused
with what was given and what is expected, never replaced by another period."""

from __future__ import annotations

import datetime as dt

import pytest

from monitor.console.params import (
    BadParameter,
    Period,
    check_day,
    check_month,
    check_week,
    pick_period,
    written_period,
)

TODAY = Period.containing("month", dt.date(2020, 12, 17))


@pytest.mark.parametrize(
    ("kind", "day", "first", "last", "words", "key"),
    [
        ("day", "2020-12-01", "2020-12-01", "2020-12-01", "2020年12月1日", "2020-12-01"),
        ("week", "2020-11-04", "2020-11-02", "2020-11-08", "2020年11月2日至11月8日", "2020-W45"),
        ("week", "2020-11-02", "2020-11-02", "2020-11-08", "2020年11月2日至11月8日", "2020-W45"),
        ("week", "2020-11-08", "2020-11-02", "2020-11-08", "2020年11月2日至11月8日", "2020-W45"),
        ("week", "2021-01-01", "2020-12-28", "2021-01-03", "2020年12月28日至2021年1月3日", "2020-W53"),
        ("month", "2020-02-29", "2020-02-01", "2020-02-29", "2020年2月", "2020-02"),
    ],
)
def test_a_period_is_the_day_week_or_month_containing_a_day(kind, day, first, last, words, key):
    period = Period.containing(kind, dt.date.fromisoformat(day))
    assert (period.first.isoformat(), period.last.isoformat()) == (first, last)
    assert period.words == words and period.key == key


def test_a_period_links_by_a_date_or_a_month_never_by_an_iso_week():
    assert Period.containing("week", dt.date(2020, 12, 2)).query() == "span=week&date=2020-11-30"
    assert Period.containing("month", dt.date(2020, 11, 9)).query(kind="x") == "kind=x&span=month&month=2020-11"
    assert "W" not in Period.containing("week", dt.date(2020, 12, 2)).query()


def test_a_week_is_picked_by_any_of_its_days_and_an_older_links_week_still_works():
    wednesday = pick_period("week", TODAY, date=dt.date(2020, 12, 2))
    assert wednesday.words == "2020年11月30日至12月6日"
    assert pick_period("week", TODAY, week="2020-W49") == wednesday
    assert pick_period("week", TODAY, week="2020-W49", date=dt.date(2020, 12, 6)) == wednesday


def test_a_form_sends_a_date_and_a_month_and_the_one_of_the_kind_counts():
    assert pick_period("month", TODAY, date=dt.date(2020, 12, 2), month="2020-11").words == "2020年11月"
    assert pick_period("week", TODAY, date=dt.date(2020, 12, 2), month="2020-11").key == "2020-W49"
    assert pick_period("month", TODAY, date=dt.date(2020, 12, 2)).words == "2020年12月"  # a date names its month
    assert pick_period("day", TODAY) is TODAY  # nothing given: the page's default


@pytest.mark.parametrize(
    ("kind", "given", "said"),
    [
        ("week", {"month": "2020-11"}, "月份“2020-11”是一个月，不是一周：按周查看请选择该周中的任一天"),
        ("day", {"month": "2020-11"}, "月份“2020-11”是一个月，不是一天：按日查看请选择日期"),
        ("month", {"week": "2020-W49"}, "给出的是一周（2020年11月30日至12月6日），不是一个月：按月查看请选择月份"),
        ("week", {"week": "2020-W49", "date": dt.date(2020, 12, 9)}, "日期 2020年12月9日 不在给出的周"),
    ],
)
def test_a_period_that_does_not_fit_the_kind_is_refused_never_replaced(kind, given, said):
    with pytest.raises(BadParameter) as refused:
        pick_period(kind, TODAY, **given)
    assert said in str(refused.value)


def test_a_notices_period_names_its_kind():
    with pytest.raises(BadParameter, match="周通报的期间“2020-11”是一个月，不是一周：周通报请选择该周中的任一天"):
        written_period("week", "2020-11", "周通报")
    with pytest.raises(BadParameter, match="月度通报的期间“2020-W49”是一周，不是一个月：月度通报请选择月份"):
        written_period("month", "2020-W49", "月度通报")
    with pytest.raises(BadParameter, match="2020年没有第54周"):
        written_period("week", "2020-W54", "周通报")
    assert written_period("week", " 2020-W49 ", "周通报") == "2020-W49"


@pytest.mark.parametrize(
    ("check", "given", "said"),
    [
        (check_day, "2020-02-30", "日期“2020-02-30”不存在"),
        (check_day, "2020-13-01", "日期“2020-13-01”不存在"),
        (check_day, "2020-W49", "日期“2020-W49”格式不对"),  # Python's fromisoformat would take it as a Monday
        (check_day, "20201201", "日期“20201201”格式不对"),
        (check_day, "2020年第49周", "日期“2020年第49周”格式不对"),
        (check_month, "2020-13", "月份“2020-13”不存在"),
        (check_month, "2020年11月", "月份“2020年11月”格式不对"),
        (check_month, "9999-12", "月份 9999-12 超出范围"),
        (check_week, "2020-11", "周“2020-11”无效：按周查看请选择该周中的任一天"),
        (check_week, "2020年第49周", "周“2020年第49周”无效"),
    ],
)
def test_a_malformed_or_impossible_period_says_what_was_given(check, given, said):
    with pytest.raises(ValueError) as refused:
        check(given)
    assert said in str(refused.value)
    assert "W45" not in str(refused.value)  # a person is never told to write an ISO week


def test_empty_means_the_default():
    assert check_day("") is None and check_month(" ") is None and check_week(None) is None
    assert check_day("2020-02-29") == dt.date(2020, 2, 29)
