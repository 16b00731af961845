"""Incident review (违纪审核): the queue, one incident with its evidence, and what a supervisor may do with it.

The queue opens on what awaits review (待审核) across all dates, newest first, a page of QUEUE_PAGE at a time;
its filter travels in the URL, so each incident opened from it offers the previous and next of the same queue.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
import uuid
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from sqlmodel import Session

from monitor.adapters.store.accounts import mark_reviewed
from monitor.adapters.store.evidence import evidence_file
from monitor.adapters.store.incidents import incident_by_id
from monitor.adapters.store.review_queue import PATROL, QueueQuery, ReviewState, incidents_by_ids, known_staff
from monitor.console.actions import record_action
from monitor.console.auth import Forbidden, Supervisor, Viewer
from monitor.console.context import Console
from monitor.console.deps import ConsoleDep, Db, Form, came_from
from monitor.console.params import (
    FIRST_DAY,
    TEXT_LENGTH,
    BadParameter,
    Page,
    Period,
    check_day,
    check_month,
    check_span,
    check_week,
    one_of,
    pick_period,
    span_or_month,
    validation_message,
)
from monitor.console.pickers import picked_window, window_entries
from monitor.core.admission import Refused, admit
from monitor.core.calendar import WorkCalendar
from monitor.core.incident import Incident
from monitor.core.notices.frame import doc_number_text
from monitor.core.periods import PeriodKind, containing
from monitor.services.notices import issued_entry
from monitor.services.patrol import dismissal, patrol_incident, reinstatement, seen_in_future
from monitor.services.review import (
    QUEUE_PAGE,
    REVIEW_LABELS,
    incident_detail,
    incident_words,
    kind_labels,
    queue_neighbours,
    review_queue,
)

router = APIRouter()

SPANS = {"day": "日", "week": "周", "month": "月"}
STATES = {**REVIEW_LABELS, "all": "全部"}
DISMISS_REASONS = ("申诉成立", "已批准请假", "误检测")
PATROL_CAMERA = "patrol"
"""The source filter's value for every patrol finding (巡查); a camera's value is its id."""
NAMED = 20
"""Incidents a bulk review's audit entry names one by one; the rest are counted."""

FilterText = Annotated[str, Field(max_length=TEXT_LENGTH)]
QueueState = Literal["new", "reviewed", "dismissed", "all"]


class QueueParams(BaseModel):
    """The queue's filter as its URL carries it: the list's, and each incident's opened from it."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    state: Annotated[QueueState, one_of(STATES, "new", "状态")] = "new"
    window: FilterText = ""
    """A window's id, its picker entry (A04 王某某（行政审批服务局）) or its person's name."""
    staff: FilterText = ""
    department: FilterText = ""
    kind: FilterText = ""
    camera: FilterText = ""
    """A camera's id, or PATROL_CAMERA."""
    span: Annotated[PeriodKind, BeforeValidator(span_or_month)] = "month"
    date: Annotated[dt.date | None, BeforeValidator(check_day)] = None
    """With a date, the day, week or month (span) containing it; without, every date."""
    month: Annotated[str | None, Field(exclude=True)] = None
    week: Annotated[str | None, Field(exclude=True)] = None
    """A month (2020-11) or an ISO week (2020-W49) as older links and the other pages write it: read as its span and
    a date in it, then dropped (never kept in the queue's URL)."""

    @model_validator(mode="before")
    @classmethod
    def _month_or_week(cls, data: Any) -> Any:
        """?month=2020-11 is the month and ?week=2020-W49 the week (unless another span is named) with a date in it;
        a period that does not fit the span is refused, as on every page (params.pick_period)."""
        if not isinstance(data, Mapping):
            return data
        month, week = check_month(data.get("month")), check_week(data.get("week"))
        if month is None and week is None:
            return data
        kind = check_span(data.get("span")) or ("week" if week else "month")
        try:  # a month or a week is given: the default is never picked
            period = pick_period(
                kind, Period.containing(kind, FIRST_DAY), date=check_day(data.get("date")), month=month, week=week
            )
        except BadParameter as exc:
            raise ValueError(str(exc)) from None
        return {**data, "span": kind, "date": period.first, "month": None, "week": None}


