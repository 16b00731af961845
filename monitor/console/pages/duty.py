"""Leave and duty (请假、公出): approved leave per window and time range, withdrawn or changed later, each a signed
record sent to the recorder, which tells the cameras."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, ValidationError

from monitor.adapters.store.leaves import leave_by_id
from monitor.config import MonitorConfig
from monitor.console.actions import record_action
from monitor.console.auth import Supervisor, Viewer
from monitor.console.deps import ConsoleDep, Db, Form, back_with
from monitor.console.pickers import picked_window, window_entries, window_entry
from monitor.contract import LEAVE_KINDS, LeaveKind
from monitor.core.leave_changes import Span
from monitor.core.periods import span_words
from monitor.services.leave_views import change_refused, leave_view, recent_leave
from monitor.services.patrol import leave_change, leave_grant, leave_withdrawal

router = APIRouter()
BACK = "/leave"
KEPT = ("window", "kind", "start", "end", "reason")
"""The fields of 登记 a refusal carries back to the form, so what was typed is shown again (never the CSRF token)."""


def _moment(what: str) -> BeforeValidator:
    """A datetime-local field (2020-11-03T09:00), read in the hall's time by the page; `what` names it in the error."""

    def check(value: object) -> object:
        try:
            return dt.datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise ValueError(f"{what}格式不对：如 2020-11-03 09:00") from None

    return BeforeValidator(check)


def _reason(what: str, *, required: bool) -> AfterValidator:
    """A reason of at most 400 characters, trimmed; `required`: it may not be left empty."""

    def check(value: str) -> str:
        text = value.strip()
        if required and not text:
            raise ValueError(f"请写明{what}")
        if len(text) > 400:
            raise ValueError(f"{what}不能超过 400 字")
        return text

    return AfterValidator(check)


Start = Annotated[dt.datetime, _moment("开始时间")]
End = Annotated[dt.datetime, _moment("结束时间")]


def _kind(value: object) -> object:
    if value not in LEAVE_KINDS:
        raise ValueError("类型应为请假或公出")
    return value


class LeaveForm(BaseModel):
    """登记: the window (an entry of the picker, its id or its person), 请假 or 公出, the time, why."""

    id: str = Field("", max_length=64)
    window: str = Field("", max_length=200)
    kind: Annotated[LeaveKind, BeforeValidator(_kind)] = "请假"
    start: Start
    end: End
    reason: Annotated[str, _reason("事由", required=False)] = ""


class WithdrawForm(BaseModel):
    """撤销请假: why (required)."""

    reason: Annotated[str, _reason("撤销理由", required=True), Field(validate_default=True)] = ""


class ChangeForm(BaseModel):
    """修改起止时间: the new time, and why (required)."""

    start: Start
    end: End
    reason: Annotated[str, _reason("修改理由", required=True), Field(validate_default=True)] = ""


def _local(moment: dt.datetime, config: MonitorConfig) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=config.hall.tz)


def _typed_moment(value: str | None, default: dt.datetime) -> str:
    """A moment carried back to the form, as the datetime-local field takes it; `default` when it is not one."""
    try:
        moment = dt.datetime.fromisoformat((value or "").strip())
    except ValueError:
        moment = default
    return moment.strftime("%Y-%m-%dT%H:%M")


@router.get("/leave")
def leave_page(request: Request, who: Viewer, console: ConsoleDep, session: Db) -> Response:
    """The leave list and 登记; after a refusal the form shows what was typed (the query `back_with` wrote), any
    value that is not one the form takes falls back to the usual default."""
    now = console.now()
    local = now.astimezone(console.config.hall.tz).replace(tzinfo=None)
    leaves = recent_leave(session, console.config, now)
    typed = request.query_params
    kind = typed.get("kind")
    return console.page(
        request,
        "leave.html",
        {
            "leaves": leaves,
            "window_entries": window_entries(console.config),
            "kinds": LEAVE_KINDS,
            "leave_id": f"leave-{uuid.uuid4().hex[:12]}",
            "typed_window": typed.get("window", "")[:200],
            "typed_kind": kind if kind in LEAVE_KINDS else LEAVE_KINDS[0],
            "typed_reason": typed.get("reason", "")[:400],
            "default_from": _typed_moment(typed.get("start"), local),
            "default_to": _typed_moment(typed.get("end"), local + dt.timedelta(hours=4)),
        },
    )


