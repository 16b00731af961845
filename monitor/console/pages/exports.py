"""Each table of the console as an .xlsx download (下载 Excel): the month's two score sheets, the on-duty rates of a
period by department and by window, and the review queue's incidents as filtered.

A download holds the rows the page shows, in its order, with Chinese headers, figures as numbers and a Chinese file
name (RFC 5987); what the page says the table lacks (inputs not imported, windows not observed) is said on the sheet.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import Session

from monitor.adapters.documents.table_xlsx import Cell, Column, table_xlsx
from monitor.adapters.store.review_queue import queue_page
from monitor.config import MonitorConfig
from monitor.console import params
from monitor.console.auth import Viewer
from monitor.console.context import Console, site_name, site_title
from monitor.console.deps import ConsoleDep, Db
from monitor.console.pages.duty_rate import DutyChart, duty_chart
from monitor.console.pages.incidents import PATROL_CAMERA, STATES, Queue, QueueDep
from monitor.console.pages.reports import download_name
from monitor.core.duty_rate import Tally
from monitor.core.scoring import ScoreRow
from monitor.errors import MonitorError
from monitor.services.review import kind_labels, views_of
from monitor.services.score_sheets import ScoreSheets, score_sheets

router = APIRouter()

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT_ROWS = 10_000
"""The most incidents one download holds (the newest of the queue); the sheet says when there were more."""
PENDING_NOTE = "标“未导入”的分项暂按满分列出（加分暂按 0），导入后才是实际得分。"


def _xlsx(
    request: Request,
    title: str,
    columns: Sequence[Column],
    rows: Sequence[Sequence[Cell]],
    notes: Sequence[str] = (),
) -> Response:
    """The table as a download; in a district its file name and heading name its site (`site_title`)."""
    return Response(
        table_xlsx(title, columns, rows, notes, site=site_name(request)),
        media_type=XLSX,
        headers={"Content-Disposition": download_name(site_title(request, title), "xlsx")},
    )


def _sheet_columns(rows: Sequence[ScoreRow], pending: frozenset[str]) -> list[Column]:
    names = list(rows[0].scores) if rows else []
    return [Column(f"{name}（未导入）" if name in pending else name) for name in names] + [Column("合计")]


def _sheet_cells(row: ScoreRow) -> list[Cell]:
    return [*row.scores.values(), row.total, "；".join(d.reason for d in row.deductions)]


def _sheet_notes(sheets: ScoreSheets, pending: frozenset[str]) -> list[str]:
    return [*(f"尚未导入：{line}" for line in sheets.missing), *([PENDING_NOTE] if pending else [])]


@router.get("/scores/departments.xlsx")
def department_sheet(
    request: Request, who: Viewer, console: ConsoleDep, session: Db, period: params.MonthQuery
) -> Response:
    sheets = score_sheets(session, console.config, period.key)
    rows = sheets.scores.departments
    pending = sheets.pending["department"]
    columns = [Column("名次"), Column("部门"), *_sheet_columns(rows, pending), Column("扣分说明")]
    cells = [[None if pending else r.rank, r.department, *_sheet_cells(r)] for r in rows]
    notes = _sheet_notes(sheets, pending) + (["部门名次待录入分导入后确定。"] if pending else [])
    return _xlsx(request, f"{period.words}窗口（部门）考核", columns, cells, notes)


@router.get("/scores/staff.xlsx")
def staff_sheet(request: Request, who: Viewer, console: ConsoleDep, session: Db, period: params.MonthQuery) -> Response:
    sheets = score_sheets(session, console.config, period.key)
    rows = sheets.scores.staff
    pending = sheets.pending["staff"]
    columns = [Column("窗口"), Column("部门"), Column("姓名"), *_sheet_columns(rows, pending), Column("扣分说明")]
    cells = [[r.key, r.department, r.name or "", *_sheet_cells(r)] for r in rows]
    return _xlsx(request, f"{period.words}工作人员考核", columns, cells, _sheet_notes(sheets, pending))


def _hours(span: dt.timedelta) -> float:
    return round(span.total_seconds() / 3600, 1)


def _tally(tally: Tally) -> list[Cell]:
    return [
        _hours(tally.duty),
        _hours(tally.observed),
        _hours(tally.staffed),
        tally.rate if tally.rate is not None else "未观测",
    ]


TALLY_COLUMNS = (
    Column("值守（小时）", "0.0"),
    Column("观测（小时）", "0.0"),
    Column("在岗（小时）", "0.0"),
    Column("在岗率", "0.0%"),
)


def _duty_notes(chart: DutyChart) -> list[str]:
    total = chart.rates.total.rate
    shown = "未观测" if total is None else f"{total:.1%}"
    return [
        f"全厅在岗率：{shown}" + (f"（{chart.until}）" if chart.until else ""),
        "在岗率 = 在岗时长 ÷ 摄像头观测到的值守时长（请假、摄像头离线和非工作时间不计入）；"
        "按在岗率从低到高排列，未观测的列在最后。",
    ]


def _chart(console: Console, session: Session, period: params.Period) -> DutyChart:
    """The period's rates; a period the hall's calendar cannot say the duty days of is refused (400) as the page
    says it."""
    try:
        return duty_chart(console, session, period)
    except MonitorError as exc:
        raise params.BadParameter(str(exc)) from None


@router.get("/duty-rate/departments.xlsx")
def duty_departments(
    request: Request, who: Viewer, console: ConsoleDep, session: Db, period: params.PeriodQuery
) -> Response:
    chart = _chart(console, session, period)
    rows = [
        [d.department, len(d.windows), *_tally(d.tally)] for d in (*chart.departments, *chart.unobserved_departments)
    ]
    columns = [Column("部门"), Column("窗口数", "0"), *TALLY_COLUMNS]
    return _xlsx(request, f"{period.words}部门在岗率", columns, rows, _duty_notes(chart))


@router.get("/duty-rate/windows.xlsx")
def duty_windows(
    request: Request, who: Viewer, console: ConsoleDep, session: Db, period: params.PeriodQuery
) -> Response:
    chart = _chart(console, session, period)
    rows = [[w.window, w.department, *_tally(w.tally)] for w in (*chart.windows, *chart.unobserved_windows)]
    columns = [Column("窗口"), Column("部门"), *TALLY_COLUMNS]
    return _xlsx(request, f"{period.words}窗口在岗率", columns, rows, _duty_notes(chart))


def _filter_words(q: Queue, config: MonitorConfig) -> list[str]:
    """The queue's filter as the sheet says it: 状态：待审核；窗口：A04；日期：2020年11月."""
    p = q.params
    cameras = {c.id: c.place for c in config.cameras} | {PATROL_CAMERA: "巡查"}
    kinds = kind_labels(config)
    return [
        f"状态：{STATES.get(p.state, p.state)}",
        *([f"窗口：{p.window}"] if p.window else []),
        *([f"人员：{p.staff}"] if p.staff else []),
        *([f"部门：{p.department}"] if p.department else []),
        *([f"类型：{kinds.get(p.kind, p.kind)}"] if p.kind else []),
        *([f"来源：{cameras.get(p.camera, p.camera)}"] if p.camera else []),
        f"日期：{params.Period.containing(p.span, p.date).words if p.date else '全部'}",
    ]


