"""The notice ledger (adapter): one row per notice kind and period.

A scheduler claims a notice by inserting its row; the unique (kind, period) constraint makes the
insert fail for every other scheduler, so a notice is never issued twice. A claim whose owner died
before issuing goes stale and may be taken over by a conditional update, which again only one
scheduler can win. The 文号 is taken from the office's register (`doc_register`) in the same
transaction; its unique (year, number) constraint makes two claims retry rather than share a
number, across kinds, and a corrected notice's old number stays registered (superseded), so no
number is ever given twice.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from sqlalchemy import Engine, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from monitor.adapters.store.tables import DocRegisterRow, NoticeLedgerRow

CLAIMED = "claimed"
ISSUED = "issued"
SUPERSEDED = "superseded"


@dataclass(frozen=True, slots=True)
class Claim:
    id: int
    kind: str
    period: str
    issued_on: dt.date
    doc_number: int | None


def entry(session: Session, kind: str, period: str) -> NoticeLedgerRow | None:
    return session.exec(
        select(NoticeLedgerRow).where(NoticeLedgerRow.kind == kind, NoticeLedgerRow.period == period)
    ).first()


def next_number(session: Session, year: int, start: int) -> int:
    """The next 文号 of `year` in the register: one past the highest ever given, or the configured start."""
    highest = session.exec(select(func.max(DocRegisterRow.doc_number)).where(DocRegisterRow.doc_year == year)).one()
    return max(start, (highest or 0) + 1)


def number_holder(session: Session, year: int, number: int) -> DocRegisterRow | None:
    """Who holds 文号 `number` of `year` in the register, if anyone."""
    return session.exec(
        select(DocRegisterRow).where(DocRegisterRow.doc_year == year, DocRegisterRow.doc_number == number)
    ).first()


@dataclass(frozen=True, slots=True)
class Issuer:
    """Who issues a notice and what they confirmed it without ("" when it was ready)."""

    name: str = ""
    """The account; "" for the scheduler."""
    confirmed: str = ""


SCHEDULER = Issuer()


def _register(
    session: Session, kind: str, period: str, issued_on: dt.date, number: int, now: dt.datetime, issuer: Issuer
) -> None:
    session.add(
        DocRegisterRow(
            doc_year=issued_on.year,
            doc_number=number,
            kind=kind,
            period=period,
            issued_on=issued_on,
            state=ISSUED,
            recorded_at=now,
            issued_by=issuer.name,
            confirmed=issuer.confirmed,
        )
    )


def register(session: Session) -> list[DocRegisterRow]:
    """Every 文号 ever given, the newest first."""
    return list(
        session.exec(
            select(DocRegisterRow).order_by(col(DocRegisterRow.doc_year).desc(), col(DocRegisterRow.doc_number).desc())
        ).all()
    )


def abandoned(session: Session, before: dt.datetime) -> list[NoticeLedgerRow]:
    """Claims whose owner has not issued them since `before` (it died): another scheduler takes them over."""
    return list(
        session.exec(
            select(NoticeLedgerRow).where(NoticeLedgerRow.state == CLAIMED, NoticeLedgerRow.claimed_at < before)
        ).all()
    )


def unpublished(session: Session) -> list[NoticeLedgerRow]:
    """Issued notices whose publication failed (recorded failures only: a row without an error may be
    mid-publication in another scheduler)."""
    return list(
        session.exec(
            select(NoticeLedgerRow).where(
                NoticeLedgerRow.state == ISSUED,
                NoticeLedgerRow.published_at == None,  # noqa: E711
                NoticeLedgerRow.last_error != "",
            )
        ).all()
    )


def periods(session: Session, kind: str) -> set[str]:
    return set(session.exec(select(NoticeLedgerRow.period).where(NoticeLedgerRow.kind == kind)).all())


def issued(session: Session, kind: str, wanted: list[str]) -> set[str]:
    if not wanted:
        return set()
    return set(
        session.exec(
            select(NoticeLedgerRow.period).where(
                NoticeLedgerRow.kind == kind,
                NoticeLedgerRow.state == ISSUED,
                col(NoticeLedgerRow.period).in_(wanted),
            )
        ).all()
    )


def claim(
    engine: Engine,
    kind: str,
    period: str,
    *,
    owner: str,
    issued_on: dt.date,
    number_start: int,
    now: dt.datetime,
    stale_after: dt.timedelta,
    number: int | None = None,
    issuer: Issuer = SCHEDULER,
) -> Claim | None:
    """Claim (kind, period) for `owner` with 文号 `number` (default the register's next); None when
    another scheduler has it (or issued it already)."""
    for _attempt in range(5):
        with Session(engine) as session:
            existing = entry(session, kind, period)
            if existing is not None:
                if existing.state != CLAIMED or existing.claimed_at > now - stale_after:
                    return None
                # Take over a stale claim: only the update that still sees the old claim wins.
                result = session.execute(
                    update(NoticeLedgerRow)
                    .where(
                        col(NoticeLedgerRow.id) == existing.id,
                        col(NoticeLedgerRow.state) == CLAIMED,
                        col(NoticeLedgerRow.claimed_by) == existing.claimed_by,
                        col(NoticeLedgerRow.claimed_at) == existing.claimed_at,
                    )
                    .values(claimed_by=owner, claimed_at=now)
                )
                session.commit()
                if result.rowcount != 1:  # type: ignore[attr-defined]
                    return None
                assert existing.id is not None
                return Claim(existing.id, kind, period, existing.issued_on, existing.doc_number)
            given = number or next_number(session, issued_on.year, number_start)
            _register(session, kind, period, issued_on, given, now, issuer)
            row = NoticeLedgerRow(
                kind=kind,
                period=period,
                state=CLAIMED,
                claimed_by=owner,
                claimed_at=now,
                issued_on=issued_on,
                doc_year=issued_on.year,
                doc_number=given,
            )
            session.add(row)
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                continue  # another claim won this period (seen next round) or took this number (retry)
            assert row.id is not None
            return Claim(row.id, kind, period, issued_on, given)
    return None


def correct(
    engine: Engine,
    kind: str,
    period: str,
    *,
    owner: str,
    issued_on: dt.date,
    number_start: int,
    now: dt.datetime,
    number: int | None = None,
    issuer: Issuer = SCHEDULER,
    kept_in: str = "",
) -> Claim | None:
    """Re-issue an issued notice as a correction (更正): its old 文号 stays registered as superseded (its files
    `kept_in` that folder, when they were moved), the notice takes a new one and the new date. None when the
    period was never issued."""
    with Session(engine) as session:
        row = entry(session, kind, period)
        if row is None or row.state != ISSUED:
            return None
        if row.doc_number is not None and row.doc_year is not None:
            old = number_holder(session, row.doc_year, row.doc_number)
            if old is not None:
                old.state = SUPERSEDED
                old.folder = kept_in or old.folder
                session.add(old)
        given = number or next_number(session, issued_on.year, number_start)
        _register(session, kind, period, issued_on, given, now, issuer)
        row.doc_year, row.doc_number, row.issued_on = issued_on.year, given, issued_on
        row.claimed_by, row.claimed_at, row.published_at = owner, now, None
        session.add(row)
        session.commit()
        assert row.id is not None
        return Claim(row.id, kind, period, issued_on, given)


def mark_generated(
    engine: Engine, claim_id: int, files: list[str], summary: str, now: dt.datetime, folder: str
) -> None:
    """The notice's files (names) are written in `folder`: it is issued."""
    with Session(engine) as session:
        row = session.get(NoticeLedgerRow, claim_id)
        assert row is not None
        row.files = json.dumps(files, ensure_ascii=False)
        row.summary = summary
        row.generated_at = now
        row.state = ISSUED
        row.folder = folder
        session.add(row)
        if row.doc_year is not None and row.doc_number is not None:
            registered = number_holder(session, row.doc_year, row.doc_number)
            if registered is not None:
                registered.files = row.files
                registered.folder = folder
                session.add(registered)
        session.commit()


def mark_published(engine: Engine, claim_id: int, now: dt.datetime, error: str = "") -> None:
    with Session(engine) as session:
        row = session.get(NoticeLedgerRow, claim_id)
        assert row is not None
        if not error:
            row.published_at = now
        row.last_error = error
        session.add(row)
        session.commit()
