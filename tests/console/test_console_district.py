"""The district in the console: one console serving three sites (the hall and two township centres) against a real
broker, store and a recorder per site; the district overview and the site switcher in a real headless Chromium;
authority by site over HTTP (a centre's supervisor refused, 403 in words with the login's own menu, another site, its
incident, its evidence, its leave; a district account sees all, and a link to another site's record switches to it);
every link and form of a site's page naming the site, so that a download gives that site's file (its name, its rows)
whatever another tab chose since; each site's audit log keeping its own accounts' logins and changes (a district
account's apart, read by district accounts only); an account moved to other sites, by `monitor user sites` and on
the accounts page (its login ended; a centre's admin kept to its own accounts and sites); and a centre cut off from
the district (its bridge's retained `0` on <prefix>/link): its board's windows 未知 (站点离线, since when) and its card
saying so, then its cameras' states back when the bridge says `1`.

Every site is on duty all day today (whenever the test runs), so what the boards show does not depend on the hour.
The screenshots (the overview at 1440×900 and 390×844, a board with the switcher open on a phone) are kept in the
test's folder, or in MONITOR_CONSOLE_SHOTS when it names one.
"""

from __future__ import annotations

import datetime as dt
import html as markup
import io
import os
import re
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import NamedTuple

import httpx
from openpyxl import load_workbook
from sqlmodel import Session, select

from monitor.adapters.keys import write_key
from monitor.adapters.mqtt.broker import free_port
from monitor.adapters.passwords import hash_password
from monitor.adapters.store.accounts import add_user
from monitor.adapters.store.database import open_database
from monitor.adapters.store.tables import AuditRow, LeaveRow, UserRow
from monitor.config import MonitorConfig, SignerConfig, load_config
from monitor.config.calendar import CalendarConfig, DutyConfig
from monitor.config.writer import write_config
from monitor.console.server import ConsoleServer, build_console
from monitor.console.sites import SITE_COOKIE
from monitor.contract import Status, Topics
from monitor.core.incident import EMPTY_POST, LATE_ARRIVAL
from monitor.core.signature import SigningKey
from monitor.services.patrol import leave_grant, patrol_incident, submit
from monitor.services.recorder import Recorder
from tests.console.test_console_words import programmers_text, visible_text
from tests.support.console import PASSWORD, browser, flashes, form_token, log_in, logged_in, wait_until
from tests.support.district import district_config, site_key
from tests.support.liveness import SpeakingService, duty_around_today
from tests.support.mqtt import publish
from tests.support.waiting import wait_for

NAMES = {"hall": "河东区政务服务中心", "xinhe": "新河镇便民服务中心", "dongcheng": "东城街道便民服务中心"}
KINDS = {"hall": "seed", "xinhe": "fixture", "dongcheng": "seed"}
ADMIN = "区管理员"
"""The district office's admin: every site."""
XINHE = "新河督查员"
"""新河镇's supervisor: 新河 only."""
XINHE_ADMIN = "新河管理员"
HALL_ADMIN = "大厅管理员"
"""The hall's own admin: the hall only."""
TWO_CENTRES = "镇街督查员"
"""A supervisor of two centres: 新河 and 东城."""
ACCOUNTS = {
    ADMIN: ("admin", ""),
    XINHE: ("supervisor", "xinhe"),
    XINHE_ADMIN: ("admin", "xinhe"),
    HALL_ADMIN: ("admin", "hall"),
    TWO_CENTRES: ("supervisor", "xinhe,dongcheng"),
}
DESK = (1440, 900)
PHONE = (390, 844)


class Running(NamedTuple):
    config: MonitorConfig
    base: str
    ids: dict[str, str]
    """What the test recorded: `hall-incident`, `xinhe-incident`, `hall-leave`, `xinhe-today`."""


def _district(directory: Path, broker: str, db_url: str | None = None) -> MonitorConfig:
    """Three sites on duty all day today, the console's signer (the district's) and port, the test accounts; on
    `db_url` (default a SQLite file of the test's)."""
    made = district_config(directory, KINDS, db_url=db_url, mqtt_url=broker, names=NAMES)
    today = duty_around_today(made.config.hall.tz)
    duty = DutyConfig.model_validate(today["duty"])
    calendar = CalendarConfig.model_validate({**today["calendar"], "statutory": True})  # the month's other days
    key = SigningKey.generate("控制台")
    key_file = directory / "keys" / "console.key"
    write_key(key_file, key)
    console = SignerConfig(name=key.name, role="console", public_key=key.public_text())
    config = made.config.model_copy(
        update={
            "signers": [*made.config.signers, console],
            "console": made.config.console.model_copy(update={"port": free_port(), "signing_key": str(key_file)}),
            "sites": [s.model_copy(update={"duty": duty, "calendar": calendar}) for s in made.config.sites],
        }
    )
    config = load_config(write_config(config, made.path))
    with Session(open_database(config.database.url)) as session:
        for name, (role, sites) in ACCOUNTS.items():
            add_user(session, name, role, hash_password(PASSWORD), "test", dt.datetime.now(dt.UTC), sites=sites)
        session.commit()
    return config