@router.get("/incidents.xlsx")
def incident_list(request: Request, who: Viewer, console: ConsoleDep, session: Db, q: QueueDep) -> Response:
    """The review queue's incidents as its filter picks them (every page of it), newest first."""
    config = console.config
    incidents, total = queue_page(session, q.query, limit=EXPORT_ROWS, offset=0)
    labels = kind_labels(config)
    tz = config.hall.tz
    rows: list[list[Cell]] = []
    for v in views_of(session, config, incidents):
        i = v.incident
        note = f"撤销理由：{v.dismissal_reason}（{v.dismissed_by}）" if v.dismissal_reason else ""
        note = note or (f"审核人：{v.reviewed_by}" if v.reviewed_by else "")
        rows.append(
            [
                i.started_at.astimezone(tz).replace(tzinfo=None),
                i.window,
                i.department,
                i.staff or "",
                labels.get(i.kind, i.kind),
                i.minutes,
                v.staff_points,
                v.department_points,
                v.source,
                v.review_label,
                note,
            ]
        )
    columns = [
        Column("时间", "yyyy-mm-dd hh:mm"),
        Column("窗口"),
        Column("部门"),
        Column("人员"),
        Column("类型"),
        Column("时长（分钟）", "0"),
        Column("个人扣分"),
        Column("窗口扣分"),
        Column("来源"),
        Column("状态"),
        Column("说明"),
    ]
    picked = _filter_words(q, config)
    notes = ["筛选：" + "；".join(picked)]
    if total > len(rows):
        notes.append(f"共 {total} 条，本表为最新的 {len(rows)} 条")
    return _xlsx(request, "违纪记录", columns, rows, notes)
