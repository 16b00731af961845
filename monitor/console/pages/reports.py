"""Scores and notices (考核与通报): the month's sheets with each deduction explained, the weekly and monthly
notices previewed, downloaded and issued through a confirmation step, and the register of 文号 with every
issued file."""

from __future__ import annotations

import datetime as dt
import json
import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field, ValidationError
from sqlmodel import Session

from monitor.adapters.documents.text import html_text
from monitor.adapters.store import ledger
from monitor.adapters.store.tables import DocRegisterRow, NoticeLedgerRow
from monitor.console import params
from monitor.console.auth import Admin, Viewer
from monitor.console.context import Console, console_of
from monitor.core.notices.frame import doc_number_text
from monitor.core.notices.readiness import NotReady
from monitor.core.periods import iso_week, month_words, period_bounds, week_words
from monitor.errors import MonitorError
from monitor.services.notices import (
    compose,
    issue_notice,
    issued_entry,
    next_number,
    notice_folder,
    readiness,
    render,
)
from monitor.services.review import month_scores

router = APIRouter()
KINDS = {"weekly": "周通报", "monthly": "月度通报"}
FORMATS = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "md": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "json": "application/json",
}


NoticeKind = Literal["weekly", "monthly"]
FILE_LABELS = {"docx": "公文", "xlsx": "附件表格", "md": "文本", "html": "网页", "json": "数据"}
"""What the register calls each issued file."""


def _today(console: Console) -> dt.date:
    return console.now().astimezone(console.config.hall.tz).date()


def _period(console: Console, kind: str, period: str | None, *, strict: bool) -> str:
    """The notice period asked for, checked: a week (YYYY-Www) for a weekly notice, a month (YYYY-MM) for a
    monthly one; BadParameter (400) when malformed or out of range. Empty, or (when not `strict`) the other
    kind's form — the notices form keeps the period when only the kind is changed — means the default period:
    last week, this month."""
    today = _today(console)
    default = iso_week(today - dt.timedelta(days=7)) if kind == "weekly" else today.strftime("%Y-%m")
    text = (period or "").strip()
    if not text:
        return default
    weekly = "-W" in text
    try:
        if weekly != (kind == "weekly"):
            if not strict:
                (params.check_week if weekly else params.check_month)(text)
                return default
            raise ValueError(
                f"{KINDS[kind]}的期间写作 "
                + ("YYYY-Www，例如 2020-W45" if kind == "weekly" else "YYYY-MM，例如 2020-11")
            )
        checked = params.check_week(text) if weekly else params.check_month(text)
    except ValueError as exc:
        raise params.BadParameter(str(exc)) from None
    return checked or default


@router.get("/scores")
def scores(request: Request, who: Viewer, month: params.Month = None) -> Response:
    console = console_of(request)
    chosen = month or _today(console).strftime("%Y-%m")
    with Session(console.engine) as session:
        sheets = month_scores(session, console.config, chosen)
    return console.page(request, "scores.html", {"sheets": sheets, "month": chosen})


def _notice_at(console: Console, kind: str, period: str) -> tuple[str, NoticeLedgerRow | None]:
    """The period asked for, checked (400 when malformed), and its ledger row when it was issued."""
    chosen = _period(console, kind, period, strict=True)
    with Session(console.engine) as session:
        return chosen, issued_entry(session, kind, chosen)


def _folder(console: Console, row: NoticeLedgerRow | DocRegisterRow) -> Path:
    """Where an issued notice's files were written (the configured folder for one issued before that was kept)."""
    return Path(row.folder) if row.folder else notice_folder(console.config, row.period)


def _files(console: Console, kind: str, period: str) -> tuple[dict[str, bytes], str, bool]:
    """The notice's files by extension: as issued (from its folder) when it was, else a fresh draft; its 文号."""
    with Session(console.engine) as session:
        issued = issued_entry(session, kind, period)
    if issued is not None:
        folder = _folder(console, issued)
        found = {p.suffix.lstrip("."): p.read_bytes() for p in folder.glob(f"{kind}-{period}.*") if p.is_file()}
        if "html" in found:
            number = str(issued.doc_number)
            return found, number, True
    notice = compose(console.config, console.engine, kind, period)
    rendered = {name.rsplit(".", 1)[1]: data for name, data in render(console.config, console.engine, notice)}
    return rendered, notice.doc_number, False