def _records(config: MonitorConfig, directory: Path) -> dict[str, str]:
    """A late arrival at the hall and an empty post at 新河 yesterday, a late arrival at 新河 today, and leave at the
    hall's A02 now: each signed by the district's supervisor and recorded by its site's recorder."""
    key = site_key(directory, "district-supervisor.key")
    now = dt.datetime.now(dt.UTC)
    yesterday = _yesterday(config)
    findings = {
        "hall-incident": ("hall", LATE_ARRIVAL, "A01", yesterday.replace(hour=9, minute=8), 8),
        "xinhe-incident": ("xinhe", EMPTY_POST, "F02", yesterday.replace(hour=10), 30),
        "xinhe-today": ("xinhe", LATE_ARRIVAL, "F03", now, 5),
    }
    ids: dict[str, str] = {}
    for name, (site, kind, window, seen_at, minutes) in findings.items():
        finding = patrol_incident(window=window, kind=kind, seen_at=seen_at, minutes=minutes, note="", by=key.name)
        receipt = submit(config.site_view(site), finding, key)
        assert receipt.status == Status.RECORDED, receipt
        ids[name] = finding.id
    leave = leave_grant(
        window="A02",
        start=now - dt.timedelta(hours=1),
        end=now + dt.timedelta(hours=2),
        kind="请假",
        reason="",
        by=key.name,
    )
    assert submit(config.site_view("hall"), leave, key).status == Status.RECORDED
    ids["hall-leave"] = leave.id
    return ids


def _yesterday(config: MonitorConfig) -> dt.datetime:
    """Midnight yesterday, district time: a duty day (`_district`), in the month the roll-up is asked for."""
    today = dt.datetime.now(config.hall.tz).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - dt.timedelta(days=1)


@contextmanager
def _running(directory: Path, broker: str, db_url: str | None = None) -> Iterator[Running]:
    """The district's recorders (one a site) and its console, running, with the test's records in the store."""
    config = _district(directory, broker, db_url)
    engine = open_database(config.database.url)
    with ExitStack() as stack:
        for view in config.site_views.values():
            recorder = Recorder(view, engine)
            assert recorder.start(wait=30), f"the recorder of {view.site} did not confirm its subscriptions"
            stack.callback(recorder.stop)
        server = ConsoleServer(build_console(config, engine))
        server.start()
        stack.callback(server.stop)
        assert server.wait_started(), "the console did not start"
        yield Running(config, f"http://127.0.0.1:{config.console.port}", _records(config, directory))


def _brand(html: str) -> str:
    found = re.search(r'<div class="brand">([^<]*)</div>', html)
    return found.group(1) if found else ""


def _cards(html: str) -> list[str]:
    return re.findall(r'<article class="site-card[^"]*" data-site="([^"]+)"', html)


def _tiles(html: str) -> dict[str, tuple[str, str]]:
    """Each window's tile on a board's page or fragment: its state and its text."""
    found = re.findall(r'data-window="([^"]+)" data-state="([^"]+)"[^>]*>(.*?)</article>', html, flags=re.S)
    return {window: (state, visible_text(body)) for window, state, body in found}


def _shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("MONITOR_CONSOLE_SHOTS") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _viewport(driver, width: int, height: int) -> None:  # type: ignore[no-untyped-def]
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 700},
    )


# --- in Chromium: the overview, the switcher ------------------------------------------------------------------


def test_the_district_admin_sees_every_site_and_switches_between_them(tmp_path, one_broker):
    from selenium.webdriver.common.by import By

    shots = _shots(tmp_path)

    def brand(driver) -> str:  # type: ignore[no-untyped-def]
        return driver.find_element(By.CSS_SELECTOR, "header.top .brand").text

    def switch(driver, site: str) -> None:  # type: ignore[no-untyped-def]
        driver.find_element(By.CSS_SELECTOR, "details.sites summary").click()
        wait_until(
            driver, lambda d: d.find_element(By.CSS_SELECTOR, f"details.sites a[data-site='{site}']").is_displayed()
        )
        driver.find_element(By.CSS_SELECTOR, f"details.sites a[data-site='{site}']").click()
        wait_until(driver, lambda d: NAMES[site] in brand(d), timeout=30)

    with _running(tmp_path / "district", one_broker) as running, browser(*DESK) as driver:
        base = running.base
        _viewport(driver, *DESK)
        log_in(driver, base, ADMIN)
        driver.find_element(By.LINK_TEXT, "区域总览").click()
        wait_until(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".site-card")) == 3, timeout=30)
        cards = {c.get_attribute("data-site"): c.text for c in driver.find_elements(By.CSS_SELECTOR, ".site-card")}
        assert list(cards) == ["hall", "xinhe", "dongcheng"], cards
        for site, text in cards.items():
            assert NAMES[site] in text and "在岗" in text and "空岗" in text and "未知" in text and "请假" in text, text
        assert "请假 1" in cards["hall"] and "未知 92" in cards["hall"], cards["hall"]  # A02 on leave, no cameras
        assert "今日违纪" in cards["xinhe"] and "1 起" in cards["xinhe"], cards["xinhe"]
        rollup = driver.find_element(By.ID, "rollup").text
        assert "在岗率" in rollup and "迟到" in rollup and "部门平均分" in rollup, rollup
        driver.save_screenshot(str(shots / "district-1440x900.png"))

        # Live: 东城's bridge drops; its card says so within seconds, the page not reloaded.
        driver.execute_script("window.notReloaded = true;")
        link = Topics(running.config.site_view("dongcheng").mqtt.topic_prefix).link
        try:
            publish(one_broker, link, [b"0"], retain=True)
            card = "article.site-card[data-site='dongcheng']"
            wait_until(driver, lambda d: "站点离线 自" in d.find_element(By.CSS_SELECTOR, card).text, timeout=10)
            assert "未知 93" in driver.find_element(By.CSS_SELECTOR, card).text
            assert driver.execute_script("return window.notReloaded === true;"), "the overview was reloaded"
            driver.save_screenshot(str(shots / "district-offline-1440x900.png"))
        finally:
            publish(one_broker, link, [b""], retain=True)

        # The switcher: to 新河's board (its 11 windows under its name), and back to the hall's (93).
        switch(driver, "xinhe")
        assert driver.current_url.endswith("/?site=xinhe"), driver.current_url
        wait_until(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#board [data-window]")) == 11)
        current = driver.find_element(By.CSS_SELECTOR, "details.sites a[aria-current='true']")
        assert current.get_attribute("data-site") == "xinhe"
        driver.get(base + "/incidents")  # the site chosen holds on the next page, and its list is its own
        assert NAMES["xinhe"] in brand(driver)
        switch(driver, "hall")
        assert driver.current_url.endswith("/incidents?site=hall"), driver.current_url  # the same list, the hall's
        driver.find_element(By.LINK_TEXT, "大厅看板").click()
        wait_until(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#board [data-window]")) == 93)
        assert NAMES["hall"] in brand(driver)

        # On a phone: the overview as one column, no sideways scrolling; the switcher opens over the board.
        _viewport(driver, *PHONE)
        driver.get(base + "/district")
        wait_until(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".site-card")) == 3)
        widths = driver.execute_script(
            "return [document.documentElement.scrollWidth, innerWidth,"
            " [...document.querySelectorAll('.site-card')].map((c) => c.getBoundingClientRect().left)];"
        )
        assert widths[0] <= widths[1] and len(set(widths[2])) == 1, widths
        driver.save_screenshot(str(shots / "district-390x844.png"))
        driver.execute_script("document.getElementById('rollup').scrollIntoView();")
        driver.save_screenshot(str(shots / "district-rollup-390x844.png"))
        driver.get(base + "/")
        driver.find_element(By.CSS_SELECTOR, "details.sites summary").click()
        wait_until(
            driver, lambda d: d.find_element(By.CSS_SELECTOR, "details.sites a[data-site='dongcheng']").is_displayed()
        )
        time.sleep(0.3)
        driver.save_screenshot(str(shots / "switcher-390x844.png"))
        driver.find_element(By.CSS_SELECTOR, "details.sites a[data-site='dongcheng']").click()
        wait_until(driver, lambda d: NAMES["dongcheng"] in brand(d), timeout=30)
    print(f"screenshots in {shots}")


