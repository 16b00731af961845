"""The console in a real headless Chromium against a real recorder, broker and store, with a camera worker
replaying a fixture clip through the real detector: what a floor supervisor and the office's admin do.

The screenshots of docs/console.md come from this run: set MONITOR_CONSOLE_SHOTS=docs/console to write them
there (otherwise they go to the test's folder).
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import Session, select

from monitor.adapters.store.database import open_database
from monitor.adapters.store.tables import EvidenceRow, IncidentRow
from monitor.contract import Topics, WindowState
from tests.support.config import hall_config
from tests.support.console import ADMIN, PASSWORD, SUPERVISOR, VIEWER, browser, console_hall, running_console
from tests.support.mqtt import publish
from tests.support.paths import ROOT

CLIP = ROOT / "fixtures" / "videos" / "never_staffed.mp4"
WINDOW = "C25"
"""The seed window the fixture camera cam-f11 watches in this test (the clip's F11: nobody comes)."""
START = "2020-12-01T08:58:00+08:00"
PHONE = (390, 844)
DESKTOP = (1366, 900)


def _hall(tmp_path: Path, broker: str):
    fixture = hall_config(tmp_path / "fixture", hall="fixture").config
    camera = next(c for c in fixture.cameras if c.id == "cam-f11")
    zones = [z.model_copy(update={"window": WINDOW}) for z in camera.windows]
    return console_hall(
        tmp_path / "hall",
        mqtt_url=broker,
        cameras=[camera.model_copy(update={"windows": zones})],
        presence=fixture.presence,
        detector=fixture.detector,
    )


def _login(driver, base: str, name: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(base + "/incidents")  # an unauthenticated request gets the login page
    assert "督查控制台登录" in driver.page_source
    driver.find_element(By.NAME, "name").send_keys(name)
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    # Logged in once the answer has replaced the login page: a navigation before it would cancel the login.
    _wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "form.me"), timeout=30)


def _logout(driver) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.CSS_SELECTOR, "form.me button").click()