@router.get("/notices")
def notices(
    request: Request,
    who: Viewer,
    kind: Annotated[str, params.one_of(KINDS, "monthly", "通报类型"), Query()] = "monthly",
    period: Annotated[str | None, Query(max_length=params.TEXT_LENGTH)] = None,
) -> Response:
    console = console_of(request)
    chosen = _period(console, kind, period, strict=False)
    with Session(console.engine) as session:
        issued = issued_entry(session, kind, chosen)
    notice = None if issued else compose(console.config, console.engine, kind, chosen)
    return console.page(
        request,
        "notices.html",
        {
            "kind": kind,
            "kinds": KINDS,
            "period": chosen,
            "issued": issued,
            "issued_number": doc_number_text(console.config, issued.doc_year, issued.doc_number)
            if issued and issued.doc_year and issued.doc_number
            else "",
            "period_name": period_name(kind, chosen),
            "missing": notice.missing if notice else (),
            "formats": [f for f in FORMATS if f != "html" and (kind == "monthly" or f != "xlsx")],
        },
    )


@router.get("/notices/{kind}/{period}/preview")
def preview(request: Request, kind: str, period: str, who: Viewer) -> Response:
    console = console_of(request)
    if kind not in KINDS:
        return Response("没有这种通报", status_code=404)
    chosen, issued = _notice_at(console, kind, period)
    if issued is not None:
        path = _folder(console, issued) / f"{kind}-{chosen}.html"
        if path.is_file():
            return Response(path.read_bytes(), media_type=FORMATS["html"])
    return Response(html_text(compose(console.config, console.engine, kind, chosen)), media_type=FORMATS["html"])


@router.get("/notices/{kind}/{period}/file.{fmt}")
def download(request: Request, kind: str, period: str, fmt: str, who: Viewer) -> Response:
    console = console_of(request)
    if kind not in KINDS or fmt not in FORMATS:
        return Response("没有这种文件", status_code=404)
    chosen = _period(console, kind, period, strict=True)
    found, _number, issued = _files(console, kind, chosen)
    if fmt not in found:
        return Response("没有这种文件", status_code=404)
    name = f"{kind}-{chosen}{'' if issued else '-草稿'}.{fmt}"
    disposition = f"attachment; filename*=UTF-8''{urllib.parse.quote(name)}"
    return Response(found[fmt], media_type=FORMATS[fmt], headers={"Content-Disposition": disposition})


def period_name(kind: str, period: str) -> str:
    """2020年11月2日至11月8日, 2020年11月: a notice's period as a hall says it."""
    return week_words(period) if kind == "weekly" else month_words(period)


class IssueForm(BaseModel):
    """The confirmation step's form: the notice, its 文号 and date as the issuer confirmed or changed them, and
    the reason for issuing with open items."""

    kind: NoticeKind
    period: str = Field(max_length=params.TEXT_LENGTH)
    number: int | None = Field(None, ge=1, le=100_000)
    date: dt.date | None = None
    reason: str = Field("", max_length=500)


def _confirmation(
    request: Request,
    console: Console,
    kind: str,
    period: str,
    *,
    day: dt.date,
    number: int | None = None,
    reason: str = "",
    error: str = "",
) -> Response:
    """The confirmation page: what will be issued under which 文号 and date, and what is still open."""
    config = console.config
    draft = compose(config, console.engine, kind, period, issued_on=day)
    open_items = readiness(config, console.engine, draft)
    following = next_number(config, console.engine, day.year)
    # The 文号 as printed, its year and number as the fields the page fills in: 临东政管办发〔<year>〕<number>号.
    shown = config.notices.doc_number_format.format(year="\x01", number="\x02")
    start, _ = period_bounds("week" if kind == "weekly" else "month", period, config.hall.tz)
    return console.page(
        request,
        "notice_issue.html",
        {
            "kind": kind,
            "kinds": KINDS,
            "period": period,
            "period_name": period_name(kind, period),
            "title": draft.title,
            "open_items": open_items.lines(),
            "notes": open_items.notes(),
            "awaiting": bool(open_items.awaiting_review),
            "first_day": start.date().isoformat(),
            "number": number or following,
            "next_number": following,
            "year": day.year,
            "number_parts": [
                ("year", "") if part == "\x01" else ("number", "") if part == "\x02" else ("text", part)
                for part in re.split("(\x01|\x02)", shown)
                if part
            ],
            "day": day.isoformat(),
            "reason": reason,
            "error": error,
        },
        status_code=400 if error else 200,
    )


@router.get("/notices/{kind}/{period}/issue")
def confirm_issue(request: Request, kind: str, period: str, who: Admin) -> Response:
    """Step one of issuing: the 文号 and date, editable, and the open items to confirm."""
    console = console_of(request)
    if kind not in KINDS:
        return Response("没有这种通报", status_code=404)
    chosen, issued = _notice_at(console, kind, period)
    if issued is not None:
        console.flash(who.key, "error", f"{period_name(kind, chosen)}{KINDS[kind]}已印发，不再改动")
        return RedirectResponse(f"/notices?kind={kind}&period={chosen}", status_code=303)
    return _confirmation(request, console, kind, chosen, day=_today(console))