# --- over HTTP: authority by site -------------------------------------------------------------------------------


def test_a_centres_supervisor_sees_and_acts_on_its_centre_only(tmp_path, one_broker, db_url):
    with _running(tmp_path / "district", one_broker, db_url) as running:
        ids, config = running.ids, running.config
        hall_incident, xinhe_incident, hall_leave = ids["hall-incident"], ids["xinhe-incident"], ids["hall-leave"]
        xinhe = logged_in(running.base, XINHE)
        try:
            # Its own centre: the board, its incident, the overview with its card alone.
            page = xinhe.get("/")
            assert page.status_code == 200 and NAMES["xinhe"] in _brand(page.text)
            assert "切换站点" not in page.text and "区域总览" in page.text  # one site: nothing to switch to
            assert xinhe.get(f"/incidents/{xinhe_incident}").status_code == 200
            assert xinhe.get("/?site=xinhe").status_code == 200
            overview = xinhe.get("/district")
            assert overview.status_code == 200 and _cards(overview.text) == ["xinhe"], _cards(overview.text)
            assert NAMES["hall"] not in visible_text(overview.text)

            # Another site, asked for or reached by a record's id: 403, in words.
            for address in (
                "/?site=hall",
                "/incidents?site=dongcheng",
                f"/incidents/{hall_incident}",
                f"/incidents/{hall_incident}/evidence/any.jpg",
            ):
                refused = xinhe.get(address)
                assert refused.status_code == 403, (address, refused.status_code)
                assert "不能查看其他站点" in refused.text and NAMES["xinhe"] in refused.text, refused.text
            assert xinhe.get("/?site=nowhere").status_code == 400
            # The refusal's page is drawn on the login's own site, with its menu: the overview, its own pages.
            refused = xinhe.get("/?site=hall").text
            assert NAMES["xinhe"] in _brand(refused) and 'href="/district?site=xinhe"' in refused, refused
            assert 'href="/incidents?site=xinhe"' in refused and "切换站点" not in refused

            # Acting on another site: the hall's leave by its id, or a form naming the hall; refused and audited.
            token = form_token(xinhe.get("/leave").text)
            withdraw = xinhe.post(f"/leave/{hall_leave}/withdraw", data={"csrf": token, "reason": "不该能撤销"})
            assert withdraw.status_code == 403 and "不能查看其他站点" in withdraw.text
            sent_as_hall = xinhe.post(
                "/leave",
                data={"csrf": token, "site": "hall", "window": "A03", "kind": "请假", "start": "2020-11-03T09:00",
                      "end": "2020-11-03T10:00", "id": "leave-000000000001"},
            )  # fmt: skip
            assert sent_as_hall.status_code == 403
            with Session(open_database(config.database.url)) as session:
                leave = session.get(LeaveRow, hall_leave)
                refusals = session.exec(select(AuditRow).where(AuditRow.user == XINHE)).all()
            assert leave is not None and leave.end > dt.datetime.now(dt.UTC), "the hall's leave was changed"
            assert len([r for r in refusals if r.outcome == "refused"]) == 2, refusals
            assert not any(r.action == "leave" and r.outcome == "ok" for r in refusals)
        finally:
            xinhe.close()

        both = logged_in(running.base, TWO_CENTRES)
        try:  # an account of two centres, refused the hall's incident: its switcher offers its two, and the overview
            refused = both.get(f"/incidents/{hall_incident}")
            assert refused.status_code == 403 and "区域总览" in refused.text
            assert re.findall(r'data-site="([^"]+)"', refused.text) == ["xinhe", "dongcheng"], refused.text
        finally:
            both.close()

        admin = logged_in(running.base, ADMIN)
        try:
            # The district sees all; a link to the hall's incident from 新河 switches to the hall.
            assert NAMES["xinhe"] in _brand(admin.get("/?site=xinhe").text)
            assert admin.cookies.get(SITE_COOKIE) == "xinhe"
            incident = admin.get(f"/incidents/{hall_incident}")
            assert incident.status_code == 200 and "A01" in incident.text
            assert NAMES["hall"] in _brand(incident.text) and admin.cookies.get(SITE_COOKIE) == "hall"
            assert NAMES["hall"] in _brand(admin.get("/").text)
            overview = admin.get(f"/district?month={_yesterday(config):%Y-%m}")
            assert _cards(overview.text) == ["hall", "xinhe", "dongcheng"]
            rows = dict(re.findall(r'<tr data-site="([^"]+)">(.*?)</tr>', overview.text, flags=re.S))
            assert set(rows) == set(NAMES)
            assert "迟到" in visible_text(overview.text) and "空岗" in visible_text(overview.text)
            cells = {
                site: {
                    label: visible_text(cell)
                    for label, cell in re.findall(r'data-label="([^"]+)"[^>]*>(.*?)</td>', row)
                }
                for site, row in rows.items()
            }
            today_too = int(dt.datetime.now(config.hall.tz).month == _yesterday(config).month)  # 新河's late arrival
            assert (cells["hall"]["迟到"], cells["hall"]["空岗"], cells["hall"]["违纪合计"]) == ("1", "0", "1"), cells
            assert (cells["xinhe"]["空岗"], cells["xinhe"]["迟到"]) == ("1", str(today_too)), cells
            assert cells["dongcheng"]["违纪合计"] == "0" and cells["dongcheng"]["人员平均分"], cells

            # Accounts: a centre's account added with its site; the centre's admin manages its centre's only.
            token = form_token(admin.get("/users").text)
            added = admin.post(
                "/users",
                data={"csrf": token, "name": "东城查看员", "role": "viewer", "password": "x" * 9, "sites": "dongcheng"},
            )
            assert added.status_code == 303
            users = admin.get("/users").text
            assert f"已新增账号 东城查看员（查看员，限{NAMES['dongcheng']}）" in users, users
            assert "全部站点" in users and "<th>站点</th>" in users
            pages = {"admin /district": overview.text, "admin /users": users, "admin /": admin.get("/").text}
        finally:
            admin.close()
        centre_admin = logged_in(running.base, XINHE_ADMIN)
        try:
            users = centre_admin.get("/users").text
            assert XINHE in users and ADMIN not in users and "东城查看员" not in users
            token = form_token(users)
            assert centre_admin.post(f"/users/{ADMIN}/active", data={"csrf": token, "active": "0"}).status_code == 403
            given = centre_admin.post(
                "/users", data={"csrf": token, "name": "越权", "role": "admin", "password": "x" * 9, "sites": "hall"}
            )
            assert given.status_code == 303 and "只能选择本账号可管理的站点" in centre_admin.get("/users").text
            pages["centre admin /users"] = centre_admin.get("/users").text
            pages["centre admin /district"] = centre_admin.get("/district").text
        finally:
            centre_admin.close()

        # Chinese only on the district's pages: no site id, no English.
        problems = {
            page: found
            for page, html in pages.items()
            if (found := programmers_text(visible_text(html), {*NAMES, *ids.values()}))
        }
        assert not problems, problems


