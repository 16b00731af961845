"""The weekly discipline notice (pure): the week's standing violations, one row each, and totals.

A hall names the week by its dates (2020年11月2日至11月8日), never by its ISO number. Each violation names the
person (the camera's or patrol's, else the roster's; a warning to the issuer when neither knows), the window and
department, when it started and ended, what happened and the points on both sheets. Points are the scoring
rules' own deductions, so the weekly notice and the month's sheets can never disagree; the rules count repeats
per month, so the composer is given the incidents from the first day of the month the week starts in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from monitor.config import MonitorConfig
from monitor.core.evidence import PictureKind, in_order
from monitor.core.incident import LATE_ARRIVAL, Incident
from monitor.core.notices.frame import attachment_label, doc_number_text, head, sign_off
from monitor.core.notices.model import Block, Notice, Photo, Table
from monitor.core.periods import week_bounds, week_words
from monitor.core.scoring import deductions_for
from monitor.formatting import plain

_WEEKDAYS = "一二三四五六日"
NOTICE_PICTURES: frozenset[PictureKind | None] = frozenset(
    {"session_start", "last_seen", "arrival", "threshold", "return", "session_end"}
)
"""The pictures a notice prints, in time order: those that bound the charge (the seat at the start or the last
sighting, the arrival or the confirmation, the return or the session's end). The clip and the pictures taken
while an empty post lasted stay in the console."""
HEADER = ("序号", "日期", "窗口", "部门", "工作人员", "情况", "时间", "人员扣分", "窗口扣分", "来源")


def context_start(week: str, tz: ZoneInfo) -> dt.datetime:
    """Where the incidents a week's notice needs begin: the first of the month its Monday is in."""
    start, _ = week_bounds(week, tz)
    return start.replace(day=1)


@dataclass(frozen=True, slots=True)
class WeeklyData:
    week: str
    incidents: Sequence[Incident]
    """Incidents from `context_start(week)` to the week's end, dismissed ones included."""
    evidence: Mapping[str, Sequence[str]]
    """Incident id -> names of its stored evidence images."""
    issued_on: dt.date
    doc_number: int | None = None
    """The 文号's number when the notice is issued; None for a draft (no 文号, marked 【草稿】)."""


@dataclass(frozen=True, slots=True)
class _Charged:
    """One violation of the week as the notice states it."""

    incident: Incident
    label: str
    person: str
    staff_points: Decimal
    department_points: Decimal


def _label(config: MonitorConfig, kind: str) -> str:
    found = next((r.deduction(kind) for r in config.rules if r.deduction(kind)), None)
    return found.label if found else kind


def _sum(values: Sequence[Decimal]) -> str:
    return plain(sum(values, Decimal(0)))


def _what(charged: _Charged) -> str:
    """迟到12分钟, 空岗35分钟 — and the patrol's remark, when it made one."""
    incident = charged.incident
    text = charged.label + (f"{incident.minutes}分钟" if incident.minutes is not None else "")
    return f"{text}（{incident.note}）" if incident.note else text


def _day(incident: Incident, tz: ZoneInfo) -> str:
    local = incident.started_at.astimezone(tz)
    return f"{local.month}月{local.day}日"


def _when(incident: Incident, tz: ZoneInfo) -> str:
    """A late arrival's arrival; otherwise start–end, or the start alone while it has not ended."""
    start = incident.started_at.astimezone(tz)
    if incident.kind == LATE_ARRIVAL:
        return f"{start:%H:%M}到岗"
    if incident.ended_at is None:
        return f"{start:%H:%M}起"
    end = incident.ended_at.astimezone(tz)
    return (
        f"{start:%H:%M}—{end:%H:%M}"
        if end.date() == start.date()
        else f"{start:%H:%M}—{end.month}月{end.day}日{end:%H:%M}"
    )


def _charged(config: MonitorConfig, data: WeeklyData, start: dt.datetime, end: dt.datetime) -> list[_Charged]:
    points: dict[tuple[str, str], Decimal] = {}
    for d in deductions_for(data.incidents, config):
        points[(d.incident_id, d.sheet)] = points.get((d.incident_id, d.sheet), Decimal(0)) + d.points
    roster = config.staff_by_window
    week = sorted(
        (i for i in data.incidents if not i.dismissed and start <= i.started_at < end),
        key=lambda i: (i.started_at, i.window, i.id),
    )
    return [
        _Charged(
            i,
            _label(config, i.kind),
            i.staff or (roster[i.window].name if i.window in roster else ""),
            points.get((i.id, "staff"), Decimal(0)),
            points.get((i.id, "department"), Decimal(0)),
        )
        for i in week
    ]


def _photos(data: WeeklyData, charged: Sequence[_Charged], tz: ZoneInfo) -> list[Photo]:
    """The pictures that bound each charge, in time order, captioned by what they show and when."""
    photos: list[Photo] = []
    for n, c in enumerate(charged, 1):
        local = c.incident.started_at.astimezone(tz)
        caption = f"{n}. {c.incident.window}窗口 {c.label} {_day(c.incident, tz)}"
        for picture in in_order(list(data.evidence.get(c.incident.id, ()))):
            if picture.kind not in NOTICE_PICTURES:
                continue
            when = "" if picture.at is not None else f"{local:%H:%M} "  # a name from before pictures had times
            shows = f"{when}{picture.caption(tz)}"
            photos.append(Photo(f"{caption}\n{shows}", c.incident.id, picture.name))
    return photos


def compose_weekly(config: MonitorConfig, data: WeeklyData) -> Notice:
    tz = config.hall.tz
    notices = config.notices
    start, end = week_bounds(data.week, tz)
    span = week_words(data.week)
    charged = _charged(config, data, start, end)
    rows: list[tuple[str, ...]] = [HEADER]
    for n, c in enumerate(charged, 1):
        local = c.incident.started_at.astimezone(tz)
        rows.append(
            (
                str(n),
                f"{_day(c.incident, tz)}（周{_WEEKDAYS[local.weekday()]}）",
                c.incident.window,
                c.incident.department,
                c.person,
                _what(c),
                _when(c.incident, tz),
                plain(c.staff_points),
                plain(c.department_points),
                "巡查" if c.incident.source.startswith("patrol") else "视频",
            )
        )
    by_kind: dict[str, list[_Charged]] = {}
    by_department: dict[str, list[_Charged]] = {}
    for c in charged:
        by_kind.setdefault(c.label, []).append(c)
        by_department.setdefault(c.incident.department, []).append(c)
    order = [d.name for d in config.departments]
    departments = sorted(by_department, key=lambda name: order.index(name) if name in order else len(order))
    kind_rows = (
        ("类型", "次数", "人员扣分", "窗口扣分"),
        *(
            (k, str(len(cs)), _sum([c.staff_points for c in cs]), _sum([c.department_points for c in cs]))
            for k, cs in by_kind.items()
        ),
    )
    dept_rows = (
        ("部门", "次数", "窗口扣分"),
        *(
            (name, str(len(by_department[name])), _sum([c.department_points for c in by_department[name]]))
            for name in departments
        ),
    )
    title = notices.weekly_title.format(hall=config.hall.name, span=span)
    doc_number = "" if data.doc_number is None else doc_number_text(config, data.issued_on.year, data.doc_number)
    kinds_text = "、".join(f"{k}{len(cs)}人次" for k, cs in by_kind.items())
    deadline = data.issued_on + dt.timedelta(days=notices.rectification_days)
    photos = _photos(data, charged, tz)
    listed = f"{span}违反工作纪律情况明细"
    pictured = f"{span}违反工作纪律抓拍照片"
    count = 2 if photos else 1
    if charged:
        body = (
            f"根据巡查及视频监控记录，{span}，中心窗口共发生违反工作纪律情况{len(charged)}起（次），"
            f"其中{kinds_text}，涉及{'、'.join(departments)}窗口。具体情况见{attachment_label(1, count)}。"
        )
        closing = (
            "以上违反纪律情况按中心考核办法给予所在派驻窗口、工作人员扣分。"
            + notices.weekly_rectification.format(deadline=f"{deadline.month}月{deadline.day}日")
        )
        tables: tuple[Table, ...] = (
            Table("violations", attachment_label(1, count), listed, tuple(rows), landscape=True),
            Table("by_kind", "", "按类型统计", kind_rows),
            Table("by_department", "", "按部门统计", dept_rows),
        )
        attachments = [listed, *([pictured] if photos else [])]
    else:
        body = f"根据巡查及视频监控记录，{span}，中心窗口未发现违反工作纪律情况。"
        closing = "请各派驻部门继续加强对窗口工作人员的管理，严格遵守中心工作纪律。"
        tables, attachments = (), []
    unnamed = [c for c in charged if not c.person]
    warnings = tuple(
        f"{_day(c.incident, tz)} {c.incident.window}窗口{c.label}：人员名单里没有这个窗口的工作人员，"
        "通报的“工作人员”一栏将空着"
        for c in unnamed
    )
    blocks = (
        *head(config, title, doc_number, ()),
        Block("body", body),
        *(Block("table", key) for key in (("by_kind", "by_department") if charged else ())),
        Block("body", closing),
        *sign_off(config, attachments, data.issued_on),
    )
    summary = f"{title}（{doc_number or '草稿'}）\n" + (
        f"{span}违反工作纪律{len(charged)}起：{kinds_text}（{'、'.join(departments)}）"
        if charged
        else f"{span}无违纪情况"
    )
    figures: dict[str, object] = {
        "week": data.week,
        "from": start.date().isoformat(),
        "to": (end - dt.timedelta(days=1)).date().isoformat(),
        "count": len(charged),
        "by_kind": {k: len(cs) for k, cs in by_kind.items()},
        "by_department": {name: len(by_department[name]) for name in departments},
        "rectify_by": deadline.isoformat(),
        "doc_number": doc_number,
        "issued_on": data.issued_on.isoformat(),
    }
    return Notice(
        "weekly",
        data.week,
        title,
        blocks,
        tables,
        summary,
        figures,
        doc_number=doc_number,
        warnings=warnings,
        photos=tuple(photos),
        photos_label=f"{attachment_label(2, count)} {pictured}" if photos else "",
    )
