"""Tables as an office reads them, against a running console, recorder and store: numbers right-aligned (computed by
a real headless Chromium), a month's score sheet saying which inputs are not imported instead of full marks in
silence, every table downloadable as an .xlsx that holds its rows, the on-duty chart lowest rate first with the
departments nothing observed on one line, and the score sheets as cards on a phone."""

from __future__ import annotations

import io
import re
import urllib.parse
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook
from sqlmodel import Session

from monitor.adapters.store.database import open_database
from monitor.adapters.store.inputs import load_month_inputs
from monitor.adapters.store.window_states import record_window_state
from monitor.config import MonitorConfig
from monitor.contract import PresenceState, WindowState
from monitor.core.duty_rate import window_department
from monitor.core.notices.monthly import inputs_missing
from monitor.services.score_sheets import score_sheets
from tests.support.console import ADMIN, VIEWER, browser, console_hall, log_in, logged_in, running_console, wait_until
from tests.support.notices import at, import_seed, insert_incidents, seed_incidents

DAY = "2020-12-01"
STATES: dict[str, list[tuple[str, PresenceState]]] = {
    "C20": [("09:00", "present"), ("10:00", "absent")],  # 1 of 6.5 h: 15.4%
    "D05": [("09:00", "present"), ("15:00", "absent")],  # 4.5 of 6.5 h: 69.2%
    "C25": [("09:00", "present")],  # 100%
}
"""Three windows of three departments watched on 1 December (a Tuesday: 09:00–12:00 and 13:30–17:00 on duty)."""


@pytest.fixture
def hall(tmp_path: Path, one_broker: str) -> MonitorConfig:
    """The seed hall with November's incidents and inputs (December's not imported) and three windows watched on
    1 December."""
    config = console_hall(tmp_path, mqtt_url=one_broker).config
    engine = open_database(config.database.url)
    insert_incidents(engine, seed_incidents())
    import_seed(config, engine)
    with Session(engine) as session:
        for window, changes in STATES.items():
            for since, state in changes:
                change = WindowState(window=window, state=state, since=at(f"{DAY} {since}"), camera="cam-test")
                record_window_state(session, change, at(f"{DAY} {since}"))
        session.commit()
    engine.dispose()
    return config


@pytest.fixture
def admin(hall: MonitorConfig) -> Iterator[httpx.Client]:
    with running_console(hall) as base:
        yield logged_in(base, ADMIN)


def _text(html: str) -> str:
    """The page's visible text, roughly: tags and scripts out."""
    return re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S))


def _workbook(client: httpx.Client, path: str) -> tuple[str, list[tuple[object, ...]]]:
    """An .xlsx download: its file name (RFC 5987) and its rows."""
    response = client.get(path)
    assert response.status_code == 200, _text(response.text)[:300]
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    disposition = response.headers["content-disposition"]
    found = re.search(r"filename\*=UTF-8''([^;]+)", disposition)
    assert disposition.startswith("attachment;") and found, disposition
    sheet = load_workbook(io.BytesIO(response.content)).active
    return urllib.parse.unquote(found.group(1)), list(sheet.iter_rows(values_only=True))


def _body(rows: list[tuple[object, ...]], header: str) -> tuple[tuple[object, ...], list[tuple[object, ...]]]:
    """The header row (the first whose first cell is `header`) and the rows under it."""
    at_header = next(i for i, r in enumerate(rows) if r[0] == header)
    return rows[at_header], rows[at_header + 1 :]


