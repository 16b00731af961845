"""The notice scheduler: weekly notices and monthly roll-ups on time, once, and after downtime too.

`due_notices` (pure, monitor.core.notices.due) says which notices are due at a moment given what the
ledger already holds;
`NoticeScheduler` claims each in the ledger (so concurrent schedulers never issue one twice),
gives it its 文号, writes its files, records it, and publishes it (monitor.services.publisher).
APScheduler (3.x, in the hall's timezone) fires at the configured times; every firing, a start-up
and a regular poll run the same catch-up, so a missed Monday or 1st is issued as soon as a scheduler
runs again. A notice is issued only when it is ready (monitor.core.notices.readiness): a roll-up whose
month's imports are missing, or a notice whose period has charges still awaiting review, is written as a
draft (【草稿】, no 文号) and issued, dated that day, at the first poll after the imports and the reviews
complete it; no one is there to confirm open items with a reason, so the scheduler never does. An issued
notice is never regenerated (a change needs an explicit 更正, `monitor notice monthly --issue --correct`).
The poll also retries publications that failed.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import socket
import threading
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine
from sqlmodel import Session

from monitor.adapters.store import ledger
from monitor.adapters.store.sites import for_site
from monitor.config import MonitorConfig
from monitor.contract import now_utc
from monitor.core.notices.due import due_notices, monthly_due, weekly_due
from monitor.core.notices.message import NoticeIssued
from monitor.core.notices.model import Notice
from monitor.core.periods import iso_week, month_of, previous_month
from monitor.services.notices import STALE_CLAIM, compose, issue_date, notice_folder, readiness, write
from monitor.services.publisher import BrokerAndWebhooks, Publisher

log = logging.getLogger(__name__)


def _owner() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


class NoticeScheduler:
    """Issues notices from the ledger's point of view; safe to run in several processes at once."""

    def __init__(
        self,
        config: MonitorConfig,
        engine: Engine,
        publisher: Publisher,
        *,
        clock: Callable[[], dt.datetime] = now_utc,
        owner: str | None = None,
    ) -> None:
        self.config = config
        self.engine = for_site(engine, config.site)  # the site's records only (monitor.adapters.store.sites)
        self.publisher = publisher
        self.clock = clock
        self.owner = owner or _owner()
        self._scheduler: BackgroundScheduler | None = None

    # -- the work ------------------------------------------------------------------------------

    def _compose(self, kind: str, period: str, *, issued_on: dt.date, doc_number: int | None) -> Notice:
        return compose(self.config, self.engine, kind, period, issued_on=issued_on, doc_number=doc_number)

    def _message(self, notice: Notice, files: list[Path]) -> NoticeIssued:
        return NoticeIssued(
            kind=notice.kind,
            period=notice.period,
            title=notice.title,
            issued_on=issue_date(notice),
            draft=notice.draft,
            missing=list(notice.missing),
            summary=notice.summary + "\n文件：" + "、".join(p.name for p in files),
            files=[p.name for p in files],
            sent_at=self.clock(),
        )

    def _publish(self, claim_id: int, message: NoticeIssued) -> None:
        try:
            self.publisher.publish(message)
        except Exception as exc:
            log.warning("notice %s %s: publishing failed (retried later): %s", message.kind, message.period, exc)
            ledger.mark_published(self.engine, claim_id, self.clock(), error=str(exc) or exc.__class__.__name__)
        else:
            ledger.mark_published(self.engine, claim_id, self.clock())

    def issue(self, kind: str, period: str) -> list[Path] | None:
        """Claim, number, write, record and publish one notice once it is complete; None when it is still a
        draft (its draft files are written, without a 文号) or another scheduler has it."""
        now = self.clock()
        today = now.astimezone(self.config.hall.tz).date()
        draft = self._compose(kind, period, issued_on=today, doc_number=None)
        open_items = readiness(self.config, self.engine, draft)
        if not open_items.ready:
            write(self.config, draft, self.engine)
            log.info("the %s notice %s is a draft (%s): issued once ready", kind, period, "；".join(open_items.lines()))
            return None
        claim = ledger.claim(
            self.engine,
            kind,
            period,
            owner=self.owner,
            issued_on=today,
            number_start=self.config.notices.first_number(today.year),
            now=now,
            stale_after=STALE_CLAIM,
        )
        if claim is None:
            return None
        notice = self._compose(kind, period, issued_on=claim.issued_on, doc_number=claim.doc_number)
        files = write(self.config, notice, self.engine)
        folder = str(notice_folder(self.config, period).resolve())
        ledger.mark_generated(self.engine, claim.id, [p.name for p in files], notice.summary, self.clock(), folder)
        log.info("issued the %s notice %s", kind, period)
        self._publish(claim.id, self._message(notice, files))
        return files

    def catch_up(self) -> list[Path]:
        """Issue every notice that is due and not in the ledger (what each scheduled firing runs)."""
        now = self.clock()
        with Session(self.engine) as session:
            known = {kind: ledger.periods(session, kind) for kind in ("weekly", "monthly")}
            abandoned = ledger.abandoned(session, now - STALE_CLAIM)
        written: list[Path] = []
        for row in abandoned:  # claimed by a scheduler that died before issuing: take it over
            written += self.issue(row.kind, row.period) or []
        for due in due_notices(now, self.config.notices.schedule, self.config.hall.tz, known):
            written += self.issue(due.kind, due.period) or []
        return written

    def refresh(self) -> None:
        """Retry the publications that failed (recorded failures only: a row without an error may be
        mid-publication in another scheduler)."""
        with Session(self.engine) as session:
            unpublished = ledger.unpublished(session)
        for row in unpublished:
            assert row.id is not None
            notice = self._compose(row.kind, row.period, issued_on=row.issued_on, doc_number=row.doc_number)
            self._publish(row.id, self._message(notice, write(self.config, notice, self.engine)))

    def tick(self) -> None:
        """One scheduled firing: catch up, then refresh. Errors are logged; the next firing retries."""
        try:
            self.catch_up()
            self.refresh()
        except Exception:
            log.exception("the notice scheduler's run failed; the next run retries")

    # -- the clock -----------------------------------------------------------------------------

    def start(self) -> BackgroundScheduler:
        """Start APScheduler in the background (for `monitor run`); stop with `shutdown()`."""
        tz = self.config.hall.tz
        schedule = self.config.notices.schedule
        scheduler = BackgroundScheduler(timezone=tz, job_defaults={"coalesce": True, "max_instances": 1})
        scheduler.add_job(
            self.tick,
            CronTrigger(
                day_of_week=schedule.weekly_day,
                hour=schedule.weekly_time.hour,
                minute=schedule.weekly_time.minute,
                timezone=tz,
            ),
            id="weekly-notice",
            misfire_grace_time=3600,
        )
        scheduler.add_job(
            self.tick,
            CronTrigger(
                day=schedule.monthly_day,
                hour=schedule.monthly_time.hour,
                minute=schedule.monthly_time.minute,
                timezone=tz,
            ),
            id="monthly-notice",
            misfire_grace_time=3600,
        )
        scheduler.add_job(
            self.tick,
            IntervalTrigger(seconds=max(1, int(schedule.import_poll.total_seconds())), timezone=tz),
            id="catch-up-and-refresh",
            next_run_time=dt.datetime.now(tz),
        )
        scheduler.start()
        self._scheduler = scheduler
        return scheduler

    def shutdown(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=True)
            self._scheduler = None


