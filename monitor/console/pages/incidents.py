"""Incident review (违纪审核): the queue, one incident with its evidence, and what a supervisor may do with it."""

from __future__ import annotations

import datetime as dt
import uuid

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from monitor.adapters.store.accounts import mark_reviewed
from monitor.adapters.store.evidence import evidence_file
from monitor.adapters.store.incidents import incident_by_id
from monitor.console.actions import record_action
from monitor.console.auth import Forbidden, Supervisor, Viewer
from monitor.console.context import Console, console_of
from monitor.console.params import Day, Span, Text
from monitor.core.admission import Refused, admit
from monitor.core.calendar import WorkCalendar
from monitor.core.periods import containing
from monitor.services.patrol import dismissal, patrol_incident, seen_in_future
from monitor.services.review import REVIEW_LABELS, incident_detail, incident_views

router = APIRouter()

SPANS = {"day": "日", "week": "周", "month": "月"}
DISMISS_REASONS = ("申诉成立", "已批准请假", "误检测")


def day_or_today(console: Console, day: dt.date | None) -> dt.date:
    """The day a page asked for (already checked: params.Day), else today in the hall's time."""
    return day if day is not None else console.now().astimezone(console.config.hall.tz).date()


def kind_labels(console: Console) -> dict[str, str]:
    return {d.kind: d.label for r in console.config.rules for d in r.deductions}


@router.get("/incidents")
def queue(
    request: Request,
    who: Viewer,
    span: Span = "month",
    date: Day = None,
    department: Text = "",
    kind: Text = "",
    state: Text = "",
) -> Response:
    console = console_of(request)
    day = day_or_today(console, date)
    start, end = containing(span, day, console.config.hall.tz)
    with Session(console.engine) as session:
        views = incident_views(session, console.config, start, end)
    shown = [
        v
        for v in views
        if (not department or v.incident.department == department)
        and (not kind or v.incident.kind == kind)
        and (not state or v.review == state)
    ]
    return console.page(
        request,
        "incidents.html",
        {
            "views": shown,
            "total": len(views),
            "span": span,
            "spans": SPANS,
            "day": day,
            "start": start,
            "end": end - dt.timedelta(days=1),
            "department": department,
            "kind": kind,
            "state": state,
            "departments": [d.name for d in console.config.departments],
            "kinds": kind_labels(console),
            "states": REVIEW_LABELS,
            "windows": [w.id for w in console.config.window_list],
            "patrol_id": f"patrol-{uuid.uuid4().hex[:12]}",
            "now_local": console.now().astimezone(console.config.hall.tz).strftime("%Y-%m-%dT%H:%M"),
        },
    )


@router.get("/incidents/{incident_id}")
def detail(request: Request, incident_id: str, who: Viewer) -> Response:
    console = console_of(request)
    with Session(console.engine) as session:
        try:
            found = incident_detail(session, console.config, incident_id)
        except LookupError:
            return console.page(request, "error.html", {"message": f"没有编号为 {incident_id} 的违纪记录"}, 404)
    return console.page(request, "incident.html", {"d": found, "reasons": DISMISS_REASONS})


@router.get("/incidents/{incident_id}/evidence/{name}")
def evidence(request: Request, incident_id: str, name: str, who: Viewer) -> Response:
    console = console_of(request)
    with Session(console.engine) as session:
        found = evidence_file(session, incident_id, name)
    if found is None:
        return Response("没有这张证据图片", status_code=404, media_type="text/plain; charset=utf-8")
    data, content_type = found
    return Response(data, media_type=content_type, headers={"Cache-Control": "private, max-age=3600"})


@router.post("/incidents/{incident_id}/review")
def review(request: Request, incident_id: str, who: Supervisor) -> Response:
    console = console_of(request)
    with Session(console.engine) as session:
        try:
            incident_by_id(session, incident_id)
        except LookupError:
            raise Forbidden(f"没有编号为 {incident_id} 的违纪记录") from None
        fresh = mark_reviewed(session, incident_id, who.name, console.now())
        message = "已标记为已审核" if fresh else "此前已审核"
        session.commit()
    console.note(request, who.name, "review", "ok", target=incident_id, detail=message)
    console.flash(who.key, "ok", message)
    return RedirectResponse(f"/incidents/{incident_id}", status_code=303)


@router.post("/incidents/{incident_id}/dismiss")
def dismiss(request: Request, incident_id: str, who: Supervisor) -> Response:
    console = console_of(request)
    form = request.state.form
    category = str(form.get("category", ""))
    text = str(form.get("reason", "")).strip()
    if category not in DISMISS_REASONS:
        console.flash(who.key, "error", "请选择撤销理由（申诉成立、已批准请假、误检测）")
        return RedirectResponse(f"/incidents/{incident_id}", status_code=303)
    reason = f"{category}：{text}" if text else category
    try:
        record = dismissal(incident_id, reason[:500], by=who.name)
    except ValidationError:
        console.flash(who.key, "error", "撤销理由不能超过 500 字")
        return RedirectResponse(f"/incidents/{incident_id}", status_code=303)
    record_action(console, request, who, record, action="dismiss", target=incident_id, what="撤销")
    return RedirectResponse(f"/incidents/{incident_id}", status_code=303)


@router.post("/patrol")
def patrol(request: Request, who: Supervisor) -> Response:
    """A patrol finding (纪律巡查) entered by the supervisor on the floor, as they say it: when they saw it
    (发现时间; for a late arrival, when the person arrived) and how long (minutes empty until then, or late)."""
    console = console_of(request)
    config = console.config
    tz = config.hall.tz
    form = request.state.form
    back = RedirectResponse("/incidents", status_code=303)
    window, kind = str(form.get("window", "")), str(form.get("kind", ""))
    record_id = str(form.get("id", ""))
    try:
        seen_at = dt.datetime.fromisoformat(str(form.get("at", "")))
        minutes_text = str(form.get("minutes", "")).strip()
        minutes = int(minutes_text) if minutes_text else None
    except ValueError:
        console.flash(who.key, "error", "时间或分钟数格式不对：时间如 2020-11-03 09:12，分钟数为整数")
        return back
    if window not in config.window_by_id or kind not in kind_labels(console) or not record_id.startswith("patrol-"):
        console.flash(who.key, "error", "请选择窗口和违纪类型")
        return back
    seen_at = seen_at if seen_at.tzinfo else seen_at.replace(tzinfo=tz)
    now = console.now()
    if seen_in_future(seen_at, config, now):
        console.flash(
            who.key,
            "error",
            f"未记录：发现时间 {seen_at.astimezone(tz):%Y-%m-%d %H:%M} "
            f"晚于现在（{now.astimezone(tz):%Y-%m-%d %H:%M}）。请填写看到时的时间，最晚为现在",
        )
        return back
    try:
        event = patrol_incident(
            window=window,
            kind=kind,
            seen_at=seen_at,
            minutes=minutes,
            note=str(form.get("note", ""))[:500],
            by=who.name,
        ).model_copy(update={"id": record_id[:64]})
        admit(event, config, WorkCalendar(config.calendar, config.duty, tz))
    except (ValidationError, Refused) as exc:
        console.flash(who.key, "error", f"未记录：{exc}")
        return back
    if record_action(console, request, who, event, action="patrol", target=event.id, what=f"巡查发现（{window}）"):
        return RedirectResponse(f"/incidents/{event.id}", status_code=303)
    return back
