"""Logging in and out, sessions, CSRF tokens, the login rate limit and the role checks of every request.

A session is a random token in an HttpOnly cookie; the store keeps only its sha256 and its expiry
(`[console] session_ttl`). Every form carries the session's CSRF token and every POST is refused
without it; the login form, before there is a session, carries a token that must match its cookie.
Failed logins are kept in the audit trail; `[console] login_attempts` failures for one account or
from one address within `login_window` refuse further attempts until the window has passed.
"""

from __future__ import annotations

import hmac
import secrets
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from monitor.adapters.passwords import dummy_check, password_matches
from monitor.adapters.store.accounts import (
    audit,
    close_session,
    failed_logins,
    live_session,
    open_session,
    token_digest,
    user_row,
)
from monitor.console.context import address_of, console_of
from monitor.core.roles import ROLE_LABELS, Role, may

COOKIE = "hm_session"
LOGIN_COOKIE = "hm_login"

router = APIRouter()


@dataclass(frozen=True, slots=True)
class Who:
    """The person logged in for this request."""

    name: str
    role: str
    csrf: str
    key: str
    """The session's digest: keys this login's flash messages."""


class LoginRequired(Exception):
    """No valid session: the person is sent to the login page."""


class Forbidden(Exception):
    """Logged in, but this account may not do it (or the form's CSRF token is wrong)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def current(request: Request) -> Who:
    console = console_of(request)
    token = request.cookies.get(COOKIE, "")
    if not token:
        raise LoginRequired
    with Session(console.engine) as session:
        found = live_session(session, token, console.now())
    if found is None:
        raise LoginRequired
    account, csrf = found
    who = Who(account.name, account.role, csrf, token_digest(token))
    request.state.who = who
    return who


def need(role: Role) -> Callable[[Request], Awaitable[Who]]:
    """A dependency: the person logged in, who must have `role`; on a POST the form's CSRF token is checked
    and the parsed form is left on `request.state.form`."""

    async def check(request: Request) -> Who:
        who = current(request)
        if request.method == "POST":
            form = await request.form()
            request.state.form = form
            sent = form.get("csrf")
            if not isinstance(sent, str) or not hmac.compare_digest(sent, who.csrf):
                _refuse(request, who, "csrf", "表单已失效（缺少或错误的安全令牌）：请刷新页面后重新提交")
        if not may(who.role, role):
            _refuse(request, who, "forbidden", f"权限不足：此操作需要{_label(role)}权限，当前账号为{_label(who.role)}")
        return who

    return check


def _label(role: str) -> str:
    return ROLE_LABELS.get(role, role)  # type: ignore[call-overload]


def _refuse(request: Request, who: Who, action: str, message: str) -> None:
    """Refused requests that change something are kept in the audit trail, then answered 403."""
    if request.method == "POST":
        console_of(request).note(request, who.name, action, "refused", target=request.url.path, detail=message)
    raise Forbidden(message)


def safe_next(target: str | None) -> str:
    """Only a path of this site (never //host or a scheme), so a login link cannot send a person elsewhere."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    return _login_form(request, next, None)


def _login_form(request: Request, next_path: str, error: str | None, status_code: int = 200) -> Response:
    console = console_of(request)
    token = secrets.token_urlsafe(24)
    response = console.templates.TemplateResponse(
        request,
        "login.html",
        {"who": None, "flash": None, "login_token": token, "next": safe_next(next_path), "error": error},
        status_code=status_code,
    )
    response.set_cookie(
        LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=console.config.console.secure_cookies
    )
    return response


@router.post("/login")
def login(
    request: Request,
    name: str = Form(""),
    password: str = Form(""),
    csrf: str = Form(""),
    next: str = Form("/"),
) -> Response:
    console = console_of(request)
    settings = console.config.console
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not hmac.compare_digest(csrf, expected):
        return _login_form(request, next, "登录表单已失效：请重新输入", status_code=403)
    name = name.strip()[:64]
    now = console.now()
    where = address_of(request)
    with Session(console.engine) as session:
        by_account, by_address = failed_logins(session, name, where, now - settings.login_window)
        if by_account >= settings.login_attempts or by_address >= settings.login_attempts:
            audit(
                session, at=now, user=name, action="login", outcome="refused", detail="登录失败次数过多", address=where
            )
            session.commit()
            minutes = int(settings.login_window.total_seconds() // 60)
            return _login_form(
                request, next, f"登录失败次数过多，请 {minutes} 分钟后再试，或请管理员重置密码", status_code=429
            )
        row = user_row(session, name)
        if row is None or not row.active:
            dummy_check(password)
            ok = False
        else:
            ok = password_matches(row.password_hash, password)
        if not ok:
            audit(session, at=now, user=name, action="login", outcome="failed", address=where)
            session.commit()
            return _login_form(request, next, "用户名或密码错误", status_code=401)
        token, csrf_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        open_session(session, name, token, csrf_token, where, now, settings.session_ttl)
        audit(session, at=now, user=name, action="login", outcome="ok", address=where)
        session.commit()
    response = RedirectResponse(safe_next(next), status_code=303)
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


@router.post("/logout")
async def logout(request: Request) -> Response:
    console = console_of(request)
    who = await need("viewer")(request)
    with Session(console.engine) as session:
        close_session(session, request.cookies.get(COOKIE, ""))
        audit(session, at=console.now(), user=who.name, action="logout", outcome="ok", address=address_of(request))
        session.commit()
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE)
    return response


def login_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse("/login?" + urllib.parse.urlencode({"next": target}), status_code=303)


Viewer = Annotated[Who, Depends(need("viewer"))]
"""A page anyone logged in may see (the board, reports)."""
Supervisor = Annotated[Who, Depends(need("supervisor"))]
"""Review, dismiss, leave, patrol findings."""
Admin = Annotated[Who, Depends(need("admin"))]
"""Accounts, imports, issuing notices, the audit log."""
