"""The weekly discipline notice (pure): the week's standing violations, one row each, and totals.

Points are the scoring rules' own deductions, so the weekly notice and the month's sheets can
never disagree; the rules count repeats per month, so the composer is given the incidents from
the first day of the month the week starts in.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from monitor.config import MonitorConfig
from monitor.core.evidence import PictureKind, in_order
from monitor.core.incident import Incident
from monitor.core.notices.model import Block, Notice, Photo, Table
from monitor.core.notices.monthly import chinese_date, doc_number_text, draft_marker, end_notes
from monitor.core.scoring import deductions_for
from monitor.formatting import plain

_WEEKDAYS = "一二三四五六日"
NOTICE_PICTURES: frozenset[PictureKind | None] = frozenset(
    {"session_start", "last_seen", "arrival", "threshold", "return", "session_end"}
)
"""The pictures a notice prints, in time order: those that bound the charge (the seat at the start or the last
sighting, the arrival or the confirmation, the return or the session's end). The clip and the pictures taken
while an empty post lasted stay in the console."""


def week_bounds(week: str, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """ "2020-W45" -> [Monday 00:00, next Monday 00:00) in the hall's timezone."""
    monday = dt.date.fromisoformat(f"{week}-1")
    return dt.datetime.combine(monday, dt.time(), tz), dt.datetime.combine(monday + dt.timedelta(days=7), dt.time(), tz)


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


def _label(config: MonitorConfig, kind: str) -> str:
    found = next((r.deduction(kind) for r in config.rules if r.deduction(kind)), None)
    return found.label if found else kind


def _source(incident: Incident) -> str:
    return "巡查" if incident.source.startswith("patrol") else "视频"


def _sum(values: list[Decimal]) -> str:
    return plain(sum(values, Decimal(0)))


def compose_weekly(config: MonitorConfig, data: WeeklyData) -> Notice:
    tz = config.hall.tz
    notices = config.notices
    start, end = week_bounds(data.week, tz)
    last_day = (end - dt.timedelta(days=1)).date()
    span = f"{chinese_date(start.date())}至{last_day.month}月{last_day.day}日"
    points: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for d in deductions_for(data.incidents, config):
        points[d.incident_id][d.sheet] = points[d.incident_id].get(d.sheet, Decimal(0)) + d.points
    week = sorted(
        (i for i in data.incidents if not i.dismissed and start <= i.started_at < end),
        key=lambda i: (i.started_at, i.window, i.id),
    )
    rows: list[tuple[str, ...]] = [
        ("序号", "日期", "时间", "窗口", "部门", "工作人员", "类型", "迟到/时长", "人员扣分", "窗口扣分", "来源")
    ]
    photos: list[Photo] = []
    by_kind: dict[str, tuple[list[Decimal], list[Decimal]]] = {}
    by_department: dict[str, list[Decimal]] = {}
    for n, incident in enumerate(week, 1):
        local = incident.started_at.astimezone(tz)
        label = _label(config, incident.kind)
        staff_points = points[incident.id].get("staff", Decimal(0))
        dept_points = points[incident.id].get("department", Decimal(0))
        when = f"{local.month}月{local.day}日（周{_WEEKDAYS[local.weekday()]}）"
        rows.append(
            (
                str(n),
                when,
                local.strftime("%H:%M"),
                incident.window,
                incident.department,
                incident.staff or "",
                label,
                f"{incident.minutes}分钟" if incident.minutes is not None else "",
                plain(staff_points),
                plain(dept_points),
                _source(incident),
            )
        )
        caption = f"{n}. {incident.window}窗口 {label} {local.month}月{local.day}日"
        for picture in in_order(list(data.evidence.get(incident.id, ()))):
            if picture.kind not in NOTICE_PICTURES:
                continue
            when = "" if picture.at is not None else f"{local:%H:%M} "  # a name from before pictures had times
            photos.append(Photo(f"{caption} {when}{picture.caption(tz)}", incident.id, picture.name))
        staff_list, dept_list = by_kind.setdefault(label, ([], []))
        staff_list.append(staff_points)
        dept_list.append(dept_points)
        by_department.setdefault(incident.department, []).append(dept_points)
    order = [d.name for d in config.departments]
    departments = sorted(by_department, key=lambda name: order.index(name) if name in order else len(order))
    kind_rows = (
        ("类型", "次数", "人员扣分", "窗口扣分"),
        *((k, str(len(s)), _sum(s), _sum(d)) for k, (s, d) in by_kind.items()),
    )
    dept_rows = (
        ("部门", "次数", "窗口扣分"),
        *((name, str(len(by_department[name])), _sum(by_department[name])) for name in departments),
    )
    year, number, _ = start.date().isocalendar()
    title = notices.weekly_title.format(hall=config.hall.name, year=year, week=number)
    doc_number = "" if data.doc_number is None else doc_number_text(config, data.issued_on.year, data.doc_number)
    kinds_text = "、".join(f"{k}{len(s)}人次" for k, (s, _d) in by_kind.items())
    if week:
        body = (
            f"根据巡查及视频监控记录，{span}，中心窗口共发生违反工作纪律情况{len(week)}起（次），"
            f"其中{kinds_text}，涉及{'、'.join(departments)}窗口。具体情况见附件1。"
        )
        closing = "以上违反纪律情况按中心考核办法给予所在派驻窗口、工作人员扣分。" + notices.weekly_rectification
    else:
        body = f"根据巡查及视频监控记录，{span}，中心窗口未发现违反工作纪律情况。"
        closing = "请各派驻部门继续加强对窗口工作人员的管理，严格遵守中心工作纪律。"
    tables = (
        (
            Table("violations", "附件1", f"{span}违反工作纪律情况明细", tuple(rows), landscape=True),
            Table("by_kind", "", "按类型统计", kind_rows),
            Table("by_department", "", "按部门统计", dept_rows),
        )
        if week
        else ()
    )
    photo_note = [Block("attachments", f"2.{span}违反工作纪律抓拍照片")] if photos else []
    blocks = (
        *draft_marker([], doc_number),
        Block("issuer", notices.issuer),
        *([Block("number", doc_number)] if doc_number else []),
        Block("title", title),
        Block("addressee", f"{notices.addressees}："),
        Block("body", body),
        *(Block("table", key) for key in (("by_kind", "by_department") if week else ())),
        Block("body", closing),
        *([Block("attachments", f"附件：1.{span}违反工作纪律情况明细"), *photo_note] if week else []),
        Block("signature", config.hall.office),
        Block("date", chinese_date(data.issued_on)),
        *end_notes(config, data.issued_on),
    )
    summary = f"{title}（{doc_number or '草稿'}）\n" + (
        f"{span}违反工作纪律{len(week)}起：{kinds_text}（{'、'.join(departments)}）" if week else f"{span}无违纪情况"
    )
    figures: dict[str, object] = {
        "week": data.week,
        "from": start.date().isoformat(),
        "to": last_day.isoformat(),
        "count": len(week),
        "by_kind": {k: len(s) for k, (s, _d) in by_kind.items()},
        "by_department": {name: len(by_department[name]) for name in departments},
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
        photos=tuple(photos),
        photos_label=f"附件2 {span}违反工作纪律抓拍照片" if photos else "",
    )
