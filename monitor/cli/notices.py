"""`monitor import …`, `monitor notice …` and `monitor scheduler`: month inputs, notices, their schedule."""

from __future__ import annotations

import datetime as dt
import getpass
import json
from pathlib import Path
from typing import Annotated

import typer
from sqlmodel import Session

from monitor.adapters.store.database import open_store
from monitor.cli import app
from monitor.cli.context import checked, sites_chosen, state
from monitor.cli.output import out
from monitor.contract import now_utc
from monitor.core.notices.readiness import NotReady
from monitor.core.periods import check_month, check_week
from monitor.errors import InputError
from monitor.services.imports import Part, import_file
from monitor.services.notices import (
    changed_files,
    compose,
    issue_notice,
    issued_entry,
    notice_folder,
    render,
    write,
)

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


def _import(ctx: typer.Context, part: Part, file: Path, month: str) -> None:
    config = state(ctx).config
    checked(check_month, month, "--month")
    with Session(open_store(config)) as session:
        result = import_file(config, session, part, month, file, str(file), now_utc())
        session.commit()
    out.print(f"[green]✓[/] {result.summary}（{file}）")
    if result.warning:
        out.print(f"[yellow]注意[/]：{file} {result.warning}")


@import_app.command("cases")
def import_cases(ctx: typer.Context, file: FileArg, month: MonthOpt) -> None:
    """办件量: 部门, 行政审批, 便民服务, 公共服务, 收费 (an optional 合计 row/column is checked)."""
    _import(ctx, "cases", file, month)


@import_app.command("reviews")
def import_reviews(ctx: typer.Context, file: FileArg, month: MonthOpt) -> None:
    """好差评: 部门, 五星 … 一星 (optional 合计, 投诉, 二次回访率, 二次满意度)."""
    _import(ctx, "reviews", file, month)


@import_app.command("scores")
def import_scores(ctx: typer.Context, file: FileArg, month: MonthOpt) -> None:
    """Entered points (部门 or 窗口号 + categories, 加分), the honor list (姓名, 部门) and change
    reasons (部门, 原因, 业务): one table per CSV, or one per worksheet of an XLSX."""
    _import(ctx, "scores", file, month)


def _issued_on(date: str | None) -> dt.date | None:
    if date is None:
        return None
    try:
        return dt.date.fromisoformat(date)
    except ValueError:
        raise InputError(f"--date {date!r}：日期写作 YYYY-MM-DD，例如 2020-12-01") from None


DateOpt = Annotated[
    str | None,
    typer.Option(
        "--date",
        help="Date printed (YYYY-MM-DD): with --issue the issue date (default today); on a draft the date it "
        "shows (default the day the notice is due).",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the tables and text as JSON instead of file paths.")]
IssueOpt = Annotated[
    bool,
    typer.Option("--issue", help="Issue the notice: give it its 文号 and issue date and record it (印发)."),
]
NumberOpt = Annotated[
    int | None,
    typer.Option(
        "--number", min=1, help="With --issue: the 文号's number from the office's register; default the next."
    ),
]
ConfirmOpt = Annotated[
    str,
    typer.Option(
        "--confirm",
        metavar="理由",
        help="With --issue: issue although inputs are missing, charges await review or a person is unknown, "
        "for this reason (kept in the register with what was open).",
    ),
]
CorrectOpt = Annotated[
    bool,
    typer.Option(
        "--correct", help="With --issue: re-issue an issued notice as a correction (更正); the old one is kept."
    ),
]


def _produce(
    ctx: typer.Context,
    kind: str,
    period: str,
    *,
    as_json: bool,
    date: str | None,
    issue: bool,
    number: int | None,
    correct: bool,
    confirm: str,
) -> None:
    config = state(ctx).config
    day = _issued_on(date)
    if not issue and (number is not None or correct or confirm):
        raise InputError("--number、--correct 和 --confirm 只用于印发：加 --issue")
    engine = open_store(config)
    if issue:
        try:
            notice, paths = issue_notice(
                config,
                engine,
                kind,
                period,
                now=now_utc(),
                number=number,
                day=day,
                correct=correct,
                confirm=confirm,
                issued_by=f"系统管理员（{getpass.getuser()}）",
            )
        except NotReady as exc:
            raise InputError(f"{exc}（--confirm 理由）") from None
    else:
        with Session(engine) as session:
            issued = issued_entry(session, kind, period)
        if issued is not None and day is not None:
            raise InputError(f"--date：{period} 已于{issued.issued_on}印发，日期不能改；更正请用 --issue --correct")
        notice = compose(config, engine, kind, period, issued_on=day)
        changed = changed_files(config, notice, engine) if issued is not None else []
        if changed:
            out.print(
                f"[yellow]注意[/]：{period} 已于{notice.figures['issued_on']}印发（{notice.doc_number}），"
                f"数据已有变化，已印发的文件不改写（{'、'.join(changed)}）；如需更正：--issue --correct"
            )
            paths = [notice_folder(config, period) / name for name, _ in render(config, engine, notice)]
        else:
            paths = write(config, notice, engine)
    if as_json:
        key = "attachments" if kind == "monthly" else "tables"
        document = {key: {t.key: [list(r) for r in t.rows] for t in notice.tables}, "text": notice.text}
        typer.echo(json.dumps(document, ensure_ascii=False, indent=2))
        return
    if notice.doc_number:
        out.print(f"[green]✓[/] {notice.doc_number}，{notice.figures['issued_on']}")
    else:
        out.print("[yellow]草稿[/]：未印发，无文号（印发：加 --issue）")
    if notice.missing and notice.draft:
        out.print("[yellow]草稿[/]：缺少 " + "；".join(notice.missing))
    for warning in notice.warnings:
        out.print(f"[yellow]注意[/]：{warning}")
    for path in paths:
        out.print(str(path))


@notice_app.command("monthly")
def notice_monthly(
    ctx: typer.Context,
    month: MonthOpt,
    as_json: JsonOpt = False,
    date: DateOpt = None,
    issue: IssueOpt = False,
    number: NumberOpt = None,
    correct: CorrectOpt = False,
    confirm: ConfirmOpt = "",
) -> None:
    """The monthly roll-up (区政务服务中心X月份…考核情况通报) with Attachments 1–4: a draft, or with --issue
    the issued notice."""
    _produce(
        ctx,
        "monthly",
        checked(check_month, month, "--month"),
        as_json=as_json,
        date=date,
        issue=issue,
        number=number,
        correct=correct,
        confirm=confirm,
    )


@notice_app.command("weekly")
def notice_weekly(
    ctx: typer.Context,
    week: Annotated[str, typer.Option("--week", help="ISO week, YYYY-Www (e.g. 2020-W45).")],
    as_json: JsonOpt = False,
    date: DateOpt = None,
    issue: IssueOpt = False,
    number: NumberOpt = None,
    correct: CorrectOpt = False,
    confirm: ConfirmOpt = "",
) -> None:
    """The weekly discipline notice: every standing violation of the week, totals by kind and department;
    a draft, or with --issue the issued notice."""
    _produce(
        ctx,
        "weekly",
        checked(check_week, week, "--week"),
        as_json=as_json,
        date=date,
        issue=issue,
        number=number,
        correct=correct,
        confirm=confirm,
    )


@app.command("scheduler")
def scheduler(ctx: typer.Context) -> None:
    """Issue the weekly and monthly notices on schedule (and catch up on missed ones); runs until stopped. With a
    district's configuration, every site's (or the one --site names)."""
    from monitor.services.scheduler import run_scheduler

    run_scheduler(sites_chosen(ctx))