def _wait(driver, condition, timeout: float = 60.0):
    """Until `condition(driver)` is true; an element of the page being replaced (a navigation) is tried again."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    ignored = (NoSuchElementException, StaleElementReferenceException)
    return WebDriverWait(driver, timeout, poll_frequency=0.2, ignored_exceptions=ignored).until(condition)


def _tile_state(driver, window: str) -> str | None:
    return driver.execute_script(
        "const t = document.querySelector(`[data-window='${arguments[0]}']`); return t && t.dataset.state;", window
    )


def _shot(driver, folder: Path, name: str) -> None:
    """A full-page screenshot at the window's width (the page's height), at desktop and phone widths."""
    for label, (width, height) in (("desktop", DESKTOP), ("phone", PHONE)):
        driver.set_window_size(width, height)
        full = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(width, min(max(full, height), 4000))
        time.sleep(0.3)
        driver.save_screenshot(str(folder / f"{name}-{label}.png"))
    driver.set_window_size(*DESKTOP)


def _staff_total(driver, base: str, window: str) -> Decimal:
    from selenium.webdriver.common.by import By

    driver.get(f"{base}/scores?month=2020-12")
    return Decimal(driver.find_element(By.CSS_SELECTOR, f"#staff-sheet tr[data-window='{window}'] td.total").text)


def test_a_supervisors_day_in_the_console(tmp_path, one_broker):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    hall = _hall(tmp_path, one_broker)
    config = hall.config
    shots = Path(os.environ.get("MONITOR_CONSOLE_SHOTS") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    downloads = tmp_path / "downloads"
    full_marks = sum(c.full for c in config.rule_set_on(dt.date(2020, 12, 1)).staff.categories)
    engine = open_database(config.database.url)
    with running_console(config) as base, browser(*DESKTOP) as driver:
        driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
        _login(driver, base, SUPERVISOR)
        _wait(driver, lambda d: "违纪审核" in d.find_element(By.TAG_NAME, "h1").text)  # where the login was asked
        driver.get(base + "/")
        assert _tile_state(driver, WINDOW) in ("unknown", "off_duty")
        driver.execute_script("window.notReloaded = true;")

        # A camera worker replays the clip as live: nobody comes to C25; the board turns it 空岗 by itself.
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "monitor",
                "--config",
                str(hall.path),
                "replay",
                str(CLIP),
                "--camera",
                "cam-f11",
                "--start",
                START,
            ],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            _wait(driver, lambda d: _tile_state(d, WINDOW) == "absent", timeout=240)
        finally:
            output, _ = worker.communicate(timeout=300)
        assert worker.returncode == 0, output
        assert driver.execute_script("return window.notReloaded === true;"), "the board was reloaded"
        # The recording is over: the camera is dark, and C25 is 未知 — never its last state.
        _wait(driver, lambda d: _tile_state(d, WINDOW) == "unknown", timeout=10)
        _wait(driver, lambda d: "未知" in d.find_element(By.CSS_SELECTOR, f"[data-window='{WINDOW}']").text)
        _shot(driver, shots, "board")

        # Within 2 s of an MQTT message the board shows it (the bound), still without a reload.
        topics = Topics(config.mqtt.topic_prefix)
        publish(one_broker, topics.camera_status("cam-f11"), [b"online"], retain=True)  # the camera is back
        state = WindowState(window=WINDOW, state="present", since=dt.datetime.now(dt.UTC), camera="cam-f11")
        sent = time.monotonic()
        publish(one_broker, Topics(config.mqtt.topic_prefix).window_state(WINDOW), [state.to_json()], retain=True)
        _wait(driver, lambda d: _tile_state(d, WINDOW) == "present", timeout=10)
        delay = time.monotonic() - sent
        print(f"board updated {delay:.2f} s after the MQTT message")
        assert delay < 2.0 and driver.execute_script("return window.notReloaded === true;")

        # The incident, with its snapshot shown as an image.
        def recorded() -> str | None:
            with Session(engine) as session:
                row = session.exec(select(IncidentRow).where(IncidentRow.window == WINDOW)).first()
                has_image = (
                    row is not None
                    and session.exec(select(EvidenceRow).where(EvidenceRow.incident_id == row.id)).first()
                )
                return row.id if row is not None and has_image else None

        incident = _wait(driver, lambda _d: recorded(), timeout=60)
        # The day's on-duty rate: C25 was watched and never staffed.
        driver.get(f"{base}/duty-rate?span=day&date=2020-12-01")
        row = _wait(driver, lambda d: d.find_element(By.XPATH, f"//td[text()='{WINDOW}']/.."))
        assert row.text.endswith("0.0%"), row.text
        _shot(driver, shots, "duty-rate")
        assert _staff_total(driver, base, WINDOW) < full_marks
        driver.get(f"{base}/incidents?span=day&date=2020-12-01")
        driver.find_element(By.CSS_SELECTOR, f"a[href^='/incidents/{incident}?']").click()  # the queue's filter kept
        images = _wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".shots img"))
        _wait(
            driver, lambda d: d.execute_script("return arguments[0].complete && arguments[0].naturalWidth", images[0])
        )
        assert driver.execute_script("return arguments[0].naturalWidth", images[0]) > 300
        # The evidence in time order, each captioned with what it shows; the clip plays in the page.
        captions = [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".shots figcaption")]
        assert captions[0].startswith("录像") and "上班时间 09:00:00 座位无人" in captions[1], captions
        assert captions[-1].endswith("确认空岗"), captions
        video = driver.find_element(By.CSS_SELECTOR, ".shots video")
        playable = "const v = arguments[0]; return v.readyState >= 1 && !v.error && v.duration;"
        assert _wait(driver, lambda d: d.execute_script(playable, video), timeout=30) > 0
        assert "空岗" in driver.find_element(By.TAG_NAME, "h1").text and "考核办法" in driver.page_source
        _shot(driver, shots, "review")

        # Dismissed with a reason: the staff sheet is back to full marks.
        Select(driver.find_element(By.NAME, "category")).select_by_visible_text("误检测")
        driver.find_element(By.NAME, "reason").send_keys("座位上有人，遮挡")
        driver.find_element(By.CSS_SELECTOR, "button.danger").click()
        assert "撤销已记录" in _wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, ".flash")).text
        assert "误检测：座位上有人，遮挡" in driver.page_source
        assert _staff_total(driver, base, WINDOW) == full_marks

        # Leave entered now for C25 (the form's default range starts now): the board shows 请假.
        driver.get(f"{base}/leave")
        driver.find_element(By.NAME, "window").send_keys(WINDOW)  # the picker: an id, a person or an entry
        driver.find_element(By.NAME, "reason").send_keys("病假")
        driver.find_element(By.CSS_SELECTOR, "form.card button").click()
        assert "已记录" in _wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, ".flash")).text
        driver.get(base + "/")
        _wait(driver, lambda d: _tile_state(d, WINDOW) == "leave", timeout=10)
        _wait(driver, lambda d: "请假" in d.find_element(By.CSS_SELECTOR, f"[data-window='{WINDOW}']").text)
        _logout(driver)

        # A viewer sees no dismissal button, and a dismissal posted anyway is refused by the server.
        _login(driver, base, VIEWER)
        driver.get(f"{base}/incidents/{incident}")
        assert not driver.find_elements(By.CSS_SELECTOR, "button.danger")
        _post_from_page(driver, f"/incidents/{incident}/dismiss", {"category": "申诉成立"}, with_csrf=True)
        _wait(driver, lambda d: "权限不足" in d.page_source, timeout=15)
        _logout(driver)

        # An admin: a form without its CSRF token is refused; a file with a bad row shows the line; the .docx.
        _login(driver, base, ADMIN)
        driver.get(f"{base}/notices")
        _post_from_page(driver, "/notices/issue", {"kind": "monthly", "period": "2020-12"}, with_csrf=False)
        _wait(driver, lambda d: "安全令牌" in d.page_source, timeout=15)
        bad = tmp_path / "cases-bad.csv"
        departments = [d.name for d in config.departments]
        lines = ["部门,行政审批,便民服务,公共服务,收费", *(f"{d},1,2,3,4" for d in departments)]
        lines[5] = f"{departments[4]},1,2,-3,4"
        bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
        driver.get(f"{base}/inputs")
        Select(driver.find_element(By.NAME, "part")).select_by_value("cases")
        month = driver.find_element(By.NAME, "month")
        month.clear()
        month.send_keys("2020-12")
        driver.find_element(By.NAME, "file").send_keys(str(bad))
        driver.find_element(By.CSS_SELECTOR, "form.card button").click()
        problems = _wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, ".problems")).text
        assert "未导入任何数据" in problems, problems
        assert "cases-bad.csv 第6行第4列（公共服务）：“-3”不是 0 或正整数" in problems, problems

        driver.get(f"{base}/notices?kind=monthly&period=2020-11")
        _shot(driver, shots, "notices")
        driver.find_element(By.CSS_SELECTOR, "a[href$='file.docx']").click()
        docx = _wait(driver, lambda _d: next((p for p in downloads.glob("*.docx") if p.stat().st_size), None), 60)
        with zipfile.ZipFile(docx) as archive:
            assert "通报" in archive.read("word/document.xml").decode()

        # The week's notice issued through the confirmation step, under an entered 文号 and date.
        driver.get(f"{base}/notices?kind=weekly&period=2020-W49")
        driver.find_element(By.CSS_SELECTOR, "a[href$='/issue']").click()
        number = _wait(driver, lambda d: d.find_element(By.NAME, "number"))
        assert "2020年11月30日至12月6日" in driver.page_source
        number.clear()
        number.send_keys("23")
        driver.execute_script("document.querySelector(\"input[name='date']\").value = '2020-12-07'")
        for reason in driver.find_elements(By.NAME, "reason"):  # open items (charges awaiting review) need one
            reason.send_keys("已逐条核对")
        _shot(driver, shots, "notice-issue")
        driver.find_element(By.CSS_SELECTOR, "form.issue button[type=submit]").click()
        _wait(driver, lambda d: "已印发" in d.find_element(By.CSS_SELECTOR, ".flash").text, timeout=30)
        row = driver.find_element(By.XPATH, "//table[contains(@class,'register')]//tr[td[contains(., '〔2020〕23号')]]")
        assert "2020年12月7日" in row.text and "2020年11月30日至12月6日" in row.text and ADMIN in row.text
        _shot(driver, shots, "register")


def _post_from_page(driver, action: str, fields: dict[str, str], *, with_csrf: bool) -> None:
    """Submit a form the page does not offer, as a person editing the page (or another site) would."""
    driver.execute_script(
        """
        const [action, fields, withCsrf] = arguments;
        const form = document.createElement('form');
        form.method = 'post'; form.action = action;
        const token = document.querySelector("input[name='csrf']");
        if (withCsrf && token) fields.csrf = token.value;
        for (const [name, value] of Object.entries(fields)) {
            const input = document.createElement('input');
            input.type = 'hidden'; input.name = name; input.value = value; form.appendChild(input);
        }
        document.body.appendChild(form); form.submit();
        """,
        action,
        fields,
        with_csrf,
    )


pytestmark = pytest.mark.slow
