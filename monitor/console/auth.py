"""Logging in and out, sessions, CSRF tokens, the login rate limit and the role checks of every request.

A session is a random token in an HttpOnly cookie; the store keeps only its sha256 and its expiry
(`[console] session_ttl`). Every form carries the session's CSRF token and every POST is refused
without it; the login form, before there is a session, carries a token that must match its cookie.
A POST's role is checked from the session cookie before its body is read, and a body larger than an
import may be (`[console] upload_bytes`) is refused (413) before it is read: a viewer's 60 MB upload costs
nothing but the refusal.

Logins, failed and refused ones and logouts are kept in the audit trail under the account's site (`entry_site`:
in a district its centre's log, or the district accounts' entries). Failed logins drive the login limit
(`login_failures`, counted over every site): within
`login_window`, `login_attempts` failures for one account from one address, ACCOUNT_FACTOR times as many
for one account from all addresses, or ADDRESS_FACTOR times as many from one address over all account
names refuse further attempts until the window has passed. Counting per account and address (not per
address alone) keeps one person's wrong passwords, or someone guessing one account, from locking every
other account out of a shared machine or a proxy's address.
"""

from __future__ import annotations

import hmac
import secrets
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, NoReturn

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session
from starlette.datastructures import FormData
from starlette.types import Message

from monitor.adapters.passwords import dummy_check, password_matches
from monitor.adapters.store.accounts import (
    audit,
    close_session,
    live_session,
    login_failures,
    open_session,
    token_digest,
    user_row,
)
from monitor.console.context import Console, address_of, console_of, district_of
from monitor.console.deps import ConsoleDep, DistrictDb
from monitor.console.sites import OtherSite, enter
from monitor.core.roles import ROLE_LABELS, Role, may
from monitor.services.audit_log import entry_site

COOKIE = "hm_session"
LOGIN_COOKIE = "hm_login"
FORM_OVERHEAD = 64 * 1024
"""Bytes a form may carry beyond `[console] upload_bytes`: its other fields and the multipart framing, so that a
file of exactly upload_bytes still goes through (and the import's own check names the file)."""
LOGIN_BYTES = 16 * 1024
"""The largest login form: a name, a password and two tokens."""
ACCOUNT_FACTOR = 3
"""Failed logins for one account from all addresses together, as a multiple of `login_attempts`."""
ADDRESS_FACTOR = 10
"""Failed logins from one address over all account names, as a multiple of `login_attempts`: generous (a shared
PC, a proxy) yet an address cannot try name after name."""

router = APIRouter()


@dataclass(frozen=True, slots=True)
class Who:
    """The person logged in for this request."""

    name: str
    role: str
    csrf: str
    key: str
    """The session's digest: keys this login's flash messages."""
    sites: str = ""
    """The sites the account may see and act on, as stored (monitor.core.roles.sites_of); "" for every site."""


class LoginRequired(Exception):
    """No valid session: the person is sent to the login page."""


