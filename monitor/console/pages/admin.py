"""Accounts and the audit log (账号与操作记录): admins add and disable accounts and read who did what."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, field_validator

from monitor.adapters.passwords import MIN_LENGTH, hash_password
from monitor.adapters.store.accounts import accounts, add_user, audit, audit_entries, set_active
from monitor.console.auth import Admin
from monitor.console.context import address_of
from monitor.console.deps import ConsoleDep, Db, Form
from monitor.console.params import Page, Text
from monitor.core.roles import ROLE_LABELS, ROLES, Role, is_role
from monitor.services.audit_log import ACTIONS, describe

router = APIRouter()
PAGE = 100


class UserForm(BaseModel):
    """A new account: its login name, role and first password (each checked, also when left out)."""

    model_config = ConfigDict(validate_default=True)

    name: str = ""
    role: str = ""
    password: str = ""

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


@router.get("/users")
def users(request: Request, who: Admin, console: ConsoleDep, session: Db) -> Response:
    found = accounts(session)
    return console.page(request, "users.html", {"accounts": found, "roles": ROLES, "min_length": MIN_LENGTH})


@router.post("/users")
def user_add(
    request: Request,
    who: Admin,
    console: ConsoleDep,
    session: Db,
    form: Annotated[UserForm, Form(UserForm, prefix="未新增：")],
) -> Response:
    label = ROLE_LABELS[form.role]  # type: ignore[index]
    try:
        add_user(session, form.name, form.role, hash_password(form.password), who.name, console.now())
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
    session: Db,
    form: Annotated[ActiveForm, Form(ActiveForm)],
) -> Response:
    active = form.active == "1"
    if name == who.name and not active:
        console.flash(request, "error", "不能停用自己的账号")
        return RedirectResponse("/users", status_code=303)
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
    )
    session.commit()
    console.flash(request, "ok", f"已{done}")
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
    rows = audit_entries(session, limit=PAGE, offset=page * PAGE, user=user, action=action)
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
        },
    )
