"""Names people use in the console, against a real recorder, broker and store: a camera by its place on the board,
the cameras page and an incident's source (视频 · <place>, 巡查 · <name>); a patrol finding entered as a person says
it (when it was seen, how long), and one seen in the future refused with a message the supervisor can act on.

With Chromium installed, the form and the incident page are also drawn at desktop and phone sizes; set
MONITOR_CONSOLE_SHOTS to a folder to keep the screenshots."""

from __future__ import annotations

import datetime as dt
import html
import os
import re
import time
from pathlib import Path

import pytest
from sqlmodel import Session

from monitor.adapters.keys import read_key
from monitor.adapters.store.database import open_database
from monitor.adapters.store.tables import IncidentRow
from monitor.config import MonitorConfig
from monitor.contract import IncidentEvent, Topics
from tests.support.console import PASSWORD, SUPERVISOR, browser, console_hall, flashes, form_token, logged_in
from tests.support.console import running_console as console_running
from tests.support.hours import on_duty_now
from tests.support.mqtt import publish
from tests.support.waiting import wait_for

PLACE = "测试厅 F03 窗口上方"
"""The fixture hall's name for cam-f03, which watches F03."""


@pytest.fixture
def hall(tmp_path, one_broker, hedong) -> MonitorConfig:
    """The fixture hall (named cameras), on duty all day around now: a finding of "just now" is admitted."""
    return console_hall(tmp_path, hall="fixture", mqtt_url=one_broker, **on_duty_now(hedong.hall.tz)).config


def _row(config: MonitorConfig, incident_id: str) -> IncidentRow | None:
    with Session(open_database(config.database.url)) as session:
        return session.get(IncidentRow, incident_id)


def _form(page: str) -> tuple[str, str, str]:
    """The patrol form's record id, CSRF token and default 发现时间 (now, in the hall's time)."""
    record_id = re.search(r'name="id" value="(patrol-[^"]+)"', page)
    seen = re.search(r'name="at" value="([^"]+)"', page)
    assert record_id and seen, "no patrol form on the page"
    return record_id.group(1), form_token(page), seen.group(1)