@router.post("/notices/issue")
def issue(request: Request, who: Admin) -> Response:
    """Step two: issue under the confirmed 文号 and date; with open items only when a reason is given."""
    console = console_of(request)
    try:
        form = IssueForm.model_validate({k: v for k, v in request.state.form.items() if k != "csrf" and v != ""})
        period = _period(console, form.kind, form.period, strict=True)
    except ValidationError as exc:
        console.flash(who.key, "error", f"未印发：{params.validation_message(exc.errors())}")
        return RedirectResponse("/notices", status_code=303)
    except params.BadParameter as exc:
        console.flash(who.key, "error", f"未印发：{exc}")
        return RedirectResponse("/notices", status_code=303)
    day = form.date or _today(console)
    target = f"{period_name(form.kind, period)}{KINDS[form.kind]}"
    try:
        notice, _paths = issue_notice(
            console.config,
            console.engine,
            form.kind,
            period,
            now=console.now(),
            number=form.number,
            day=day,
            confirm=form.reason,
            issued_by=who.name,
        )
    except MonitorError as exc:
        console.note(request, who.name, "issue", "refused", target=target, detail=f"未印发：{exc}")
        message = "请写明确认理由后再印发" if isinstance(exc, NotReady) else f"未印发：{exc}"
        return _confirmation(
            request, console, form.kind, period, day=day, number=form.number, reason=form.reason, error=message
        )
    text = f"已印发：{notice.doc_number}（{target}，{day.year}年{day.month}月{day.day}日）"
    detail = text + (f"；确认理由：{form.reason.strip()}" if form.reason.strip() else "")
    console.note(request, who.name, "issue", "ok", target=target, detail=detail)
    console.flash(who.key, "ok", text)
    return RedirectResponse("/notices/register", status_code=303)


@dataclass(frozen=True, slots=True)
class RegisterFile:
    name: str
    label: str


@dataclass(frozen=True, slots=True)
class RegisterEntry:
    """One 文号 of the register as the page shows it."""

    year: int
    serial: int
    number: str
    issued_on: str
    kind: str
    period: str
    issued_by: str
    state: str
    confirmed: str
    files: tuple[RegisterFile, ...]


def _entry(console: Console, row: DocRegisterRow, rows: list[DocRegisterRow]) -> RegisterEntry:
    config = console.config
    state = "已印发"
    if row.state == ledger.SUPERSEDED:
        newer = [r for r in rows if (r.kind, r.period) == (row.kind, row.period) and r.recorded_at > row.recorded_at]
        replaced = min(newer, key=lambda r: r.recorded_at, default=None)
        state = "已更正" + (
            f"，见{doc_number_text(config, replaced.doc_year, replaced.doc_number)}" if replaced else ""
        )
    names = [n for n in json.loads(row.files or "[]") if n.rsplit(".", 1)[-1] in FILE_LABELS]
    return RegisterEntry(
        year=row.doc_year,
        serial=row.doc_number,
        number=doc_number_text(config, row.doc_year, row.doc_number),
        issued_on=f"{row.issued_on.year}年{row.issued_on.month}月{row.issued_on.day}日",
        kind=KINDS.get(row.kind, row.kind),
        period=period_name(row.kind, row.period),
        issued_by=row.issued_by or "按时自动印发",
        state=state,
        confirmed=row.confirmed,
        files=tuple(RegisterFile(n, FILE_LABELS[n.rsplit(".", 1)[-1]]) for n in names),
    )


@router.get("/notices/register")
def register(request: Request, who: Viewer) -> Response:
    console = console_of(request)
    with Session(console.engine) as session:
        rows = ledger.register(session)
    return console.page(request, "register.html", {"entries": [_entry(console, r, rows) for r in rows]})


@router.get("/notices/register/{year}/{serial}/{name}")
def register_file(request: Request, year: int, serial: int, name: str, who: Viewer) -> Response:
    """A file of an issued (or superseded) 文号, from where it was written; only the names the register lists."""
    console = console_of(request)
    with Session(console.engine) as session:
        row = ledger.number_holder(session, year, serial)
    if row is None or name not in json.loads(row.files or "[]"):
        return Response("没有这个文件", status_code=404)
    path = _folder(console, row) / name
    extension = name.rsplit(".", 1)[-1]
    if not path.is_file() or extension not in FORMATS:
        return Response("文件已不在原处：请联系管理员", status_code=404)
    shown = f"{doc_number_text(console.config, year, serial)}-{name}"
    disposition = f"attachment; filename*=UTF-8''{urllib.parse.quote(shown)}"
    return Response(path.read_bytes(), media_type=FORMATS[extension], headers={"Content-Disposition": disposition})
