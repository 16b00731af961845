"""What every page shares: the configuration, the store, the live hall, the console's key, the templates."""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine
from sqlmodel import Session

from monitor.adapters.store.accounts import audit
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
    _flashes: dict[str, tuple[str, str]] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
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
        env.filters["points"] = plain
        env.globals.update(hall=self.config.hall, state_labels=STATE_LABELS, role_labels=ROLE_LABELS, may=may)

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def note(
        self, request: Request, user: str, action: str, outcome: str, *, target: str = "", detail: str = ""
    ) -> None:
        """One entry of the audit log, in a transaction of its own: who did what, to what, from where, and how it
        ended (ok, refused or failed)."""
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

    def flash(self, session_key: str, kind: str, text: str) -> None:
        """A message for the next page this login sees (after a form's redirect)."""
        with self._lock:
            self._flashes[session_key] = (kind, text)

    def take_flash(self, session_key: str) -> tuple[str, str] | None:
        with self._lock:
            return self._flashes.pop(session_key, None)

    def page(self, request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> Any:
        who = getattr(request.state, "who", None)
        flash = self.take_flash(who.key) if who is not None else None
        return self.templates.TemplateResponse(
            request, name, {"who": who, "flash": flash, **context}, status_code=status_code
        )


def address_of(request: Request) -> str:
    """The client's address (behind the reverse proxy, uvicorn's proxy headers give the forwarded one)."""
    return request.client.host if request.client else ""


def console_of(request: Request) -> Console:
    console = request.app.state.console
    assert isinstance(console, Console)
    return console
