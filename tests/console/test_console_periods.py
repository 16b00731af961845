"""Periods picked by date on every page that takes one, against a running console, recorder and store: a week by any
of its days shown as its Monday–Sunday, older links' ISO weeks still answered but never shown, and an invalid period
answered 400 with what was given and what is expected — never silently another period."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from monitor.config import MonitorConfig
from tests.support.console import ADMIN, console_hall, flashes, form_token, logged_in, running_console


@pytest.fixture
def hall(tmp_path: Path, one_broker: str) -> MonitorConfig:
    return console_hall(tmp_path, mqtt_url=one_broker).config


@pytest.fixture
def admin(hall: MonitorConfig) -> Iterator[httpx.Client]:
    with running_console(hall) as base:
        yield logged_in(base, ADMIN)


def _text(html: str) -> str:
    """The page's visible text, roughly: tags, scripts and styles out."""
    return re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S))


INVALID = [
    # (path, what was given, what is expected)
    ("/scores?month=2020-13", "2020-13", "不存在"),
    ("/scores?month=2020年11月", "2020年11月", "YYYY-MM"),
    ("/scores?month=2020-W49", "2020-W49", "YYYY-MM"),
    ("/scores/staff.xlsx?month=2020-13", "2020-13", "不存在"),
    ("/scores/departments.xlsx?month=2020年第49周", "2020年第49周", "YYYY-MM"),
    ("/duty-rate?span=week&month=2020-11", "2020-11", "请选择该周中的任一天"),
    ("/duty-rate?span=day&month=2020-11", "2020-11", "请选择日期"),
    ("/duty-rate?span=day&date=2020-02-30", "2020-02-30", "不存在"),
    ("/duty-rate?span=week&date=2020年第49周", "2020年第49周", "YYYY-MM-DD"),
    ("/duty-rate?span=month&month=2020-13", "2020-13", "不存在"),
    ("/duty-rate?week=2020-11", "2020-11", "请选择该周中的任一天"),
    ("/duty-rate?week=2020年第49周", "2020年第49周", "请选择该周中的任一天"),
    ("/duty-rate?span=month&week=2020-W49", "2020年11月30日至12月6日", "请选择月份"),
    ("/duty-rate/windows.xlsx?span=week&month=2020-11", "2020-11", "请选择该周中的任一天"),
    ("/duty-rate/departments.xlsx?span=day&date=2020-02-30", "2020-02-30", "不存在"),
    ("/notices?kind=weekly&period=2020-11", "2020-11", "周通报请选择该周中的任一天"),
    ("/notices?kind=weekly&month=2020-11", "2020-11", "周通报请选择该周中的任一天"),
    ("/notices?kind=weekly&period=2020年第49周", "2020年第49周", "请选择该周中的任一天"),
    ("/notices?kind=weekly&date=2020-02-30", "2020-02-30", "不存在"),
    ("/notices?kind=monthly&period=2020-W49", "2020-W49", "月度通报请选择月份"),
    ("/notices?kind=monthly&month=2020-13", "2020-13", "不存在"),
    ("/notices/weekly/2020-11/preview", "2020-11", "周通报请选择该周中的任一天"),
    ("/notices/monthly/2020-W49/file.docx", "2020-W49", "月度通报请选择月份"),
    ("/notices/weekly/2020-W54/issue", "2020年没有第54周", ""),
    ("/incidents?date=2020-02-30", "2020-02-30", "不存在"),
    ("/incidents.xlsx?date=2020-02-30", "2020-02-30", "不存在"),
    # every page, whether it reads the parameter or not (an app-wide check): never ignored for another period
    ("/scores?date=2020-02-30", "2020-02-30", "不存在"),
    ("/scores?week=2020-W60", "2020年没有第60周", ""),
    ("/scores?span=year", "year", "按日、按周或按月"),
    ("/scores?week=2020-W49", "2020年11月30日至12月6日", "请选择月份"),  # a valid week is not a month
    ("/scores?span=week&date=2020-11-04", "按周", "请选择月份"),
    ("/incidents?month=2020-13", "2020-13", "不存在"),
    ("/incidents?month=abc", "abc", "YYYY-MM"),
    ("/incidents?week=2020-W60", "2020年没有第60周", ""),
    ("/incidents?week=2020年第49周", "2020年第49周", "请选择该周中的任一天"),
    ("/incidents?span=year&date=2020-11-04", "year", "按日、按周或按月"),
    ("/incidents?span=day&month=2020-11", "2020-11", "请选择日期"),
    ("/incidents?span=day&week=2020-W49", "2020年11月30日至12月6日", "请选择日期"),
    ("/notices?span=year", "year", "按日、按周或按月"),
    ("/notices?span=day&date=2020-11-04", "按日", "周通报或月度通报"),
    ("/notices?kind=monthly&span=week&date=2020-11-04", "按周", "月度通报按月查看"),
    ("/duty-rate?span=year", "year", "按日、按周或按月"),
    ("/duty-rate?week=2020-W60", "2020年没有第60周", ""),
    ("/?date=2020-02-30", "2020-02-30", "不存在"),
    ("/?month=abc", "abc", "YYYY-MM"),
    ("/?week=2020-W60", "2020年没有第60周", ""),
    ("/?span=year", "year", "按日、按周或按月"),
]


