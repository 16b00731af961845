"""Scores and notices (考核与通报): the month's sheets with each deduction explained and what they still lack, the
weekly and monthly notices previewed, downloaded and issued through a confirmation step, and the register of 文号
with every issued file.

A month is picked by the month picker, a week by any of its days; the ISO week (2020-W49) stays in the notices'
own addresses and files but is never shown. A period that does not fit (a month for a weekly notice) is refused
with a reason, never replaced by the current one.
"""

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
from pydantic import BaseModel, Field, model_validator
from sqlmodel import Session

from monitor.adapters.documents.text import html_text
from monitor.adapters.store import ledger
from monitor.adapters.store.tables import DocRegisterRow, NoticeLedgerRow
from monitor.console import params
from monitor.console.auth import Admin, Viewer
from monitor.console.context import Console, settle, site_title
from monitor.console.deps import ConsoleDep, Db, Form
from monitor.console.params import Period
from monitor.core.notices.frame import doc_number_text
from monitor.core.notices.readiness import NotReady
from monitor.core.periods import PeriodKind, period_bounds
from monitor.errors import MonitorError
from monitor.services.notices import (
    KIND_NAMES,
    compose,
    issue_notice,
    issued_entry,
    next_number,
    notice_folder,
    notice_name,
    period_name,
    readiness,
    render,
)
from monitor.services.score_sheets import score_sheets

router = APIRouter()

FORMATS = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "md": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "json": "application/json",
}


NoticeKind = Literal["weekly", "monthly"]
SPAN: dict[str, PeriodKind] = {"weekly": "week", "monthly": "month"}
"""The period each kind of notice covers."""
FILE_LABELS = {"docx": "公文", "xlsx": "附件表格", "md": "文本", "html": "网页", "json": "数据"}
"""What the register calls each issued file."""


def _default(console: Console, kind: str) -> Period:
    """The period a notices page opens on: last week's weekly notice, this month's monthly one."""
    today = params.today_of(console)
    return (
        Period.containing("week", today - dt.timedelta(days=7))
        if kind == "weekly"
        else Period.containing("month", today)
    )


def _written(kind: str, period: str) -> str:
    """A notice's period as its address writes it (2020-W49, 2020-11), checked against its kind (400 otherwise)."""
    return params.written_period(SPAN[kind], period, KIND_NAMES[kind])


def download_name(title: str, extension: str) -> str:
    """An attachment's Content-Disposition with a Chinese file name (RFC 5987), and a plain one for old clients."""
    return (
        f"attachment; filename=\"download.{extension}\"; filename*=UTF-8''{urllib.parse.quote(f'{title}.{extension}')}"
    )


@router.get("/scores")
def scores(request: Request, who: Viewer, console: ConsoleDep, session: Db, period: params.MonthQuery) -> Response:
    sheets = score_sheets(session, console.config, period.key)
    return console.page(request, "scores.html", {"sheets": sheets, "period": period})


def _notice_at(session: Session, kind: str, period: str) -> tuple[str, NoticeLedgerRow | None]:
    """The period of a notice's address, checked (400 when malformed), and its ledger row when it was issued."""
    chosen = _written(kind, period)
    return chosen, issued_entry(session, kind, chosen)


def _folder(console: Console, row: NoticeLedgerRow | DocRegisterRow) -> Path:
    """Where an issued notice's files were written (the configured folder for one issued before that was kept)."""
    return Path(row.folder) if row.folder else notice_folder(console.config, row.period)


def _files(
    console: Console, kind: str, period: str, issued: NoticeLedgerRow | None
) -> tuple[dict[str, bytes], str, bool]:
    """The notice's files by extension: as issued (from its folder) when it was, else a fresh draft; its 文号."""
    if issued is not None:
        folder = _folder(console, issued)
        found = {p.suffix.lstrip("."): p.read_bytes() for p in folder.glob(f"{kind}-{period}.*") if p.is_file()}
        if "html" in found:
            number = str(issued.doc_number)
            return found, number, True
    notice = compose(console.config, console.engine, kind, period)
    rendered = {name.rsplit(".", 1)[1]: data for name, data in render(console.config, console.engine, notice)}
    return rendered, notice.doc_number, False