# --- a site's pages name their site; each site's audit log its own accounts' --------------------------------------


SITE_LINK = re.compile(r'(?:href|src|data-href|data-live|data-fragment)="(/[^"]*)"(?! data-site=)')
"""A local address a page draws, but a site switcher's entry (which names the site it switches to)."""


def _sites_named(page: str) -> tuple[list[str], list[str]]:
    """What on a page does not name one site: the site each local address names (but the static files'), and the
    site each form sends (its hidden `site` field), one entry per address or form."""
    named = [
        ",".join(urllib.parse.parse_qs(urllib.parse.urlsplit(markup.unescape(link)).query).get("site", ["—"]))
        for link in SITE_LINK.findall(page)
        if not link.startswith("/static/")
    ]
    forms = [
        found.group(1) if (found := re.search(r'name="site" value="([^"]+)"', form)) else "—"
        for form in re.findall(r"<form\b.*?</form>", page, flags=re.S)
    ]
    return named, forms


def _download(client: httpx.Client, link: str) -> tuple[str, bytes]:
    """A download by the address a page drew: its file name (RFC 5987) and its bytes."""
    response = client.get(markup.unescape(link))
    assert response.status_code == 200, (link, response.status_code, visible_text(response.text)[:300])
    found = re.search(r"filename\*=UTF-8''([^;]+)", response.headers["content-disposition"])
    assert found, response.headers["content-disposition"]
    return urllib.parse.unquote(found.group(1)), response.content


def _sheet(data: bytes) -> tuple[str, list[tuple[object, ...]]]:
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    return sheet.title, list(sheet.iter_rows(values_only=True))


def _link(page: str, pattern: str) -> str:
    found = re.search(rf'href="({pattern}[^"]*)"', page)
    assert found, f"no link {pattern} on the page"
    return found.group(1)


