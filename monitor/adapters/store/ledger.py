"""The notice ledger (adapter): one row per notice kind and period.

A scheduler claims a notice by inserting its row; the unique (kind, period) constraint makes the
insert fail for every other scheduler, so a notice is never issued twice. A claim whose owner died
before issuing goes stale and may be taken over by a conditional update, which again only one
scheduler can win. The monthly 文号 is allocated in the same insert; a unique (kind, year, number)
constraint makes two claims for different months retry rather than share a number.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from sqlalchemy import Engine, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from monitor.adapters.store.tables import NoticeLedgerRow

CLAIMED = "claimed"
ISSUED = "issued"


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
    """The next monthly 文号 of `year`: one past the highest used, or the configured start."""
    highest = session.exec(
        select(func.max(NoticeLedgerRow.doc_number)).where(
            NoticeLedgerRow.kind == "monthly", NoticeLedgerRow.doc_year == year
        )
    ).one()
    return max(start, (highest or 0) + 1)


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
) -> Claim | None:
    """Claim (kind, period) for `owner`; None when another scheduler has it (or issued it already)."""
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
            number = next_number(session, issued_on.year, number_start) if kind == "monthly" else None
            row = NoticeLedgerRow(
                kind=kind,
                period=period,
                state=CLAIMED,
                claimed_by=owner,
                claimed_at=now,
                issued_on=issued_on,
                doc_year=issued_on.year if number is not None else None,
                doc_number=number,
            )
            session.add(row)
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                continue  # another claim won this period (seen next round) or took this number (retry)
            assert row.id is not None
            return Claim(row.id, kind, period, issued_on, number)
    return None


def mark_generated(engine: Engine, claim_id: int, files: list[str], summary: str, now: dt.datetime) -> None:
    with Session(engine) as session:
        row = session.get(NoticeLedgerRow, claim_id)
        assert row is not None
        row.files = json.dumps(files, ensure_ascii=False)
        row.summary = summary
        row.generated_at = now
        row.state = ISSUED
        session.add(row)
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


def take_regeneration(engine: Engine, row: NoticeLedgerRow, now: dt.datetime) -> bool:
    """Bump generated_at if nobody else did since `row` was read: only one scheduler regenerates."""
    with Session(engine) as session:
        result = session.execute(
            update(NoticeLedgerRow)
            .where(col(NoticeLedgerRow.id) == row.id, col(NoticeLedgerRow.generated_at) == row.generated_at)
            .values(generated_at=now)
        )
        session.commit()
        return result.rowcount == 1  # type: ignore[attr-defined]
