"""`monitor duty-rate`: the on-duty rate (在岗率) of each window and department for a day, week or month."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

import typer
from rich.table import Table
from sqlmodel import Session

from monitor.adapters.store.database import open_store
from monitor.cli import app
from monitor.cli.context import state
from monitor.cli.output import out
from monitor.contract import now_utc
from monitor.core.duty_rate import DutyRates, Tally
from monitor.core.periods import PeriodKind, period_bounds
from monitor.errors import InputError
from monitor.services.duty_rate import duty_rates


def duration(span: dt.timedelta) -> str:
    """7小时30分, to the nearest minute."""
    minutes = round(span.total_seconds() / 60)
    return f"{minutes // 60}小时{minutes % 60:02d}分"


def percent(tally: Tally) -> str:
    """85.7%, or — when nothing was observed."""
    return "—" if tally.rate is None else f"{tally.rate:.1%}"


def _tally_json(tally: Tally) -> dict[str, float | None]:
    return {
        "duty_seconds": tally.duty.total_seconds(),
        "observed_seconds": tally.observed.total_seconds(),
        "staffed_seconds": tally.staffed.total_seconds(),
        "rate": tally.rate,
    }


def duty_rates_json(rates: DutyRates, kind: PeriodKind, period: str) -> dict[str, object]:
    """The `monitor duty-rate --json` document."""
    return {
        "period": {"kind": kind, "value": period},
        "start": rates.start.isoformat(),
        "end": rates.end.isoformat(),
        "windows": [{"window": r.window, "department": r.department, **_tally_json(r.tally)} for r in rates.windows],
        "departments": [
            {"department": r.department, "windows": list(r.windows), **_tally_json(r.tally)} for r in rates.departments
        ],
        "total": _tally_json(rates.total),
    }


def _cells(tally: Tally) -> tuple[str, str, str, str]:
    return duration(tally.duty), duration(tally.observed), duration(tally.staffed), percent(tally)


def _print(rates: DutyRates, title: str) -> None:
    headers = ("值守时长", "观测时长", "在岗时长", "在岗率")
    table = Table("部门", "窗口数", *headers, title=f"{title} 部门在岗率")
    for d in rates.departments:
        table.add_row(d.department, str(len(d.windows)), *_cells(d.tally))
    table.add_row("合计", str(len(rates.windows)), *_cells(rates.total), style="bold")
    out.print(table)
    table = Table("窗口", "部门", *headers, title=f"{title} 窗口在岗率")
    for w in rates.windows:
        table.add_row(w.window, w.department, *_cells(w.tally))
    out.print(table)
    out.print(
        "在岗率 = 在岗时长 ÷ 观测时长。值守时长为工作日各时段（已扣除请假、公出）；"
        "观测时长为其中摄像头判定在岗或空岗的时间，摄像头离线、状态未知的时间不计。"
    )


@app.command("duty-rate")
def duty_rate(
    ctx: typer.Context,
    day: Annotated[str | None, typer.Option("--day", help="A day, YYYY-MM-DD (e.g. 2020-11-04).")] = None,
    week: Annotated[str | None, typer.Option("--week", help="An ISO week, YYYY-Www (e.g. 2020-W45).")] = None,
    month: Annotated[str | None, typer.Option("--month", help="A month, YYYY-MM (e.g. 2020-11).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """The on-duty rate (在岗率) per window and department: staffed time over observed duty time, up to now."""
    chosen: list[tuple[PeriodKind, str]] = [
        (kind, value) for kind, value in (("day", day), ("week", week), ("month", month)) if value is not None
    ]
    if len(chosen) != 1:
        raise InputError("give exactly one of --day YYYY-MM-DD, --week YYYY-Www, --month YYYY-MM")
    ((kind, period),) = chosen
    config = state(ctx).config
    flag = {"day": "--day", "week": "--week", "month": "--month"}[kind]
    try:  # a malformed period is refused before the database opens
        _, end = period_bounds(kind, period, config.hall.tz)
    except InputError as exc:
        raise InputError(f"{flag}：{exc}") from None
    with Session(open_store(config)) as session:
        rates = duty_rates(config, session, kind, period, now=now_utc())
    if json_out:
        typer.echo(json.dumps(duty_rates_json(rates, kind, period), ensure_ascii=False, indent=2))
    elif rates.end < end:
        _print(rates, f"{period}（截至 {rates.end.astimezone(config.hall.tz):%m-%d %H:%M}）")
    else:
        _print(rates, period)
