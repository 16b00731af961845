"""Notices from the store (shell): load a period's data, compose, write the files, issue.

A notice not issued is a draft: no 文号, marked 【草稿】, dated the day it is (or was) due unless a
date is given; regenerating the same data gives the same bytes. Issuing (`issue_notice`, the
CLI's `--issue`, the console, and the scheduler) records the notice in the ledger with its 文号 from
the office's register (entered, or the register's next) and its issue date — only once it is ready
(`monitor.core.notices.readiness`), or when its issuer confirms the open items with a reason. An
issued notice keeps them and is not issued again; a correction (更正) gives it a new 文号 and date and
keeps the old files under `superseded-<year>-<number>/` beside where they were written, and the old
number in the register.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session

from monitor.adapters.documents import Images, notice_files, write_files
from monitor.adapters.store import ledger
from monitor.adapters.store.accounts import reviews_for
from monitor.adapters.store.evidence import evidence_data, evidence_names
from monitor.adapters.store.incidents import incident_sources, load_incidents
from monitor.adapters.store.inputs import load_month_inputs
from monitor.adapters.store.tables import NoticeLedgerRow
from monitor.adapters.video.annotate import blur_jpeg
from monitor.adapters.video.zones import Polygon2D, exclusion_zones
from monitor.config import MonitorConfig
from monitor.core.notices.due import monthly_due, weekly_due
from monitor.core.notices.frame import doc_number_text
from monitor.core.notices.model import Notice
from monitor.core.notices.monthly import MonthlyData, compose_monthly
from monitor.core.notices.readiness import NotReady, Readiness, awaiting_review
from monitor.core.notices.weekly import WeeklyData, compose_weekly, context_start
from monitor.core.periods import (
    chinese_date,
    iso_week,
    month_bounds,
    month_words,
    period_bounds,
    previous_month,
    week_bounds,
    week_words,
)
from monitor.errors import InputError

log = logging.getLogger(__name__)

STALE_CLAIM = dt.timedelta(minutes=30)
"""A claim whose owner has not issued it within this time may be taken over."""
KIND_NAMES = {"weekly": "周通报", "monthly": "月度通报"}


def period_name(kind: str, period: str) -> str:
    """2020年11月2日至11月8日, 2020年11月: a notice's period as a hall says it."""
    return week_words(period) if kind == "weekly" else month_words(period)


def notice_name(kind: str, period: str) -> str:
    """2020年11月2日至11月8日周通报, 2020年11月月度通报: a notice as its messages name it."""
    return f"{period_name(kind, period)}{KIND_NAMES.get(kind, kind)}"


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
    start, end = week_bounds(week, tz)
    incidents = load_incidents(session, context_start(week, tz), end)
    evidence = evidence_names(session, [i.id for i in incidents if i.started_at >= start])
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


def readiness(config: MonitorConfig, engine: Engine, notice: Notice) -> Readiness:
    """What stands between `notice` (a draft) and its 文号: its missing inputs, the charges of its period still
    awaiting review, and its warnings."""
    tz = config.hall.tz
    start, end = period_bounds("week" if notice.kind == "weekly" else "month", notice.period, tz)
    with Session(engine) as session:
        incidents = load_incidents(session, start, end)
        reviewed = reviews_for(session, [i.id for i in incidents])
    return Readiness(notice.missing, awaiting_review(config, incidents, set(reviewed), tz), notice.warnings)


def next_number(config: MonitorConfig, engine: Engine, year: int) -> int:
    """The number the register gives next in `year`."""
    with Session(engine) as session:
        return ledger.next_number(session, year, config.notices.first_number(year))


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
    with Session(engine) as session:
        sources = incident_sources(session, sorted({incident_id for incident_id, _ in wanted}))
        stored = evidence_data(session, wanted)
    out: dict[tuple[str, str], bytes] = {}
    for (incident_id, name), data in stored.items():
        try:
            out[(incident_id, name)] = blur_jpeg(data, citizen_side(config, sources.get(incident_id, "")))
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