def _refused(console: ConsoleDep, request: Request, message: str) -> Response:
    """登记 refused: the reason as a flash message, back to the form with what was typed."""
    console.flash(request, "error", message)
    return RedirectResponse(back_with(request, BACK, KEPT), status_code=303)


@router.post("/leave")
def leave_add(
    request: Request, who: Supervisor, console: ConsoleDep, form: Annotated[LeaveForm, Form(LeaveForm, keep=KEPT)]
) -> Response:
    config = console.config
    window = picked_window(config, form.window)
    if window is None:
        shown = f"“{form.window[:24]}”" if form.window else ""
        return _refused(console, request, f"未保存：没有找到窗口{shown}，请从列表中选择窗口或人员")
    if not form.id.startswith("leave-"):
        return _refused(console, request, "未保存：表单已失效，请刷新页面后重新填写")
    start, end = _local(form.start, config), _local(form.end, config)
    if end <= start:
        return _refused(console, request, "未保存：结束时间必须晚于开始时间")
    try:
        grant = leave_grant(
            window=window, start=start, end=end, kind=form.kind, reason=form.reason, by=who.name
        ).model_copy(update={"id": form.id})
    except ValidationError:
        return _refused(console, request, "未保存：事由中有无法保存的字符，或起止时间超出范围")
    what = f"{window_entry(config, window)} {form.kind}（{span_words(start, end, config.hall.tz)}）"
    record_action(console, request, who, grant, action="leave", target=f"{window} {grant.id}", what=what)
    return RedirectResponse(BACK, status_code=303)


@router.post("/leave/{leave_id}/withdraw")
def leave_withdraw(
    request: Request,
    leave_id: str,
    who: Supervisor,
    console: ConsoleDep,
    session: Db,
    form: Annotated[WithdrawForm, Form(WithdrawForm, prefix="未撤销：")],
) -> Response:
    """撤销请假: the leave ends now (the time it already covered stays leave; one not yet begun covers nothing)."""
    config = console.config
    row = leave_by_id(session, leave_id)
    view = leave_view(session, config, row, console.now()) if row else None
    refused = change_refused(session, config, row, None, console.now()) if row else "没有这条请假记录"
    session.commit()
    if refused or view is None:
        console.flash(request, "error", f"未撤销：{refused}")
        return RedirectResponse(BACK, status_code=303)
    try:
        record = leave_withdrawal(leave_id, form.reason, by=who.name)
    except ValidationError:
        console.flash(request, "error", "未撤销：撤销理由中有无法保存的字符")
        return RedirectResponse(BACK, status_code=303)
    what = f"{window_entry(config, view.window)} {view.kind}（{view.span}）撤销（理由：{form.reason}）"
    target = f"{view.window} {leave_id}"
    record_action(console, request, who, record, action="leave_withdraw", target=target, what=what)
    return RedirectResponse(BACK, status_code=303)


@router.post("/leave/{leave_id}/change")
def leave_change_time(
    request: Request,
    leave_id: str,
    who: Supervisor,
    console: ConsoleDep,
    session: Db,
    form: Annotated[ChangeForm, Form(ChangeForm, prefix="未修改：")],
) -> Response:
    """修改起止时间: the leave covers the new time instead (shorter, longer or moved)."""
    config = console.config
    row = leave_by_id(session, leave_id)
    start, end = _local(form.start, config), _local(form.end, config)
    view = leave_view(session, config, row, console.now()) if row else None
    refused = change_refused(session, config, row, Span(start, end), console.now()) if row else "没有这条请假记录"
    session.commit()
    if refused or view is None:
        console.flash(request, "error", f"未修改：{refused}")
        return RedirectResponse(BACK, status_code=303)
    try:
        record = leave_change(leave_id, start, end, form.reason, by=who.name)
    except ValidationError:
        console.flash(request, "error", "未修改：修改理由中有无法保存的字符，或时间超出范围")
        return RedirectResponse(BACK, status_code=303)
    new = span_words(start, end, config.hall.tz)
    what = f"{window_entry(config, view.window)} {view.kind}（{view.span}）改为 {new}（理由：{form.reason}），"
    target = f"{view.window} {leave_id}"
    record_action(console, request, who, record, action="leave_change", target=target, what=what)
    return RedirectResponse(BACK, status_code=303)
