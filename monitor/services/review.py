"""What a supervisor reviews: incidents with their state, deductions, rule, timeline and evidence; the sheets.

Read-only views over the store for the console (and the CLI's score sheets). Writing goes elsewhere:
dismissals, leave and patrol findings through the recorder (monitor.services.patrol), review marks
and the audit trail through the console's own tables (monitor.adapters.store.accounts).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlmodel import Session

from monitor.adapters.store.accounts import reviews_for
from monitor.adapters.store.evidence import evidence_names
from monitor.adapters.store.incidents import (
    decisions_for,
    dismissals_for,
    incident_by_id,
    incident_events,
    load_incidents,
)
from monitor.adapters.store.inputs import load_month_inputs
from monitor.adapters.store.review_queue import QueueQuery, neighbours, queue_page
from monitor.config import MonitorConfig
from monitor.contract import ContractError, IncidentEvent
from monitor.core.evidence import in_order
from monitor.core.incident import EMPTY_POST, Incident, describe_source
from monitor.core.periods import containing, month_bounds
from monitor.core.scoring import Deduction, EnteredScores, MonthScores, deductions_for, describe_rule, score_month

REVIEW_LABELS = {"new": "待审核", "reviewed": "已审核", "dismissed": "已撤销"}


@dataclass(frozen=True, slots=True)
class IncidentView:
    incident: Incident
    label: str
    """The kind as notices print it (迟到, 空岗)."""
    staff_points: Decimal
    department_points: Decimal
    source: str
    """Who found it, as people say it (视频 · A区东侧, 巡查 · 张三: monitor.core.incident.describe_source)."""
    review: str
    """new, reviewed or dismissed (REVIEW_LABELS)."""
    reviewed_by: str = ""
    dismissal_reason: str = ""
    dismissed_by: str = ""

    @property
    def review_label(self) -> str:
        return REVIEW_LABELS[self.review]


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    event: str
    label: str
    """What the event was, as the page says it: 发现, 持续 (an empty post lasting), 补充录像 (the clip that follows a
    late arrival once filmed), 结束."""
    seq: int
    at: dt.datetime
    """The hall time the event speaks of: the start (new), start plus its minutes (update), the end (end)."""
    received_at: dt.datetime
    minutes: int | None
    ended_at: dt.datetime | None
    note: str


_EVENT_LABELS = {"new": "发现", "update": "持续", "end": "结束"}


@dataclass(frozen=True, slots=True)
class EvidenceItem:
    """A picture or the clip of an incident, as the review page shows it: in time order, captioned."""

    name: str
    caption: str
    clip: bool


@dataclass(frozen=True, slots=True)
class Decision:
    """What a supervisor decided about an incident, for its page's 审核记录: 标记已审核, 撤销 or 恢复扣分."""

    at: dt.datetime
    what: str
    by: str
    reason: str = ""


_DECIDED = {"dismissed": "撤销", "reinstated": "恢复扣分"}


@dataclass(frozen=True, slots=True)
class IncidentDetail:
    view: IncidentView
    deductions: tuple[Deduction, ...]
    """This incident's deductions on both sheets (none once dismissed)."""
    rule: str
    timeline: tuple[TimelineEntry, ...]
    evidence: tuple[EvidenceItem, ...]
    """In time order (monitor.core.evidence)."""
    decisions: tuple[Decision, ...]
    """Oldest first."""


def views_of(session: Session, config: MonitorConfig, incidents: Sequence[Incident]) -> list[IncidentView]:
    """`incidents` as the review pages show them, in the order given, with the points each costs.

    Points follow the month's order of incidents (a repeat costs more), so each month touched is scored whole.
    """
    months = {containing("month", i.started_at, config.hall.tz)[0] for i in incidents}
    points: dict[tuple[str, str], Decimal] = {}
    for first in sorted(months):
        whole = load_incidents(session, *containing("month", first, config.hall.tz))
        for d in deductions_for(whole, config):
            points[(d.incident_id, d.sheet)] = points.get((d.incident_id, d.sheet), Decimal(0)) + d.points
    dismissals = dismissals_for(session, [i.id for i in incidents if i.dismissed])
    reviews = reviews_for(session, [i.id for i in incidents])
    labels = kind_labels(config)
    views = []
    for i in incidents:
        dismissal = dismissals.get(i.id) if i.dismissed else None
        review = reviews.get(i.id)
        views.append(
            IncidentView(
                incident=i,
                label=labels.get(i.kind, i.kind),
                staff_points=points.get((i.id, "staff"), Decimal(0)),
                department_points=points.get((i.id, "department"), Decimal(0)),
                source=describe_source(i.source, config),
                review="dismissed" if i.dismissed else "reviewed" if review else "new",
                reviewed_by=review.by if review else "",
                dismissal_reason=dismissal.reason if dismissal else "",
                dismissed_by=dismissal.by if dismissal else "",
            )
        )
    return views


