"""Supervisor commands: record a patrol finding, dismiss an incident or reinstate it, list incidents, show scores;
grant approved leave, withdraw or change it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from sqlmodel import Session

from monitor.adapters.keys import key_from
from monitor.adapters.store.database import open_store
from monitor.adapters.store.incidents import dismissals_for, incident_by_id, load_incidents
from monitor.adapters.store.leaves import leave_by_id
from monitor.cli import app
from monitor.cli.context import checked, parse_time, state
from monitor.cli.output import out
from monitor.config import MonitorConfig
from monitor.contract import LEAVE_KINDS, Receipt, leave_kind_of, leave_why, now_utc
from monitor.core.admission import Refused, admit
from monitor.core.calendar import WorkCalendar
from monitor.core.incident import Incident, describe_source
from monitor.core.periods import check_month, month_bounds
from monitor.core.scoring import MonthScores, deductions_for
from monitor.errors import InputError
from monitor.formatting import plain
from monitor.services.patrol import (
    RECEIPT_WAIT,
    dismissal,
    leave_change,
    leave_grant,
    leave_withdrawal,
    patrol_incident,
    reinstatement,
    seen_in_future,
    submit,
)
from monitor.services.review import month_scores

_R = TypeVar("_R")

incident_app = typer.Typer(help="Incidents: record patrol findings, dismiss, reinstate, list.", no_args_is_help=True)
app.add_typer(incident_app, name="incident")


WaitOption = Annotated[float, typer.Option("--wait", min=0.5, help="Seconds to wait for the recorder's confirmation.")]
KeyOption = Annotated[
    Path | None, typer.Option("--key", help="Your signing key file (default $MONITOR_SIGNING_KEY; `monitor key new`).")
]


def valid(build: Callable[[], _R]) -> _R:
    """A record built from the command's options; a bound it breaks is one clear error naming the field."""
    try:
        return build()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors()
        )
        raise InputError(f"not recorded: {problems}") from None


def confirmed(receipt: Receipt) -> Receipt:
    """The recorder's receipt, or the recorder's reason for refusing as the command's error (a conflict: the id
    is recorded with other content, which stands)."""
    if receipt.status in ("rejected", "conflict"):
        raise InputError(f"the recorder refused it: {receipt.detail}")
    return receipt


@incident_app.command("add")
def incident_add(
    ctx: typer.Context,
    window: Annotated[str, typer.Option(help="Window id, e.g. C20.")],
    kind: Annotated[str, typer.Option(help="late_arrival, empty_post, early_leave (or a configured kind).")],
    at: Annotated[
        str | None,
        typer.Option(
            help="When you saw it (ISO 8601; hall time if no offset; default now). A late arrival: when the person "
            "arrived. Otherwise: when you saw the post empty, which ends the incident. Not in the future.",
        ),
    ] = None,
    minutes: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="A late arrival: how many minutes late. Otherwise: how long the post had been empty when you saw "
            "it; the incident began that many minutes before --at.",
        ),
    ] = None,
    note: Annotated[str, typer.Option(help="Free text for the record.")] = "",
    correction: Annotated[
        str | None,
        typer.Option(
            help="Why it comes after the month's notice was issued (补录、更正): the recorder takes a finding for "
            "such a month only as a correction, which `incident list` and the notices show."
        ),
    ] = None,
    key: KeyOption = None,
    wait: WaitOption = RECEIPT_WAIT,
) -> None:
    """Record a patrol finding (纪律巡查), signed with your key; prints its id once the recorder has it.

    Say it as you saw it: when, and how long. "Just now C20 had been empty for 20 minutes" is
    `--window C20 --kind empty_post --minutes 20`: empty from 20 minutes ago until now.
    """
    config = state(ctx).config
    if correction is not None and not correction.strip():
        raise InputError("--correction must say why the finding comes after the month's notice was issued")
    reason = correction.strip() if correction is not None else None
    now = now_utc()
    moment = parse_time(at, config) if at is not None else now
    if seen_in_future(moment, config, now):
        tz = config.hall.tz
        raise InputError(
            f"not recorded: --at {moment.astimezone(tz):%Y-%m-%d %H:%M} is in the future (now "
            f"{now.astimezone(tz):%Y-%m-%d %H:%M}): give the time you saw it, at the latest now (the default)"
        )
    signer = key_from(key)
    event = valid(
        lambda: patrol_incident(
            window=window, kind=kind, seen_at=moment, minutes=minutes, note=note, by=signer.name, correction=reason
        )
    )
    try:
        admit(event, config, WorkCalendar(config.calendar, config.duty, config.hall.tz))
    except Refused as exc:
        raise InputError(f"not recorded: {exc}") from None
    confirmed(submit(config, event, signer, timeout=wait))
    typer.echo(event.id)


