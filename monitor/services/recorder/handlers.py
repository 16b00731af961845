"""What each message does: a table from topic kind to handler (as cosmicpython's EVENT_HANDLERS).

A handler applies one message in the caller's transaction and returns what became of it (`Handled`). It
refuses before its first write, so a refusal writes nothing. A receipt is answered only for a record that
parsed, with values that passed validation.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlmodel import Session

from monitor.adapters.store import alerts as alert_store
from monitor.adapters.store.accounts import active_account
from monitor.adapters.store.evidence import save_evidence
from monitor.adapters.store.incidents import (
    Conflict,
    IncidentBook,
    NotDismissed,
    Outcome,
    announced_evidence,
    as_incident,
    dismiss,
    record_event,
    reinstate,
    standing_rank,
)
from monitor.adapters.store.leaves import LeaveBook, change_recorded
from monitor.adapters.store.ledger import issued
from monitor.adapters.store.tables import IncidentRow, LeaveRow
from monitor.adapters.store.window_states import record_window_state
from monitor.config import MonitorConfig, SignerConfig
from monitor.contract import (
    Addressed,
    ContractError,
    Dismissal,
    IncidentEvent,
    LeaveChange,
    LeaveGrant,
    RecordKind,
    Reinstatement,
    Status,
    TopicKind,
    Topics,
    WindowState,
)
from monitor.core.admission import Freshness, Refused, admit, check_fresh
from monitor.core.alerts import compose_alert
from monitor.core.calendar import WorkCalendar
from monitor.core.leave_changes import Span, changed_time, months_of, revised
from monitor.core.periods import month_bounds, month_words
from monitor.core.roles import may, may_site
from monitor.core.scoring import points_for
from monitor.core.signature import Record, Unauthenticated, acting_person, authorize

JPEG_MAGIC = b"\xff\xd8\xff"
MP4_BRAND = b"ftyp"
"""An MP4 starts with its `ftyp` box: four bytes of size, then the box type."""


def _content_type(name: str, payload: bytes) -> str | None:
    """What the evidence is by its name and its first bytes: a JPEG picture or an MP4 clip; None when neither."""
    if name.endswith(".mp4"):
        return "video/mp4" if payload[4:8] == MP4_BRAND else None
    return "image/jpeg" if payload.startswith(JPEG_MAGIC) else None


@dataclass(frozen=True, slots=True)
class Handled:
    """What became of one message."""

    status: Status
    detail: str = ""
    receipt: tuple[RecordKind, str] | None = None
    """(kind, id) of a supervisor's record: the recorder answers on <prefix>/receipts/<kind>/<id>."""
    leave_window: str | None = None
    """The window whose approved leave the message added or changed: its list goes to the camera services after the
    commit."""
    words: str = ""
    """Why a supervisor's record was refused, as the console tells them (the receipt carries it)."""


UNVOUCHED = "此账号已停用或无权执行此操作，请重新登录或联系管理员"
CHANGED_FORM = "此表单此前已提交过不同的内容，请刷新页面后重新填写"


@dataclass(frozen=True, slots=True)
class Books:
    """What the database holds about one batch's incidents, read once for the batch (or once for one message,
    when each goes on its own) and kept current as it writes; and the months whose notice is issued."""

    leaves: LeaveBook
    incidents: IncidentBook
    issued_months: frozenset[str]

    @classmethod
    def read(cls, session: Session, messages: Sequence[tuple[str, bytes]], topics: Topics, tz: dt.tzinfo) -> Books:
        events: list[IncidentEvent] = []
        for topic, payload in messages:
            if topic == topics.incidents:
                try:
                    events.append(IncidentEvent.from_json(payload))
                except ContractError:
                    continue  # refused when its turn comes
        months = sorted({e.started_at.astimezone(tz).strftime("%Y-%m") for e in events})
        return cls(
            LeaveBook(session, events), IncidentBook(session, events), frozenset(issued(session, "monthly", months))
        )


@dataclass(frozen=True, slots=True)
class Context:
    """What a handler works with: one transaction, the hall, and the batch's books."""

    session: Session
    config: MonitorConfig
    calendar: WorkCalendar
    now: dt.datetime
    books: Books
    address: Addressed


Handler = Callable[[Context, bytes], Handled]


def _vouched(session: Session, signer: SignerConfig, record: Record, site: str) -> None:
    """A record the console signed must name a person with an active account that may act on incidents, at this site."""
    if signer.role != "console":
        return
    person = acting_person(record)
    account = active_account(session, person)
    if account is None or not may(account.role, "supervisor") or not may_site(account.sites, site):
        raise Unauthenticated(f"unauthenticated: {person!r} has no active console account allowed to do this here")


