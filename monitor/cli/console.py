"""`monitor console` (the supervisor console, web) and `monitor user` (its accounts).

An account made or changed here is written to the configuration's database, which each command names (an account
made in another database cannot log in to the console serving this one), and kept in the console's audit log as
done by 命令行 (the console's word for the command line, in the 用户 and 地址 columns), with the operating-system
account that ran the command in its detail; in a district, in the log of the account's site
(monitor.services.audit_log.entry_site), as the console keeps its own changes to accounts."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy import make_url
from sqlmodel import Session

from monitor.adapters.passwords import MIN_LENGTH, hash_password
from monitor.adapters.store.accounts import (
    accounts,
    add_user,
    audit,
    set_active,
    set_password,
    set_sites,
    user_row,
)
from monitor.adapters.store.database import open_database
from monitor.cli import app
from monitor.cli.context import state
from monitor.cli.output import out
from monitor.cli.services import stop_on_signals
from monitor.config import MonitorConfig, config_path
from monitor.console.server import ConsoleServer, build_console
from monitor.contract import now_utc
from monitor.core.roles import ROLE_LABELS, ROLES, is_role, scope_of, sites_of
from monitor.errors import InputError
from monitor.services.audit_log import entry_site

user_app = typer.Typer(
    help="Console accounts: add, list, change a password or the sites, disable.", no_args_is_help=True
)
app.add_typer(user_app, name="user")

COMMAND_LINE = "命令行"
"""Who and where, in the audit log, for an account made or changed by these commands."""


def database_name(url: str) -> str:
    """The database a configuration names, as an operator finds it: a SQLite file's absolute path, else its URL
    without the password."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        return str(Path(parsed.database).resolve())
    return parsed.render_as_string(hide_password=True)


def _written(ctx: typer.Context) -> str:
    """Where an account change went: the database, and the configuration that named it (the embedded defaults'
    database is not the one a hall's console or the demo serves); a district's is its whole configuration's, one store
    for every site (the command needs no --site)."""
    cli = state(ctx)
    source = cli.source if config_path(cli.config_file) else "未指定 --config，内置默认配置"
    return f"写入数据库 {escape(database_name(cli.district.database.url))}（配置：{escape(source)}）"


def _audit(session: Session, config: MonitorConfig, action: str, name: str, detail: str) -> None:
    """The account change, in the audit log of the account's site (`entry_site`, in the whole configuration
    `config`), in the change's own transaction: kept with it or not at all."""
    row = user_row(session, name)
    try:
        by = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        by = "未知"
    audit(
        session,
        at=now_utc(),
        user=COMMAND_LINE,
        action=action,
        outcome="ok",
        target=name,
        detail=f"{detail}（系统账户 {by}）",
        address=COMMAND_LINE,
        site=entry_site(config, row.sites if row is not None else None),
    )


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
    sites: Annotated[
        str,
        typer.Option(
            help="With a district's configuration: the sites the account may see and act on, comma-separated ids "
            "(a township centre's supervisor: that centre's id); empty: every site (the district's office).",
        ),
    ] = "",
) -> None:
    """新增控制台账号 — add a console account; the password is asked for (or read from stdin). Says which database
    it wrote to: the console serving that database is where the account logs in."""
    if not is_role(role):
        raise InputError(f"--role {role!r}: use {', '.join(ROLES)}")
    name = name.strip()
    if not name or len(name) > 64:
        raise InputError("NAME: give the login name (at most 64 characters)")
    config = state(ctx).district
    if unknown := [s for s in sites_of(sites) if s not in config.site_views]:
        raise InputError(
            f"--sites: {', '.join(unknown)} not a site of the configuration ({', '.join(config.site_views)})"
        )
    scope = scope_of(sites_of(sites))
    password = _password(password_stdin)
    label = ROLE_LABELS[role]  # type: ignore[index]
    where = f"，限{'、'.join(config.site_view(s).hall.name for s in sites_of(scope))}" if scope else ""
    with Session(open_database(config.database.url)) as session:
        try:
            add_user(session, name, role, hash_password(password), COMMAND_LINE, now_utc(), sites=scope)
        except ValueError as exc:
            raise InputError(str(exc)) from None
        _audit(session, config, "user_add", name, f"新增账号 {name}（{label}{where}）")
        session.commit()
    out.print(f"[green]✓[/] 已新增账号 {escape(name)}（{label}{escape(where)}），{_written(ctx)}", soft_wrap=True)