def recorded_incident(config: MonitorConfig, incident_id: str) -> Incident:
    """The recorded incident a command acts on; InputError naming where the ids are listed when there is none."""
    with Session(open_store(config)) as session:
        try:
            return incident_by_id(session, incident_id)
        except LookupError as exc:
            raise InputError(f"{exc.args[0]} (`monitor incident list --month YYYY-MM` shows the ids)") from None


@incident_app.command("dismiss")
def incident_dismiss(
    ctx: typer.Context,
    incident_id: Annotated[str, typer.Argument(help="The incident id (see `monitor incident list`).")],
    reason: Annotated[str, typer.Option(help="Why: appeal upheld, leave approved (申诉成立、已请假)...")],
    key: KeyOption = None,
    wait: WaitOption = RECEIPT_WAIT,
) -> None:
    """Withdraw an incident's deductions (appeal upheld, leave approved); kept in the audit trail."""
    config = state(ctx).config
    if not reason.strip():
        raise InputError("--reason must say why the incident is dismissed")
    recorded_incident(config, incident_id)
    signer = key_from(key)
    record = valid(lambda: dismissal(incident_id, reason.strip(), by=signer.name))
    receipt = confirmed(submit(config, record, signer, timeout=wait))
    typer.echo(f"已撤销：{incident_id}" if receipt.status == "dismissed" else f"此前已撤销：{incident_id}")


@incident_app.command("reinstate")
def incident_reinstate(
    ctx: typer.Context,
    incident_id: Annotated[str, typer.Argument(help="The dismissed incident's id (see `monitor incident list`).")],
    reason: Annotated[str, typer.Option(help="Why it stands after all (撤销有误、申诉不成立...).")],
    key: KeyOption = None,
    wait: WaitOption = RECEIPT_WAIT,
) -> None:
    """Reverse an incident's dismissal: it stands, and deducts, again; kept in the audit trail."""
    config = state(ctx).config
    if not reason.strip():
        raise InputError("--reason must say why the incident stands again")
    if not recorded_incident(config, incident_id).dismissed:
        raise InputError(f"incident {incident_id} is not dismissed: there is nothing to reinstate")
    signer = key_from(key)
    record = valid(lambda: reinstatement(incident_id, reason.strip(), by=signer.name))
    receipt = confirmed(submit(config, record, signer, timeout=wait))
    typer.echo(f"已恢复：{incident_id}" if receipt.status == "recorded" else f"此前已恢复：{incident_id}")


