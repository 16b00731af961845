"""The review queue (违纪审核), an incident's page and the leave page against a real recorder, broker and store: the
queue opens on what awaits review across all dates and filters by window, person, department, kind and source;
many incidents are marked reviewed at once (one audit entry) or by keyboard alone; previous and next keep the
filter; a dismissal is undone and deducts again; leave is entered as 请假 or 公出 through a searchable picker,
withdrawn and changed, and the camera services are told; on a phone the incident's actions are on the first screen
and the lists are cards."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from pathlib import Path

import pytest
from sqlmodel import Session, select

from monitor.adapters.keys import read_key
from monitor.adapters.store.accounts import reviews_for
from monitor.adapters.store.database import open_database
from monitor.adapters.store.incidents import incident_by_id, load_incidents
from monitor.adapters.store.tables import AuditRow, LeaveRow
from monitor.config import MonitorConfig
from monitor.contract import Topics, WindowLeaves
from monitor.core.periods import month_bounds
from monitor.core.scoring import EnteredScores, score_month
from monitor.services.patrol import dismissal, patrol_incident, submit
from tests.support.console import (
    SUPERVISOR,
    VIEWER,
    browser,
    console_hall,
    flashes,
    form_token,
    log_in,
    logged_in,
    running_console,
    wait_until,
)
from tests.support.mqtt import Subscriber
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow

TZ_OFFSET = "+08:00"


@pytest.fixture
def hall(tmp_path, one_broker) -> MonitorConfig:
    return console_hall(tmp_path, mqtt_url=one_broker).config


def _finding(hall: MonitorConfig, window: str, at: str, kind: str = "late_arrival", minutes: int = 8) -> str:
    """A patrol finding recorded through the recorder, signed as the console signs a supervisor's: its id."""
    event = patrol_incident(
        window=window,
        kind=kind,
        seen_at=dt.datetime.fromisoformat(at + TZ_OFFSET),
        minutes=minutes,
        note="",
        by=SUPERVISOR,
    )
    receipt = submit(hall, event, read_key(Path(hall.console.signing_key or "")))
    assert receipt.status == "recorded", receipt
    return event.id


def _text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def _listed(page: str) -> list[str]:
    """The incident ids of the queue's rows, in order."""
    return re.findall(r'data-href="/incidents/([^"?]+)', page)


def _staff_total(hall: MonitorConfig, window: str, month: str) -> object:
    engine = open_database(hall.database.url)
    with Session(engine) as session:
        incidents = load_incidents(session, *month_bounds(month, hall.hall.tz))
    sheet = score_month(hall, month, incidents, EnteredScores())
    return next(r.total for r in sheet.staff if r.key == window)


