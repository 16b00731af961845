"""Accounts and the audit log (账号与操作记录): admins add and disable accounts and read who did what."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from monitor.adapters.passwords import MIN_LENGTH, hash_password
from monitor.adapters.store.accounts import accounts, add_user, audit, audit_entries, set_active
from monitor.console.auth import Admin
from monitor.console.context import address_of, console_of
from monitor.console.params import Page, Text
from monitor.core.roles import ROLES, is_role

router = APIRouter()
PAGE = 100
ACTIONS = {
    "login": "登录",
    "logout": "退出",
    "review": "审核",
    "dismiss": "撤销",
    "patrol": "巡查发现",
    "leave": "请假登记",
    "import": "数据导入",
    "issue": "印发通报",
    "user_add": "新增账号",
    "user_disable": "停用账号",
    "user_enable": "启用账号",
    "csrf": "表单令牌错误",
    "forbidden": "越权操作",
}
OUTCOMES = {"ok": "成功", "refused": "被拒绝", "failed": "失败"}


@router.get("/users")
def users(request: Request, who: Admin) -> Response:
    console = console_of(request)
    with Session(console.engine) as session:
        found = accounts(session)
    return console.page(request, "users.html", {"accounts": found, "roles": ROLES, "min_length": MIN_LENGTH})


@router.post("/users")
def user_add(request: Request, who: Admin) -> Response:
    console = console_of(request)
    form = request.state.form
    name, role = str(form.get("name", "")).strip(), str(form.get("role", ""))
    password = str(form.get("password", ""))
    if not name or len(name) > 64 or not is_role(role):
        console.flash(who.key, "error", "请填写用户名（不超过 64 字）并选择角色")
    elif len(password) < MIN_LENGTH:
        console.flash(who.key, "error", f"密码至少 {MIN_LENGTH} 位")
    else:
        with Session(console.engine) as session:
            try:
                add_user(session, name, role, hash_password(password), who.name, console.now())
            except ValueError as exc:
                console.flash(who.key, "error", str(exc))
            else:
                audit(
                    session,
                    at=console.now(),
                    user=who.name,
                    action="user_add",
                    outcome="ok",
                    target=name,
                    detail=role,
                    address=address_of(request),
                )
                session.commit()
                console.flash(who.key, "ok", f"已新增账号 {name}")
    return RedirectResponse("/users", status_code=303)


@router.post("/users/{name}/active")
def user_active(request: Request, name: str, who: Admin) -> Response:
    console = console_of(request)
    active = request.state.form.get("active") == "1"
    if name == who.name and not active:
        console.flash(who.key, "error", "不能停用自己的账号")
        return RedirectResponse("/users", status_code=303)
    with Session(console.engine) as session:
        try:
            set_active(session, name, active)
        except LookupError as exc:
            console.flash(who.key, "error", str(exc))
            return RedirectResponse("/users", status_code=303)
        audit(
            session,
            at=console.now(),
            user=who.name,
            action="user_enable" if active else "user_disable",
            outcome="ok",
            target=name,
            address=address_of(request),
        )
        session.commit()
    console.flash(who.key, "ok", f"已{'启用' if active else '停用'}账号 {name}")
    return RedirectResponse("/users", status_code=303)


@router.get("/audit")
def audit_log(request: Request, who: Admin, user: Text = "", action: Text = "", page: Page = 0) -> Response:
    console = console_of(request)
    with Session(console.engine) as session:
        entries = audit_entries(session, limit=PAGE, offset=page * PAGE, user=user, action=action)
    return console.page(
        request,
        "audit.html",
        {
            "entries": entries,
            "actions": ACTIONS,
            "outcomes": OUTCOMES,
            "user": user,
            "action": action,
            "page": page,
            "more": len(entries) == PAGE,
        },
    )