class Queue:
    """A checked filter: the store's query and the URL that keeps it."""

    def __init__(self, console: Console, params: QueueParams) -> None:
        config = console.config
        window = picked_window(config, params.window) if params.window else None
        if params.window and window is None:
            raise BadParameter(f"窗口“{params.window[:24]}”不在本中心的窗口名单中")
        self.params = params.model_copy(update={"window": window or ""})
        self.start, self.end = containing(params.span, params.date, config.hall.tz) if params.date else (None, None)
        camera = params.camera
        state: ReviewState | None = None if params.state == "all" else params.state
        self.query = QueueQuery(
            state=state,
            window=window,
            staff=params.staff or None,
            department=params.department or None,
            kind=params.kind or None,
            source=None if not camera else PATROL if camera == PATROL_CAMERA else f"camera:{camera}",
            start=self.start,
            end=self.end,
        )

    @property
    def qs(self) -> str:
        """The filter as a query string: what differs from the queue's default (待审核, every date)."""
        defaults = QueueParams()
        shown = {
            name: value.isoformat() if isinstance(value, dt.date) else str(value)
            for name, value in self.params.model_dump().items()
            if value != getattr(defaults, name) or (name == "span" and self.params.date)
        }
        return urllib.parse.urlencode(shown)

    def url(self, path: str = "/incidents") -> str:
        return f"{path}?{self.qs}" if self.qs else path


def queue_of(console: ConsoleDep, params: Annotated[QueueParams, Query()]) -> Queue:
    return Queue(console, params)


QueueDep = Annotated[Queue, Depends(queue_of)]


def queue_from(console: Console, text: str) -> Queue:
    """The queue a form names by its query string (the page's filter, sent back); the default queue when it does
    not parse."""
    try:
        return Queue(console, QueueParams.model_validate(dict(urllib.parse.parse_qsl(text[:2000]))))
    except (ValidationError, BadParameter):
        return Queue(console, QueueParams())


@router.get("/incidents")
def queue(request: Request, who: Viewer, console: ConsoleDep, session: Db, q: QueueDep, page: Page = 0) -> Response:
    config = console.config
    shown = review_queue(session, config, q.query, page)
    people = sorted({s.name for s in config.staff} | set(known_staff(session)))
    return console.page(
        request,
        "incidents.html",
        {
            "pg": shown,
            "per_page": QUEUE_PAGE,
            "q": q,
            "p": q.params,
            "spans": SPANS,
            "states": STATES,
            "start": q.start,
            "end": q.end - dt.timedelta(days=1) if q.end else None,
            "departments": [d.name for d in config.departments],
            "kinds": kind_labels(config),
            "cameras": {c.id: c.place for c in config.cameras},
            "patrol_camera": PATROL_CAMERA,
            "people": people,
            "window_entries": window_entries(config),
            "patrol_id": f"patrol-{uuid.uuid4().hex[:12]}",
            "now_local": console.now().astimezone(config.hall.tz).strftime("%Y-%m-%dT%H:%M"),
        },
    )


@router.get("/incidents/{incident_id}")
def detail(request: Request, incident_id: str, who: Viewer, console: ConsoleDep, session: Db, q: QueueDep) -> Response:
    try:
        found = incident_detail(session, console.config, incident_id)
        newer, older = queue_neighbours(session, q.query, incident_id)
    except LookupError:
        return console.page(request, "error.html", {"message": "没有这条违纪记录"}, 404)
    month = found.view.incident.started_at.astimezone(console.config.hall.tz).strftime("%Y-%m")
    issued = issued_entry(session, "monthly", month)
    notice = doc_number_text(console.config, issued.doc_year, issued.doc_number) if issued and issued.doc_year else ""
    return console.page(
        request,
        "incident.html",
        {"d": found, "reasons": DISMISS_REASONS, "q": q, "newer": newer, "older": older, "issued_notice": notice},
    )


@router.get("/incidents/{incident_id}/evidence/{name}")
def evidence(incident_id: str, name: str, who: Viewer, session: Db) -> Response:
    found = evidence_file(session, incident_id, name)
    if found is None:
        return Response("没有这张证据图片", status_code=404, media_type="text/plain; charset=utf-8")
    data, content_type = found
    return Response(data, media_type=content_type, headers={"Cache-Control": "private, max-age=3600"})


def _incident(session: Session, incident_id: str) -> Incident:
    """The incident a form acts on; refused (403, the error page) when it is not recorded."""
    try:
        return incident_by_id(session, incident_id)
    except LookupError:
        raise Forbidden("没有这条违纪记录") from None


class ReviewForm(BaseModel):
    """标记已审核 on an incident's page: the queue it was opened from, to go on to its next incident."""

    queue: str = Field("", max_length=2000)


