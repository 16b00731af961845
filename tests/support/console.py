"""A running console for a test: the hall's recorder and the console in this process, accounts, a browser.

`console_hall` writes the test hall with the console's signer and key; `RunningConsole` starts the recorder
(the single writer the console's actions go through) and the console on a free port; `browser` is Debian's
headless Chromium driven through its ChromeDriver (Selenium), skipped when they are not installed.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import httpx
import pytest
from sqlmodel import Session

from monitor.adapters.keys import write_key
from monitor.adapters.mqtt.broker import free_port
from monitor.adapters.passwords import hash_password
from monitor.adapters.store.accounts import add_user
from monitor.adapters.store.database import open_database
from monitor.config import MonitorConfig, SignerConfig, load_config
from monitor.console.server import ConsoleServer, build_console
from monitor.core.signature import SigningKey
from monitor.services.recorder import Recorder
from tests.support.config import Hall, hall_config, write_config

PASSWORD = "correct-horse-9"
"""Every test account's password."""
ACCOUNTS = {"管理员甲": "admin", "督查员乙": "supervisor", "查看员丙": "viewer"}
ADMIN, SUPERVISOR, VIEWER = ACCOUNTS


def console_hall(
    directory: Path, *, hall: Literal["seed", "fixture"] = "seed", mqtt_url: str | None = None, **sections: object
) -> Hall:
    """The test hall with a console signer (keys/console.key) on a free port, and the three test accounts."""
    base = hall_config(directory, hall=hall, mqtt_url=mqtt_url, **sections).config
    key = SigningKey.generate("控制台")
    key_file = directory / "keys" / "console.key"
    write_key(key_file, key)
    config = base.model_copy(
        update={
            "signers": [*base.signers, SignerConfig(name=key.name, role="console", public_key=key.public_text())],
            "console": base.console.model_copy(update={"port": free_port(), "signing_key": str(key_file)}),
        }
    )
    path = write_config(config, directory / "hall.toml")
    config = load_config(path)
    with Session(open_database(config.database.url)) as session:
        for name, role in ACCOUNTS.items():
            add_user(session, name, role, hash_password(PASSWORD), "test", dt.datetime.now(dt.UTC))
        session.commit()
    return Hall(config, path)


@contextmanager
def running_console(config: MonitorConfig) -> Iterator[str]:
    """The recorder and the console of `config`, running; yields the console's base URL."""
    engine = open_database(config.database.url)
    recorder = Recorder(config, engine)
    assert recorder.start(wait=30), "the recorder's subscriptions were not confirmed"
    server = ConsoleServer(build_console(config, engine))
    server.start()
    try:
        assert server.wait_started(), "the console did not start"
        yield f"http://127.0.0.1:{config.console.port}"
    finally:
        server.stop()
        recorder.stop()


def logged_in(base: str, name: str) -> httpx.Client:
    """An HTTP client logged in as `name` (a test account), as a browser would: the login form's token, then POST."""
    client = httpx.Client(base_url=base, follow_redirects=False, timeout=30)
    form = client.get("/login")
    response = client.post(
        "/login", data={"name": name, "password": PASSWORD, "csrf": form_token(form.text), "next": "/"}
    )
    assert response.status_code == 303, response.text
    return client


def form_token(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def flashes(html: str) -> list[str]:
    return re.findall(r'class="flash[^"]*"[^>]*>([^<]+)<', html)


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


@contextmanager
def browser(width: int = 1366, height: int = 900) -> Iterator[object]:
    """Headless Chromium (Debian's `chromium` and `chromium-driver`, which .ci/run installs)."""
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("Chromium and ChromeDriver are not installed (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--lang=zh-CN"):
        options.add_argument(argument)
    options.add_argument(f"--window-size={width},{height}")
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()


def wait_until(driver, condition, timeout: float = 60.0):  # type: ignore[no-untyped-def]
    """Until `condition(driver)` is true; an element of the page being replaced (a navigation) is tried again."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    ignored = (NoSuchElementException, StaleElementReferenceException)
    return WebDriverWait(driver, timeout, poll_frequency=0.2, ignored_exceptions=ignored).until(condition)


def log_in(driver, base: str, name: str) -> None:  # type: ignore[no-untyped-def]
    """Log in as `name` (a test account) through the login form, as a person does."""
    from selenium.webdriver.common.by import By

    driver.get(base + "/login")
    driver.find_element(By.NAME, "name").send_keys(name)
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_until(driver, lambda d: "/login" not in d.current_url, timeout=30)
