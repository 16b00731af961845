"""Accounts and the audit log (账号与操作记录): admins add and disable accounts, change their sites, and read who did
what.

In a district an account has its sites (a township centre's staff: their centre; the district office: every site).
An admin manages the accounts of its own sites only: a centre's admin sees, adds, disables and moves accounts of its
centre, never one that may see another site or every site, and gives only sites of its own (it could otherwise give
itself the district). A change to an account
is kept in the audit log of the account's site (monitor.services.audit_log.entry_site), and a site's log shows a
district admin also the entries about district accounts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, field_validator
from sqlmodel import Session

from monitor.adapters.passwords import MIN_LENGTH, hash_password
from monitor.adapters.store.accounts import (
    accounts,
    add_user,
    audit,
    audit_entries,
    set_active,
    set_sites,
    user_row,
)
from monitor.adapters.store.tables import UserRow
from monitor.console.auth import Admin, Forbidden, Who
from monitor.console.context import Console, address_of, district_of
from monitor.console.deps import ConsoleDep, Db, DistrictDb, Form
from monitor.console.params import Page, Text
from monitor.core.roles import ROLE_LABELS, ROLES, Role, is_role, may_site, scope_of, sites_of
from monitor.services.audit_log import ACTIONS, describe, entry_site, sites_read

router = APIRouter()
PAGE = 100


class UserForm(BaseModel):
    """A new account: its login name, role and first password (each checked, also when left out)."""

    model_config = ConfigDict(validate_default=True)

    name: str = ""
    role: str = ""
    password: str = ""
    sites: list[str] = []
    """The sites ticked (a district's console); none: every site the admin may give."""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        name = value.strip()
        if not name or len(name) > 64:
            raise ValueError("请填写用户名（不超过 64 字）")
        return name

    @field_validator("role")
    @classmethod
    def _role(cls, value: str) -> Role:
        if not is_role(value):
            raise ValueError("请选择角色（" + "、".join(ROLE_LABELS[r] for r in ROLES) + "）")
        return value

    @field_validator("password")
    @classmethod
    def _password(cls, value: str) -> str:
        if len(value) < MIN_LENGTH:
            raise ValueError(f"密码至少 {MIN_LENGTH} 位")
        return value


class ActiveForm(BaseModel):
    """Enable (1) or disable (0) an account."""

    model_config = ConfigDict(validate_default=True)

    active: str = ""

    @field_validator("active")
    @classmethod
    def _choice(cls, value: str) -> str:
        if value not in ("0", "1"):
            raise ValueError("请选择启用或停用")
        return value


class SitesForm(BaseModel):
    """An account's sites, as ticked (a district's console); none: every site the admin may give."""

    sites: list[str] = []


def manages(admin: str, account: str) -> bool:
    """Whether an admin of scope `admin` manages an account of scope `account` (scopes as stored): a district admin
    every account, a centre's admin the accounts of its own sites only."""
    mine = sites_of(admin)
    return not mine or (bool(sites_of(account)) and set(sites_of(account)) <= set(mine))


def _site_names(request: Request) -> dict[str, str]:
    """Each site's name by its id, in a district; empty for a single hall (its accounts have no sites to show)."""
    district = district_of(request)
    return {s: c.config.hall.name for s, c in district.consoles.items()} if district.several else {}


def _scope_words(scope: str, names: dict[str, str]) -> str:
    return "、".join(names.get(s, s) for s in sites_of(scope)) or "全部站点"


def _managed(request: Request, who: Who, console: Console, session: Session, name: str) -> UserRow | None:
    """The account `name` (None when there is none), if `who` may manage it; Forbidden, noted, when it is another
    site's."""
    row = user_row(session, name)
    if row is not None and not manages(who.sites, row.sites):
        refusal = "不能管理其他站点的账号：本账号只能管理本站点的账号"
        console.note(request, who.name, "forbidden", "refused", target=request.url.path, detail=refusal)
        raise Forbidden(refusal)
    return row


@router.get("/users")
def users(request: Request, who: Admin, console: ConsoleDep, session: Db) -> Response:
    names = _site_names(request)
    found = [a for a in accounts(session) if manages(who.sites, a.sites)]
    return console.page(
        request,
        "users.html",
        {
            "accounts": found,
            "roles": ROLES,
            "min_length": MIN_LENGTH,
            "site_names": names,
            "sites_given": {s: n for s, n in names.items() if may_site(who.sites, s)},
            "scope_words": lambda scope: _scope_words(scope, names),
            "sites_of": sites_of,
        },
    )


@router.post("/users")
def user_add(
    request: Request,
    who: Admin,
    console: ConsoleDep,
    session: DistrictDb,
    form: Annotated[UserForm, Form(UserForm, prefix="未新增：")],
) -> Response:
    label = ROLE_LABELS[form.role]  # type: ignore[index]
    names = _site_names(request)
    if any(s not in names or not may_site(who.sites, s) for s in form.sites):
        console.flash(request, "error", "未新增：只能选择本账号可管理的站点")
        return RedirectResponse("/users", status_code=303)
    scope = scope_of(form.sites) if names else ""
    scope = scope or who.sites  # none ticked: every site the admin has (a centre's admin: its own)
    if scope:
        label += f"，限{_scope_words(scope, names)}"
    try:
        add_user(session, form.name, form.role, hash_password(form.password), who.name, console.now(), sites=scope)
    except ValueError as exc:
        session.rollback()  # nothing of a refused change is committed with the flash
        console.flash(request, "error", str(exc))
        return RedirectResponse("/users", status_code=303)
    audit(
        session,
        at=console.now(),
        user=who.name,
        action="user_add",
        outcome="ok",
        target=form.name,
        detail=f"新增账号 {form.name}（{label}）",
        address=address_of(request),
        site=entry_site(district_of(request).config, scope),
    )
    session.commit()
    console.flash(request, "ok", f"已新增账号 {form.name}（{label}）")
    return RedirectResponse("/users", status_code=303)


@router.post("/users/{name}/active")
def user_active(
    request: Request,
    name: str,
    who: Admin,
    console: ConsoleDep,
    session: DistrictDb,
    form: Annotated[ActiveForm, Form(ActiveForm)],
) -> Response:
    active = form.active == "1"
    if name == who.name and not active:
        console.flash(request, "error", "不能停用自己的账号")
        return RedirectResponse("/users", status_code=303)
    row = _managed(request, who, console, session, name)
    try:
        set_active(session, name, active)
    except LookupError as exc:
        session.rollback()  # nothing of a refused change is committed with the flash
        console.flash(request, "error", str(exc))
        return RedirectResponse("/users", status_code=303)
    done = f"{'启用' if active else '停用'}账号 {name}"
    audit(
        session,
        at=console.now(),
        user=who.name,
        action="user_enable" if active else "user_disable",
        outcome="ok",
        target=name,
        detail=done,
        address=address_of(request),
        site=entry_site(district_of(request).config, row.sites if row is not None else None),
    )
    session.commit()
    console.flash(request, "ok", f"已{done}")
    return RedirectResponse("/users", status_code=303)


@router.post("/users/{name}/sites")
def user_sites(
    request: Request,
    name: str,
    who: Admin,
    console: ConsoleDep,
    session: DistrictDb,
    form: Annotated[SitesForm, Form(SitesForm, prefix="未修改：")],
) -> Response:
    """Move an account to other sites, under the rules of adding one: a centre's admin only its own accounts, and
    only to sites of its own (nothing ticked: all of them, never every site). The account's logins end."""
    names = _site_names(request)
    if not names:
        console.flash(request, "error", "未修改：只有一个站点，账号不分站点")
        return RedirectResponse("/users", status_code=303)
    if name == who.name:
        console.flash(request, "error", "不能修改自己账号的站点")
        return RedirectResponse("/users", status_code=303)
    row = _managed(request, who, console, session, name)
    if any(s not in names or not may_site(who.sites, s) for s in form.sites):
        console.flash(request, "error", "未修改：只能选择本账号可管理的站点")
        return RedirectResponse("/users", status_code=303)
    scope = scope_of(form.sites) or who.sites
    if row is not None and row.sites == scope:
        console.flash(request, "ok", f"账号 {name} 的站点未改变（{_scope_words(scope, names)}）")
        return RedirectResponse("/users", status_code=303)
    before = _scope_words(row.sites, names) if row is not None else ""
    try:
        set_sites(session, name, scope)
    except LookupError as exc:
        session.rollback()  # nothing of a refused change is committed with the flash
        console.flash(request, "error", str(exc))
        return RedirectResponse("/users", status_code=303)
    done = f"{name} 的站点由{before}改为{_scope_words(scope, names)}"
    audit(
        session,
        at=console.now(),
        user=who.name,
        action="user_sites",
        outcome="ok",
        target=name,
        detail=done,
        address=address_of(request),
        site=entry_site(district_of(request).config, scope),
    )
    session.commit()
    console.flash(request, "ok", f"已将{done}")
    return RedirectResponse("/users", status_code=303)


@router.get("/audit")
def audit_log(
    request: Request,
    who: Admin,
    console: ConsoleDep,
    session: Db,
    user: Text = "",
    action: Text = "",
    page: Page = 0,
) -> Response:
    district = district_of(request)
    sites = sites_read(district.config, who.sites, console.config.site)
    with Session(district.engine) as everyone:  # the site's entries, and a district admin's the district accounts'
        rows = audit_entries(everyone, limit=PAGE, offset=page * PAGE, user=user, action=action, sites=sites)
    entries = describe(session, console.config, rows, console.now())
    return console.page(
        request,
        "audit.html",
        {
            "entries": entries,
            "actions": ACTIONS,
            "user": user,
            "action": action,
            "page": page,
            "more": len(rows) == PAGE,
            "district_entries": len(sites) > 1,
        },
    )