class ReviewManyForm(BaseModel):
    """标记已审核 for the incidents ticked on a page of the queue."""

    incident: list[Annotated[str, Field(max_length=64)]] = Field(
        default_factory=list, max_length=QUEUE_PAGE, validate_default=True
    )

    @field_validator("incident")
    @classmethod
    def _some(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("请先勾选要标记的违纪记录")
        return value


@router.post("/incidents/review")
def review_many(
    request: Request,
    who: Supervisor,
    console: ConsoleDep,
    session: Db,
    form: Annotated[ReviewManyForm, Form(ReviewManyForm, prefix="")],
) -> Response:
    """Mark the ticked incidents reviewed in one go: one audit entry naming how many and which."""
    back = came_from(request, "/incidents")
    incidents = incidents_by_ids(session, form.incident)
    marked = [i for i in incidents if not i.dismissed and mark_reviewed(session, i.id, who.name, console.now())]
    session.commit()
    skipped = len(incidents) - len(marked)
    message = f"已标记为已审核 {len(marked)} 条" + (
        f"（另有 {skipped} 条此前已审核或已撤销，未改动）" if skipped else ""
    )
    if not incidents:
        message = "所勾选的违纪记录不存在，未标记"
    named = "；".join(incident_words(i, console.config) for i in marked[:NAMED])
    more = f"等，共 {len(marked)} 条" if len(marked) > NAMED else ""
    windows = "、".join(dict.fromkeys(i.window for i in marked))
    console.note(
        request,
        who.name,
        "review_many",
        "ok" if marked else "refused",
        target=f"{len(marked)} 条违纪（窗口 {windows}）" if marked else "",
        detail=f"{message}：{named}{more}" if marked else message,
    )
    console.flash(request, "ok" if marked else "error", message)
    return RedirectResponse(back, status_code=303)


@router.post("/incidents/{incident_id}/review")
def review(
    request: Request,
    incident_id: str,
    who: Supervisor,
    console: ConsoleDep,
    session: Db,
    form: Annotated[ReviewForm, Form(ReviewForm)],
) -> Response:
    """Mark one incident reviewed (it stands), then on to the next of the queue it was opened from."""
    incident = _incident(session, incident_id)
    if incident.dismissed:
        fresh, message = False, "已撤销的违纪无需审核：如应扣分，请先恢复"
    else:
        fresh = mark_reviewed(session, incident_id, who.name, console.now())
        message = "已标记为已审核" if fresh else "此前已审核"
    q = queue_from(console, form.queue)
    _, older = queue_neighbours(session, q.query, incident_id)
    session.commit()
    words = incident_words(incident, console.config)
    console.note(
        request,
        who.name,
        "review",
        "ok" if not incident.dismissed else "refused",
        target=incident_id,
        detail=f"{words}：{message}",
    )
    if fresh and older is not None:
        console.flash(request, "ok", f"{words} {message}。下面是队列中的下一条")
        return RedirectResponse(q.url(f"/incidents/{older}"), status_code=303)
    console.flash(request, "ok" if fresh or not incident.dismissed else "error", f"{words} {message}")
    return RedirectResponse(q.url(f"/incidents/{incident_id}"), status_code=303)


class DismissForm(BaseModel):
    """撤销: one of the hall's reasons, and what supports it."""

    category: Annotated[str, Field(validate_default=True)] = ""
    reason: str = ""
    queue: str = Field("", max_length=2000)

    @field_validator("category")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in DISMISS_REASONS:
            raise ValueError(f"请选择撤销理由（{'、'.join(DISMISS_REASONS)}）")
        return value

    @field_validator("reason")
    @classmethod
    def _short(cls, value: str) -> str:
        if len(value.strip()) > 400:
            raise ValueError("说明不能超过 400 字")
        return value.strip()


@router.post("/incidents/{incident_id}/dismiss")
def dismiss(
    request: Request,
    incident_id: str,
    who: Supervisor,
    console: ConsoleDep,
    form: Annotated[DismissForm, Form(DismissForm, prefix="未撤销：")],
) -> Response:
    reason = f"{form.category}：{form.reason}" if form.reason else form.category
    try:
        record = dismissal(incident_id, reason, by=who.name)
    except ValidationError:
        console.flash(request, "error", "未撤销：撤销理由中有无法保存的字符")
        return RedirectResponse(queue_from(console, form.queue).url(f"/incidents/{incident_id}"), status_code=303)
    record_action(console, request, who, record, action="dismiss", target=incident_id, what="撤销")
    return RedirectResponse(queue_from(console, form.queue).url(f"/incidents/{incident_id}"), status_code=303)


class ReinstateForm(BaseModel):
    """恢复扣分 for a dismissed incident: why (required)."""

    reason: Annotated[str, Field(validate_default=True)] = ""
    queue: str = Field("", max_length=2000)

    @field_validator("reason")
    @classmethod
    def _given(cls, value: str) -> str:
        text = value.strip()
        if not text:
            raise ValueError("请写明恢复理由")
        if len(text) > 400:
            raise ValueError("恢复理由不能超过 400 字")
        return text


@router.post("/incidents/{incident_id}/reinstate")
def reinstate(
    request: Request,
    incident_id: str,
    who: Supervisor,
    console: ConsoleDep,
    session: Db,
    form: Annotated[ReinstateForm, Form(ReinstateForm, prefix="未恢复：")],
) -> Response:
    """Undo a dismissal: a signed record the recorder honours; the incident deducts again and stands reviewed."""
    incident = _incident(session, incident_id)
    session.commit()
    back = RedirectResponse(queue_from(console, form.queue).url(f"/incidents/{incident_id}"), status_code=303)
    if not incident.dismissed:
        console.flash(request, "error", "未恢复：这条违纪没有撤销，仍在扣分")
        return back
    words = incident_words(incident, console.config)
    try:
        record = reinstatement(incident_id, form.reason, by=who.name)
    except ValidationError:
        console.flash(request, "error", "未恢复：恢复理由中有无法保存的字符")
        return back
    done = record_action(
        console,
        request,
        who,
        record,
        action="reinstate",
        target=incident_id,
        what=f"恢复扣分（{words}；理由：{form.reason}）",
    )
    if done:
        mark_reviewed(session, incident_id, who.name, console.now())
        session.commit()
    return back


class PatrolForm(BaseModel):
    """A patrol finding as the supervisor says it: the window, the kind, when seen and how long."""

    id: str = Field("", max_length=64)
    window: str = Field("", max_length=TEXT_LENGTH)
    kind: str = Field("", max_length=TEXT_LENGTH)
    at: dt.datetime | None = None
    minutes: int | None = None
    note: str = ""

    @field_validator("at", mode="before")
    @classmethod
    def _when(cls, value: object) -> object:
        try:
            return dt.datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise ValueError("发现时间格式不对：如 2020-11-03 09:12") from None

    @field_validator("minutes", mode="before")
    @classmethod
    def _minutes(cls, value: object) -> object:
        text = str(value).strip()
        if not (text.isascii() and text.isdigit()) or len(text) > 6:
            raise ValueError("分钟数应为 0 或正整数")
        return int(text)

    @field_validator("note")
    @classmethod
    def _note(cls, value: str) -> str:
        return value.strip()[:500]


@router.post("/patrol")
def patrol(
    request: Request,
    who: Supervisor,
    console: ConsoleDep,
    form: Annotated[PatrolForm, Form(PatrolForm, prefix="未记录：")],
) -> Response:
    """A patrol finding (纪律巡查) entered by the supervisor on the floor, as they say it: when they saw it
    (发现时间; for a late arrival, when the person arrived) and how long (minutes empty until then, or late)."""
    config = console.config
    tz = config.hall.tz
    back = RedirectResponse("/incidents", status_code=303)
    window = picked_window(config, form.window)
    if window is None:
        shown = f"“{form.window[:24]}”" if form.window else ""
        console.flash(request, "error", f"未记录：没有找到窗口{shown}，请从列表中选择窗口或人员")
        return back
    if form.kind not in kind_labels(config) or not form.id.startswith("patrol-"):
        console.flash(request, "error", "未记录：请选择违纪类型；如仍不行，请刷新页面后重新填写")
        return back
    if form.at is None:
        console.flash(request, "error", "未记录：请填写发现时间，如 2020-11-03 09:12")
        return back
    seen_at = form.at if form.at.tzinfo else form.at.replace(tzinfo=tz)
    now = console.now()
    if seen_in_future(seen_at, config, now):
        console.flash(
            request,
            "error",
            f"未记录：发现时间 {seen_at.astimezone(tz):%Y-%m-%d %H:%M} "
            f"晚于现在（{now.astimezone(tz):%Y-%m-%d %H:%M}）。请填写看到时的时间，最晚为现在",
        )
        return back
    try:
        event = patrol_incident(
            window=window, kind=form.kind, seen_at=seen_at, minutes=form.minutes, note=form.note, by=who.name
        ).model_copy(update={"id": form.id})
        admit(event, config, WorkCalendar(config.calendar, config.duty, tz))
    except ValidationError as exc:
        console.flash(request, "error", "未记录：" + validation_message(exc.errors()).removeprefix("请求参数有误："))
        return back
    except Refused as exc:
        console.flash(request, "error", f"未记录：{exc.words}")
        return back
    if record_action(console, request, who, event, action="patrol", target=event.id, what=f"巡查发现（{window}）"):
        return RedirectResponse(f"/incidents/{event.id}", status_code=303)
    return back