def _keep_old_files(config: MonitorConfig, existing: NoticeLedgerRow) -> str:
    """Move an issued notice's files aside before its correction replaces them, in the folder they were written
    to (wherever the output was configured then); the folder they are kept in, or "" when none were found."""
    folder = Path(existing.folder) if existing.folder else notice_folder(config, existing.period)
    names = [name for name in json.loads(existing.files or "[]") if (folder / name).is_file()]
    if not names:
        return ""
    kept = folder / f"superseded-{existing.doc_year}-{existing.doc_number}"
    kept.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).replace(kept / name)
    return str(kept)


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
    confirm: str = "",
    issued_by: str = "",
) -> tuple[Notice, list[Path]]:
    """Issue a notice by hand: record it in the ledger with its 文号 (`number`, or the register's next)
    and date (`day`, default today in the hall's timezone), then write its files.

    A notice with open items (missing inputs, charges awaiting review, warnings) is refused with the list
    (`NotReady`) unless `confirm` gives the issuer's reason, which the register keeps with the items. An issued
    notice is refused unless `correct` (更正): then its old files are kept under `superseded-<year>-<number>/`
    where they were written, its old 文号 stays in the register, and it takes a new one.
    """
    name = notice_name(kind, period)
    day = day or now.astimezone(config.hall.tz).date()
    with Session(engine) as session:
        existing = issued_entry(session, kind, period)
        holder = ledger.number_holder(session, day.year, number) if number is not None else None
    if holder is not None:
        taken = doc_number_text(config, holder.doc_year, holder.doc_number)
        raise InputError(
            f"文号{taken}已用于{notice_name(holder.kind, holder.period)}"
            f"（{chinese_date(holder.issued_on)}印发），文号不能重复使用：换一个号，或用登记簿的下一个号"
        )
    if existing is not None and not correct:
        assert existing.doc_year is not None and existing.doc_number is not None
        issued = doc_number_text(config, existing.doc_year, existing.doc_number)
        raise InputError(
            f"{name}已于{chinese_date(existing.issued_on)}印发（{issued}），已印发的通报不再改动；如需更正，按更正印发"
            "（原通报及其文号保留）"
        )
    if existing is None and correct:
        raise InputError(f"{name}尚未印发，没有可更正的通报")
    open_items = readiness(config, engine, compose(config, engine, kind, period, issued_on=day))
    reason = confirm.strip()
    if not open_items.ready and not reason:
        raise NotReady(name, open_items)
    issuer = ledger.Issuer(issued_by, "" if open_items.ready else open_items.confirmed(reason))
    start = config.notices.first_number(day.year)
    if existing is not None:
        claim = ledger.correct(
            engine,
            kind,
            period,
            owner=_owner(),
            issued_on=day,
            number_start=start,
            now=now,
            number=number,
            issuer=issuer,
            kept_in=_keep_old_files(config, existing),
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
            issuer=issuer,
        )
    if claim is None:
        raise InputError(f"{name}正由通报调度程序印发：稍后再查看，不必重复印发")
    notice = compose(config, engine, kind, period, issued_on=claim.issued_on, doc_number=claim.doc_number)
    files = write(config, notice, engine)
    folder = str(notice_folder(config, period).resolve())
    ledger.mark_generated(engine, claim.id, [p.name for p in files], notice.summary, now, folder)
    return notice, files


def write_notices(config: MonitorConfig, engine: Engine, month: str, week: str) -> list[Path]:
    """The weekly notice of `week` and the roll-up of `month`, written as they stand (issued or
    drafts); their paths (for `monitor demo`)."""
    weekly = compose(config, engine, "weekly", week)
    monthly = compose(config, engine, "monthly", month)
    return [*write(config, weekly, engine), *write(config, monthly, engine)]
