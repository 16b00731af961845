"""The district overview (区域总览): every site the account may see as a card, live, and a month's roll-up that
compares them (on-duty rate, incidents by kind, the score sheets' averages). Served only by a district's console.

Each site is read through its own console: its board (with its link: a cut site's windows are 未知), its cameras
and recorder as its live hall hears them, its month from its own records. One site's store session at a time, each
closed before the next opens: on SQLite every transaction takes the write lock.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import Session

from monitor.adapters.store.incidents import load_incidents
from monitor.console import params
from monitor.console.auth import Viewer, Who
from monitor.console.context import Console, District, district_of
from monitor.console.deps import ConsoleDep
from monitor.console.pages.board import board_now, board_watch, change_stream
from monitor.core.board import STATE_LABELS
from monitor.core.district import CARD_STATES, RollUp, SiteCard, SiteMonth, roll_up, site_card, site_month
from monitor.core.duty_rate import Tally
from monitor.core.periods import month_bounds, month_words
from monitor.core.roles import may_site
from monitor.errors import MonitorError
from monitor.services.duty_rate import duty_rates
from monitor.services.review import kind_labels
from monitor.services.score_sheets import score_sheets

router = APIRouter()


def _visible(district: District, who: Who) -> list[Console]:
    """The sites' consoles the account may see, in the configuration's order."""
    return [console for site, console in district.consoles.items() if may_site(who.sites, site)]


def _card(console: Console) -> SiteCard:
    now = console.now()
    with Session(console.engine) as session:
        board = board_now(console, session)
    live = console.live
    return site_card(
        console.config.site,
        console.config.hall.name,
        board,
        live.cameras(now),
        [camera.id for camera in console.config.cameras],
        link_down=live.link_down(),
        bridged=live.bridged(),
        recorder_answers=live.recorder_silence(now) is None,
        now=now,
        tz=console.config.hall.tz,
    )


def _month(console: Console, month: str) -> tuple[SiteMonth, str]:
    """A site's line of the roll-up, and why its on-duty rate is missing ("" when it is not): a month its calendar
    has no schedule for."""
    config = console.config
    start, end = month_bounds(month, config.hall.tz)
    missing = ""
    with Session(console.engine) as session:
        try:
            duty = duty_rates(config, session, "month", month, now=console.now()).total
        except MonitorError:  # a year its calendar does not cover: said in words, not the configuration's
            duty = Tally()
            missing = f"{config.hall.name}：工作日历中没有{month_words(month)}的部分日期，无法计算在岗率"
            missing += "：请管理员补充工作日历"
        sheets = score_sheets(session, config, month)
        incidents = load_incidents(session, start, end)
    return site_month(config.site, config.hall.name, duty, incidents, sheets.scores, len(sheets.missing)), missing


def _cards_context(district: District, who: Who) -> dict[str, object]:
    return {"cards": [_card(console) for console in _visible(district, who)], "card_states": CARD_STATES}


@router.get("/district")
def overview(request: Request, who: Viewer, console: ConsoleDep, period: params.MonthQuery) -> Response:
    district = district_of(request)
    visible = _visible(district, who)
    months = [_month(site, period.key) for site in visible]
    rolled: RollUp = roll_up(period.key, (kind_labels(site.config) for site in visible), (m for m, _ in months))
    return console.page(
        request,
        "district.html",
        {
            **_cards_context(district, who),
            "hall": district.config.hall,
            "period": period,
            "rolled": rolled,
            "unscheduled": [why for _, why in months if why],
            "state_labels": STATE_LABELS,
        },
    )


@router.get("/district/cards")
def cards(request: Request, who: Viewer, console: ConsoleDep) -> Response:
    """The cards alone, for the overview's live updates."""
    context = {"who": who, "flash": None, **_cards_context(district_of(request), who), "state_labels": STATE_LABELS}
    response: Response = console.templates.TemplateResponse(request, "_district.html", context)
    return response


@router.get("/district/events")
async def events(request: Request, who: Viewer) -> Response:
    """Server-sent events whenever what a card shows may have changed: any of the sites' boards (their live halls,
    and what changes with the clock)."""
    visible = _visible(district_of(request), who)
    watches: list[Callable[[], tuple[object, ...]]] = [board_watch(console) for console in visible]
    return change_stream(
        request,
        lambda: tuple(look() for look in watches),
        lambda: sum(console.live.version for console in visible),
    )