def test_a_month_not_imported_says_so_instead_of_full_marks(admin, hall):
    december = admin.get("/scores?month=2020-12").text
    engine = open_database(hall.database.url)
    with Session(engine) as session:
        lacking = inputs_missing("2020-12", load_month_inputs(session, hall, "2020-12"))
    assert len(lacking) == 4  # both sheets' entered points, the case volumes, the ratings
    text = _text(december)
    assert "2020年12月考核得分" in text and "本月尚未导入，得分不全" in text
    for line in lacking:  # the monthly notice's own words
        assert line in text, line
    department_head = re.search(r'id="department-sheet">\s*<thead>(.*?)</thead>', december, re.S).group(1)
    assert re.findall(r'<th class="num pending">([^<]+)<small>未导入</small>', department_head) == [
        "办件管理",
        "综合管理",
        "好差评",
        "加分",
    ]  # 窗口出勤 comes from the incidents: not pending
    assert 'class="num rank unranked"' in december  # no ranking in the roster's order before the points come
    november = admin.get("/scores?month=2020-11").text
    assert "尚未导入" not in _text(november) and "pending" not in november


def test_each_table_downloads_as_xlsx_with_its_rows(admin, hall):
    engine = open_database(hall.database.url)
    with Session(engine) as session:
        november = score_sheets(session, hall, "2020-11").scores
        december = score_sheets(session, hall, "2020-12")

    name, rows = _workbook(admin, "/scores/staff.xlsx?month=2020-11")
    assert name == "2020年11月工作人员考核.xlsx" and rows[0][0] == "2020年11月工作人员考核"
    header, body = _body(rows, "窗口")
    assert header[:3] == ("窗口", "部门", "姓名") and header[-2:] == ("合计", "扣分说明")
    assert [(r[0], Decimal(str(r[-2]))) for r in body] == [(s.key, s.total) for s in november.staff]
    page = admin.get("/scores?month=2020-11").text
    assert re.findall(r'<tr data-window="([^"]+)"', page) == [r[0] for r in body]  # the page's rows, its order
    c25 = next(r for r in body if r[0] == "C25")
    assert "C25 空岗" in str(c25[-1]) and isinstance(c25[3], int | float)  # figures are numbers

    name, rows = _workbook(admin, "/scores/departments.xlsx?month=2020-12")
    assert name == "2020年12月窗口（部门）考核.xlsx"
    assert [r[0] for r in rows[1:5]] == [f"尚未导入：{line}" for line in december.missing]
    header, body = _body(rows, "名次")
    assert "办件管理（未导入）" in header and len(body) == len(hall.departments)
    assert all(r[0] is None for r in body)  # no rank before the entered points

    name, rows = _workbook(admin, f"/duty-rate/windows.xlsx?span=day&date={DAY}")
    assert name == "2020年12月1日窗口在岗率.xlsx"
    header, body = _body(rows, "窗口")
    assert header == ("窗口", "部门", "值守（小时）", "观测（小时）", "在岗（小时）", "在岗率")
    assert [r[0] for r in body[:3]] == ["C20", "D05", "C25"] and len(body) == len(hall.window_list)
    assert body[0][2:] == (6.5, 6.5, 1, pytest.approx(1 / 6.5)) and body[3][-1] == "未观测"

    name, rows = _workbook(admin, f"/duty-rate/departments.xlsx?span=day&date={DAY}")
    header, body = _body(rows, "部门")
    assert [r[0] for r in body[:3]] == [window_department(hall, w) for w in ("C20", "D05", "C25")]
    assert len(body) == len(hall.departments)

    name, rows = _workbook(admin, "/incidents.xlsx?state=all")
    assert name == "违纪记录.xlsx" and "状态：全部" in str(rows[1][0])
    header, body = _body(rows, "时间")
    assert header[:5] == ("时间", "窗口", "部门", "人员", "类型")
    assert sorted(r[1] for r in body) == sorted(i.window for i in seed_incidents())
    assert [r[0] for r in body] == sorted((r[0] for r in body), reverse=True)  # newest first, as the queue