@user_app.command("passwd")
def user_passwd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Login name.")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin.")] = False,
) -> None:
    """重置密码 — set a new password (the account's logins end)."""
    config = state(ctx).district
    password = _password(password_stdin)
    with Session(open_database(config.database.url)) as session:
        try:
            set_password(session, name, hash_password(password))
        except LookupError as exc:
            raise InputError(str(exc)) from None
        _audit(session, config, "user_passwd", name, f"重置 {name} 的密码")
        session.commit()
    out.print(f"[green]✓[/] 已重置 {escape(name)} 的密码，{_written(ctx)}", soft_wrap=True)


@user_app.command("sites")
def user_sites(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Login name.")],
    sites: Annotated[
        str,
        typer.Option(
            help="The sites the account may now see and act on, comma-separated ids (a supervisor moved to another "
            "centre: that centre's id); \"\" for every site (the district's office).",
        ),
    ],
) -> None:
    """修改账号站点 — move an account to other sites of a district (the account's logins end)."""
    config = state(ctx).district
    if unknown := [s for s in sites_of(sites) if s not in config.site_views]:
        raise InputError(
            f"--sites: {', '.join(unknown)} not a site of the configuration ({', '.join(config.site_views)})"
        )
    scope = scope_of(sites_of(sites))
    with Session(open_database(config.database.url)) as session:
        row = user_row(session, name)
        if row is None:
            raise InputError(f"没有用户 {name}")
        before, after = _sites_words(config, row.sites), _sites_words(config, scope)
        if row.sites == scope:
            out.print(f"账号 {escape(name)} 的站点未改变（{escape(after)}）", soft_wrap=True)
            return
        set_sites(session, name, scope)
        _audit(session, config, "user_sites", name, f"{name} 的站点由{before}改为{after}")
        session.commit()
    out.print(
        f"[green]✓[/] 已将 {escape(name)} 的站点由{escape(before)}改为{escape(after)}，{_written(ctx)}", soft_wrap=True
    )


def _sites_words(config: MonitorConfig, scope: str) -> str:
    """An account's sites (as stored) as the console names them: the sites' names, or 全部站点."""
    known = config.site_views
    return "、".join(known[s].hall.name if s in known else s for s in sites_of(scope)) or "全部站点"


@user_app.command("disable")
def user_disable(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Login name.")]) -> None:
    """停用账号 — the account can no longer log in; what it did stays in the audit trail."""
    config = state(ctx).district
    with Session(open_database(config.database.url)) as session:
        try:
            set_active(session, name, False)
        except LookupError as exc:
            raise InputError(str(exc)) from None
        _audit(session, config, "user_disable", name, f"停用账号 {name}")
        session.commit()
    out.print(f"[green]✓[/] 已停用账号 {escape(name)}，{_written(ctx)}", soft_wrap=True)


@user_app.command("list")
def user_list(ctx: typer.Context) -> None:
    """账号列表 — the console's accounts and roles."""
    config = state(ctx).district
    with Session(open_database(config.database.url)) as session:
        found = accounts(session)
    table = Table("用户名", "角色", "状态", "站点", title="控制台账号")
    for account in found:
        table.add_row(
            account.name,
            ROLE_LABELS.get(account.role, account.role),  # type: ignore[call-overload]
            "启用" if account.active else "停用",
            "、".join(sites_of(account.sites)) or "全部",
        )
    out.print(table)


@app.command("console")
def console(ctx: typer.Context) -> None:
    """督查控制台 — serve the supervisor console (web) on [console] host:port until stopped. With a district's
    configuration, every site (a site switcher and the district overview), or only the one --site names."""
    cli = state(ctx)
    config = cli.config if cli.site is not None else cli.district
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