def next_runs(config: MonitorConfig, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """When the next weekly notice and the next roll-up fall due after `now` (for the CLI's banner)."""
    tz = config.hall.tz
    schedule = config.notices.schedule
    local = now.astimezone(tz)
    weekly = weekly_due(iso_week(local.date() - dt.timedelta(days=7)), schedule, tz)
    if weekly <= local:
        weekly = weekly_due(iso_week(local.date()), schedule, tz)
    monthly = monthly_due(previous_month(month_of(local.date())), schedule, tz)
    if monthly <= local:
        monthly = monthly_due(month_of(local.date()), schedule, tz)
    return weekly, monthly


def start_in_background(config: MonitorConfig, engine: Engine) -> Callable[[], None]:
    """Start the notice scheduler in background threads (for `monitor run`); returns its stop function."""
    publisher = BrokerAndWebhooks(config)
    service = NoticeScheduler(config, engine, publisher)
    weekly, monthly = next_runs(config, now_utc())
    log.info("notice scheduler: next weekly notice %s, next roll-up %s", weekly, monthly)
    service.start()

    def stop() -> None:
        service.shutdown()
        publisher.close()

    return stop


def run_scheduler(sites: Sequence[MonitorConfig]) -> None:
    """`monitor scheduler`: each site's notices (its own 文号 register), until interrupted (Ctrl-C or SIGTERM)."""
    from monitor.adapters.store.database import open_database

    stop_event = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop_event.set())
    engine = open_database(sites[0].database.url)
    stoppers = [start_in_background(config, engine) for config in sites]
    try:
        stop_event.wait()
    except KeyboardInterrupt:
        pass
    finally:
        for stop in stoppers:
            stop()
