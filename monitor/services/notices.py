"""Notices from the store (shell): load a period's data, compose, write the files, issue.

A notice not issued is a draft: no 文号, marked 【草稿】, dated the day it is (or was) due unless a
date is given; regenerating the same data gives the same bytes. Issuing (`issue_notice`, the
CLI's `--issue`, and the scheduler) records the notice in the ledger with its 文号 from the
office's register (entered, or the register's next) and its issue date. An issued notice keeps
them and is not issued again; a correction (更正) gives it a new 文号 and date and keeps the old
files under `superseded-<year>-<number>/` and the old number in the register.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from monitor.adapters.documents import Images, notice_files, write_files
from monitor.adapters.store import ledger
from monitor.adapters.store.incidents import load_incidents
from monitor.adapters.store.inputs import load_month_inputs
from monitor.adapters.store.tables import EvidenceRow, IncidentRow, NoticeLedgerRow
from monitor.adapters.video.annotate import blur_jpeg
from monitor.adapters.video.zones import Polygon2D, exclusion_zones
from monitor.config import MonitorConfig
from monitor.core.notices.model import Notice
from monitor.core.notices.monthly import MonthlyData, compose_monthly, doc_number_text
from monitor.core.notices.periods import iso_week, monthly_due, previous_month, weekly_due
from monitor.core.notices.weekly import WeeklyData, compose_weekly, context_start, week_bounds
from monitor.core.scoring import month_bounds
from monitor.errors import InputError

log = logging.getLogger(__name__)

STALE_CLAIM = dt.timedelta(minutes=30)
"""A claim whose owner has not issued it within this time may be taken over."""
KIND_NAMES = {"weekly": "周通报", "monthly": "月度通报"}


def notice_folder(config: MonitorConfig, period: str) -> Path:
    return Path(config.notices.output_dir) / "notices" / period


def issued_entry(session: Session, kind: str, period: str) -> NoticeLedgerRow | None:
    """The ledger's row of an issued notice (with its 文号), or None when the period has only drafts."""
    row = ledger.entry(session, kind, period)
    return row if row is not None and row.state == ledger.ISSUED and row.doc_number is not None else None


def monthly_notice(
    config: MonitorConfig,
    session: Session,
    month: str,
    *,
    issued_on: dt.date | None = None,
    doc_number: int | None = None,
) -> Notice:
    """The roll-up of `month`: as issued (the ledger's 文号 and date), as issued now (`doc_number`
    and `issued_on` given), or a draft (dated `issued_on`, default the due date)."""
    tz = config.hall.tz
    start, end = month_bounds(month, tz)
    incidents = load_incidents(session, start, end)
    inputs = load_month_inputs(session, config, month)
    previous = load_month_inputs(session, config, previous_month(month)).cases
    row = issued_entry(session, "monthly", month) if doc_number is None else None
    if row is not None:
        doc_number, issued_on = row.doc_number, row.issued_on
    day = issued_on or monthly_due(month, config.notices.schedule, tz).date()
    violation_weeks = sorted({iso_week(i.started_at.astimezone(tz).date()) for i in incidents if not i.dismissed})
    notified = ledger.issued(session, "weekly", violation_weeks) == set(violation_weeks)
    data = MonthlyData(month, incidents, inputs, previous, doc_number, day, notified)
    return compose_monthly(config, data)


def weekly_notice(
    config: MonitorConfig,
    session: Session,
    week: str,
    *,
    issued_on: dt.date | None = None,
    doc_number: int | None = None,
) -> Notice:
    """The discipline notice of `week`: as issued, as issued now, or a draft (like `monthly_notice`)."""
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
    row = issued_entry(session, "weekly", week) if doc_number is None else None
    if row is not None:
        doc_number, issued_on = row.doc_number, row.issued_on
    day = issued_on or weekly_due(week, config.notices.schedule, tz).date()
    return compose_weekly(config, WeeklyData(week, incidents, evidence, day, doc_number))


def compose(
    config: MonitorConfig,
    engine: Engine,
    kind: str,
    period: str,
    *,
    issued_on: dt.date | None = None,
    doc_number: int | None = None,
) -> Notice:
    with Session(engine) as session:
        make = weekly_notice if kind == "weekly" else monthly_notice
        return make(config, session, period, issued_on=issued_on, doc_number=doc_number)


def issue_date(notice: Notice) -> dt.date:
    return dt.date.fromisoformat(str(notice.figures["issued_on"]))


WHOLE_PICTURE: Polygon2D = ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0))


def citizen_side(config: MonitorConfig, source: str) -> tuple[Polygon2D, ...]:
    """What to blur in a picture of an incident from `source` before it leaves the console: its camera's
    citizen side (`exclusions`); the whole picture when the camera is not configured (any more), since
    where its citizens stood is then unknown."""
    camera_id = source.removeprefix("camera:")
    for camera in config.cameras:
        if source.startswith("camera:") and camera.id == camera_id:
            return exclusion_zones(camera)
    log.warning("evidence of %r: no such camera configured, its pictures go into notices wholly blurred", source)
    return (WHOLE_PICTURE,)