def _points_of(session: Session, row: IncidentRow, config: MonitorConfig) -> Decimal:
    """Points the new incident deducts, as the month's score sheet counts them (monitor.core.scoring): its
    rule's tier, and for an escalating rule its rank among the month's standing incidents of its window and kind."""
    local = row.started_at.astimezone(config.hall.tz)
    rule = config.rule_set_on(local.date()).deduction(row.kind)
    if rule is None:
        return Decimal(0)
    occurrence = 1
    if rule.repeat_after is not None:
        start, _ = month_bounds(local.strftime("%Y-%m"), config.hall.tz)
        occurrence = standing_rank(session, row, start)
    return points_for(rule, row.minutes, occurrence)


def on_incident(ctx: Context, payload: bytes) -> Handled:
    try:
        event = IncidentEvent.from_json(payload)
    except ContractError as exc:
        return Handled(Status.REJECTED, str(exc))
    receipt: tuple[RecordKind, str] | None = ("incident", event.id) if event.source.startswith("patrol:") else None
    config, tz = ctx.config, ctx.config.hall.tz
    try:
        signer = authorize(event, config)
        _vouched(ctx.session, signer, event, ctx.config.site)
        month = event.started_at.astimezone(tz).strftime("%Y-%m")
        rule = Freshness(
            now=ctx.now,
            tolerance=config.recorder.clock_tolerance,
            camera_max_age=config.recorder.camera_max_age,
            issued_month=month if month in ctx.books.issued_months else None,
        )
        if ctx.books.incidents.payload(event) is None:  # a replay of what is recorded stays a duplicate
            check_fresh(event, signer.role == "camera", rule, tz)
        charge = admit(event, config, ctx.calendar, ctx.books.leaves.around(event.window, event.started_at))
        outcome, row = record_event(ctx.books.incidents, event, charge, ctx.now)
    except Conflict as exc:
        return Handled(Status.CONFLICT, str(exc), receipt, words=CHANGED_FORM)
    except Refused as exc:
        return Handled(Status.REJECTED, str(exc), receipt, words=exc.words)
    except Unauthenticated as exc:
        return Handled(Status.REJECTED, str(exc), receipt, words=UNVOUCHED)
    if outcome is Outcome.DUPLICATE:
        return Handled(Status.DUPLICATE, f"{event.id} {event.event} #{event.seq}", receipt)
    if outcome is Outcome.NEW_INCIDENT:
        assert row is not None
        # Just recorded, so not dismissed: a dismissal names a recorded incident.
        alert = compose_alert(as_incident(row, dismissed=False), _points_of(ctx.session, row, config), config)
        alert_store.queue_alert(ctx.session, alert, config.alerts, ctx.now)
    return Handled(Status.RECORDED, f"{event.id} {event.event} #{event.seq} {event.kind} {event.window}", receipt)


def on_leave(ctx: Context, payload: bytes) -> Handled:
    try:
        grant = LeaveGrant.from_json(payload)
    except ContractError as exc:
        return Handled(Status.REJECTED, str(exc))
    receipt: tuple[RecordKind, str] = ("leave", grant.id)
    try:
        _vouched(ctx.session, authorize(grant, ctx.config), grant, ctx.config.site)
    except Unauthenticated as exc:
        return Handled(Status.REJECTED, str(exc), receipt, words=UNVOUCHED)
    if grant.window not in ctx.config.window_by_id:
        return Handled(
            Status.REJECTED,
            f"unknown window {grant.window!r}: not in the hall's [windows]",
            receipt,
            words=f"窗口“{grant.window}”不在本中心的窗口名单中",
        )
    if grant.end <= grant.start:
        return Handled(Status.REJECTED, "leave ends before it starts", receipt, words="结束时间必须晚于开始时间")
    status = ctx.books.leaves.grant(grant, ctx.now)
    if status is Status.CONFLICT:
        return Handled(
            status, f"leave {grant.id} is recorded with another window, time or reason", receipt, words=CHANGED_FORM
        )
    window = grant.window if status is Status.RECORDED else None
    return Handled(status, f"leave {grant.id} {grant.window}", receipt, leave_window=window)