def _kind_of_span(request: Request, kind: str) -> str:
    """The notice's kind, as `span` names it when given (week: weekly, month: monthly); a span no notice covers (a
    day), or one that contradicts the kind named, is BadParameter."""
    span = params.check_span(request.query_params.get("span"))
    if span is None:
        return kind
    named = next((k for k, covered in SPAN.items() if covered == span), None)
    if named is None:
        raise params.BadParameter(f"通报没有按{params.SPAN_WORDS[span]}的：请选择周通报或月度通报")
    if request.query_params.get("kind", "").strip() and named != kind:
        raise params.BadParameter(
            f"范围“按{params.SPAN_WORDS[span]}”与通报类型“{KIND_NAMES[kind]}”不符：{KIND_NAMES[kind]}"
            f"按{params.SPAN_WORDS[SPAN[kind]]}查看"
        )
    return named


@router.get("/notices")
def notices(
    request: Request,
    who: Viewer,
    console: ConsoleDep,
    session: Db,
    kind: Annotated[str, params.one_of(KIND_NAMES, "monthly", "通报类型"), Query()] = "monthly",
    month: params.Month = None,
    date: params.Day = None,
    week: params.Week = None,
    period: Annotated[str | None, Query(max_length=params.TEXT_LENGTH)] = None,
) -> Response:
    """A notice by its kind and period: a month (month picker), a week by any of its days (date); `week` and
    `period` as older links and the notices' own addresses write them. A span (as the other pages' links carry it)
    names the kind: span=week is the weekly notice."""
    kind = _kind_of_span(request, kind)
    if period and period.strip():
        written = _written(kind, period)
        chosen = (
            Period.containing("week", dt.date.fromisoformat(f"{written}-1"))
            if kind == "weekly"
            else Period.containing("month", dt.date.fromisoformat(f"{written}-01"))
        )
    else:
        chosen = params.pick_period(
            SPAN[kind], _default(console, kind), date=date, month=month, week=week, what=KIND_NAMES[kind]
        )
    issued = issued_entry(session, kind, chosen.key)
    settle(request)  # the draft is composed in sessions of its own
    notice = None if issued else compose(console.config, console.engine, kind, chosen.key)
    return console.page(
        request,
        "notices.html",
        {
            "kind": kind,
            "kinds": KIND_NAMES,
            "period": chosen.key,
            "weekly_day": (chosen if kind == "weekly" else _default(console, "weekly")).first.isoformat(),
            "monthly_month": (chosen if kind == "monthly" else _default(console, "monthly")).month,
            "issued": issued,
            "issued_number": doc_number_text(console.config, issued.doc_year, issued.doc_number)
            if issued and issued.doc_year and issued.doc_number
            else "",
            "period_name": chosen.words,
            "missing": notice.missing if notice else (),
            "formats": [f for f in FORMATS if f != "html" and (kind == "monthly" or f != "xlsx")],
            "file_labels": FILE_LABELS,
        },
    )


@router.get("/notices/{kind}/{period}/preview")
def preview(request: Request, kind: str, period: str, who: Viewer, console: ConsoleDep, session: Db) -> Response:
    if kind not in KIND_NAMES:
        return Response("没有这种通报", status_code=404)
    chosen, issued = _notice_at(session, kind, period)
    settle(request)
    if issued is not None:
        path = _folder(console, issued) / f"{kind}-{chosen}.html"
        if path.is_file():
            return Response(path.read_bytes(), media_type=FORMATS["html"])
    return Response(html_text(compose(console.config, console.engine, kind, chosen)), media_type=FORMATS["html"])


@router.get("/notices/{kind}/{period}/file.{fmt}")
def download(
    request: Request, kind: str, period: str, fmt: str, who: Viewer, console: ConsoleDep, session: Db
) -> Response:
    if kind not in KIND_NAMES or fmt not in FORMATS:
        return Response("没有这种文件", status_code=404)
    chosen, entry = _notice_at(session, kind, period)
    settle(request)
    found, _number, issued = _files(console, kind, chosen, entry)
    if fmt not in found:
        return Response("没有这种文件", status_code=404)
    title = site_title(request, f"{notice_name(kind, chosen)}{'' if issued else '（草稿）'}")
    return Response(found[fmt], media_type=FORMATS[fmt], headers={"Content-Disposition": download_name(title, fmt)})


