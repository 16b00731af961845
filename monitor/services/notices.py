"""Notices from the store (shell): load a period's data, compose, write the files.

A notice already in the ledger keeps its 文号 and issue date when it is regenerated; one that is
not gets the date it is (or was) due and the next free 文号, so regenerating the same data gives
the same bytes.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from monitor.adapters.documents import write_notice
from monitor.adapters.store import ledger
from monitor.adapters.store.incidents import load_incidents
from monitor.adapters.store.inputs import load_month_inputs
from monitor.adapters.store.tables import EvidenceRow
from monitor.config import MonitorConfig
from monitor.core.notices.model import Notice
from monitor.core.notices.monthly import MonthlyData, compose_monthly
from monitor.core.notices.periods import iso_week, monthly_due, previous_month, weekly_due
from monitor.core.notices.weekly import WeeklyData, compose_weekly, context_start, week_bounds
from monitor.core.scoring import month_bounds


def notice_folder(config: MonitorConfig, period: str) -> Path:
    return Path(config.notices.output_dir) / "notices" / period


def monthly_notice(
    config: MonitorConfig,
    session: Session,
    month: str,
    *,
    issued_on: dt.date | None = None,
    doc_number: int | None = None,
) -> Notice:
    tz = config.hall.tz
    start, end = month_bounds(month, tz)
    incidents = load_incidents(session, start, end)
    inputs = load_month_inputs(session, config, month)
    previous = load_month_inputs(session, config, previous_month(month)).cases
    row = ledger.entry(session, "monthly", month)
    day = issued_on or (row.issued_on if row else monthly_due(month, config.notices.schedule, tz).date())
    number = doc_number or (row.doc_number if row and row.doc_number else None)
    if number is None:
        number = ledger.next_number(session, day.year, config.notices.doc_number_start)
    violation_weeks = sorted({iso_week(i.started_at.astimezone(tz).date()) for i in incidents if not i.dismissed})
    notified = ledger.issued(session, "weekly", violation_weeks) == set(violation_weeks)
    data = MonthlyData(month, incidents, inputs, previous, number, day, notified)
    return compose_monthly(config, data)


def weekly_notice(config: MonitorConfig, session: Session, week: str, *, issued_on: dt.date | None = None) -> Notice:
    tz = config.hall.tz
    _, end = week_bounds(week, tz)
    incidents = load_incidents(session, context_start(week, tz), end)
    ids = [i.id for i in incidents]
    evidence: dict[str, list[str]] = {}
    if ids:
        for incident_id, name in session.exec(
            select(EvidenceRow.incident_id, EvidenceRow.name)
            .where(col(EvidenceRow.incident_id).in_(ids))
            .order_by(col(EvidenceRow.incident_id), col(EvidenceRow.name))
        ).all():
            evidence.setdefault(incident_id, []).append(name)
    row = ledger.entry(session, "weekly", week)
    day = issued_on or (row.issued_on if row else weekly_due(week, config.notices.schedule, tz).date())
    return compose_weekly(config, WeeklyData(week, incidents, evidence, day))


def issue_date(notice: Notice) -> dt.date:
    return dt.date.fromisoformat(str(notice.figures["issued_on"]))


def write(config: MonitorConfig, notice: Notice) -> list[Path]:
    return write_notice(notice, notice_folder(config, notice.period), issue_date(notice))


def write_notices(config: MonitorConfig, engine: Engine, month: str, week: str) -> list[Path]:
    """The weekly notice of `week` and the roll-up of `month`, written; their paths (for `monitor demo`)."""
    with Session(engine) as session:
        weekly = weekly_notice(config, session, week)
        monthly = monthly_notice(config, session, month)
    return [*write(config, weekly), *write(config, monthly)]