def test_the_queue_opens_on_what_awaits_review_across_dates_and_filters(hall):
    with running_console(hall) as base:
        supervisor = logged_in(base, SUPERVISOR)
        november = _finding(hall, "A01", "2020-11-04T09:08")
        december = _finding(hall, "C11", "2020-12-01T09:33")
        reviewed = _finding(hall, "A02", "2020-11-05T09:10")
        dismissed = _finding(hall, "A03", "2020-11-06T09:40", kind="empty_post", minutes=25)
        page = supervisor.get(f"/incidents/{reviewed}").text
        assert supervisor.post(f"/incidents/{reviewed}/review", data={"csrf": form_token(page)}).status_code == 303
        key = read_key(Path(hall.console.signing_key or ""))
        assert submit(hall, dismissal(dismissed, "误检测", by=SUPERVISOR), key).status == "dismissed"

        queue = supervisor.get("/incidents").text
        assert _listed(queue) == [december, november]  # 待审核, every date, newest first
        assert "待审核 · 全部日期：共 2 条" in _text(queue)
        assert _listed(supervisor.get("/incidents?state=all").text) == [december, dismissed, reviewed, november]
        assert _listed(supervisor.get("/incidents?state=reviewed").text) == [reviewed]
        assert _listed(supervisor.get("/incidents?state=all&page=1").text) == []  # a page of 100: one page
        assert _listed(supervisor.get("/incidents?state=dismissed").text) == [dismissed]
        # By window (id, picker entry or person), person, department, kind, source, date.
        assert _listed(supervisor.get("/incidents", params={"window": "C11"}).text) == [december]
        staff = hall.staff_by_window["C11"].name
        entry = f"C11 {staff}（{hall.window_by_id['C11'].label}）"
        assert _listed(supervisor.get("/incidents", params={"window": entry}).text) == [december]
        assert _listed(supervisor.get("/incidents", params={"staff": staff}).text) == [december]
        department = hall.window_by_id["A01"].department
        by_department = supervisor.get("/incidents", params={"department": department, "state": "all"}).text
        assert _listed(by_department) == [dismissed, reviewed, november]  # C11 is another department's
        empty_posts = supervisor.get("/incidents", params={"kind": "empty_post", "state": "all"}).text
        assert _listed(empty_posts) == [dismissed]
        assert _listed(supervisor.get("/incidents", params={"camera": "patrol"}).text) == [december, november]
        assert _listed(supervisor.get("/incidents?span=month&date=2020-11-20").text) == [november]
        refused = supervisor.get("/incidents", params={"window": "Z99"})
        assert refused.status_code == 400 and "窗口“Z99”不在本中心的窗口名单中" in refused.text

        # Opened from a filtered queue, the incident offers the previous and next of that queue.
        filtered = "state=all&kind=late_arrival"
        page = html.unescape(supervisor.get(f"/incidents/{reviewed}?{filtered}").text)
        assert f'href="/incidents/{december}?{filtered}"' in page  # newer
        assert f'href="/incidents/{november}?{filtered}"' in page  # older
        assert f'href="/incidents?{filtered}"' in page  # back to the list as it was


def test_many_incidents_marked_reviewed_at_once_with_one_audit_entry(hall):
    with running_console(hall) as base:
        supervisor = logged_in(base, SUPERVISOR)
        ids = [_finding(hall, w, f"2020-11-{d:02d}T09:1{d % 10}") for d, w in ((4, "A01"), (5, "A02"), (6, "C11"))]
        dismissed = _finding(hall, "A03", "2020-11-09T09:20")
        key = read_key(Path(hall.console.signing_key or ""))
        assert submit(hall, dismissal(dismissed, "申诉成立", by=SUPERVISOR), key).status == "dismissed"
        page = supervisor.get("/incidents?state=all").text
        assert f'name="incident" value="{dismissed}"' not in page  # a dismissed incident has no tick
        sent = {"csrf": form_token(page), "incident": [*ids, dismissed]}
        response = supervisor.post("/incidents/review", data=sent, headers={"referer": f"{base}/incidents?state=all"})
        assert response.status_code == 303 and response.headers["location"] == "/incidents?state=all"
        shown = supervisor.get("/incidents").text
        assert flashes(shown) == ["已标记为已审核 3 条（另有 1 条此前已审核或已撤销，未改动）"]
        assert _listed(shown) == []
        assert "没有待审核的违纪记录" in shown
        with Session(open_database(hall.database.url)) as session:
            assert set(reviews_for(session, ids)) == set(ids)
            entries = session.exec(select(AuditRow).where(AuditRow.action == "review_many")).all()
        assert len(entries) == 1
        entry = entries[0]
        assert entry.user == SUPERVISOR and entry.target == "3 条违纪（窗口 A01、A02、C11）"
        assert "已标记为已审核 3 条" in entry.detail and "A01 " in entry.detail and "11月4日 09:14" in entry.detail
        # Nothing ticked: said so, nothing written.
        empty = supervisor.post("/incidents/review", data={"csrf": form_token(shown)})
        assert empty.status_code == 303
        assert flashes(supervisor.get("/incidents").text) == ["请先勾选要标记的违纪记录"]
        # A viewer may not.
        viewer = logged_in(base, VIEWER)
        page = viewer.get("/incidents?state=all").text
        assert "标记已审核" not in page
        refused = viewer.post("/incidents/review", data={"csrf": form_token(page), "incident": ids})
        assert refused.status_code == 403