class TooLarge(Exception):
    """A request body larger than the console takes: answered 413 before it is read."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Forbidden(Exception):
    """Logged in, but this account may not do it (or the form's CSRF token is wrong)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def current(request: Request, console: Console) -> Who:
    """The person this request's session cookie logs in; LoginRequired without a live session. Then the request's
    site, which the login must be allowed to see (monitor.console.sites.enter: OtherSite otherwise): the pages that
    follow get its console.

    Read in a transaction of its own, ended before the page runs: on SQLite every transaction takes the write
    lock (BEGIN IMMEDIATE), so one left open here would hold up the refusal's audit entry and the page's own."""
    token = request.cookies.get(COOKIE, "")
    if not token:
        raise LoginRequired
    with Session(console.engine) as session:
        found = live_session(session, token, console.now())
    if found is None:
        raise LoginRequired
    account, csrf = found
    who = Who(account.name, account.role, csrf, token_digest(token), account.sites)
    request.state.who = who
    enter(request, who.name, who.sites, request.query_params.get("site"))
    return who


def need(role: Role) -> Callable[..., Awaitable[Who]]:
    """A dependency: the person logged in, who must have `role`; on a POST the form's CSRF token is checked
    and the parsed form is left on `request.state.form`.

    The role and the site come from the session cookie and the address alone and are checked first: a refused POST's
    body is never read. Then the body is bounded (`read_form`), and only then parsed; a form's `site` (the site of
    the page it was sent from) is then the site it acts on, checked in turn."""

    async def check(request: Request) -> Who:
        try:
            who = current(request, console_of(request))
        except OtherSite as exc:
            _refuse_site(request, exc)
        if not may(who.role, role):
            _refuse(request, who, "forbidden", f"权限不足：此操作需要{_label(role)}权限，当前账号为{_label(who.role)}")
        if request.method == "POST":
            upload_bytes = console_of(request).config.console.upload_bytes
            form = await read_form(
                request,
                upload_bytes + FORM_OVERHEAD,
                f"提交的内容太大：导入文件不能超过 {upload_bytes // 1024} KB，请拆分后导入",
            )
            request.state.form = form
            sent = form.get("csrf")
            if not isinstance(sent, str) or not hmac.compare_digest(sent, who.csrf):
                _refuse(request, who, "csrf", "表单已失效（缺少或错误的安全令牌）：请刷新页面后重新提交")
            site = form.get("site")
            if isinstance(site, str) and site:
                try:
                    enter(request, who.name, who.sites, site)
                except OtherSite as exc:
                    _refuse_site(request, exc)
        return who

    return check


async def read_form(request: Request, limit: int, message: str) -> FormData:
    """The request's form, its body no larger than `limit` bytes; TooLarge (413, `message`) otherwise.

    A declared Content-Length over the limit is refused before a byte of the body is read (the server holds
    the body to it). A body without one (chunked) is read up to the limit and refused as soon as it passes it."""
    declared = request.headers.get("content-length")
    if declared is not None:
        digits = declared.strip()
        if not (digits.isascii() and digits.isdigit()) or len(digits) > 15 or int(digits) > limit:
            raise TooLarge(message)
        return await request.form()
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise TooLarge(message)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": bytes(body), "more_body": False}

    return await Request(request.scope, replay).form()


def _label(role: str) -> str:
    return ROLE_LABELS.get(role, role)  # type: ignore[call-overload]


def _refuse(request: Request, who: Who, action: str, message: str) -> None:
    """Refused requests that change something are kept in the audit trail, then answered 403."""
    if request.method == "POST":
        console_of(request).note(request, who.name, action, "refused", target=request.url.path, detail=message)
    raise Forbidden(message)


def _refuse_site(request: Request, refusal: OtherSite) -> NoReturn:
    """A site, or another site's record, the login may not see: a POST's refusal is kept in the audit trail."""
    who = getattr(request.state, "who", None)
    if request.method == "POST" and who is not None:
        target = request.url.path
        console_of(request).note(request, who.name, "forbidden", "refused", target=target, detail=refusal.message)
    raise refusal


def safe_next(target: str | None) -> str:
    """Only a path of this site (never //host or a scheme), so a login link cannot send a person elsewhere."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


LOGIN_PATH = "/login"
"""The login page, where a request without a login is sent."""


@router.get(LOGIN_PATH)
def login_page(request: Request, console: ConsoleDep, next: str = "/") -> Response:
    return _login_form(request, console, next, None)


def _login_form(
    request: Request, console: Console, next_path: str, error: str | None, status_code: int = 200
) -> Response:
    """The login form; in a district under the district's name (no site is chosen before the login)."""
    token = secrets.token_urlsafe(24)
    district = district_of(request)
    context = {"who": None, "flash": None, "login_token": token, "next": safe_next(next_path), "error": error}
    if district.several:
        context["hall"] = district.config.hall
    response = console.templates.TemplateResponse(request, "login.html", context, status_code=status_code)
    response.set_cookie(
        LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=console.config.console.secure_cookies
    )
    return response


@router.post("/login")
async def login(request: Request, console: ConsoleDep) -> Response:
    """The login form, read here (not by a form model: there is no session yet to check first) so that its body
    is bounded before it is read; the password check runs in a worker thread (argon2 takes a while)."""
    form = await read_form(request, LOGIN_BYTES, "登录表单太大")

    def text(key: str, default: str = "") -> str:
        value = form.get(key, default)
        return value if isinstance(value, str) else default

    return await run_in_threadpool(
        _login, request, console, text("name"), text("password"), text("csrf"), text("next", "/")
    )


def _login(request: Request, console: Console, name: str, password: str, csrf: str, next_path: str) -> Response:
    settings = console.config.console
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not hmac.compare_digest(csrf, expected):
        return _login_form(request, console, next_path, "登录表单已失效：请重新输入", status_code=403)
    name = name.strip()[:64]
    now = console.now()
    where = address_of(request)
    minutes = int(settings.login_window.total_seconds() // 60)
    district = district_of(request)
    with Session(district.engine) as session:  # every site's failures; each entry under its account's site
        row = user_row(session, name)
        site = entry_site(district.config, row.sites if row is not None else None)
        pair, account, address = login_failures(session, name, where, now - settings.login_window)
        if pair >= settings.login_attempts or account >= ACCOUNT_FACTOR * settings.login_attempts:
            refusal = f"登录失败次数过多，请 {minutes} 分钟后再试，或请管理员重置密码"
        elif address >= ADDRESS_FACTOR * settings.login_attempts:
            refusal = f"此地址登录失败次数过多，请 {minutes} 分钟后再试"
        else:
            refusal = None
        if refusal is not None:
            audit(
                session,
                at=now,
                user=name,
                action="login",
                outcome="refused",
                detail="登录失败次数过多",
                address=where,
                site=site,
            )
            session.commit()
            return _login_form(request, console, next_path, refusal, status_code=429)
        if row is None or not row.active:
            dummy_check(password)
            ok = False
        else:
            ok = password_matches(row.password_hash, password)
        if not ok:
            audit(session, at=now, user=name, action="login", outcome="failed", address=where, site=site)
            session.commit()
            return _login_form(request, console, next_path, "用户名或密码错误", status_code=401)
        token, csrf_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        open_session(session, name, token, csrf_token, where, now, settings.session_ttl)
        audit(session, at=now, user=name, action="login", outcome="ok", address=where, site=site)
        session.commit()
    response = RedirectResponse(safe_next(next_path), status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(settings.session_ttl.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
    )
    response.delete_cookie(LOGIN_COOKIE)
    return response


def login_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{LOGIN_PATH}?" + urllib.parse.urlencode({"next": target}), status_code=303)


Viewer = Annotated[Who, Depends(need("viewer"))]
"""A page anyone logged in may see (the board, reports)."""
Supervisor = Annotated[Who, Depends(need("supervisor"))]
"""Review, dismiss, leave, patrol findings."""
Admin = Annotated[Who, Depends(need("admin"))]
"""Accounts, imports, issuing notices, the audit log."""


@router.post("/logout")
def logout(request: Request, who: Viewer, console: ConsoleDep, session: DistrictDb) -> Response:
    """The login ends; the entry is kept under the account's site (`entry_site`), whatever site the page was of."""
    close_session(session, request.cookies.get(COOKIE, ""))
    site = entry_site(district_of(request).config, who.sites)
    audit(
        session, at=console.now(), user=who.name, action="logout", outcome="ok", address=address_of(request), site=site
    )
    session.commit()
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE)
    return response
