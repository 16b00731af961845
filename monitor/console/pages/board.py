"""The hall board (大厅看板): every window's state, live; the event stream that tells the browser to refresh."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from sqlmodel import Session

from monitor.adapters.store.incidents import load_incidents
from monitor.adapters.store.leaves import leaves_ending_after
from monitor.console.auth import Viewer
from monitor.console.context import Console, console_of
from monitor.core.board import Board, compose_board

router = APIRouter()
HEARTBEAT = 15.0
"""Seconds between keep-alive comments on the event stream (proxies close idle connections)."""


def board_now(console: Console) -> Board:
    now = console.now()
    local = now.astimezone(console.config.hall.tz)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    with Session(console.engine) as session:
        today = load_incidents(session, midnight, midnight + dt.timedelta(days=1))
        on_leave = {leave.window for leave in leaves_ending_after(session, now) if leave.start <= now}
    counts = Counter(i.window for i in today if not i.dismissed)
    return compose_board(console.config, console.live.windows(), console.live.cameras(now), counts, now, on_leave)


@router.get("/")
def board(request: Request, who: Viewer) -> Response:
    console = console_of(request)
    return console.page(request, "board.html", {"board": board_now(console), "live": console.live})


@router.get("/board/tiles")
def tiles(request: Request, who: Viewer) -> Response:
    console = console_of(request)
    return console.page(request, "_board.html", {"board": board_now(console), "live": console.live})


@router.get("/events")
async def events(request: Request, who: Viewer) -> Response:
    """Server-sent events: `data: <version>` whenever the live hall changes, or the recorder or a camera's service
    falls silent or answers again (checked twice a second: silence comes with the clock, not with a message)."""
    console = console_of(request)
    live = console.live

    def silent() -> tuple[bool, frozenset[str]]:
        now = console.now()
        return live.recorder_silence(now) is not None, frozenset(live.services_down(now))

    async def stream() -> AsyncIterator[bytes]:
        seen, was_silent = live.version, silent()
        yield b"retry: 2000\n\n"
        quiet = 0.0
        while not await request.is_disconnected():
            now_silent = silent()
            if live.version != seen or now_silent != was_silent:
                seen, was_silent = live.version, now_silent
                quiet = 0.0
                yield f"data: {seen}\n\n".encode()
            elif quiet >= HEARTBEAT:
                quiet = 0.0
                yield b": keep-alive\n\n"
            await asyncio.sleep(0.5)
            quiet += 0.5

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})