def kind_labels(config: MonitorConfig) -> dict[str, str]:
    """Each kind of incident the rules name, as notices print it (late_arrival: 迟到)."""
    return {d.kind: d.label for r in config.rules for d in r.deductions}


def incident_detail(session: Session, config: MonitorConfig, incident_id: str) -> IncidentDetail:
    """One incident for review; LookupError when it is not recorded."""
    incident = incident_by_id(session, incident_id)
    start, end = containing("month", incident.started_at, config.hall.tz)
    view = views_of(session, config, [incident])[0]
    whole = load_incidents(session, start, end)
    deductions = tuple(d for d in deductions_for(whole, config) if d.incident_id == incident_id)
    day = incident.started_at.astimezone(config.hall.tz).date()
    rule_set = config.rule_set_on(day)
    rule = rule_set.deduction(incident.kind)
    timeline = []
    for row in incident_events(session, incident_id):
        try:
            event = IncidentEvent.from_json(row.payload)
        except ContractError:
            continue
        at = event.ended_at if event.event == "end" and event.ended_at else event.started_at
        if event.event == "update" and event.minutes is not None and event.kind == EMPTY_POST:
            at = event.started_at + dt.timedelta(minutes=event.minutes)
        label = _EVENT_LABELS[event.event] if event.event != "update" or event.kind == EMPTY_POST else "补充录像"
        timeline.append(
            TimelineEntry(row.event, label, row.seq, at, row.received_at, event.minutes, event.ended_at, event.note)
        )
    names = evidence_names(session, [incident_id]).get(incident_id, [])
    evidence = [EvidenceItem(p.name, p.caption(config.hall.tz), p.is_clip) for p in in_order(names)]
    decisions = [Decision(r.at, "标记已审核", r.by) for r in reviews_for(session, [incident_id]).values()]
    decisions += [
        Decision(x.decided_at, _DECIDED[x.action], x.by, x.reason) for x in decisions_for(session, incident_id)
    ]
    return IncidentDetail(
        view=view,
        deductions=deductions,
        rule=describe_rule(rule, rule_set.effective) if rule else "该类型不扣分（考核办法未列）",
        timeline=tuple(timeline),
        evidence=tuple(evidence),
        decisions=tuple(sorted(decisions, key=lambda x: x.at)),
    )


QUEUE_PAGE = 100
"""Incidents a page of the review queue shows: a queue of thousands is paged, never shown whole."""


@dataclass(frozen=True, slots=True)
class QueuePage:
    views: list[IncidentView]
    total: int
    """Incidents in the whole queue (every page)."""
    page: int
    """From 0."""
    pages: int


def review_queue(session: Session, config: MonitorConfig, query: QueueQuery, page: int) -> QueuePage:
    """One page (QUEUE_PAGE incidents, newest first) of the queue `query` asks for."""
    incidents, total = queue_page(session, query, limit=QUEUE_PAGE, offset=page * QUEUE_PAGE)
    pages = max(1, math.ceil(total / QUEUE_PAGE))
    return QueuePage(views_of(session, config, incidents), total, page, pages)


def queue_neighbours(session: Session, query: QueueQuery, incident_id: str) -> tuple[str | None, str | None]:
    """The previous (newer) and next (older) incident of the queue around `incident_id`; LookupError when it is not
    recorded."""
    return neighbours(session, query, incident_by_id(session, incident_id))


def incident_words(incident: Incident, config: MonitorConfig, *, year: int | None = None) -> str:
    """An incident as a person names it: A02 张三 迟到 12月1日 09:12 (no name when nobody was rostered); `year`: the
    year the reader is in, the incident's year shown when it is not that one (2020年12月1日)."""
    label = kind_labels(config).get(incident.kind, incident.kind)
    at = incident.started_at.astimezone(config.hall.tz)
    who = f" {incident.staff}" if incident.staff else ""
    shown_year = f"{at.year}年" if year is not None and at.year != year else ""
    return f"{incident.window}{who} {label} {shown_year}{at.month}月{at.day}日 {at:%H:%M}"


def month_scores(session: Session, config: MonitorConfig, month: str) -> MonthScores:
    """Both score sheets of a month (YYYY-MM) from its incidents and imported points."""
    start, end = month_bounds(month, config.hall.tz)
    incidents = load_incidents(session, start, end)
    inputs = load_month_inputs(session, config, month)
    entered = EnteredScores(departments=inputs.department_points or {}, windows=inputs.window_points or {})
    return score_month(config, month, incidents, entered)