def on_leave_change(ctx: Context, payload: bytes) -> Handled:
    """A withdrawal or change of approved leave (monitor.core.leave_changes says what each does). Refused: an
    unknown or withdrawn leave, a decision dated in the future, the withdrawal of leave already over, a change
    that ends before it starts, and one that touches a month whose notice is issued (the notice counted that
    leave). Recorded: the window's leave list goes to the camera services again, so a window whose leave ends
    early is judged from then."""
    try:
        change = LeaveChange.from_json(payload)
    except ContractError as exc:
        return Handled(Status.REJECTED, str(exc))
    receipt: tuple[RecordKind, str] = ("leave_change", change.id)
    config, tz = ctx.config, ctx.config.hall.tz
    try:
        _vouched(ctx.session, authorize(change, config), change, ctx.config.site)
    except Unauthenticated as exc:
        return Handled(Status.REJECTED, str(exc), receipt, words=UNVOUCHED)
    known = change_recorded(ctx.session, change)  # a replay stays a duplicate, whatever the leave is now
    if known is Status.CONFLICT:
        return Handled(
            known,
            f"leave change {change.id} is recorded with another leave, time or reason",
            receipt,
            words=CHANGED_FORM,
        )
    if known is Status.DUPLICATE:
        return Handled(known, f"leave {change.leave_id} {change.action} {change.id}", receipt)
    row = ctx.session.get(LeaveRow, change.leave_id)
    if row is None:
        return Handled(
            Status.REJECTED,
            f"no leave {change.leave_id!r} is recorded",
            receipt,
            words="没有找到这条请假登记，请刷新页面",
        )
    before = Span(row.start, row.end)
    try:
        after = revised(
            before,
            change,
            withdrawn=row.withdrawn_at is not None,
            now=ctx.now,
            tolerance=config.recorder.clock_tolerance,
            tz=tz,
        )
    except Refused as exc:
        return Handled(Status.REJECTED, str(exc), receipt, words=exc.words)
    touched = months_of(changed_time(before, after), tz)
    closed = sorted(issued(ctx.session, "monthly", touched))
    if closed:
        return Handled(
            Status.REJECTED,
            f"the notice of {', '.join(closed)} is issued: leave in that month is no longer withdrawn or changed",
            receipt,
            words="、".join(month_words(m) for m in closed) + "的通报已印发，该月的请假不能再撤销或修改",
        )
    ctx.books.leaves.change(row, change, after, ctx.now)
    span = f"{after.start.astimezone(tz):%Y-%m-%d %H:%M}–{after.end.astimezone(tz):%Y-%m-%d %H:%M}"
    detail = f"leave {row.id} {row.window} {change.action}: " + ("no time left" if after.empty else span)
    return Handled(Status.RECORDED, detail, receipt, leave_window=row.window)


def on_dismissal(ctx: Context, payload: bytes) -> Handled:
    try:
        dismissal = Dismissal.from_json(payload)
    except ContractError as exc:
        return Handled(Status.REJECTED, str(exc))
    receipt: tuple[RecordKind, str] = ("dismissal", dismissal.incident_id)
    try:
        _vouched(ctx.session, authorize(dismissal, ctx.config), dismissal, ctx.config.site)
        status = dismiss(ctx.session, dismissal, ctx.now)
    except Unauthenticated as exc:
        return Handled(Status.REJECTED, str(exc), receipt, words=UNVOUCHED)
    except LookupError as exc:
        return Handled(Status.REJECTED, str(exc).strip("'\""), receipt, words="没有找到这条违纪记录，请刷新页面")
    if status is Status.CONFLICT:
        return Handled(
            status,
            f"incident {dismissal.incident_id} was dismissed by another decision",
            receipt,
            words="这条违纪记录已由他人以其他理由撤销，请刷新页面查看",
        )
    return Handled(status, dismissal.incident_id, receipt)


def on_reinstatement(ctx: Context, payload: bytes) -> Handled:
    """A dismissal reversed: the incident deducts again. Like a dismissal, it is taken after the month's notice
    was issued too (the issued notice stands as it was issued)."""
    try:
        reinstatement = Reinstatement.from_json(payload)
    except ContractError as exc:
        return Handled(Status.REJECTED, str(exc))
    receipt: tuple[RecordKind, str] = ("reinstatement", reinstatement.id)
    try:
        _vouched(ctx.session, authorize(reinstatement, ctx.config), reinstatement, ctx.config.site)
        status = reinstate(ctx.session, reinstatement, ctx.now)
    except Unauthenticated as exc:
        return Handled(Status.REJECTED, str(exc), receipt, words=UNVOUCHED)
    except LookupError as exc:
        return Handled(Status.REJECTED, str(exc).strip("'\""), receipt, words="没有找到这条违纪记录，请刷新页面")
    except NotDismissed as exc:
        return Handled(Status.REJECTED, str(exc), receipt, words="这条违纪记录未被撤销，无需恢复（可能已由他人恢复）")
    if status is Status.CONFLICT:
        return Handled(
            status,
            f"reinstatement {reinstatement.id} is recorded for another incident or reason",
            receipt,
            words=CHANGED_FORM,
        )
    return Handled(status, f"{reinstatement.incident_id} reinstated", receipt)


