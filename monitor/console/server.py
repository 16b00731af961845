"""Serving the console: its preconditions (an account, the console's signing key), the live hall of each site,
uvicorn."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import uvicorn
from sqlalchemy import Engine
from sqlmodel import Session

from monitor.adapters.keys import read_key
from monitor.adapters.store.accounts import has_users
from monitor.adapters.store.sites import for_site
from monitor.config import MonitorConfig
from monitor.console.app import create_app
from monitor.console.context import Console, District
from monitor.console.live import LiveHall
from monitor.core.signature import SigningKey
from monitor.errors import InputError

log = logging.getLogger(__name__)
KEY_ENV = "MONITOR_CONSOLE_KEY"


class ConsoleNotReady(InputError):
    """The console cannot start yet: the message says what to do."""


def console_key(config: MonitorConfig) -> SigningKey:
    """The console's signing key, checked against its [[signers]] entry (role console)."""
    chosen = os.environ.get(KEY_ENV) or config.console.signing_key
    if not chosen:
        raise ConsoleNotReady(
            "控制台没有签名密钥：运行 `monitor key new --name console --role console --out "
            "/etc/hall-monitor/console.key`，把输出的 [[signers]] 加入配置，并在 [console] signing_key "
            f"写上密钥文件路径（或设置 {KEY_ENV}）"
        )
    key = read_key(Path(chosen))
    signer = config.signers_by_name.get(key.name)
    if signer is None or signer.role != "console" or signer.public_key != key.public_text():
        raise ConsoleNotReady(
            f'{chosen}：密钥 {key.name} 不是配置中 role = "console" 的 [[signers]]（或公钥不符）：把 '
            "`monitor key new --role console` 输出的 [[signers]] 加入配置"
        )
    return key


def build_console(config: MonitorConfig, engine: Engine) -> District:
    """Check the preconditions and connect each site's live hall to the broker; ConsoleNotReady says what is missing.

    `config` is one hall's (or one site's view), or a district's whole configuration: then the console serves every
    site, each on its own topics and its own records of `engine` (the store of every site), with one key, the
    district's console signer's."""
    with Session(engine) as session:
        if not has_users(session):
            raise ConsoleNotReady(
                "控制台还没有账号，拒绝启动：先创建管理员 `monitor user add 姓名 --role admin`（密码从提示输入）"
            )
    key = console_key(config)
    consoles: dict[str, Console] = {}
    try:
        for site, view in config.site_views.items():
            live = LiveHall(view)
            consoles[site] = Console(view, for_site(engine, site), live, key)
            live.start()
    except BaseException:
        for started in consoles.values():
            started.live.stop()
        raise
    return District(config, consoles, engine)


class ConsoleServer:
    """uvicorn in a thread of this process (for `monitor run`), or in the foreground (`monitor console`)."""

    def __init__(self, district: District) -> None:
        settings = district.config.console
        self.district = district
        self.server = uvicorn.Server(
            uvicorn.Config(
                create_app(district),
                host=settings.host,
                port=settings.port,
                log_level="warning",
                proxy_headers=False,  # X-Forwarded-For: context.address_of, from [console] trusted_proxies only
                timeout_graceful_shutdown=3,
            )
        )
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self.server.run, name="console", daemon=True)
        self._thread.start()
        settings = self.district.config.console
        log.info("console on http://%s:%d/", settings.host, settings.port)

    def wait_started(self, timeout: float = 10.0) -> bool:
        stop = threading.Event()
        waited = 0.0
        while not self.server.started and waited < timeout:
            stop.wait(0.05)
            waited += 0.05
        return bool(self.server.started)

    def stop(self) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.district.stop()
