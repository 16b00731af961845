"""The hall board (大厅看板): every window's state, live; its wall view (看板墙) for a screen in the hall; the event
stream that tells the browser to refresh.

Two choices shape the board, each a link on it and remembered by the browser (a cookie): the view — the board as a
desk reads it (menu, departments, cameras) or the wall view, every window on one screen, read from across the room —
and whether it shows every window or only those that need attention (只看异常). The board's fragment, fetched again
at every change, is asked for with the same choices, so they hold through the live updates.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Literal, get_args

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse
from sqlmodel import Session

from monitor.adapters.store.incidents import load_incidents
from monitor.adapters.store.leaves import leaves_ending_after
from monitor.adapters.store.tables import LeaveRow
from monitor.console.auth import Viewer, Who
from monitor.console.context import Console
from monitor.console.deps import ConsoleDep, Db
from monitor.core.board import LEGEND_LABELS, SITE_OFFLINE, Away, Board, compose_board, lines_of, since_text
from monitor.core.calendar import WorkCalendar
from monitor.core.incident import LATE_ARRIVAL

router = APIRouter()
HEARTBEAT = 15.0
"""Seconds between keep-alive comments on the event stream (proxies close idle connections)."""
CHECK_EVERY = 0.25
"""Seconds between the event stream's looks at the live hall and the clock."""
REMEMBERED = 400 * 24 * 3600
"""How long the browser remembers the board's view and filter (seconds; the most browsers keep a cookie)."""

View = Literal["normal", "wall"]
Only = Literal["all", "attention"]
VIEWS: dict[str, View] = {view: view for view in get_args(View)}
ONLY: dict[str, Only] = {only: only for only in get_args(Only)}


@dataclass(frozen=True, slots=True)
class Shown:
    """How the board is shown: its view and which windows."""

    view: View = "normal"
    only: Only = "all"

    @property
    def wall(self) -> bool:
        return self.view == "wall"

    @property
    def attention(self) -> bool:
        return self.only == "attention"

    @property
    def query(self) -> str:
        return f"view={self.view}&only={self.only}"


def shown_for(request: Request, view: View | None, only: Only | None) -> Shown:
    """The choices asked for, else the ones the browser remembers, else the desk board of every window."""
    return Shown(
        view=view or VIEWS.get(request.cookies.get("board_view", ""), "normal"),
        only=only or ONLY.get(request.cookies.get("board_only", ""), "all"),
    )


def away_now(leaves: Iterable[LeaveRow], now: dt.datetime) -> dict[str, Away]:
    """The windows whose approved leave covers `now`: its kind and end (the latest end when two cover it)."""
    away: dict[str, Away] = {}
    for leave in leaves:
        if leave.start <= now < leave.end and (leave.window not in away or away[leave.window].until < leave.end):
            away[leave.window] = Away(leave.kind, leave.end)
    return away


def board_now(console: Console, session: Session) -> Board:
    now = console.now()
    midnight = now.astimezone(console.config.hall.tz).replace(hour=0, minute=0, second=0, microsecond=0)
    standing = [i for i in load_incidents(session, midnight, midnight + dt.timedelta(days=1)) if not i.dismissed]
    return compose_board(
        console.config,
        console.live.windows(),
        console.live.cameras(now),
        Counter(i.window for i in standing),
        now,
        away_now(leaves_ending_after(session, now), now),
        late_today={i.window for i in standing if i.kind == LATE_ARRIVAL},
        site_offline=console.live.link_down(),
    )


def _context(console: Console, session: Session, shown: Shown) -> dict[str, object]:
    board = board_now(console, session)
    cut = console.live.link_down()
    return {
        "board": board.only_attention() if shown.attention else board,
        "shown": shown,
        "live": console.live,
        "legend_labels": LEGEND_LABELS,
        "lines_of": lines_of,
        "site_offline": f"{SITE_OFFLINE} {since_text(cut, board.at, console.config.hall.tz)}" if cut else "",
    }


ViewParam = Annotated[View | None, Query()]
OnlyParam = Annotated[Only | None, Query()]


@router.get("/")
def board(
    request: Request, who: Viewer, console: ConsoleDep, session: Db, view: ViewParam = None, only: OnlyParam = None
) -> Response:
    shown = shown_for(request, view, only)
    response: Response = console.page(request, "board.html", _context(console, session, shown))
    for name, value in (("board_view", view), ("board_only", only)):
        if value is not None:  # chosen now: remembered for the next visit
            response.set_cookie(name, value, max_age=REMEMBERED, httponly=True, samesite="lax")
    return response


@router.get("/board/tiles")
def tiles(
    request: Request, who: Viewer, console: ConsoleDep, session: Db, view: ViewParam = None, only: OnlyParam = None
) -> Response:
    """The board's fragment, for its live updates: never takes the login's flash message (meant for the page
    the person opens next, perhaps in another tab)."""
    return _fragment(request, who, console, _context(console, session, shown_for(request, view, only)))


def _fragment(request: Request, who: Who, console: Console, context: dict[str, object]) -> Response:
    silence = console.live.recorder_silence(console.now())
    shared = {"who": who, "flash": None, "recorder_silence": silence}
    response: Response = console.templates.TemplateResponse(request, "_board.html", {**shared, **context})
    return response


@router.get("/events")
async def events(request: Request, who: Viewer, console: ConsoleDep) -> Response:
    """Server-sent events: `data: <version>` whenever the live hall changes (a window's state, a camera, an
    incident, any record the recorder answered: leave, a dismissal ...), or what the board shows changes with the
    clock: the recorder or a camera's service falls silent or answers again, a leave begins or ends, duty hours
    begin or end, a new day begins (checked four times a second: these come with the clock, not with a message)."""
    return change_stream(request, board_watch(console), lambda: console.live.version)


def board_watch(console: Console) -> Callable[[], tuple[object, ...]]:
    """What a site's board shows that can change: its live hall's version (every message it took), and what changes
    with the clock alone."""
    live = console.live
    tz = console.config.hall.tz
    calendar = WorkCalendar(console.config.calendar, console.config.duty, tz)

    def look() -> tuple[object, ...]:
        now = console.now()
        return (
            live.version,
            live.recorder_silence(now) is not None,
            frozenset(live.services_down(now)),
            live.on_leave(now),
            calendar.session_at(now) is not None,
            now.astimezone(tz).date(),
        )

    return look


def change_stream(request: Request, look: Callable[[], object], version: Callable[[], int]) -> StreamingResponse:
    """Server-sent events: `data: <version>` each time what `look` returns changes, a keep-alive comment when nothing
    has for HEARTBEAT seconds; until the browser goes away."""

    async def stream() -> AsyncIterator[bytes]:
        was = look()
        yield b"retry: 2000\n\n"
        quiet = 0.0
        while not await request.is_disconnected():
            now_is = look()
            if now_is != was:
                was = now_is
                quiet = 0.0
                yield f"data: {version()}\n\n".encode()
            elif quiet >= HEARTBEAT:
                quiet = 0.0
                yield b": keep-alive\n\n"
            await asyncio.sleep(CHECK_EVERY)
            quiet += CHECK_EVERY

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})