def test_a_sites_links_give_its_own_files_whatever_another_tab_chose(tmp_path, one_broker):
    """The acceptance walk's defect: the hall's 考核得分 open, another tab switched to 新河, the hall's 下载 Excel gave
    新河's sheet. Every address a hall's page draws names the hall, every form sends it: each download is the hall's,
    its file named for the hall, whatever site the browser chose since."""
    with _running(tmp_path / "district", one_broker) as running:
        config, ids = running.config, running.ids
        month = f"{_yesterday(config):%Y-%m}"
        hall = NAMES["hall"]
        admin = logged_in(running.base, ADMIN)
        try:
            # Tab 1, on the hall: its pages, every address and form naming the hall (the switcher's entries aside).
            pages = {
                address: admin.get(address).text
                for address in (
                    "/?site=hall",
                    "/incidents?state=all",
                    f"/incidents/{ids['hall-incident']}",
                    "/leave",
                    f"/scores?month={month}",
                    f"/duty-rate?span=month&month={month}",
                    f"/notices?kind=monthly&month={month}",
                    "/notices/register",
                    "/cameras",
                    "/users",
                    "/audit",
                )
            }
            for address, page in pages.items():
                assert NAMES["hall"] in _brand(page), address
                named, forms = _sites_named(page)
                assert named and set(named) == {"hall"}, (address, named)
                assert set(forms) <= {"hall"} and forms, (address, forms)
            scores, rates = pages[f"/scores?month={month}"], pages[f"/duty-rate?span=month&month={month}"]
            notices, queue = pages[f"/notices?kind=monthly&month={month}"], pages["/incidents?state=all"]
            staff_sheet, window_rates = _link(scores, "/scores/staff.xlsx"), _link(rates, "/duty-rate/windows.xlsx")
            incident_list, notice_md = _link(queue, "/incidents.xlsx"), _link(notices, "/notices/monthly/[^/]+/file.md")
            issue = _link(notices, "/notices/monthly/[^/]+/issue")

            # Tab 2 switches to 新河: the site the browser remembers.
            assert NAMES["xinhe"] in _brand(admin.get("/?site=xinhe").text)
            assert admin.cookies.get(SITE_COOKIE) == "xinhe"

            # Tab 1's links: the hall's files, named for the hall, its rows the hall's windows (A…), not 新河's (F…).
            name, data = _download(admin, staff_sheet)
            title, rows = _sheet(data)
            assert name == f"{hall} {_yesterday(config).year}年{_yesterday(config).month}月工作人员考核.xlsx", name
            assert rows[0][0] == name.removesuffix(".xlsx") and title.startswith(hall), (rows[0], title)
            windows = [r[0] for r in rows if isinstance(r[0], str) and re.fullmatch(r"[A-Z]\d\d", r[0])]
            assert "A01" in windows and not any(w.startswith("F") for w in windows), windows
            name, data = _download(admin, window_rates)
            assert name.startswith(f"{hall} ") and name.endswith("窗口在岗率.xlsx"), name
            assert "A01" in [r[0] for r in _sheet(data)[1]]
            name, data = _download(admin, incident_list)
            assert name == f"{hall} 违纪记录.xlsx", name
            listed = [r[1] for r in _sheet(data)[1] if isinstance(r[0], dt.datetime)]
            assert listed == ["A01"], listed  # the hall's late arrival alone
            name, data = _download(admin, notice_md)
            assert name.startswith(f"{hall} ") and name.endswith("月度通报（草稿）.md"), name

            # The 印发 link: the hall's confirmation step; its form issues the hall's notice, into the hall's register.
            confirm = admin.get(markup.unescape(issue))
            assert confirm.status_code == 200 and NAMES["hall"] in _brand(confirm.text)
            assert admin.cookies.get(SITE_COOKIE) == "hall"  # a link followed is the site chosen
            assert NAMES["xinhe"] in _brand(admin.get("/?site=xinhe").text)  # and tab 2 chooses 新河 again
            issued = admin.post(
                "/notices/issue",
                data={"csrf": form_token(confirm.text), "site": "hall", "kind": "monthly", "period": month,
                      "number": "7", "reason": "验收：先印发"},
            )  # fmt: skip
            assert issued.status_code == 303, visible_text(issued.text)[:300]
            register = admin.get("/notices/register?site=hall").text
            file_link = _link(register, "/notices/register/")
            assert "site=hall" in file_link
            assert NAMES["xinhe"] in _brand(admin.get("/?site=xinhe").text)
            name, data = _download(admin, file_link)
            assert name.startswith(f"{hall} ") and "月度通报" in name, name
            kept = urllib.parse.unquote(urllib.parse.urlsplit(markup.unescape(file_link)).path.rsplit("/", 1)[-1])
            written = list(Path(config.site_view("hall").notices.output_dir).rglob(kept))
            assert len(written) == 1 and written[0].read_bytes() == data, written
            assert admin.get(markup.unescape(file_link).replace("site=hall", "site=xinhe")).status_code == 404
        finally:
            admin.close()


def _audit_rows(page: str) -> list[tuple[str, str, str, str]]:
    """The audit page's entries: (范围, 用户, 操作, 结果), 范围 "" where the page has no such column."""
    rows = []
    for row in re.findall(r"<tr[^>]*>(<td class=\"when\">.*?)</tr>", page, flags=re.S):
        cells = dict(re.findall(r'data-label="([^"]+)">([^<]*)</td>', row))
        action = re.search(r'<td class="action">([^<]*)</td>', row)
        outcome = re.search(r'<td class="outcome">([^<]*)</td>', row)
        assert action and outcome, row
        rows.append((cells.get("范围", ""), cells["用户"], action.group(1), outcome.group(1)))
    return rows


