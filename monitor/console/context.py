"""What every page shares: the site's configuration, store, live hall, the console's key, the templates; and the
district's consoles, one per site, of which each request is served by its site's (monitor.console.sites)."""

from __future__ import annotations

import datetime as dt
import threading
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context
from sqlalchemy import Engine
from sqlmodel import Session

from monitor.adapters.store.accounts import audit, set_flash, take_flash
from monitor.config import MonitorConfig
from monitor.console.live import LiveHall
from monitor.core.board import STATE_LABELS
from monitor.core.roles import ROLE_LABELS, may
from monitor.core.signature import SigningKey
from monitor.formatting import plain

TEMPLATES = Path(str(files("monitor.console") / "templates"))
STATIC = Path(str(files("monitor.console") / "static"))


@dataclass
class Console:
    config: MonitorConfig
    engine: Engine
    live: LiveHall
    key: SigningKey
    templates: Jinja2Templates = field(init=False)
    pictures: dict[str, tuple[float, bytes]] = field(default_factory=dict, init=False)
    """Each camera's drawn picture (JPEG) and when it was taken (monotonic seconds), for the cameras page."""
    camera_reads: threading.Lock = field(default_factory=threading.Lock, init=False)
    """One camera read at a time: a page of many cameras must not open them all at once."""

    def __post_init__(self) -> None:
        self.templates = Jinja2Templates(directory=TEMPLATES)
        tz = self.config.hall.tz
        env = self.templates.env
        env.filters["local"] = lambda moment, pattern="%Y-%m-%d %H:%M": (
            moment.astimezone(tz).strftime(pattern) if isinstance(moment, dt.datetime) else ""
        )
        # A moment in a list of many dates: the year only when it is not this year's.
        env.filters["when"] = lambda moment: (
            moment.astimezone(tz).strftime(
                "%m-%d %H:%M" if moment.astimezone(tz).year == self.now().astimezone(tz).year else "%Y-%m-%d %H:%M"
            )
            if isinstance(moment, dt.datetime)
            else ""
        )
        env.filters["points"] = plain
        env.filters["sited"] = _sited
        env.globals.update(hall=self.config.hall, state_labels=STATE_LABELS, role_labels=ROLE_LABELS, may=may)

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def note(
        self, request: Request, user: str, action: str, outcome: str, *, target: str = "", detail: str = ""
    ) -> None:
        """One entry of the audit log, in a transaction of its own: who did what, to what, from where, and how it
        ended (ok, refused or failed). The request's own transaction is ended first (`settle`)."""
        settle(request)
        with Session(self.engine) as session:
            audit(
                session,
                at=self.now(),
                user=user,
                action=action,
                outcome=outcome,
                target=target,
                detail=detail,
                address=address_of(request),
            )
            session.commit()

    def flash(self, request: Request, kind: str, text: str) -> None:
        """A message for the next page the request's login sees (after a form's redirect), kept with the login in the
        store: any of the console's processes shows it, and a restart keeps it. The request's own transaction is
        ended first (`settle`)."""
        settle(request)
        who = getattr(request.state, "who", None)
        if who is None:
            return
        with Session(self.engine) as session:
            set_flash(session, who.key, kind, text)
            session.commit()

    def take_flash(self, session_key: str) -> tuple[str, str] | None:
        with Session(self.engine) as session:
            message = take_flash(session, session_key)
            session.commit()
        return message

    def page(self, request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> Any:
        """A page for the person logged in: their flash message, the recorder's silence (recomputed now,
        not when a message last came: a dead recorder sends none) for the banner of every page, and in a district
        the sites they may switch to (`site_nav`, left on the request by monitor.console.sites) and the site its
        forms send (`form_site`)."""
        settle(request)
        who = getattr(request.state, "who", None)
        flash = self.take_flash(who.key) if who is not None else None
        silence = self.live.recorder_silence(self.now()) if who is not None else None
        shared = {
            "who": who,
            "flash": flash,
            "recorder_silence": silence,
            "site_nav": getattr(request.state, "site_nav", ()) if who is not None else (),
            "form_site": site_query(request).removeprefix("site="),
        }
        return self.templates.TemplateResponse(request, name, {**shared, **context}, status_code=status_code)


@dataclass(frozen=True)
class SiteLink:
    """A site in the switcher: its name, the address that switches to it, whether it is the request's."""

    site: str
    name: str
    href: str
    current: bool


@dataclass
class District:
    """The consoles of the sites the console serves, in the configuration's order: every site of a district's
    configuration, or the one hall of a configuration without sites (`several` False: no switcher, no overview)."""

    config: MonitorConfig
    """The whole configuration (a single hall's is its only site's)."""
    consoles: dict[str, Console]
    engine: Engine
    """The store as the district sees it (every site): which site a record of an address is of."""

    @classmethod
    def of(cls, console: Console) -> District:
        """One hall's console alone."""
        return cls(console.config, {console.config.site: console}, console.engine)

    @property
    def several(self) -> bool:
        return self.config.district

    @property
    def first(self) -> Console:
        return next(iter(self.consoles.values()))

    def stop(self) -> None:
        for console in self.consoles.values():
            console.live.stop()


def settle(request: Request) -> None:
    """End the request's database transaction (monitor.console.deps.database), committing what the page wrote, before
    the console opens a transaction of its own: on SQLite a second transaction would wait for the first's lock.
    A page shows what it wrote, so what it has written by the time it renders is committed."""
    session: Session | None = getattr(request.state, "db", None)
    if session is not None and session.in_transaction():
        session.commit()


def address_of(request: Request) -> str:
    """The client's address, for the login limit and the audit trail: the peer's, or behind one of
    `[console] trusted_proxies` the one its X-Forwarded-For names (`client_address`)."""
    peer = request.client.host if request.client else ""
    trusted = console_of(request).config.console.trusted_proxies
    return client_address(peer, request.headers.getlist("x-forwarded-for"), trusted)[:64]


def client_address(peer: str, forwarded: Sequence[str], trusted: Sequence[IPv4Network | IPv6Network]) -> str:
    """The right-most address of X-Forwarded-For (`forwarded`: each header's value) that is not a trusted proxy,
    when the peer is one; the peer's address otherwise.

    Anyone can send the header, so it is believed only from a trusted proxy, and only as far as it is written
    by trusted proxies: each appends the address it received the request from, so the addresses left of the
    first untrusted one (walking from the right) are whatever the client wrote. A hop that is not an IP address
    ends the walk at the last trusted one: the header cannot be followed past it."""
    if not trusted or not _trusted(_ip(peer), trusted):
        return peer
    hops = [hop.strip() for header in forwarded for hop in header.split(",")]
    address = peer
    for hop in reversed(hops):
        ip = _ip(hop)
        if ip is None:
            break
        address = str(ip)
        if not _trusted(ip, trusted):
            break
    return address


def _ip(text: str) -> IPv4Address | IPv6Address | None:
    """An address as a proxy writes it: bare, `[v6]:port` or `v4:port`; IPv4-mapped IPv6 as IPv4."""
    text = text.strip()
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        ip = ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _trusted(ip: IPv4Address | IPv6Address | None, trusted: Sequence[IPv4Network | IPv6Network]) -> bool:
    return ip is not None and any(ip in network for network in trusted)


def district_of(request: Request) -> District:
    district = request.app.state.district
    assert isinstance(district, District)
    return district


def console_of(request: Request) -> Console:
    """The console of the request's site, once the login is known and the site chosen (monitor.console.sites.enter);
    before that (the login page, the app-wide period check) the first site's, which shares the console's settings."""
    console = getattr(request.state, "console", None) or district_of(request).first
    assert isinstance(console, Console)
    return console


def site_query(request: Request) -> str:
    """`site=<id>` of the request's site, in a district once the site is chosen; "" for a single hall (and before the
    login): what every address a page draws names (`with_site`)."""
    console = getattr(request.state, "console", None)
    return f"site={console.config.site}" if console is not None and district_of(request).several else ""


def with_site(url: str, query: str) -> str:
    """`url`, an address of the console, naming the site of `query` (`site_query`) unless it names one already.

    In a district every address a page draws for its site names the site: its links, downloads, previews and the
    addresses it fetches by itself. Otherwise the address would be answered for the site the browser last chose (the
    cookie of monitor.console.sites), which another tab may have switched since the page was drawn: the hall's
    下载 Excel would give another centre's sheet. A single hall's addresses (`query` "") are left as they are."""
    if not query or not url.startswith("/") or url.startswith("//"):
        return url
    address, mark, fragment = url.partition("#")
    path, _, existing = address.partition("?")
    if any(name == "site" for name, _ in urllib.parse.parse_qsl(existing, keep_blank_values=True)):
        return url
    return f"{path}?{existing}&{query}{mark}{fragment}" if existing else f"{path}?{query}{mark}{fragment}"


@pass_context
def _sited(context: Context, url: str) -> str:
    """The templates' `|sited`: `url` naming the site of the page being drawn (`with_site`)."""
    request = context.get("request")
    return with_site(url, site_query(request)) if isinstance(request, Request) else url


def site_name(request: Request) -> str:
    """The name of the request's site in a district (新河镇便民服务中心); "" for a single hall, whose files and pages
    need not say which site they are of."""
    console = getattr(request.state, "console", None)
    return console.config.hall.name if console is not None and district_of(request).several else ""


def site_title(request: Request, title: str) -> str:
    """The title of a file the console hands out: in a district prefixed with its site's name (新河镇便民服务中心
    2026年12月窗口（部门）考核.xlsx), so that files of two sites saved side by side say which is which; a single hall's
    as it was."""
    name = site_name(request)
    return f"{name} {title}" if name else title