def test_an_invalid_period_on_any_page_is_answered_400_naming_it(admin):
    wrong = []
    for path, given, expected in INVALID:
        response = admin.get(path)
        text = _text(response.text)
        if not (response.status_code == 400 and "请求参数有误" in text and given in text and expected in text):
            wrong.append((path, response.status_code, " ".join(text.split())[-200:]))
        elif re.findall(r"<h1>([^<]*)</h1>", response.text) != ["无法完成"]:  # no page of another period instead
            wrong.append((path, "another page shown", text[-200:]))
    assert not wrong, "\n".join(map(str, wrong))


def test_a_notice_issued_with_a_period_of_the_wrong_kind_is_refused_with_the_reason(admin):
    page = admin.get("/notices/weekly/2020-W45/issue")
    refused = admin.post(
        "/notices/issue",
        data={"csrf": form_token(page.text), "kind": "weekly", "period": "2020-11", "reason": "核对过"},
        headers={"referer": str(page.url)},
    )
    assert refused.status_code == 303 and refused.headers["location"] == "/notices/weekly/2020-W45/issue"
    shown = flashes(admin.get(refused.headers["location"]).text)
    assert shown and shown[0].startswith("未印发：周通报的期间“2020-11”是一个月，不是一周"), shown
    assert "尚未印发任何通报" in admin.get("/notices/register").text


def test_a_week_is_picked_by_a_day_of_it_and_shown_as_its_monday_to_sunday(admin):
    for path in (
        "/duty-rate?span=week&date=2020-11-04",  # a Wednesday
        "/duty-rate?span=week&date=2020-11-08",  # its Sunday
        "/duty-rate?week=2020-W45",  # an older link
        "/notices?kind=weekly&date=2020-11-06",
        "/notices?kind=weekly&period=2020-W45",  # an older link, and the confirmation step's 取消
    ):
        response = admin.get(path)
        text = _text(response.text)
        assert response.status_code == 200, (path, text[-300:])
        assert "2020年11月2日至11月8日" in text, path
        assert not re.search(r"\d{4}-W\d\d", text), path  # never the ISO week
    duty = admin.get("/duty-rate?span=week&date=2020-11-04").text
    assert 'name="date" value="2020-11-02"' in duty and '<option value="week" selected>' in duty
    notices = admin.get("/notices?kind=weekly&date=2020-11-06").text
    assert 'name="date" value="2020-11-02"' in notices and 'name="period"' not in notices
    assert "/notices/weekly/2020-W45/preview" in notices  # the notice's own address keeps its ISO week