def test_each_sites_audit_log_keeps_its_own_accounts(tmp_path, one_broker, db_url):
    """Logins (ok, failed, refused), logouts and changes to accounts, in the console or by `monitor user`, are kept in
    the log of the account's site: a centre's admin sees his staff's, the hall's admin no centre's and not the
    district office's; the district's accounts' are read by district accounts, on every site's log."""
    with _running(tmp_path / "district", one_broker, db_url) as running:
        config, base = running.config, running.base
        path = tmp_path / "district" / "district.toml"
        assert path.is_file()
        login = httpx.Client(base_url=base, follow_redirects=False, timeout=30)
        try:  # 新河's supervisor: a wrong password, then logged in and out
            token = form_token(login.get("/login").text)
            wrong = login.post("/login", data={"name": XINHE, "password": "not-his-9", "csrf": token})
            assert wrong.status_code == 401
        finally:
            login.close()
        xinhe = logged_in(base, XINHE)
        assert xinhe.post("/logout", data={"csrf": form_token(xinhe.get("/").text)}).status_code == 303
        xinhe.close()
        for name in (HALL_ADMIN, ADMIN):
            logged_in(base, name).close()

        admin = logged_in(base, ADMIN)  # accounts added in the console: a centre's, and a district one
        try:
            token = form_token(admin.get("/users?site=hall").text)
            for name, sites in (("东城查看员", "dongcheng"), ("区查看员", "")):
                added = admin.post(
                    "/users",
                    data={"csrf": token, "site": "hall", "name": name, "role": "viewer", "password": "x" * 9,
                          "sites": sites},
                )  # fmt: skip
                assert added.status_code == 303
        finally:
            admin.close()
        for command in (  # and by the command line, on the district's configuration (no --site)
            ["user", "add", "东城员", "--role", "viewer", "--sites", "dongcheng", "--password-stdin"],
            ["user", "passwd", "东城员", "--password-stdin"],
        ):
            done = subprocess.run(
                [sys.executable, "-m", "monitor", "--config", str(path), *command],
                input="another-pass-9\n", capture_output=True, text=True, check=False,
            )  # fmt: skip
            assert done.returncode == 0 and "写入数据库" in done.stdout, done.stdout + done.stderr

        with Session(open_database(config.database.url)) as session:
            kept = {(r.user, r.action, r.outcome, r.target): r.site for r in session.exec(select(AuditRow))}
        assert kept[(XINHE, "login", "failed", "")] == kept[(XINHE, "login", "ok", "")] == "xinhe", kept
        assert kept[(XINHE, "logout", "ok", "")] == "xinhe" and kept[(HALL_ADMIN, "login", "ok", "")] == "hall"
        assert kept[(ADMIN, "user_add", "ok", "东城查看员")] == "dongcheng"
        assert (
            kept[("命令行", "user_add", "ok", "东城员")]
            == kept[("命令行", "user_passwd", "ok", "东城员")]
            == "dongcheng"
        )
        district_entries = {kept[(ADMIN, "login", "ok", "")], kept[(ADMIN, "user_add", "ok", "区查看员")]}
        assert len(district_entries) == 1 and district_entries.isdisjoint(NAMES), kept

        def log(name: str, address: str = "/audit") -> list[tuple[str, str, str, str]]:
            client = logged_in(base, name)
            try:
                page = client.get(address)
                assert page.status_code == 200, visible_text(page.text)[:300]
                return _audit_rows(page.text)
            finally:
                client.close()

        hall_log = log(HALL_ADMIN)
        users = {user for _, user, _, _ in hall_log}
        assert HALL_ADMIN in users and not users & {XINHE, ADMIN, "命令行"}, hall_log
        assert all(scope == "" for scope, *_ in hall_log)  # no district entries: no 范围 column

        xinhe_log = log(XINHE_ADMIN)
        assert {(XINHE, "登录", "失败"), (XINHE, "登录", "成功"), (XINHE, "退出", "成功")} <= {
            (user, action, outcome) for _, user, action, outcome in xinhe_log
        }, xinhe_log
        assert not {user for _, user, _, _ in xinhe_log} & {HALL_ADMIN, ADMIN}, xinhe_log

        district_log = log(ADMIN, "/audit?site=hall")
        scopes = {(user, action): scope for scope, user, action, _ in district_log}
        assert scopes[(ADMIN, "登录")] == "区级账号" and scopes[(ADMIN, "新增账号")] == "区级账号", district_log
        assert scopes[(HALL_ADMIN, "登录")] == NAMES["hall"] and XINHE not in {u for _, u in scopes}, district_log
        dongcheng_log = {(user, action) for _, user, action, _ in log(ADMIN, "/audit?site=dongcheng")}
        assert {(ADMIN, "新增账号"), ("命令行", "新增账号"), ("命令行", "重置密码")} <= dongcheng_log, dongcheng_log

        # The login limit counts an account's failures wherever they are kept: 新河's supervisor, 5 wrong, then 429.
        client = httpx.Client(base_url=base, follow_redirects=False, timeout=30)
        try:
            form = client.get("/login")
            for _ in range(config.console.login_attempts - 1):  # one failed already, above
                form = client.post("/login", data={"name": XINHE, "password": "no", "csrf": form_token(form.text)})
                assert form.status_code == 401
            limited = client.post("/login", data={"name": XINHE, "password": PASSWORD, "csrf": form_token(form.text)})
            assert limited.status_code == 429, limited.status_code
        finally:
            client.close()