def _images(config: MonitorConfig, engine: Engine, notice: Notice) -> Images:
    """The notice's photos, their camera's citizen side blurred (citizens' faces go to no window: the minimum
    needed, docs/security.md); the stored pictures keep their signed bytes. A picture that cannot be read is
    left empty (the writers show it as unreadable), never passed on unblurred."""
    if not notice.photos:
        return {}
    wanted = {(p.incident_id, p.name) for p in notice.photos}
    ids = sorted({incident_id for incident_id, _ in wanted})
    with Session(engine) as session:
        found = session.exec(select(IncidentRow.id, IncidentRow.source).where(col(IncidentRow.id).in_(ids))).all()
        sources = {incident_id: source for incident_id, source in found}
        rows = session.exec(
            select(EvidenceRow.incident_id, EvidenceRow.name, EvidenceRow.data).where(
                col(EvidenceRow.incident_id).in_(ids), col(EvidenceRow.name).in_({name for _, name in wanted})
            )
        ).all()
    out: dict[tuple[str, str], bytes] = {}
    for incident_id, name, data in rows:
        if (incident_id, name) not in wanted:
            continue
        try:
            out[(incident_id, name)] = blur_jpeg(bytes(data), citizen_side(config, sources.get(incident_id, "")))
        except ValueError:
            out[(incident_id, name)] = b""
    return out


def render(config: MonitorConfig, engine: Engine, notice: Notice) -> list[tuple[str, bytes]]:
    """The notice's files as (name, bytes), not written."""
    return notice_files(notice, issue_date(notice), _images(config, engine, notice))


def write(config: MonitorConfig, notice: Notice, engine: Engine) -> list[Path]:
    return write_files(notice_folder(config, notice.period), render(config, engine, notice))


def changed_files(config: MonitorConfig, notice: Notice, engine: Engine) -> list[str]:
    """Names of the notice's files whose bytes on disk differ from a fresh rendering."""
    folder = notice_folder(config, notice.period)
    return [
        name
        for name, data in render(config, engine, notice)
        if (folder / name).exists() and (folder / name).read_bytes() != data
    ]


def _owner() -> str:
    return f"cli-{socket.gethostname()}-{os.getpid()}"


def issue_notice(
    config: MonitorConfig,
    engine: Engine,
    kind: str,
    period: str,
    *,
    now: dt.datetime,
    number: int | None = None,
    day: dt.date | None = None,
    correct: bool = False,
) -> tuple[Notice, list[Path]]:
    """Issue a notice by hand: record it in the ledger with its 文号 (`number`, or the register's next)
    and date (`day`, default today in the hall's timezone), then write its files.

    An issued notice is refused unless `correct` (更正): then its old files are kept under
    `superseded-<year>-<number>/`, its old 文号 stays in the register, and it takes a new one.
    """
    kind_name = KIND_NAMES[kind]
    day = day or now.astimezone(config.hall.tz).date()
    with Session(engine) as session:
        existing = issued_entry(session, kind, period)
        holder = ledger.number_holder(session, day.year, number) if number is not None else None
    if holder is not None:
        taken = doc_number_text(config, holder.doc_year, holder.doc_number)
        raise InputError(
            f"--number {number}：{taken} 已用于{holder.period} {KIND_NAMES.get(holder.kind, holder.kind)}"
            f"（{holder.issued_on}印发），文号不能重复使用；换一个号，或不写 --number 取登记簿的下一个号"
        )
    if existing is not None and not correct:
        assert existing.doc_year is not None and existing.doc_number is not None
        issued = doc_number_text(config, existing.doc_year, existing.doc_number)
        raise InputError(
            f"{period} {kind_name}已于{existing.issued_on}印发（{issued}），已印发的通报不再改动；"
            "如需更正，加 --correct（原通报及其文号保留）"
        )
    if existing is None and correct:
        raise InputError(f"{period} {kind_name}尚未印发，没有可更正的通报：去掉 --correct")
    start = config.notices.doc_number_start
    if existing is not None:
        folder = notice_folder(config, period)
        kept = folder / f"superseded-{existing.doc_year}-{existing.doc_number}"
        kept.mkdir(parents=True, exist_ok=True)
        for path in sorted(folder.glob(f"{kind}-{period}.*")):
            path.replace(kept / path.name)
        claim = ledger.correct(
            engine, kind, period, owner=_owner(), issued_on=day, number_start=start, now=now, number=number
        )
    else:
        claim = ledger.claim(
            engine,
            kind,
            period,
            owner=_owner(),
            issued_on=day,
            number_start=start,
            now=now,
            stale_after=STALE_CLAIM,
            number=number,
        )
    if claim is None:
        raise InputError(f"{period} {kind_name}正由通报调度程序（monitor scheduler）印发：稍后再查看，不必重复印发")
    notice = compose(config, engine, kind, period, issued_on=claim.issued_on, doc_number=claim.doc_number)
    files = write(config, notice, engine)
    ledger.mark_generated(engine, claim.id, [p.name for p in files], notice.summary, now)
    return notice, files


def write_notices(config: MonitorConfig, engine: Engine, month: str, week: str) -> list[Path]:
    """The weekly notice of `week` and the roll-up of `month`, written as they stand (issued or
    drafts); their paths (for `monitor demo`)."""
    weekly = compose(config, engine, "weekly", week)
    monthly = compose(config, engine, "monthly", month)
    return [*write(config, weekly, engine), *write(config, monthly, engine)]
