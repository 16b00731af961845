"""Scores and notices (考核与通报): the month's sheets with each deduction explained, the weekly and monthly
notices previewed, downloaded and issued."""

from __future__ import annotations

import datetime as dt
import urllib.parse
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from monitor.adapters.documents.text import html_text
from monitor.console import params
from monitor.console.auth import Admin, Viewer
from monitor.console.context import Console, console_of
from monitor.core.notices.periods import iso_week
from monitor.errors import MonitorError
from monitor.services.notices import compose, issue_notice, issued_entry, notice_folder, render
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


def _files(console: Console, kind: str, period: str) -> tuple[dict[str, bytes], str, bool]:
    """The notice's files by extension: as issued (from its folder) when it was, else a fresh draft; its 文号."""
    with Session(console.engine) as session:
        issued = issued_entry(session, kind, period)
    if issued is not None:
        folder = notice_folder(console.config, period)
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
            "missing": notice.missing if notice else (),
            "formats": [f for f in FORMATS if f != "html" and (kind == "monthly" or f != "xlsx")],
        },
    )


@router.get("/notices/{kind}/{period}/preview")
def preview(request: Request, kind: str, period: str, who: Viewer) -> Response:
    console = console_of(request)
    if kind not in KINDS:
        return Response("没有这种通报", status_code=404)
    chosen = _period(console, kind, period, strict=True)
    with Session(console.engine) as session:
        issued = issued_entry(session, kind, chosen)
    if issued is not None:
        path = notice_folder(console.config, chosen) / f"{kind}-{chosen}.html"
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


@router.post("/notices/issue")
def issue(request: Request, who: Admin) -> Response:
    """Issue (印发) a notice with the next 文号 of the office's register, dated today."""
    console = console_of(request)
    form = request.state.form
    kind = str(form.get("kind", ""))
    if kind not in KINDS:
        console.flash(who.key, "error", "没有这种通报")
        return RedirectResponse("/notices", status_code=303)
    try:
        period = _period(console, kind, str(form.get("period", ""))[: params.TEXT_LENGTH], strict=True)
    except params.BadParameter as exc:
        console.flash(who.key, "error", f"未印发：{exc}")
        return RedirectResponse(f"/notices?kind={kind}", status_code=303)
    back = RedirectResponse(f"/notices?kind={kind}&period={period}", status_code=303)
    try:
        notice, _paths = issue_notice(console.config, console.engine, kind, period, now=console.now())
    except MonitorError as exc:
        outcome, text = "refused", f"未印发：{exc}"
    else:
        outcome, text = "ok", f"已印发：{notice.doc_number}（{period} {KINDS[kind]}）"
    console.note(request, who.name, "issue", outcome, target=f"{kind} {period}", detail=text)
    console.flash(who.key, "ok" if outcome == "ok" else "error", text)
    return back