def test_an_account_moved_to_other_sites_logs_in_again_to_them(tmp_path, one_broker, db_url):
    """A supervisor moving between centres: `monitor user sites` and the accounts page change an account's sites, its
    open logins end, and the change is in the log of the sites it now has. The page keeps the rules of adding: a
    centre's admin moves only its own accounts, only within its own sites, never to every site; nobody moves himself.
    """
    with _running(tmp_path / "district", one_broker, db_url) as running:
        config, base = running.config, running.base
        path = tmp_path / "district" / "district.toml"

        def monitor(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "monitor", "--config", str(path), "user", "sites", *args],
                capture_output=True, text=True, check=False,
            )  # fmt: skip

        def sites() -> dict[str, str]:
            with Session(open_database(config.database.url)) as session:
                return {row.name: row.sites for row in session.exec(select(UserRow))}

        # The command line: 新河's supervisor to 东城; his login in 新河 ends, and he logs in again to 东城 only.
        old = logged_in(base, XINHE)
        try:
            assert old.get("/?site=xinhe").status_code == 200
            moved = monitor(XINHE, "--sites", "dongcheng")
            assert moved.returncode == 0, moved.stderr
            assert f"已将 {XINHE} 的站点由{NAMES['xinhe']}改为{NAMES['dongcheng']}，写入数据库" in moved.stdout, (
                moved.stdout
            )
            gone = old.get("/?site=xinhe")
            assert gone.status_code == 303 and gone.headers["location"].startswith("/login"), gone.status_code
        finally:
            old.close()
        again = logged_in(base, XINHE)
        try:
            assert NAMES["dongcheng"] in _brand(again.get("/?site=dongcheng").text)
            assert again.get("/?site=xinhe").status_code == 403
        finally:
            again.close()
        unknown, nobody = monitor(XINHE, "--sites", "dongcheng,nowhere"), monitor("无此人", "--sites", "xinhe")
        assert unknown.returncode != 0 and "nowhere not a site of the configuration" in unknown.stderr, unknown.stderr
        assert nobody.returncode != 0 and "没有用户 无此人" in nobody.stderr, nobody.stderr
        district = monitor(TWO_CENTRES, "--sites", "")  # an empty --sites: every site, the district's
        assert district.returncode == 0 and "改为全部站点" in district.stdout, district.stdout
        assert sites()[XINHE] == "dongcheng" and sites()[TWO_CENTRES] == ""

        # The page: the district's admin moves him back to 新河, and his login (in 东城) ends.
        moved_login = logged_in(base, XINHE)
        admin = logged_in(base, ADMIN)
        try:
            users = admin.get("/users").text
            own_form = f'action="/users/{urllib.parse.quote(ADMIN)}/sites"'
            assert f'action="/users/{urllib.parse.quote(XINHE)}/sites"' in users and own_form not in users
            token = form_token(users)
            back = admin.post(f"/users/{XINHE}/sites", data={"csrf": token, "sites": ["xinhe"]})
            assert back.status_code == 303
            shown = flashes(admin.get("/users").text)
            assert f"已将{XINHE} 的站点由{NAMES['dongcheng']}改为{NAMES['xinhe']}" in shown, shown
            assert moved_login.get("/").status_code == 303 and sites()[XINHE] == "xinhe"
            admin.post(f"/users/{ADMIN}/sites", data={"csrf": token, "sites": ["hall"]})
            assert "不能修改自己账号的站点" in flashes(admin.get("/users").text) and sites()[ADMIN] == ""
        finally:
            moved_login.close()
            admin.close()

        # 新河's admin: not to another centre's site, nor every site (nothing ticked: its own), nor another's account.
        centre_admin = logged_in(base, XINHE_ADMIN)
        try:
            token = form_token(centre_admin.get("/users").text)
            beyond = centre_admin.post(f"/users/{XINHE}/sites", data={"csrf": token, "sites": ["xinhe", "hall"]})
            assert beyond.status_code == 303
            assert "未修改：只能选择本账号可管理的站点" in flashes(centre_admin.get("/users").text)
            centre_admin.post(f"/users/{XINHE}/sites", data={"csrf": token})
            assert f"账号 {XINHE} 的站点未改变（{NAMES['xinhe']}）" in flashes(centre_admin.get("/users").text)
            for other in (ADMIN, TWO_CENTRES, HALL_ADMIN):
                refused = centre_admin.post(f"/users/{other}/sites", data={"csrf": token, "sites": ["xinhe"]})
                assert refused.status_code == 403 and "不能管理其他站点的账号" in refused.text, other
            assert sites() == {**{name: scope for name, (_, scope) in ACCOUNTS.items()}, TWO_CENTRES: ""}
            xinhe_log = {(user, action) for _, user, action, _ in _audit_rows(centre_admin.get("/audit").text)}
            assert (ADMIN, "修改站点") in xinhe_log and ("命令行", "修改站点") not in xinhe_log, xinhe_log
        finally:
            centre_admin.close()

        with Session(open_database(config.database.url)) as session:
            kept = {(r.user, r.action, r.outcome, r.target): r.site for r in session.exec(select(AuditRow))}
        assert kept[("命令行", "user_sites", "ok", XINHE)] == "dongcheng", kept
        assert kept[("命令行", "user_sites", "ok", TWO_CENTRES)] == kept[(ADMIN, "login", "ok", "")], kept
        assert kept[(ADMIN, "user_sites", "ok", XINHE)] == "xinhe"
        refusals = {site for (user, action, _, _), site in kept.items() if (user, action) == (XINHE_ADMIN, "forbidden")}
        assert refusals == {"xinhe"}, kept


# --- a centre cut off from the district --------------------------------------------------------------------------


def test_a_cut_centre_is_unknown_on_its_board_and_its_card_then_comes_back(tmp_path, one_broker):
    with _running(tmp_path / "district", one_broker) as running:
        view = running.config.site_view("xinhe")
        link = Topics(view.mqtt.topic_prefix).link
        present, absent = SpeakingService(view, "xinhe-cam-f01"), SpeakingService(view, "xinhe-cam-f02")
        admin = logged_in(running.base, ADMIN)
        try:
            since = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=20)
            present.state("F01", "present", since)
            absent.state("F02", "absent", since)

            def tiles() -> dict[str, tuple[str, str]]:
                return _tiles(admin.get("/board/tiles?site=xinhe").text)

            def card() -> str:
                cards = admin.get("/district/cards").text
                found = re.search(r'data-site="xinhe">(.*?)</article>', cards, flags=re.S)
                return visible_text(found.group(1)) if found else ""

            wait_for(lambda: tiles()["F01"][0] == "present" and tiles()["F02"][0] == "absent", what="新河's states")
            publish(one_broker, link, [b"1"], retain=True)  # its bridge connected
            wait_for(lambda: "在线" in card(), what="the link up on 新河's card")

            publish(one_broker, link, [b"0"], retain=True)  # the bridge dropped: the district broker's will
            cut = dt.datetime.now(dt.UTC)
            wait_for(lambda: tiles()["F01"][0] == "unknown", what="新河's windows unknown")
            shown = tiles()
            assert all(state == "unknown" for state, _ in shown.values()), shown
            at = {f"{(cut + dt.timedelta(seconds=s)).astimezone(view.hall.tz):%H:%M}" for s in (-2, 0, 2)}
            for window in ("F01", "F02"):
                assert "站点离线" in shown[window][1] and any(f"自 {t}" in shown[window][1] for t in at), shown[window]
            board = admin.get("/?site=xinhe").text
            assert "站点离线 自" in visible_text(board) and "与区平台的连接中断" in visible_text(board)
            text = card()
            assert "站点离线 自" in text and "状态未知" in text and "未知 11" in text, text
            hall = _tiles(admin.get("/board/tiles?site=hall").text)
            assert not any("站点离线" in body for _, body in hall.values()), "the hall's board was cut too"

            publish(one_broker, link, [b"1"], retain=True)  # the bridge is back: the cameras' states again
            wait_for(lambda: tiles()["F01"][0] == "present", what="新河's states back")
            shown = tiles()
            assert shown["F02"][0] == "absent" and not any("站点离线" in body for _, body in shown.values()), shown
            wait_for(lambda: "站点离线" not in card() and "在线" in card(), what="新河's card back")
        finally:
            admin.close()
            publish(one_broker, link, [b""], retain=True)
            topics = Topics(view.mqtt.topic_prefix)
            for window in ("F01", "F02"):
                publish(one_broker, topics.window_state(window), [b""], retain=True)
            present.close()
            absent.close()