def _text(page: str) -> str:
    """The page's text, tags removed and entities decoded, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_a_finding_seen_now_after_20_minutes_and_one_in_the_future(hall):
    tz = hall.hall.tz
    with console_running(hall) as base:
        supervisor = logged_in(base, SUPERVISOR)
        page = supervisor.get("/incidents").text
        assert "发现时间" in page and "已空岗分钟数" in page and "迟到则填到岗时间" in page
        record_id, csrf, seen_text = _form(page)
        seen = dt.datetime.fromisoformat(seen_text).replace(tzinfo=tz)
        assert abs(dt.datetime.now(dt.UTC) - seen) < dt.timedelta(minutes=2)  # the default: now, in the hall's time
        fields = {"csrf": csrf, "id": record_id, "window": "F01", "kind": "empty_post", "at": seen_text}
        response = supervisor.post("/patrol", data={**fields, "minutes": "20"})
        assert response.headers["location"] == f"/incidents/{record_id}", flashes(supervisor.get("/incidents").text)
        row = _row(hall, record_id)
        assert row is not None and row.minutes == 20
        assert (row.started_at, row.ended_at) == (seen - dt.timedelta(minutes=20), seen)
        shown = _text(supervisor.get(f"/incidents/{record_id}").text)
        began = seen - dt.timedelta(minutes=20)
        assert f"开始 {began:%Y-%m-%d %H:%M}" in shown and f"结束 {seen:%Y-%m-%d %H:%M}" in shown
        assert f"来源 巡查 · {SUPERVISOR}" in shown

        # An hour from now: refused by the console before anything is sent, in words the supervisor can act on.
        later_id, csrf, _ = _form(supervisor.get("/incidents").text)
        later = seen + dt.timedelta(hours=1)
        refused = supervisor.post(
            "/patrol", data={**fields, "csrf": csrf, "id": later_id, "at": f"{later:%Y-%m-%dT%H:%M}", "minutes": "20"}
        )
        assert refused.headers["location"] == "/incidents"
        message = flashes(supervisor.get("/incidents").text)[0]
        assert message.startswith(f"未记录：发现时间 {later:%Y-%m-%d %H:%M} 晚于现在（") and "最晚为现在" in message
        time.sleep(1)  # what the recorder would have recorded by now, had anything been sent
        assert _row(hall, later_id) is None


def test_a_camera_is_shown_by_its_place(hall):
    tz = hall.hall.tz
    key = read_key(Path(hall.paths.signing_key or ""))
    started = dt.datetime.now(tz).replace(microsecond=0) - dt.timedelta(minutes=10)
    event = key.sign(
        IncidentEvent(
            id="cam-f03-F03-empty_post",
            event="new",
            kind="empty_post",
            window="F03",
            started_at=started,
            minutes=5,
            source="camera:cam-f03",
        )
    )
    with console_running(hall) as base:
        publish(hall.mqtt.url, Topics(hall.mqtt.topic_prefix).incidents, [event.to_json()])
        wait_for(lambda: _row(hall, event.id) is not None, what="the camera's incident")
        viewer = logged_in(base, SUPERVISOR)
        assert f"来源 视频 · {PLACE}" in _text(viewer.get(f"/incidents/{event.id}").text)
        listed = _text(viewer.get(f"/incidents?span=day&date={started:%Y-%m-%d}").text)
        assert f"视频 · {PLACE}" in listed and "camera:" not in listed

        board = viewer.get("/").text
        tile = re.search(r'data-window="F03".*?</article>', board, re.S)
        assert tile and PLACE in tile.group(0), board
        cameras = _text(viewer.get("/cameras").text)
        assert f"{PLACE} （看 F03 窗口）" in cameras and "cam-f03" not in cameras.replace("/cameras/cam-f03/", "")


def test_the_form_and_the_incident_page_in_chromium(hall, tmp_path):
    """Enter "just now, 20 minutes" in a real browser (the form's default time kept), and draw what it shows."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    shots = Path(os.environ.get("MONITOR_CONSOLE_SHOTS") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    sizes = {"desktop": (1440, 900), "phone": (390, 844)}
    with console_running(hall) as base, browser(*sizes["desktop"]) as driver:
        driver.get(base + "/incidents")
        driver.find_element(By.NAME, "name").send_keys(SUPERVISOR)
        driver.find_element(By.NAME, "password").send_keys(PASSWORD)
        driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        # The h1 of a page being replaced goes stale: tried again until the answer has come.
        navigating = (NoSuchElementException, StaleElementReferenceException)
        WebDriverWait(driver, 30, ignored_exceptions=navigating).until(
            lambda d: "违纪审核" in d.find_element(By.TAG_NAME, "h1").text
        )
        driver.find_element(By.CSS_SELECTOR, "details.card summary").click()
        _shots(driver, sizes, shots / "patrol-form")
        form = driver.find_element(By.CSS_SELECTOR, "form[action='/patrol']")
        form.find_element(By.NAME, "window").send_keys("F02")  # the picker: an id, a person or an entry
        Select(form.find_element(By.NAME, "kind")).select_by_value("empty_post")  # the filter above has a kind too
        form.find_element(By.NAME, "minutes").send_keys("20")
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        WebDriverWait(driver, 30).until(lambda d: "/incidents/patrol-" in d.current_url)
        record_id = driver.current_url.rsplit("/", 1)[1]
        row = _row(hall, record_id)
        assert row is not None and row.ended_at is not None
        assert row.started_at == row.ended_at - dt.timedelta(minutes=20)
        assert abs(dt.datetime.now(dt.UTC) - row.ended_at) < dt.timedelta(minutes=2)
        facts = driver.find_element(By.CSS_SELECTOR, "dl.facts").text
        assert f"巡查 · {SUPERVISOR}" in facts, facts
        _shots(driver, sizes, shots / "patrol-incident")


def _shots(driver, sizes: dict[str, tuple[int, int]], stem: Path) -> None:
    """The whole page at each size (the window as tall as the page), as `<stem>-<size>.png`; back to the first."""
    for label, (width, height) in sizes.items():
        driver.set_window_size(width, height)
        time.sleep(0.3)  # the page laid out at this width
        full = driver.execute_script(
            "return document.documentElement.scrollHeight + window.outerHeight - window.innerHeight"
        )  # the page, and the window's own frame
        driver.set_window_size(width, min(max(full, height), 4000))
        time.sleep(0.3)
        driver.save_screenshot(f"{stem}-{label}.png")
    driver.set_window_size(*next(iter(sizes.values())))