def test_a_dismissal_reinstated_from_the_page_deducts_again(hall):
    with running_console(hall) as base:
        supervisor = logged_in(base, SUPERVISOR)
        incident = _finding(hall, "C11", "2020-11-04T09:30", minutes=20)
        full = _staff_total(hall, "C11", "2020-11")
        page = supervisor.get(f"/incidents/{incident}").text
        dismissed = supervisor.post(
            f"/incidents/{incident}/dismiss",
            data={"csrf": form_token(page), "category": "误检测", "reason": "到岗记录有误"},
        )
        assert dismissed.status_code == 303
        with Session(open_database(hall.database.url)) as session:
            assert incident_by_id(session, incident).dismissed
        assert _staff_total(hall, "C11", "2020-11") > full  # the points are back

        page = supervisor.get(f"/incidents/{incident}").text
        assert "恢复扣分" in page and "撤销此违纪" not in page
        # A reason is required: nothing is sent without one.
        bare = supervisor.post(f"/incidents/{incident}/reinstate", data={"csrf": form_token(page)})
        assert bare.status_code == 303
        assert flashes(supervisor.get(f"/incidents/{incident}").text) == ["未恢复：请写明恢复理由"]
        with Session(open_database(hall.database.url)) as session:
            assert incident_by_id(session, incident).dismissed

        page = supervisor.get(f"/incidents/{incident}").text
        done = supervisor.post(
            f"/incidents/{incident}/reinstate", data={"csrf": form_token(page), "reason": "复核：确实迟到"}
        )
        assert done.status_code == 303
        shown = supervisor.get(f"/incidents/{incident}").text
        assert "已记录" in flashes(shown)[0] and "恢复扣分" in flashes(shown)[0]
        with Session(open_database(hall.database.url)) as session:
            assert not incident_by_id(session, incident).dismissed
            entry = session.exec(select(AuditRow).where(AuditRow.action == "reinstate")).one()
        assert _staff_total(hall, "C11", "2020-11") == full  # deducted again
        assert (
            entry.outcome == "ok"
            and "C11" in entry.detail
            and "迟到" in entry.detail
            and "复核：确实迟到" in entry.detail
        )
        # The page: its decisions in order, and the incident stands (已审核, with its 撤销 offered again).
        history = _text(shown.split("审核记录", 1)[1].split("过程", 1)[0])
        assert re.search(r"撤销 .*误检测：到岗记录有误.*恢复扣分 .*复核：确实迟到", history), history
        assert "已审核" in _text(shown) and "撤销此违纪" in shown