def test_a_day_and_a_month_read_as_a_day_and_a_month(admin):
    day = _text(admin.get("/duty-rate?span=day&date=2020-12-01").text)
    assert "全厅 2020年12月1日：" in day and "00:00" not in day and "2020-12-02" not in day
    month = _text(admin.get("/duty-rate?span=month&month=2020-11").text)
    assert "全厅 2020年11月：" in month
    by_date = _text(admin.get("/duty-rate?span=month&date=2020-11-17").text)  # a date names its month
    assert "全厅 2020年11月：" in by_date
    scores = admin.get("/scores?month=2020-11").text
    assert "2020年11月考核得分" in _text(scores) and 'type="month" name="month" value="2020-11"' in scores
    notices = admin.get("/notices?kind=monthly&month=2020-11").text
    assert "2020年11月 月度通报" in _text(notices) and 'type="month" name="month" value="2020-11"' in notices


def test_the_queue_reads_a_month_or_a_week_as_that_period(admin):
    for path, first, last, span in (
        ("/incidents?month=2020-11", "2020年11月1日", "2020年11月30日", "month"),
        ("/incidents?week=2020-W49", "2020年11月30日", "2020年12月6日", "week"),
    ):
        response = admin.get(path)
        assert response.status_code == 200, (path, _text(response.text)[-300:])
        assert f"{first}至{last}" in _text(response.text) and "全部日期" not in _text(response.text), path
        assert f'<option value="{span}" selected>' in response.text, path
        assert "month=" not in response.text and "week=" not in response.text, path  # kept as span and date
    assert admin.get("/incidents?month=&week=").status_code == 200  # empty: every date, as before
    assert "全部日期" in _text(admin.get("/incidents?month=&week=").text)


def test_a_span_names_the_notice_and_a_date_names_the_scores_month(admin):
    weekly = admin.get("/notices?span=week&date=2020-11-04")
    assert weekly.status_code == 200 and "2020年11月2日至11月8日" in _text(weekly.text)
    assert "/notices/weekly/2020-W45/preview" in weekly.text
    monthly = admin.get("/notices?span=month&month=2020-11")
    assert monthly.status_code == 200 and "2020年11月 月度通报" in _text(monthly.text)
    scores = admin.get("/scores?date=2020-11-17")
    assert scores.status_code == 200 and "2020年11月考核得分" in _text(scores.text)


def test_an_invalid_period_asks_for_the_login_first_then_is_refused_for_the_person(hall):
    with running_console(hall) as base, httpx.Client(base_url=base) as anonymous:
        asked = anonymous.get("/scores?month=2020-13")
        assert asked.status_code == 303 and asked.headers["location"] == "/login?next=%2Fscores%3Fmonth%3D2020-13"
        assert anonymous.get(asked.headers["location"]).status_code == 200
        refused = anonymous.get("/login?date=2020-02-30")  # the login page itself: refused, not sent to itself
        assert refused.status_code == 400 and "2020-02-30" in _text(refused.text)
        assert anonymous.get("/static/console.css?date=2020-02-30").status_code == 200  # a file, not a page
        admin = logged_in(base, ADMIN)
        page = admin.get("/scores?month=2020-13")
        assert page.status_code == 400 and "2020-13" in _text(page.text) and "退出" in _text(page.text)


def test_a_day_the_calendar_does_not_cover_is_said_in_words(tmp_path: Path, one_broker: str) -> None:
    """A year whose holidays nobody entered (here: the statutory calendar switched off, no year entered): the board
    says so for the reader, never in the configuration's English."""
    hall = console_hall(tmp_path, mqtt_url=one_broker, calendar={"statutory": False}).config
    with running_console(hall) as base:
        page = logged_in(base, ADMIN).get("/")
    text = _text(page.text)
    year = dt.datetime.now(hall.hall.tz).year
    assert page.status_code == 503 and f"{year}年的节假日和调休安排尚未录入" in text
    assert "chinesecalendar" not in text and "calendar.years" not in text and "退出" in text
