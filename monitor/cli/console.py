"""`monitor console` (the supervisor console, web) and `monitor user` (its accounts)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table
from sqlmodel import Session

from monitor.adapters.passwords import MIN_LENGTH, hash_password
from monitor.adapters.store.accounts import accounts, add_user, set_active, set_password
from monitor.adapters.store.database import open_database
from monitor.cli import app
from monitor.cli.context import state
from monitor.cli.output import out
from monitor.cli.services import stop_on_signals
from monitor.console.server import ConsoleServer, build_console
from monitor.contract import now_utc
from monitor.core.roles import ROLE_LABELS, ROLES, is_role
from monitor.errors import InputError

user_app = typer.Typer(help="Console accounts: add, list, change a password, disable.", no_args_is_help=True)
app.add_typer(user_app, name="user")


def _password(stdin: bool) -> str:
    """The password from stdin (one line) or typed twice at a prompt; never from an argument."""
    if stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("密码", hide_input=True, confirmation_prompt="再次输入密码")
    if len(password) < MIN_LENGTH:
        raise InputError(f"密码至少 {MIN_LENGTH} 位")
    return password


@user_app.command("add")
def user_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Login name (the person's name as the audit trail shows it).")],
    role: Annotated[str, typer.Option(help="viewer, supervisor or admin.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin (one line) instead of a prompt.")
    ] = False,
) -> None:
    """新增控制台账号 — add a console account; the password is asked for (or read from stdin)."""
    if not is_role(role):
        raise InputError(f"--role {role!r}: use {', '.join(ROLES)}")
    name = name.strip()
    if not name or len(name) > 64:
        raise InputError("NAME: give the login name (at most 64 characters)")
    config = state(ctx).config
    password = _password(password_stdin)
    with Session(open_database(config.database.url)) as session:
        try:
            add_user(session, name, role, hash_password(password), "monitor user add", now_utc())
        except ValueError as exc:
            raise InputError(str(exc)) from None
        session.commit()
    out.print(f"[green]✓[/] 已新增账号 {name}（{ROLE_LABELS[role]}）")  # type: ignore[index]


@user_app.command("passwd")
def user_passwd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Login name.")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin.")] = False,
) -> None:
    """重置密码 — set a new password (the account's logins end)."""
    config = state(ctx).config
    password = _password(password_stdin)
    with Session(open_database(config.database.url)) as session:
        try:
            set_password(session, name, hash_password(password))
        except LookupError as exc:
            raise InputError(str(exc)) from None
        session.commit()
    out.print(f"[green]✓[/] 已重置 {name} 的密码")


@user_app.command("disable")
def user_disable(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Login name.")]) -> None:
    """停用账号 — the account can no longer log in; what it did stays in the audit trail."""
    config = state(ctx).config
    with Session(open_database(config.database.url)) as session:
        try:
            set_active(session, name, False)
        except LookupError as exc:
            raise InputError(str(exc)) from None
        session.commit()
    out.print(f"[green]✓[/] 已停用账号 {name}")


@user_app.command("list")
def user_list(ctx: typer.Context) -> None:
    """账号列表 — the console's accounts and roles."""
    config = state(ctx).config
    with Session(open_database(config.database.url)) as session:
        found = accounts(session)
    table = Table("用户名", "角色", "状态", title="控制台账号")
    for account in found:
        table.add_row(account.name, ROLE_LABELS.get(account.role, account.role), "启用" if account.active else "停用")  # type: ignore[call-overload]
    out.print(table)


@app.command("console")
def console(ctx: typer.Context) -> None:
    """督查控制台 — serve the supervisor console (web) on [console] host:port until stopped."""
    config = state(ctx).config
    server = ConsoleServer(build_console(config, open_database(config.database.url)))
    stop = stop_on_signals()
    server.start()
    if not server.wait_started():
        server.stop()
        raise InputError(
            f"控制台无法在 {config.console.host}:{config.console.port} 监听（端口被占用？）：改 [console] port"
        )
    out.print(f"督查控制台：http://{config.console.host}:{config.console.port}/  （Ctrl-C 停止）")
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
