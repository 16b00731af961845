"""Scores and notices (考核与通报): the month's sheets with each deduction explained, the weekly and monthly
notices previewed, downloaded and issued."""

from __future__ import annotations

import datetime as dt
import urllib.parse

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from monitor.adapters.documents.text import html_text
from monitor.console.auth import Admin, Viewer
from monitor.console.context import Console, console_of
from monitor.core.notices.periods import check_month, check_week, iso_week
from monitor.errors import InputError, MonitorError
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


def _month(console: Console, month: str | None) -> str:
    try:
        return check_month(month) if month else _today(console).strftime("%Y-%m")
    except InputError:
        return _today(console).strftime("%Y-%m")


def _period(console: Console, kind: str, period: str | None) -> str:
    today = _today(console)
    try:
        if kind == "weekly":
            return check_week(period) if period else iso_week(today - dt.timedelta(days=7))
        return check_month(period) if period else today.strftime("%Y-%m")
    except InputError:
        return iso_week(today) if kind == "weekly" else today.strftime("%Y-%m")


@router.get("/scores")
def scores(request: Request, who: Viewer, month: str | None = None) -> Response:
    console = console_of(request)
    chosen = _month(console, month)
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
def notices(request: Request, who: Viewer, kind: str = "monthly", period: str | None = None) -> Response:
    console = console_of(request)
    kind = kind if kind in KINDS else "monthly"
    chosen = _period(console, kind, period)
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
    chosen = _period(console, kind, period)
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
    chosen = _period(console, kind, period)
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
    period = _period(console, kind, str(form.get("period", "")))
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
