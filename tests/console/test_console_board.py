"""The hall board as a hall uses it, in a real headless Chromium against a real recorder, broker and store: the wall
view (看板墙) holding all 93 seed windows on one 1920×1080 screen, 只看异常 kept through the live updates, and leave
entered on the leave page showing on a board open in another browser within 2 s.

Every seed window is watched by a camera here (the test publishes each window's state as its camera service would),
so that what the board shows does not depend on the hour the test runs. Set MONITOR_CONSOLE_SHOTS to a folder to
keep the screenshots (the wall at 1920×1080, the desk board at 1440×900 and at 390×844).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from monitor.adapters.mqtt.session import MqttSession
from monitor.config import CameraConfig, MonitorConfig, load_config
from monitor.console.live import LiveHall
from monitor.contract import ApprovedLeave, Receipt, Status, Topics, WindowLeaves, WindowState
from monitor.core.incident import LATE_ARRIVAL
from monitor.services.patrol import dismissal, leave_grant, patrol_incident, submit
from tests.support.config import Hall, hall_config, supervisor_key
from tests.support.console import (
    SUPERVISOR,
    VIEWER,
    browser,
    console_hall,
    log_in,
    logged_in,
    running_console,
    wait_until,
)
from tests.support.liveness import duty_around_today
from tests.support.paths import SEED_HALL

WALL = (1920, 1080)
DESK = (1440, 900)
PHONE = (390, 844)
PER_CAMERA = 8
"""Windows each test camera watches."""
DARK = "cam-07"
"""The camera whose video is lost in this test: its windows are 未知."""
ABSENT = ("A05", "D03")
LATE = "B06"
"""Present, but arrived late today (a patrol's 迟到)."""
SINCE_YESTERDAY = "B20"
OUT = "C03"
"""On 公出 when the test begins."""
LIVE_LEAVE = "A10"
"""Given leave on the leave page while a board is open in another browser."""


def _cameras(config: MonitorConfig) -> list[CameraConfig]:
    """Cameras watching every window of the hall, PER_CAMERA each, never judged silent during a test."""
    windows = [w.id for w in config.window_list]
    cameras = []
    for n, first in enumerate(range(0, len(windows), PER_CAMERA), start=1):
        watched = windows[first : first + PER_CAMERA]
        zones = [
            {"window": w, "polygon": [[i / PER_CAMERA, 0.0], [(i + 1) / PER_CAMERA, 0.0], [(i + 1) / PER_CAMERA, 1.0]]}
            for i, w in enumerate(watched)
        ]
        cameras.append(
            CameraConfig.model_validate(
                {
                    "id": f"cam-{n:02d}",
                    "name": f"大厅{n}号机位",
                    "url": f"rtsp://127.0.0.1:9/cam-{n:02d}",
                    "offline_after": dt.timedelta(hours=2),
                    "windows": zones,
                }
            )
        )
    return cameras


def _hall(tmp_path: Path, broker: str) -> Hall:
    seed = load_config(SEED_HALL)
    return console_hall(tmp_path / "hall", mqtt_url=broker, cameras=_cameras(seed), **duty_around_today(seed.hall.tz))


def _dark_windows(config: MonitorConfig) -> set[str]:
    return {zone.window for camera in config.cameras if camera.id == DARK for zone in camera.windows}


@contextmanager
def _camera_services(config: MonitorConfig) -> Iterator[MqttSession]:
    """One session publishing as the camera services do (retained states and statuses); cleared afterwards."""
    session = MqttSession(config.mqtt, f"test-cameras-{os.getpid()}")
    session.open()
    topics = Topics(config.mqtt.topic_prefix)
    try:
        yield session
    finally:
        for window in config.window_list:
            session.publish(topics.window_state(window.id), b"", qos=1, retain=True)
        for camera in config.cameras:
            session.publish(topics.camera_status(camera.id), b"", qos=1, retain=True).wait(10)
        session.close()


def _state(session: MqttSession, config: MonitorConfig, window: str, state: str, since: dt.datetime) -> None:
    camera = next(c.id for c in config.cameras for z in c.windows if z.window == window)
    message = WindowState(window=window, state=state, since=since, camera=camera)  # type: ignore[arg-type]
    published = session.publish(
        Topics(config.mqtt.topic_prefix).window_state(window), message.to_json(), qos=1, retain=True
    )
    assert published.wait(10), f"the state of {window} was not published"


def _the_hall_now(config: MonitorConfig, session: MqttSession) -> tuple[dt.datetime, str]:
    """The hall as the test sees it: states for every window, one camera dark, 公出 at OUT, a late arrival at LATE
    (its incident's id returned with the time)."""
    now = dt.datetime.now(dt.UTC)
    topics = Topics(config.mqtt.topic_prefix)
    for window in config.window_list:
        if window.id in ABSENT:
            _state(session, config, window.id, "absent", now - dt.timedelta(minutes=10))
        elif window.id == SINCE_YESTERDAY:
            _state(session, config, window.id, "present", now - dt.timedelta(days=1))
        else:
            _state(session, config, window.id, "present", now - dt.timedelta(minutes=30))
    for camera in config.cameras:
        status = "offline: 连接超时" if camera.id == DARK else "online"
        assert session.publish(topics.camera_status(camera.id), status.encode(), qos=1, retain=True).wait(10)
    key = supervisor_key(config)
    out = leave_grant(
        window=OUT,
        start=now - dt.timedelta(hours=1),
        end=now + dt.timedelta(hours=3),
        kind="公出",
        reason="区里开会",
        by=key.name,
    )
    assert submit(config, out, key).status == Status.RECORDED
    late = patrol_incident(window=LATE, kind=LATE_ARRIVAL, seen_at=now, minutes=7, note="", by=key.name)
    receipt = submit(config, late, key)
    assert receipt.status == Status.RECORDED, receipt.detail
    return now, late.id


def _until(moment: dt.datetime, now: dt.datetime, config: MonitorConfig) -> str:
    local, today = moment.astimezone(config.hall.tz), now.astimezone(config.hall.tz).date()
    return f"至 {local:%H:%M}" if local.date() == today else f"至 {local.month}月{local.day}日 {local:%H:%M}"


def _layout(driver) -> dict:  # type: ignore[no-untyped-def]
    """Where the board's tiles are, against the viewport; which text does not fit its tile."""
    return driver.execute_script(
        """
        const tiles = [...document.querySelectorAll('#board [data-window]')];
        const off = (t) => {
          const r = t.getBoundingClientRect();
          return r.width < 1 || r.height < 1 || r.top < 0 || r.left < 0
            || r.bottom > innerHeight || r.right > innerWidth;
        };
        const cut = (e) => e && e.offsetParent !== null && (e.scrollWidth > e.clientWidth + 1
          || e.getBoundingClientRect().bottom > e.closest('.tile').getBoundingClientRect().bottom + 1);
        const ids = (list) => list.map((t) => t.dataset.window);
        return {
          tiles: ids(tiles),
          outside: ids(tiles.filter(off)),
          cut: ids(tiles.filter((t) => ['header', '.when'].some((s) => cut(t.querySelector(s))))),
          scrollHeight: document.documentElement.scrollHeight, innerHeight: innerHeight,
          scrollWidth: document.documentElement.scrollWidth, innerWidth: innerWidth,
          idPx: tiles.length ? parseFloat(getComputedStyle(tiles[0].querySelector('.wid')).fontSize) : 0,
          tileHeight: tiles.length ? tiles[0].getBoundingClientRect().height : 0,
        };
        """
    )


def _tile(driver, window: str) -> tuple[str | None, str]:  # type: ignore[no-untyped-def]
    return tuple(  # type: ignore[return-value]
        driver.execute_script(
            "const t = document.querySelector(`[data-window='${arguments[0]}']`);"
            "return t ? [t.dataset.state, t.innerText] : [null, ''];",
            window,
        )
    )


def _shown(driver) -> set[str]:  # type: ignore[no-untyped-def]
    return set(
        driver.execute_script(
            "return [...document.querySelectorAll('#board [data-window]')].map((t) => t.dataset.window)"
        )
    )


def _viewport(driver, width: int, height: int) -> None:  # type: ignore[no-untyped-def]
    """The page's viewport exactly `width` × `height` CSS pixels, as a screen of that size in full-screen shows it."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 700},
    )


def _shots() -> Path | None:
    folder = os.environ.get("MONITOR_CONSOLE_SHOTS")
    if not folder:
        return None
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _shot(driver, name: str) -> None:  # type: ignore[no-untyped-def]
    folder = _shots()
    if folder is not None:
        time.sleep(0.3)
        driver.save_screenshot(str(folder / f"{name}.png"))


def test_the_wall_holds_every_window_on_one_screen_and_only_attention_when_asked(tmp_path, one_broker):
    from selenium.webdriver.common.by import By

    hall = _hall(tmp_path, one_broker)
    config = hall.config
    dark = _dark_windows(config)
    attention = {*ABSENT, LATE, *dark}
    with _camera_services(config) as cameras, running_console(config) as base, browser(*WALL) as driver:
        now, _late = _the_hall_now(config, cameras)
        _viewport(driver, *WALL)
        log_in(driver, base, VIEWER)
        driver.get(base + "/?view=wall")
        wait_until(driver, lambda d: _tile(d, ABSENT[0])[0] == "absent", timeout=30)
        wait_until(driver, lambda d: _tile(d, OUT)[0] == "leave", timeout=30)

        # All 93 windows on the one screen, none clipped, nothing to scroll; ids large enough for across the room.
        _shot(driver, "board-wall-1920x1080")
        layout = _layout(driver)
        assert len(layout["tiles"]) == len(config.window_list) == 93
        assert layout["outside"] == [], layout
        assert layout["cut"] == [], layout
        assert layout["scrollHeight"] <= layout["innerHeight"] and layout["scrollWidth"] <= layout["innerWidth"], layout
        assert (layout["innerWidth"], layout["innerHeight"]) == WALL
        assert layout["idPx"] >= 28, layout
        print(f"wall: 93 tiles of {layout['tileHeight']:.0f} px, window ids at {layout['idPx']:.0f} px")
        assert not driver.find_element(By.CSS_SELECTOR, "header.top").is_displayed(), "the wall shows no menu"

        # What the tiles say: the state, since when (with its day before today), 公出 until when, 迟到.
        state, text = _tile(driver, OUT)
        assert "公出" in text and _until(now + dt.timedelta(hours=3), now, config) in text, text
        yesterday = (now - dt.timedelta(days=1)).astimezone(config.hall.tz)
        state, text = _tile(driver, SINCE_YESTERDAY)
        assert state == "present" and f"自 {yesterday.month}月{yesterday.day}日 {yesterday:%H:%M}" in text, text
        state, text = _tile(driver, LATE)
        assert state == "present" and "迟到" in text, text
        state, text = _tile(driver, next(iter(dark)))
        assert state == "unknown" and "连接超时" in text, text

        # 只看异常: the windows that need attention only, and it holds through the live updates.
        driver.find_element(By.CSS_SELECTOR, ".board-views a.toggle").click()
        wait_until(driver, lambda d: _shown(d) == attention, timeout=15)
        driver.execute_script("window.notReloaded = true;")
        _state(cameras, config, "D07", "absent", dt.datetime.now(dt.UTC))  # a new empty post appears by itself
        _state(cameras, config, ABSENT[0], "present", dt.datetime.now(dt.UTC))  # and one staffed again leaves
        wait_until(driver, lambda d: _shown(d) == (attention - {ABSENT[0]}) | {"D07"}, timeout=5)
        assert driver.execute_script("return window.notReloaded === true;"), "the board was reloaded"
        _shot(driver, "board-wall-attention-1920x1080")

        # Remembered: the wall and its filter come back when the board is opened again.
        driver.get(base + "/")
        wait_until(driver, lambda d: _shown(d) == (attention - {ABSENT[0]}) | {"D07"}, timeout=15)
        assert driver.find_elements(By.CSS_SELECTOR, "#board.wall")

        # The desk board at 1440×900 and on a phone: every window, no sideways scrolling; 只看异常 shortens the page.
        driver.get(base + "/?view=normal&only=all")
        for (width, height), name in ((DESK, "board-desk-1440x900"), (PHONE, "board-phone-390x844")):
            _viewport(driver, width, height)
            driver.refresh()
            wait_until(driver, lambda d: len(_shown(d)) == 93, timeout=15)
            layout = _layout(driver)
            assert layout["scrollWidth"] <= layout["innerWidth"] and layout["cut"] == [], layout
            assert driver.find_element(By.CSS_SELECTOR, "header.top").is_displayed(), "the desk board keeps its menu"
            print(f"desk board at {width}×{height}: {layout['scrollHeight']} px tall")
            _shot(driver, name)
        full = _layout(driver)["scrollHeight"]
        driver.get(base + "/?only=attention")
        wait_until(driver, lambda d: _shown(d) == (attention - {ABSENT[0]}) | {"D07"}, timeout=15)
        short = _layout(driver)
        assert short["scrollHeight"] < full / 3 and short["scrollWidth"] <= short["innerWidth"], (full, short)
        _shot(driver, "board-phone-attention-390x844")


def test_leave_entered_on_one_page_shows_on_a_board_open_in_another_within_2_s(tmp_path, one_broker):
    from selenium.webdriver.common.by import By

    hall = _hall(tmp_path, one_broker)
    config = hall.config
    with (
        _camera_services(config) as cameras,
        running_console(config) as base,
        browser(*WALL) as wall,
        browser(*DESK) as desk,
    ):
        _now, late = _the_hall_now(config, cameras)
        _viewport(wall, *WALL)
        log_in(wall, base, VIEWER)
        wall.get(base + "/?view=wall&only=all")
        wait_until(wall, lambda d: _tile(d, LIVE_LEAVE)[0] == "present", timeout=30)
        wall.execute_script("window.notReloaded = true;")

        # In the other browser, a supervisor gives A10 公出 until two hours from now on the leave page.
        log_in(desk, base, SUPERVISOR)
        desk.get(base + "/leave")
        form = wait_until(desk, lambda d: d.find_element(By.XPATH, "//form[.//*[@name='window']]"))
        end = (dt.datetime.now(config.hall.tz) + dt.timedelta(hours=2)).replace(second=0, microsecond=0)
        desk.execute_script(
            "const f = arguments[0]; f.elements.window.value = arguments[1]; f.elements.kind.value = '公出';"
            "f.elements.end.value = arguments[2]; f.elements.reason.value = '区政务服务管理办公室开会';",
            form,
            LIVE_LEAVE,
            end.strftime("%Y-%m-%dT%H:%M"),
        )
        sent = time.monotonic()
        form.find_element(By.CSS_SELECTOR, "button[type=submit], button:not([type])").click()
        wait_until(wall, lambda d: _tile(d, LIVE_LEAVE)[0] == "leave", timeout=10)
        shown = time.monotonic() - sent
        answered = wait_until(desk, lambda d: d.find_elements(By.CSS_SELECTOR, ".flash"), timeout=10)[0].text
        print(f"leave entered on the leave page: on the open board {shown:.2f} s after the click")
        assert "已记录" in answered, answered
        text = _tile(wall, LIVE_LEAVE)[1]
        assert "公出" in text and f"至 {end:%H:%M}" in text, text
        assert shown < 2.0, f"the board showed the leave {shown:.2f} s after it was entered"
        assert wall.execute_script("return window.notReloaded === true;"), "the board was reloaded"

        # A dismissal sent as a signed record: the late arrival's 迟到 leaves the open board within 2 s too.
        key = supervisor_key(config)
        sent = time.monotonic()
        assert submit(config, dismissal(late, "误判：系统时间有误", key.name), key).status in (
            Status.RECORDED,
            Status.DISMISSED,
        )
        wait_until(wall, lambda d: "迟到" not in _tile(d, LATE)[1], timeout=10)
        gone = time.monotonic() - sent
        print(f"dismissal: the open board dropped 迟到 {gone:.2f} s after it was sent")
        assert gone < 2.0


# --- over HTTP: the view and the filter asked for, remembered, refused when malformed --------------------------


def test_the_fragment_honours_the_view_and_filter_and_the_page_remembers_them(tmp_path, one_broker):
    hall = _hall(tmp_path, one_broker)
    config = hall.config
    with _camera_services(config) as cameras, running_console(config) as base:
        _the_hall_now(config, cameras)
        client = logged_in(base, VIEWER)
        try:
            wall = client.get("/?view=wall&only=attention")
            assert wall.status_code == 200 and 'class="wall"' in wall.text
            assert 'data-fragment="/board/tiles?view=wall&amp;only=attention"' in wall.text
            fragment = client.get("/board/tiles?view=wall&only=attention").text
            shown = set(_windows_in(fragment))
            assert shown == {*ABSENT, LATE, *_dark_windows(config)}, shown
            assert "只看异常" in fragment and "<html" not in fragment
            # Remembered by this browser: the board opened again is the wall of those windows.
            again = client.get("/")
            assert 'class="wall"' in again.text and set(_windows_in(again.text)) == shown
            assert len(_windows_in(client.get("/board/tiles?view=normal&only=all").text)) == 93
            # A malformed choice is refused in words, never another view.
            bad = client.get("/?view=big")
            assert bad.status_code == 400 and "看板样式无效" in bad.text, bad.text
        finally:
            client.close()
        # A browser that never chose sees the desk board of every window.
        fresh = logged_in(base, SUPERVISOR)
        try:
            page = fresh.get("/").text
            assert 'class="desk"' in page and len(_windows_in(page)) == 93
        finally:
            fresh.close()


def _windows_in(html: str) -> list[str]:
    return re.findall(r'data-window="([^"]+)"', html)


# --- the live hall, in process: what bumps the board's version -------------------------------------------------


def test_receipts_and_leave_lists_bump_the_live_hall_and_leave_follows_the_clock(tmp_path):
    config = hall_config(tmp_path).config
    topics = Topics(config.mqtt.topic_prefix)
    live = LiveHall(config)
    assert topics.receipt("+", "+") in live.subscriptions and topics.window_leaves("+") in live.subscriptions
    now = dt.datetime.now(dt.UTC)
    before = live.version
    receipt = Receipt(kind="dismissal", id="camera-x-1", status=Status.DISMISSED, detail="camera-x-1", at=now)
    live.take(topics.receipt("dismissal", "camera-x-1"), receipt.to_json())
    assert live.version == before + 1

    leave = ApprovedLeave(
        id="leave-1", start=now + dt.timedelta(hours=1), end=now + dt.timedelta(hours=2), reason="请假"
    )
    live.take(topics.window_leaves("A01"), WindowLeaves(window="A01", leaves=[leave], at=now).to_json(), retained=True)
    assert live.version == before + 2
    assert live.on_leave(now) == frozenset()
    assert live.on_leave(now + dt.timedelta(hours=1)) == {"A01"}
    assert live.on_leave(now + dt.timedelta(hours=2)) == frozenset()
    live.take(topics.window_leaves("A01"), WindowLeaves(window="A01", leaves=[], at=now).to_json())
    assert live.on_leave(now + dt.timedelta(hours=1)) == frozenset() and live.version == before + 3
    # A list on another window's topic is ignored, and changes nothing.
    live.take(topics.window_leaves("A02"), WindowLeaves(window="A01", leaves=[leave], at=now).to_json())
    assert live.version == before + 3 and live.on_leave(now + dt.timedelta(hours=1)) == frozenset()
