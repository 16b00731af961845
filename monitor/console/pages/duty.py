"""Leave and duty (请假、公出): approved leave per window and time range, sent to the recorder and the cameras."""

from __future__ import annotations

import datetime as dt
import uuid

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from monitor.adapters.store.leaves import leaves_ending_after
from monitor.console.actions import record_action
from monitor.console.auth import Supervisor, Viewer
from monitor.console.context import console_of
from monitor.services.patrol import leave_grant

router = APIRouter()
LEAVE_KINDS = ("请假", "公出")


@router.get("/leave")
def leave_page(request: Request, who: Viewer) -> Response:
    console = console_of(request)
    now = console.now()
    with Session(console.engine) as session:
        leaves = leaves_ending_after(session, now - dt.timedelta(days=7))
    local = now.astimezone(console.config.hall.tz)
    return console.page(
        request,
        "leave.html",
        {
            "leaves": leaves,
            "now": now,
            "windows": console.config.window_list,
            "staff": console.config.staff_by_window,
            "kinds": LEAVE_KINDS,
            "leave_id": f"leave-{uuid.uuid4().hex[:12]}",
            "default_from": local.strftime("%Y-%m-%dT%H:%M"),
            "default_to": (local + dt.timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M"),
        },
    )


@router.post("/leave")
def leave_add(request: Request, who: Supervisor) -> Response:
    console = console_of(request)
    config = console.config
    form = request.state.form
    back = RedirectResponse("/leave", status_code=303)
    window, kind = str(form.get("window", "")), str(form.get("kind", ""))
    record_id, note = str(form.get("id", "")), str(form.get("reason", "")).strip()
    if window not in config.window_by_id or kind not in LEAVE_KINDS or not record_id.startswith("leave-"):
        console.flash(who.key, "error", "请选择窗口和类型（请假或公出）")
        return back
    try:
        start = dt.datetime.fromisoformat(str(form.get("start", ""))).replace(tzinfo=config.hall.tz)
        end = dt.datetime.fromisoformat(str(form.get("end", ""))).replace(tzinfo=config.hall.tz)
    except ValueError:
        console.flash(who.key, "error", "起止时间格式不对：如 2020-11-03 09:00")
        return back
    if end <= start:
        console.flash(who.key, "error", "结束时间必须晚于开始时间")
        return back
    try:
        grant = leave_grant(
            window=window, start=start, end=end, reason=f"{kind}：{note}" if note else kind, by=who.name
        ).model_copy(update={"id": record_id[:64]})
    except ValidationError as exc:
        console.flash(who.key, "error", f"未记录：{exc.errors()[0]['msg']}")
        return back
    record_action(console, request, who, grant, action="leave", target=f"{window} {grant.id}", what=f"{window} {kind}")
    return back
