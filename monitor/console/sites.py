"""Which site a request is for, and whether its login may see it (authority by site).

A district's console serves every site from one application, each through its own Console (its configuration, its
store kept to the site, its live hall). Once the login is known (monitor.console.auth.current), `enter` picks the
request's site and leaves its Console on the request, where `console_of` finds it for every page:

1. the site of the record the address names by id (an incident and its evidence, a leave, a camera): a link to
   another site's record opens that site;
2. else the site asked for: `?site=<id>`, which every address a site's page draws names
   (monitor.console.context.with_site), or on a form its hidden `site` field (the site of the page it was on): a link
   followed or a form sent from a tab left on one site is answered there, whatever another tab switched to;
3. else the site this browser last chose (a cookie);
4. else the first site the account may see.

A township centre's account (`sites`, monitor.core.roles) may see its own centre(s) only: a site or a record of
another is refused (OtherSite: 403, in words), never shown or acted on. A site chosen by address or form is
remembered for the next page, except by the addresses an open page fetches by itself (LIVE), which name their site
each time. A single hall's console has one site: nothing to choose, nothing remembered.
"""

from __future__ import annotations

import urllib.parse

from fastapi import Request
from fastapi.responses import Response
from sqlmodel import Session

from monitor.adapters.store.site_records import incident_site, leave_site
from monitor.console.context import Console, District, SiteLink, district_of
from monitor.console.params import BadParameter
from monitor.core.roles import may_site, sites_of

SITE_COOKIE = "hm_site"
REMEMBERED = 400 * 24 * 3600
"""How long the browser remembers the site chosen (seconds; the most browsers keep a cookie)."""
LIVE = frozenset({"/events", "/board/tiles", "/district/cards", "/district/events"})
"""Addresses an open page fetches by itself: the site they name is not remembered as the one chosen."""
KEPT = ("span", "date", "month", "week")
"""The query a switch keeps, on a list page: the period shown (every site has the same calendar of periods)."""


class OtherSite(Exception):
    """A site, or a record of a site, the login may not see: answered 403 with `message`."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def enter(request: Request, who_name: str, scope: str, chosen: str | None) -> Console:
    """The request's site for the login `who_name` of `scope` (its sites as stored), its Console left on the request
    (`request.state.console`) with the switcher's sites (`request.state.site_nav`); OtherSite when the login may not
    see it, BadParameter for a site the district does not have. A refused request is left on the login's own site
    (the one it last chose, or its first) with that site's menu: the refusal's page offers the login's own sites and
    the district overview."""
    district = district_of(request)
    visible = [site for site in district.consoles if may_site(scope, site)]
    if not visible:
        request.state.console = district.first
        raise OtherSite(f"账号 {who_name} 没有可查看的站点：请管理员为账号设置站点")
    remembered = request.cookies.get(SITE_COOKIE, "")
    own = _entered(request, district, visible, remembered if remembered in visible else visible[0])
    if not district.several:
        return own
    # Until the request's site is settled below, the login's own: a refusal is answered there, with its menu.
    owner = _owner(request, district)
    if owner is not None:
        if owner not in visible:
            raise OtherSite(f"不能查看其他站点的记录：{_refusal(district, scope)}")
        request.state.remember_site = owner
        return _entered(request, district, visible, owner)
    if chosen:
        if chosen not in district.consoles:
            raise BadParameter("没有这个站点：请从页面顶部的站点列表中选择")
        if chosen not in visible:
            raise OtherSite(f"不能查看其他站点：{_refusal(district, scope)}")
        request.state.remember_site = chosen
        return _entered(request, district, visible, chosen)
    return own


def _entered(request: Request, district: District, visible: list[str], site: str) -> Console:
    console = district.consoles[site]
    request.state.console = console
    if district.several:
        request.state.site_nav = tuple(
            SiteLink(s, district.consoles[s].config.hall.name, switch_to(request, s), s == site) for s in visible
        )
    return console


def _owner(request: Request, district: District) -> str | None:
    """The site of the record the address names by id, when it names one the district has: an incident (its page,
    its evidence, what is done to it), a leave (its withdrawal or change), a camera (its picture)."""
    params = request.path_params
    camera = params.get("camera_id")
    if isinstance(camera, str):
        return next((s for s, c in district.consoles.items() if any(k.id == camera for k in c.config.cameras)), None)
    incident, leave = params.get("incident_id"), params.get("leave_id")
    if not isinstance(incident, str) and not isinstance(leave, str):
        return None
    with Session(district.engine) as session:
        return incident_site(session, incident) if isinstance(incident, str) else leave_site(session, str(leave))


def _refusal(district: District, scope: str) -> str:
    names = "、".join(district.consoles[s].config.hall.name for s in sites_of(scope) if s in district.consoles)
    return f"本账号只能查看{names}" if names else "本账号没有可查看的站点"


def switch_to(request: Request, site: str) -> str:
    """The address that shows `site` from the page the request is on: the same page (with its period); from a record's
    page the list it belongs to (another site's record is not on that site's list); from the overview the board."""
    path = request.url.path
    section = "/" + path.strip("/").split("/", 1)[0] if path.strip("/") else "/"
    if section in ("/board", "/district", "/events") or section.endswith(".xlsx"):
        section = "/"
    kept = [(k, v) for k, v in request.query_params.multi_items() if k in KEPT] if section == path else []
    return f"{section}?{urllib.parse.urlencode([*kept, ('site', site)])}"


def remember(request: Request, response: Response) -> None:
    """Keep the site chosen by this request for the next page (a cookie), unless a live fetch named it."""
    site = getattr(request.state, "remember_site", None)
    if site is None or request.url.path in LIVE or request.cookies.get(SITE_COOKIE) == site:
        return
    secure = district_of(request).config.console.secure_cookies
    response.set_cookie(SITE_COOKIE, site, max_age=REMEMBERED, httponly=True, samesite="lax", secure=secure)
