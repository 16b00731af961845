"""`monitor import …`, `monitor notice …` and `monitor scheduler`: month inputs, notices, their schedule."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer
from sqlmodel import Session

from monitor.adapters.files import load_cases_file, load_reviews_file, load_scores_file
from monitor.adapters.store.database import open_database
from monitor.adapters.store.inputs import save_cases, save_reviews, save_scores
from monitor.cli import app
from monitor.cli.context import state
from monitor.cli.output import out
from monitor.contract import now_utc
from monitor.core.notices.periods import check_month, check_week
from monitor.services.notices import monthly_notice, weekly_notice, write

import_app = typer.Typer(
    help="导入月度数据 — import the month data cameras cannot see (CSV or XLSX).", no_args_is_help=True
)
notice_app = typer.Typer(
    help="生成通报 — write the weekly discipline notice or the monthly roll-up.", no_args_is_help=True
)
app.add_typer(import_app, name="import")
app.add_typer(notice_app, name="notice")

FileArg = Annotated[Path, typer.Argument(help="A .csv (UTF-8 or GBK) or .xlsx file with the seed's Chinese headers.")]
MonthOpt = Annotated[str, typer.Option("--month", help="The month the data is for, YYYY-MM.")]


def _parts(saved: list[str]) -> str:
    names = {
        "department_scores": "部门考核录入分",
        "window_scores": "工作人员考核录入分",
        "honors": "表彰名单",
        "reasons": "办件量变化原因",
    }
    return "、".join(names[s] for s in saved)


@import_app.command("cases")
def import_cases(ctx: typer.Context, file: FileArg, month: MonthOpt) -> None:
    """办件量: 部门, 行政审批, 便民服务, 公共服务, 收费 (an optional 合计 row/column is checked)."""
    config = state(ctx).config
    check_month(month)
    volumes = load_cases_file(config, file)
    engine = open_database(config.database.url)
    with Session(engine) as session:
        save_cases(session, month, volumes, str(file), now_utc())
        session.commit()
    out.print(f"[green]✓[/] {month} 办件量：{len(volumes)} 个部门（{file}）")


@import_app.command("reviews")
def import_reviews(ctx: typer.Context, file: FileArg, month: MonthOpt) -> None:
    """好差评: 部门, 五星 … 一星 (optional 合计, 投诉, 二次回访率, 二次满意度)."""
    config = state(ctx).config
    check_month(month)
    reviews = load_reviews_file(config, file)
    engine = open_database(config.database.url)
    with Session(engine) as session:
        save_reviews(session, month, reviews, str(file), now_utc())
        session.commit()
    out.print(f"[green]✓[/] {month} “好差评”：{len(reviews)} 个部门，{sum(r.total for r in reviews)} 件评价")


@import_app.command("scores")
def import_scores(ctx: typer.Context, file: FileArg, month: MonthOpt) -> None:
    """Entered points (部门 or 窗口号 + categories, 加分), the honor list (姓名, 部门) and change
    reasons (部门, 原因, 业务): one table per CSV, or one per worksheet of an XLSX."""
    config = state(ctx).config
    scores = load_scores_file(config, check_month(month), file)
    engine = open_database(config.database.url)
    with Session(engine) as session:
        saved = save_scores(session, month, scores, str(file), now_utc())
        session.commit()
    out.print(f"[green]✓[/] {month} 已导入：{_parts(saved)}（{file}）")


def _issued_on(date: str | None) -> dt.date | None:
    if date is None:
        return None
    try:
        return dt.date.fromisoformat(date)
    except ValueError:
        from monitor.errors import InputError

        raise InputError(f"--date {date!r}: write the date as YYYY-MM-DD") from None


DateOpt = Annotated[
    str | None,
    typer.Option("--date", help="Issue date printed (YYYY-MM-DD); default the ledger's, else the due date."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the tables and text as JSON instead of file paths.")]


def _emit(
    notice_json: dict[str, object], paths: list[Path], as_json: bool, draft: bool, missing: tuple[str, ...]
) -> None:
    if as_json:
        typer.echo(json.dumps(notice_json, ensure_ascii=False, indent=2))
        return
    console = out
    if draft:
        console.print("[yellow]草稿[/]：缺少 " + "；".join(missing))
    for path in paths:
        console.print(str(path))


@notice_app.command("monthly")
def notice_monthly(ctx: typer.Context, month: MonthOpt, as_json: JsonOpt = False, date: DateOpt = None) -> None:
    """The monthly roll-up (区政务服务中心X月份…考核情况通报) with Attachments 1–4."""
    config = state(ctx).config
    engine = open_database(config.database.url)
    with Session(engine) as session:
        notice = monthly_notice(config, session, check_month(month), issued_on=_issued_on(date))
    paths = write(config, notice)
    document = {"attachments": {t.key: [list(r) for r in t.rows] for t in notice.tables}, "text": notice.text}
    _emit(document, paths, as_json, notice.draft, notice.missing)


@notice_app.command("weekly")
def notice_weekly(
    ctx: typer.Context,
    week: Annotated[str, typer.Option("--week", help="ISO week, YYYY-Www (e.g. 2020-W45).")],
    as_json: JsonOpt = False,
    date: DateOpt = None,
) -> None:
    """The weekly discipline notice: every standing violation of the week, totals by kind and department."""
    config = state(ctx).config
    engine = open_database(config.database.url)
    with Session(engine) as session:
        notice = weekly_notice(config, session, check_week(week), issued_on=_issued_on(date))
    paths = write(config, notice)
    document = {"tables": {t.key: [list(r) for r in t.rows] for t in notice.tables}, "text": notice.text}
    _emit(document, paths, as_json, notice.draft, notice.missing)


@app.command("scheduler")
def scheduler(ctx: typer.Context) -> None:
    """Issue the weekly and monthly notices on schedule (and catch up on missed ones); runs until stopped."""
    from monitor.services.scheduler import run_scheduler

    run_scheduler(state(ctx).config)