@incident_app.command("list")
def incident_list(
    ctx: typer.Context,
    month: Annotated[str, typer.Option(help="YYYY-MM")],
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List a month's incidents with their deductions and dismissals."""
    config = state(ctx).config
    tz = config.hall.tz
    start, end = month_bounds(checked(check_month, month, "--month"), tz)
    with Session(open_store(config)) as session:
        incidents = load_incidents(session, start, end)
        dismissals = dismissals_for(session, [i.id for i in incidents if i.dismissed])
    points = {d.incident_id: d.points for d in deductions_for(incidents, config) if d.sheet == "staff"}
    labels = {d.kind: d.label for r in config.rules for d in r.deductions}
    if json_out:
        rows = [
            {
                "id": i.id,
                "kind": i.kind,
                "window": i.window,
                "department": i.department,
                "staff": i.staff,
                "started_at": i.started_at.astimezone(tz).isoformat(),
                "ended_at": i.ended_at.astimezone(tz).isoformat() if i.ended_at else None,
                "minutes": i.minutes,
                "source": i.source,
                "points": plain(points.get(i.id, 0)),
                "dismissed": i.dismissed,
                "dismissal_reason": dismissals[i.id].reason if i.id in dismissals else None,
                "correction": i.correction,
            }
            for i in incidents
        ]
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table(
        "编号", "时间", "窗口", "部门", "人员", "类型", "时长(分钟)", "扣分", "来源", "状态", title=f"{month} 违纪记录"
    )
    for i in incidents:
        status = f"已撤销：{dismissals[i.id].reason}" if i.id in dismissals else "有效"
        table.add_row(
            i.id,
            i.started_at.astimezone(tz).strftime("%m-%d %H:%M"),
            i.window,
            i.department,
            i.staff or "",
            labels.get(i.kind, i.kind),
            str(i.minutes or ""),
            plain(points.get(i.id, 0)) if not i.dismissed else "0",
            describe_source(i.source, config) + (f"\n更正：{i.correction}" if i.correction else ""),
            status,
        )
    out.print(table)


def scores_json(scores: MonthScores) -> dict[str, object]:
    """The `monitor scores --json` document."""

    def number(value: object) -> int | float:
        text = plain(value)  # type: ignore[arg-type]
        return float(text) if "." in text else int(text)

    return {
        "month": scores.month,
        "departments": [
            {
                "department": r.department,
                "rank": r.rank,
                "scores": {k: number(v) for k, v in r.scores.items()},
                "total": number(r.total),
            }
            for r in scores.departments
        ],
        "staff": [
            {
                "window": r.key,
                "department": r.department,
                "name": r.name,
                "scores": {k: number(v) for k, v in r.scores.items()},
                "total": number(r.total),
            }
            for r in scores.staff
        ],
    }


def print_scores(scores: MonthScores, console: Console, *, departments: bool = True) -> None:
    """The department sheet and the staff with deductions, explained; `departments=False`: staff only."""
    if not scores.departments:
        return
    if departments:
        categories = list(scores.departments[0].scores)
        table = Table("名次", "部门", *categories, "得分", title=f"{scores.month} 派驻部门窗口考核统计")
        for r in scores.departments:
            style = "bold red" if r.deductions else None
            table.add_row(
                str(r.rank), r.department, *(plain(v) for v in r.scores.values()), f"{r.total:.1f}", style=style
            )
        console.print(table)
    deducted = [r for r in scores.staff if r.deductions]
    if deducted:
        hit = [c for c in deducted[0].scores if any(d.category == c for r in deducted for d in r.deductions)]
        table = Table(
            "窗口号", "部门名称", "人员", *hit, "得分", "扣分依据", title=f"{scores.month} 被扣分的窗口工作人员"
        )
        for r in deducted:
            table.add_row(
                r.key,
                r.department,
                r.name or "",
                *(plain(r.scores[c]) for c in hit),
                plain(r.total),
                "；".join(d.reason for d in r.deductions),
            )
        console.print(table)
    full = sum(1 for r in scores.staff if not r.deductions)
    console.print(f"其余 {full} 个窗口工作人员无扣分。")


leave_app = typer.Typer(
    help="Approved leave (请假、公出): incidents inside it are refused; withdraw or change it.", no_args_is_help=True
)
app.add_typer(leave_app, name="leave")

LeaveIdArgument = Annotated[str, typer.Argument(help="The leave's id (what `monitor leave add` printed).")]


@leave_app.command("add")
def leave_add(
    ctx: typer.Context,
    window: Annotated[str, typer.Option(help="Window id whose staff is away.")],
    start: Annotated[str, typer.Option("--from", help="Leave starts (ISO 8601; hall time if no offset).")],
    end: Annotated[str, typer.Option("--to", help="Leave ends (ISO 8601).")],
    kind: Annotated[
        str | None,
        typer.Option(help="请假 or 公出 (default: as --reason begins, e.g. 公出：市局培训, else 请假)."),
    ] = None,
    reason: Annotated[str, typer.Option(help="Why (病假、市局培训...).")] = "",
    key: KeyOption = None,
    wait: WaitOption = RECEIPT_WAIT,
) -> None:
    """Record approved leave; prints its id. An incident already recorded inside it needs a dismissal."""
    config = state(ctx).config
    if window not in config.window_by_id:
        raise InputError(f"--window {window!r}: not in the hall's [windows]")
    if kind is not None and kind not in LEAVE_KINDS:
        raise InputError(f"--kind {kind!r}: 请假 or 公出")
    begins, ends = parse_time(start, config, "--from"), parse_time(end, config, "--to")
    if ends <= begins:
        raise InputError("--to must be after --from")
    text = reason.strip()
    chosen = leave_kind_of(text) if kind is None else next(k for k in LEAVE_KINDS if k == kind)
    why = leave_why(chosen, text) if kind is None else text
    signer = key_from(key)
    grant = valid(
        lambda: leave_grant(
            window=window, start=begins, end=ends, kind=chosen, reason="" if why == chosen else why, by=signer.name
        )
    )
    confirmed(submit(config, grant, signer, timeout=wait))
    typer.echo(grant.id)


def _changeable(ctx: typer.Context, leave_id: str) -> None:
    """Refuse, before anything is sent, a leave that is not recorded or is withdrawn."""
    config = state(ctx).config
    with Session(open_store(config)) as session:
        row = leave_by_id(session, leave_id)
    if row is None:
        raise InputError(f"no leave {leave_id!r} is recorded (`monitor leave add` printed the id)")
    if row.withdrawn_at is not None:
        raise InputError(f"leave {leave_id} is withdrawn: grant the leave anew instead")


@leave_app.command("withdraw")
def leave_withdraw(
    ctx: typer.Context,
    leave_id: LeaveIdArgument,
    reason: Annotated[str, typer.Option(help="Why (提前返岗、取消公出...).")],
    key: KeyOption = None,
    wait: WaitOption = RECEIPT_WAIT,
) -> None:
    """Withdraw approved leave: it ends now. The time it covered stays leave; a leave not yet begun covers nothing.
    The cameras judge the window again from now."""
    config = state(ctx).config
    if not reason.strip():
        raise InputError("--reason must say why the leave is withdrawn")
    _changeable(ctx, leave_id)
    signer = key_from(key)
    record = valid(lambda: leave_withdrawal(leave_id, reason.strip(), by=signer.name))
    receipt = confirmed(submit(config, record, signer, timeout=wait))
    typer.echo(f"已撤回：{leave_id}" if receipt.status == "recorded" else f"此前已撤回：{leave_id}")


@leave_app.command("change")
def leave_change_time(
    ctx: typer.Context,
    leave_id: LeaveIdArgument,
    start: Annotated[str, typer.Option("--from", "--start", help="The leave's new start (ISO 8601; hall time).")],
    end: Annotated[str, typer.Option("--to", "--end", help="The leave's new end (ISO 8601).")],
    reason: Annotated[str, typer.Option(help="Why (延长病假、提前返岗...).")],
    key: KeyOption = None,
    wait: WaitOption = RECEIPT_WAIT,
) -> None:
    """Change the time of approved leave: shorten, extend or move it. The cameras judge the window by it from now."""
    config = state(ctx).config
    begins, ends = parse_time(start, config, "--from"), parse_time(end, config, "--to")
    if ends <= begins:
        raise InputError("--to must be after --from")
    if not reason.strip():
        raise InputError("--reason must say why the leave is changed")
    _changeable(ctx, leave_id)
    signer = key_from(key)
    record = valid(lambda: leave_change(leave_id, begins, ends, reason.strip(), by=signer.name))
    receipt = confirmed(submit(config, record, signer, timeout=wait))
    tz = config.hall.tz
    span = f"{begins.astimezone(tz):%Y-%m-%d %H:%M} 至 {ends.astimezone(tz):%Y-%m-%d %H:%M}"
    typer.echo(f"已变更：{leave_id}（{span}）" if receipt.status == "recorded" else f"此前已变更：{leave_id}")


@app.command("scores")
def scores(
    ctx: typer.Context,
    month: Annotated[str, typer.Option(help="YYYY-MM")],
    json_out: Annotated[bool, typer.Option("--json", help="Print the score sheets as JSON.")] = False,
) -> None:
    """The month's department and staff score sheets (categories as the notice prints them)."""
    config = state(ctx).config
    with Session(open_store(config)) as session:
        result = month_scores(session, config, checked(check_month, month, "--month"))
    if json_out:
        typer.echo(json.dumps(scores_json(result), ensure_ascii=False, indent=2))
    else:
        print_scores(result, out)