def test_the_duty_chart_is_lowest_rate_first_and_the_unobserved_one_line(admin, hall):
    page = admin.get(f"/duty-rate?span=day&date={DAY}").text
    bars = re.search(r'<div class="bars" id="department-bars">(.*?)</div>\s*(<details|</section)', page, re.S).group(1)
    names = re.findall(r'<span class="name">([^<]+)</span>', bars)
    rates = [float(r) for r in re.findall(r'<span class="num">([\d.]+)%</span>', bars)]
    assert names == [window_department(hall, w) for w in ("C20", "D05", "C25")]
    assert rates == sorted(rates) and rates[0] == pytest.approx(100 / 6.5, abs=0.05)
    unobserved = len(hall.departments) - 3
    assert f"未观测：{unobserved} 个部门" in page and page.count('<span class="name">') == 3
    windows = re.findall(r'<tr data-window="([^"]+)">', page)
    assert windows == ["C20", "D05", "C25"] and f"未观测：{len(hall.window_list) - 3} 个窗口" in page
    assert "全厅 2020年12月1日：" in _text(page) and "00:00" not in _text(page)  # a day reads as a day


NUMERIC_CELLS = """
return Array.from(document.querySelectorAll(arguments[0])).map(function (cell) {
  return [cell.textContent.trim(), getComputedStyle(cell).textAlign];
});
"""


def test_numbers_are_right_aligned_and_a_phone_gets_cards(hall):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    with running_console(hall) as base, browser(1440, 900) as driver:
        log_in(driver, base, VIEWER)
        for path, cells, text in (
            ("/scores?month=2020-11", "#department-sheet td.num, #staff-sheet td.num", "#staff-sheet td.dept"),
            (f"/duty-rate?span=day&date={DAY}", "#window-rates td.num", "#window-rates td.dept"),
        ):
            driver.get(base + path)
            found = driver.execute_script(NUMERIC_CELLS, cells)
            assert len(found) > 3, path
            assert {align for _, align in found} == {"right"}, (path, found[:5])
            assert all(re.fullmatch(r"[\d.]+%?", text) for text, _ in found), found[:5]
            headers = driver.execute_script(NUMERIC_CELLS, "th.num")
            assert headers and {align for _, align in headers} == {"right"}
            words = driver.execute_script(NUMERIC_CELLS, text)
            assert words and {align for _, align in words} == {"left"}  # text stays left

        # The week picked by a day of it: the span's own field shown, the month's hidden and not sent.
        driver.get(base + "/duty-rate")
        Select(driver.find_element(By.NAME, "span")).select_by_value("week")
        month = driver.find_element(By.NAME, "month")
        assert not month.is_displayed() and not month.is_enabled()
        date = driver.find_element(By.NAME, "date")
        driver.execute_script("arguments[0].value = '2020-12-03';", date)
        driver.find_element(By.CSS_SELECTOR, "form.filters button").click()
        wait_until(driver, lambda d: "date=2020-12-03" in d.current_url)
        heading = wait_until(driver, lambda d: d.find_element(By.CSS_SELECTOR, "h2.period-total").text)
        assert heading.startswith("全厅 2020年11月30日至12月6日："), heading
        assert "month=" not in driver.current_url and "2020-W" not in driver.find_element(By.TAG_NAME, "body").text

        # A phone: the sheets as cards, no sideways scrolling; the staff without deductions folded away.
        driver.set_window_size(390, 844)
        driver.get(base + "/scores?month=2020-11")
        width = driver.execute_script("return document.documentElement.scrollWidth")
        assert width <= 390, width
        assert not driver.find_element(By.CSS_SELECTOR, "#staff-sheet thead").is_displayed()
        shown = [
            r.get_attribute("data-window")
            for r in driver.find_elements(By.CSS_SELECTOR, "#staff-sheet tr")
            if r.is_displayed()
        ]
        charged = {i.window for i in seed_incidents()}
        assert set(shown) - {None} <= charged and "C25" in shown
        card = driver.find_element(By.CSS_SELECTOR, "#staff-sheet tr[data-window='C25']")
        assert card.size["width"] <= 370 and "空岗" in card.text  # the whole row in one card, no sideways scroll
        driver.find_element(By.CSS_SELECTOR, "label.show-clean").click()
        assert driver.find_element(By.CSS_SELECTOR, "#staff-sheet tr.clean").is_displayed()