def test_a_single_halls_console_has_no_switcher_and_no_overview(tmp_path, one_broker):
    """A configuration without sites: one site, no switcher, no overview (the page does not exist), no site cookie."""
    from tests.support.console import ADMIN as SINGLE_ADMIN
    from tests.support.console import console_hall, running_console

    hall = console_hall(tmp_path, mqtt_url=one_broker).config
    with running_console(hall) as base:
        client = logged_in(base, SINGLE_ADMIN)
        try:
            page = client.get("/?site=xinhe")
            assert page.status_code == 200 and "切换站点" not in page.text and "区域总览" not in page.text
            assert 'name="site"' not in page.text and SITE_COOKIE not in client.cookies
            assert client.get("/district").status_code == 404
            for address in ("/", "/incidents?state=all", "/leave", "/scores", "/duty-rate", "/notices", "/audit"):
                drawn = client.get(address).text  # no address names a site, no form sends one
                assert "site=" not in drawn and 'name="site"' not in drawn, address
            name = re.search(r"filename\*=UTF-8''([^;]+)", client.get("/incidents.xlsx").headers["content-disposition"])
            assert name and urllib.parse.unquote(name.group(1)) == "违纪记录.xlsx"  # the hall's name not added
        finally:
            client.close()


def test_a_cards_link_is_said_only_for_a_bridged_site() -> None:
    """The card's link: nothing for a site reached without a bridge, 在线 while its bridge is up, 站点离线 自 (its local
    time) while down, when its cameras' last word is not counted as online."""
    from zoneinfo import ZoneInfo

    from monitor.core.board import Board, CameraReport
    from monitor.core.district import site_card

    tz = ZoneInfo("Asia/Shanghai")
    now = dt.datetime(2020, 12, 1, 2, 0, tzinfo=dt.UTC)
    board = Board(now, (), {"present": 3, "absent": 1, "unknown": 0, "leave": 2, "off_duty": 0})
    cameras = {"c1": CameraReport("online", now, fps=1.0), "c2": CameraReport("offline: 连接超时", now)}

    def card(down: dt.datetime | None, bridged: bool):  # type: ignore[no-untyped-def]
        return site_card(
            "xinhe", "新河", board, cameras, ["c1", "c2", "c3"], link_down=down, bridged=bridged,
            recorder_answers=True, now=now, tz=tz,
        )  # fmt: skip

    alone, up, down = card(None, False), card(None, True), card(now - dt.timedelta(minutes=50), True)
    assert (alone.link, up.link, down.link) == ("", "在线", "站点离线 自 09:10")
    assert alone.counts == {"present": 3, "absent": 1, "unknown": 0, "leave": 2}
    assert (up.cameras, up.cameras_online, up.cameras_offline) == (3, 1, 2)
    assert down.offline and down.cameras_online == 0 and not up.offline


def test_the_site_an_account_entry_is_kept_under_and_the_site_an_address_names(tmp_path) -> None:
    """`entry_site`: a single hall's entries its own; a centre's account's its first site of the district's, a district
    account's (or a name no account has) the district entries, which no site id can be; `sites_read`: a district
    account reads those too. `with_site`: an address names the site once, a single hall's none."""
    from monitor.config.sites import SITE_ID
    from monitor.console.context import with_site
    from monitor.services.audit_log import DISTRICT_ENTRIES, entry_site, sites_read
    from tests.support.config import hall_config

    district = district_config(tmp_path / "district", {"hall": "seed", "xinhe": "fixture"}).config
    single = hall_config(tmp_path / "hall").config
    assert SITE_ID.match(DISTRICT_ENTRIES) is None
    assert [entry_site(single, scope) for scope in ("", "xinhe", None)] == [single.site] * 3
    assert entry_site(district, "xinhe") == "xinhe" and entry_site(district, "gone,xinhe,hall") == "xinhe"
    assert entry_site(district, "") == entry_site(district, None) == entry_site(district, "gone") == DISTRICT_ENTRIES
    assert sites_read(district, "", "xinhe") == ("xinhe", DISTRICT_ENTRIES)
    assert sites_read(district, "xinhe", "xinhe") == ("xinhe",) and sites_read(single, "", "hall") == ("hall",)

    assert with_site("/scores/staff.xlsx?month=2026-12", "site=hall") == "/scores/staff.xlsx?month=2026-12&site=hall"
    assert with_site("/", "site=xinhe") == "/?site=xinhe" and with_site("/a#b", "site=x") == "/a?site=x#b"
    assert with_site("/?site=hall", "site=xinhe") == "/?site=hall"  # a switcher's or a card's own site kept
    assert with_site("/scores", "") == "/scores" and with_site("//elsewhere/x", "site=x") == "//elsewhere/x"