class IssueForm(BaseModel):
    """The confirmation step's form: the notice, its 文号 and date as the issuer confirmed or changed them, and
    the reason for issuing with open items."""

    kind: NoticeKind
    period: str = Field(max_length=params.TEXT_LENGTH)
    number: int | None = Field(None, ge=1, le=100_000)
    date: dt.date | None = None
    reason: str = Field("", max_length=500)

    @model_validator(mode="after")
    def _period_of_its_kind(self) -> IssueForm:
        """The period written as the notice's kind writes it (2020-W49 for a weekly one, 2020-11 for a monthly)."""
        try:
            self.period = _written(self.kind, self.period)
        except params.BadParameter as exc:
            raise ValueError(str(exc)) from None
        return self


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
            "kinds": KIND_NAMES,
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
            "back": f"/notices?{notice_query(kind, period)}",
            "reason": reason,
            "error": error,
        },
        status_code=400 if error else 200,
    )


@router.get("/notices/{kind}/{period}/issue")
def confirm_issue(request: Request, kind: str, period: str, who: Admin, console: ConsoleDep, session: Db) -> Response:
    """Step one of issuing: the 文号 and date, editable, and the open items to confirm."""
    if kind not in KIND_NAMES:
        return Response("没有这种通报", status_code=404)
    chosen, issued = _notice_at(session, kind, period)
    settle(request)
    if issued is not None:
        console.flash(request, "error", f"{notice_name(kind, chosen)}已印发，不再改动")
        return RedirectResponse(f"/notices?{notice_query(kind, chosen)}", status_code=303)
    return _confirmation(request, console, kind, chosen, day=params.today_of(console))


@router.post("/notices/issue")
def issue(
    request: Request,
    who: Admin,
    console: ConsoleDep,
    form: Annotated[IssueForm, Form(IssueForm, prefix="未印发：")],
) -> Response:
    """Step two: issue under the confirmed 文号 and date; with open items only when a reason is given."""
    period = form.period
    day = form.date or params.today_of(console)
    target = notice_name(form.kind, period)
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
    console.flash(request, "ok", text)
    return RedirectResponse("/notices/register", status_code=303)


def notice_query(kind: str, period: str) -> str:
    """The notices page's query for a notice by the period its address writes (2020-W49, 2020-11): the week by its
    Monday, the month by the month picker's value."""
    if kind == "weekly":
        return urllib.parse.urlencode({"kind": kind, "date": dt.date.fromisoformat(f"{period}-1").isoformat()})
    return urllib.parse.urlencode({"kind": kind, "month": period})


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
        kind=KIND_NAMES.get(row.kind, row.kind),
        period=period_name(row.kind, row.period),
        issued_by=row.issued_by or "按时自动印发",
        state=state,
        confirmed=row.confirmed,
        files=tuple(RegisterFile(n, FILE_LABELS[n.rsplit(".", 1)[-1]]) for n in names),
    )


@router.get("/notices/register")
def register(request: Request, who: Viewer, console: ConsoleDep, session: Db) -> Response:
    rows = ledger.register(session)
    return console.page(request, "register.html", {"entries": [_entry(console, r, rows) for r in rows]})


@router.get("/notices/register/{year}/{serial}/{name}")
def register_file(
    request: Request, year: int, serial: int, name: str, who: Viewer, console: ConsoleDep, session: Db
) -> Response:
    """A file of an issued (or superseded) 文号, from where it was written; only the names the register lists."""
    row = ledger.number_holder(session, year, serial)
    if row is None or name not in json.loads(row.files or "[]"):
        return Response("没有这个文件", status_code=404)
    path = _folder(console, row) / name
    extension = name.rsplit(".", 1)[-1]
    if not path.is_file() or extension not in FORMATS:
        return Response("文件已不在原处：请联系管理员", status_code=404)
    title = site_title(request, f"{doc_number_text(console.config, year, serial)} {notice_name(row.kind, row.period)}")
    disposition = download_name(title, extension)
    return Response(path.read_bytes(), media_type=FORMATS[extension], headers={"Content-Disposition": disposition})