def on_evidence(ctx: Context, payload: bytes) -> Handled:
    """A picture or clip of a recorded incident, announced (and its digest signed) by the incident's events."""
    incident_id, name = ctx.address.subject, ctx.address.name
    if len(incident_id) > 64 or len(name) > 80:
        return Handled(Status.REJECTED, "evidence topic must be <prefix>/evidence/<incident id>/<name>")
    limit = ctx.config.evidence.max_bytes
    if len(payload) > limit:
        return Handled(Status.REJECTED, f"evidence of {len(payload)} bytes: more than [evidence] max_bytes = {limit}")
    content_type = _content_type(name, payload)
    if content_type is None:
        return Handled(Status.REJECTED, "evidence is neither a JPEG picture nor (named .mp4) an MP4 clip")
    if ctx.session.get(IncidentRow, incident_id) is None:
        return Handled(Status.REJECTED, f"evidence for {incident_id!r}, which is not a recorded incident")
    names, digests = announced_evidence(ctx.session, incident_id)
    if name not in names:
        return Handled(Status.REJECTED, f"evidence {name!r} is not announced by incident {incident_id}'s events")
    if name in digests and hashlib.sha256(payload).hexdigest() != digests[name]:
        return Handled(Status.REJECTED, f"evidence {incident_id}/{name} does not match the digest its incident signed")
    status = save_evidence(ctx.session, incident_id, name, payload, ctx.now, content_type=content_type)
    if status is Status.CONFLICT:
        return Handled(status, f"evidence {incident_id}/{name} is kept with other bytes; these are refused")
    return Handled(status, f"evidence {incident_id}/{name} ({len(payload)} bytes)")


def on_window_state(ctx: Context, payload: bytes) -> Handled:
    """A window's presence (retained, unsigned: it costs no points), kept for the on-duty rate once per
    (window, since, state)."""
    window = ctx.address.subject
    try:
        state = WindowState.from_json(payload)
    except ContractError as exc:
        return Handled(Status.REJECTED, str(exc))
    if state.window != window:
        return Handled(Status.REJECTED, f"the state of window {state.window!r} on the topic of window {window!r}")
    if window not in ctx.config.window_by_id:
        return Handled(Status.REJECTED, f"unknown window {window!r}: not in the hall's [windows]")
    fresh = record_window_state(ctx.session, state, ctx.now)
    return Handled(
        Status.RECORDED if fresh else Status.DUPLICATE, f"state {window} {state.state} since {state.since.isoformat()}"
    )


HANDLERS: dict[TopicKind, Handler] = {
    "incidents": on_incident,
    "dismissals": on_dismissal,
    "reinstatements": on_reinstatement,
    "leaves": on_leave,
    "leave_changes": on_leave_change,
    "evidence": on_evidence,
    "window_state": on_window_state,
}
"""The recorder's topics and what each does; it subscribes to exactly these (`subscriptions`)."""


def subscriptions(topics: Topics) -> list[str]:
    """The topic filters of the handled kinds."""
    filters: dict[TopicKind, str] = {
        "incidents": topics.incidents,
        "dismissals": topics.dismissals,
        "reinstatements": topics.reinstatements,
        "leaves": topics.leaves,
        "leave_changes": topics.leave_changes,
        "evidence": topics.evidence("+", "+"),
        "window_state": topics.window_state("+"),
    }
    return [filters[kind] for kind in HANDLERS]


def handle_message(
    session: Session,
    config: MonitorConfig,
    calendar: WorkCalendar,
    topic: str,
    payload: bytes,
    now: dt.datetime,
    books: Books,
) -> Handled:
    """Apply one message in the caller's transaction, which the caller commits. A refusal writes nothing:
    every refusal is decided before the first write."""
    address = Topics(config.mqtt.topic_prefix).parse(topic)
    handler = HANDLERS.get(address.kind) if address is not None else None
    if address is None or handler is None:
        return Handled(Status.REJECTED, f"no handler for topic {topic}")
    return handler(Context(session, config, calendar, now, books, address), payload)