def test_leave_by_kind_through_the_picker_then_withdrawn_and_changed(hall, one_broker):
    topics = Topics(hall.mqtt.topic_prefix)
    staff = hall.staff_by_window["C11"].name
    now = dt.datetime.now(hall.hall.tz).replace(second=0, microsecond=0)
    with running_console(hall) as base, Subscriber(one_broker, topics.window_leaves("C11")) as lists:
        supervisor = logged_in(base, SUPERVISOR)
        page = supervisor.get("/leave").text
        # The picker: a searchable list of entries, never a select of every window.
        assert f'<option value="C11 {staff}（{hall.window_by_id["C11"].label}）">' in page
        assert '<select name="window"' not in page
        unstaffed = next(w for w in hall.window_list if w.id not in hall.staff_by_window)
        assert f'<option value="{unstaffed.id}（{unstaffed.label}）">' in page

        def grant(window: str, kind: str, start: dt.datetime, end: dt.datetime) -> str:
            page = supervisor.get("/leave").text
            leave_id = re.search(r'name="id" value="(leave-[^"]+)"', page).group(1)
            data = {"csrf": form_token(page), "id": leave_id, "window": window, "kind": kind, "reason": "市局培训"}
            data |= {"start": f"{start:%Y-%m-%dT%H:%M}", "end": f"{end:%Y-%m-%dT%H:%M}"}
            assert supervisor.post("/leave", data=data).status_code == 303
            return leave_id

        current = grant(
            f"C11 {staff}（{hall.window_by_id['C11'].label}）",
            "公出",
            now - dt.timedelta(hours=1),
            now + dt.timedelta(hours=3),
        )
        message = flashes(supervisor.get("/leave").text)[0]
        assert message.startswith(f"C11 {staff}") and "公出" in message and message.endswith("已记录"), message
        with Session(open_database(hall.database.url)) as session:
            row = session.get(LeaveRow, current)
        assert row is not None and (row.kind, row.reason, row.by) == ("公出", "市局培训", SUPERVISOR)
        later = grant(staff, "请假", now + dt.timedelta(days=1), now + dt.timedelta(days=1, hours=4))  # by name

        def published() -> list[str]:
            """The leave C11's retained list (what the cameras act on) holds running on from now."""
            payloads = lists.payloads()
            leaves = WindowLeaves.from_json(payloads[-1]).leaves if payloads else []
            return [a.id for a in leaves if a.end > dt.datetime.now(dt.UTC)]

        wait_for(lambda: published() == [current, later], what="C11's leave list with both")
        listed = _text(supervisor.get("/leave").text)
        assert f"公出 C11 {staff}" in listed and "进行中" in listed and "未开始" in listed

        # Withdrawn (a reason is required): the list the cameras read has it end now (listed a while, ended).
        page = supervisor.get("/leave").text
        bare = supervisor.post(f"/leave/{current}/withdraw", data={"csrf": form_token(page)})
        assert bare.status_code == 303
        assert flashes(supervisor.get("/leave").text) == ["未撤销：请写明撤销理由"]
        page = supervisor.get("/leave").text
        done = supervisor.post(f"/leave/{current}/withdraw", data={"csrf": form_token(page), "reason": "培训取消"})
        assert done.status_code == 303
        assert flashes(supervisor.get("/leave").text)[0].endswith("撤销（理由：培训取消）已记录")
        wait_for(lambda: published() == [later], what="C11's leave list with the withdrawn leave ended")

        # Changed: its new time, and its history.
        page = supervisor.get("/leave").text
        start, end = now + dt.timedelta(days=1, hours=1), now + dt.timedelta(days=1, hours=2)
        changed = supervisor.post(
            f"/leave/{later}/change",
            data={
                "csrf": form_token(page),
                "start": f"{start:%Y-%m-%dT%H:%M}",
                "end": f"{end:%Y-%m-%dT%H:%M}",
                "reason": "提前返岗",
            },
        )
        assert changed.status_code == 303
        page = supervisor.get("/leave").text
        assert flashes(page)[0].endswith("已记录"), flashes(page)
        wait_for(
            lambda: any(
                a["id"] == later and a["end"].startswith(end.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M"))
                for a in json.loads(lists.payloads()[-1])["leaves"]
            ),
            what="the changed leave's time in C11's list",
        )
        shown = _text(page)
        assert "已撤销" in shown and "未开始 · 已修改" in shown
        assert "撤销请假" in shown and "培训取消" in shown and "修改起止时间" in shown and "提前返岗" in shown
        # A withdrawn leave is not withdrawn again: said in words, nothing sent.
        again = supervisor.post(f"/leave/{current}/withdraw", data={"csrf": form_token(page), "reason": "再撤"})
        assert again.status_code == 303
        assert flashes(supervisor.get("/leave").text) == [
            "未撤销：此请假已撤销，不能再修改或撤销；如仍需请假，请重新登记"
        ]
        with Session(open_database(hall.database.url)) as session:
            audit = [a.action for a in session.exec(select(AuditRow).order_by(AuditRow.id)).all()]
        assert audit.count("leave_withdraw") == 1 and audit.count("leave_change") == 1


def test_ten_incidents_marked_reviewed_by_keyboard_alone(hall, tmp_path):
    """At 1920×1080: X ticks, J moves down, R marks what is ticked; on an incident's page R marks it and goes on."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    windows = ["A01", "A02", "A03", "C11", "C12", "A04", "A05", "A06", "A07", "A08", "A09", "A10"]
    with running_console(hall) as base, browser(1920, 1080) as driver:
        days = [2, 3, 4, 5, 6, 9, 10, 11, 12, 13, 16, 17]  # working days of November 2020
        ids = [
            _finding(hall, w, f"2020-11-{d:02d}T09:{10 + n}")
            for n, (d, w) in enumerate(zip(days, windows, strict=True))
        ]
        newest_first = ids[::-1]
        log_in(driver, base, SUPERVISOR)
        driver.get(base + "/incidents")
        wait_until(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "tr[data-href]")) == 12)
        keys = driver.find_element(By.CSS_SELECTOR, "p.keys").text
        assert "J" in keys and "X 勾选" in keys and "R 标记已审核" in keys and "Enter 打开" in keys
        typing = ActionChains(driver)
        for _ in range(10):
            typing.send_keys("j").send_keys("x")
        typing.perform()
        assert driver.find_element(By.CSS_SELECTOR, "[data-count]").text == "10"
        driver.save_screenshot(str(tmp_path / "queue-ticked.png"))
        ActionChains(driver).send_keys("r").perform()
        flash = wait_until(driver, lambda d: d.find_element(By.CSS_SELECTOR, ".flash")).text
        assert flash == "已标记为已审核 10 条", flash
        with Session(open_database(hall.database.url)) as session:
            assert set(reviews_for(session, ids)) == set(newest_first[:10])
        left = [
            r.get_attribute("data-href").split("/")[-1] for r in driver.find_elements(By.CSS_SELECTOR, "tr[data-href]")
        ]
        assert left == newest_first[10:]

        # The next one opened by keyboard, marked there with R: on to the last.
        ActionChains(driver).send_keys("j").send_keys("\ue007").perform()  # Enter
        wait_until(driver, lambda d: d.current_url.endswith(f"/incidents/{newest_first[10]}"))
        ActionChains(driver).send_keys("r").perform()
        wait_until(driver, lambda d: d.current_url.endswith(f"/incidents/{newest_first[11]}"))
        assert "已标记为已审核" in driver.find_element(By.CSS_SELECTOR, ".flash").text
        ActionChains(driver).send_keys("\ue00c").perform()  # Esc: back to the queue
        wait_until(driver, lambda d: d.current_url == base + "/incidents")
        assert len(driver.find_elements(By.CSS_SELECTOR, "tr[data-href]")) == 1
        driver.save_screenshot(str(tmp_path / "queue-after.png"))


def _phone(driver) -> None:
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride", {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True}
    )


def test_on_a_phone_the_actions_are_on_the_first_screen_and_the_lists_are_cards(hall, tmp_path):
    from selenium.webdriver.common.by import By

    now = dt.datetime.now(hall.hall.tz).replace(second=0, microsecond=0)
    with running_console(hall) as base, browser(1920, 1080) as driver:
        incident = _finding(hall, "C11", "2020-12-01T09:33", kind="empty_post", minutes=20)
        _finding(hall, "A01", "2020-11-30T09:12")
        supervisor = logged_in(base, SUPERVISOR)
        page = supervisor.get("/leave").text
        leave_id = re.search(r'name="id" value="(leave-[^"]+)"', page).group(1)
        data = {"csrf": form_token(page), "id": leave_id, "window": "C11", "kind": "请假", "reason": "病假"}
        data |= {"start": f"{now:%Y-%m-%dT%H:%M}", "end": f"{now + dt.timedelta(hours=4):%Y-%m-%dT%H:%M}"}
        assert supervisor.post("/leave", data=data).status_code == 303
        log_in(driver, base, SUPERVISOR)
        _phone(driver)
        driver.get(f"{base}/incidents/{incident}")
        actions = wait_until(driver, lambda d: d.find_element(By.CSS_SELECTOR, ".actions"))
        box = driver.execute_script(
            "const r = arguments[0].getBoundingClientRect(); return [r.top, r.bottom];", actions
        )
        assert driver.execute_script("return window.innerWidth") == 390
        assert box[0] > 0 and box[1] <= 844, box  # the whole of 处理 on the first screen, before the evidence
        assert driver.find_element(By.CSS_SELECTOR, ".actions button[data-key='review']").is_displayed()
        assert driver.find_element(By.CSS_SELECTOR, ".actions button.danger").is_displayed()
        when = driver.find_element(By.CSS_SELECTOR, "p.sub .when")
        assert when.text == "2020-12-01 09:13"  # seen at 09:33, empty for 20 minutes; not this year: its year
        assert driver.execute_script("return arguments[0].getClientRects().length", when) == 1  # one line
        driver.save_screenshot(str(tmp_path / "incident-phone.png"))
        for path in ("/incidents?state=all", "/leave"):
            driver.get(base + path)
            wait_until(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "table.cards tbody tr"))
            wide = driver.execute_script("return document.documentElement.scrollWidth")
            assert wide <= 390, (path, wide)  # no sideways scrolling
            for cell in driver.find_elements(By.CSS_SELECTOR, "table.cards .when"):
                assert driver.execute_script("return arguments[0].getClientRects().length", cell) == 1
            driver.save_screenshot(str(tmp_path / f"{path.strip('/').split('?')[0]}-phone.png"))


def test_in_chromium_a_dismissal_reinstated_and_leave_withdrawn(hall, one_broker, tmp_path):
    """At 1920×1080, as a supervisor clicks: a dismissed incident reinstated from its page deducts again; leave
    picked by a person's name as 公出, then withdrawn from the list: the window's list for the cameras drops it."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    topics = Topics(hall.mqtt.topic_prefix)
    staff = hall.staff_by_window["C12"].name
    with (
        running_console(hall) as base,
        browser(1920, 1080) as driver,
        Subscriber(one_broker, topics.window_leaves("C12")) as lists,
    ):
        incident = _finding(hall, "C12", "2020-11-04T09:40", kind="empty_post", minutes=30)
        key = read_key(Path(hall.console.signing_key or ""))
        assert submit(hall, dismissal(incident, "误检测：有人", by=SUPERVISOR), key).status == "dismissed"
        full = _staff_total(hall, "C12", "2020-11")
        log_in(driver, base, SUPERVISOR)
        driver.get(f"{base}/incidents?state=dismissed")
        driver.find_element(By.CSS_SELECTOR, f"a[href^='/incidents/{incident}?']").click()
        reason = wait_until(driver, lambda d: d.find_element(By.CSS_SELECTOR, "form.reinstate input[name='reason']"))
        reason.send_keys("复核：确有空岗")
        driver.find_element(By.CSS_SELECTOR, "form.reinstate button").click()
        flash = wait_until(driver, lambda d: d.find_element(By.CSS_SELECTOR, ".flash")).text
        assert flash.startswith("恢复扣分") and flash.endswith("已记录"), flash
        assert "state=dismissed" in driver.current_url  # the queue it came from, kept
        assert _staff_total(hall, "C12", "2020-11") < full  # deducted again
        decisions = driver.find_element(By.CSS_SELECTOR, "section.decisions").text
        assert "撤销" in decisions and "恢复扣分" in decisions and "复核：确有空岗" in decisions
        driver.save_screenshot(str(tmp_path / "reinstated.png"))

        driver.get(f"{base}/leave")
        picker = driver.find_element(By.NAME, "window")
        assert picker.get_attribute("list") == "window-entries"
        picker.send_keys(staff)  # the person's name picks their window
        Select(driver.find_element(By.NAME, "kind")).select_by_visible_text("公出")
        driver.find_element(By.NAME, "reason").send_keys("市局培训")
        driver.find_element(By.CSS_SELECTOR, "form.leave-add button").click()
        flash = wait_until(driver, lambda d: d.find_element(By.CSS_SELECTOR, ".flash")).text
        assert flash.startswith(f"C12 {staff}") and "公出" in flash and flash.endswith("已记录"), flash

        def running() -> list[str]:
            """The leave C12's retained list (what the cameras act on) holds running on from now."""
            payloads = lists.payloads()
            leaves = WindowLeaves.from_json(payloads[-1]).leaves if payloads else []
            return [a.id for a in leaves if a.end > dt.datetime.now(dt.UTC)]

        wait_for(lambda: len(running()) == 1, what="C12's leave in its list")
        row = driver.find_element(By.CSS_SELECTOR, "tr[data-leave]")
        assert row.text.startswith(f"公出 C12 {staff}") and "进行中" in row.text
        row.find_element(By.CSS_SELECTOR, "details.withdraw summary").click()
        row.find_element(By.CSS_SELECTOR, "details.withdraw input[name='reason']").send_keys("培训取消")
        row.find_element(By.CSS_SELECTOR, "details.withdraw button").click()
        flash = wait_until(driver, lambda d: "撤销" in d.find_element(By.CSS_SELECTOR, ".flash").text)
        wait_for(lambda: not running(), what="C12's list with the leave ended")
        assert "已撤销" in driver.find_element(By.CSS_SELECTOR, "tr[data-leave] td.state").text
        driver.save_screenshot(str(tmp_path / "withdrawn.png"))
