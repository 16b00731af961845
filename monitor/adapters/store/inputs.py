"""The month's imported inputs in the store: each part replaced as a whole when imported again.

Decimal points are stored as their text so every backend gives back exactly what was imported.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlmodel import Session, col, delete, select

from monitor.adapters.store.tables import (
    CaseVolumeRow,
    ChangeReasonRow,
    EnteredScoreRow,
    HonorRow,
    InputImportRow,
    ReviewCountRow,
)
from monitor.config import MonitorConfig
from monitor.core.inputs.types import CaseVolume, ChangeReason, HonorEntry, MonthInputs, ReviewCount, ScoresImport


def _replace(session: Session, table: type, month: str, **where: str) -> None:
    statement = delete(table).where(col(table.month) == month)  # type: ignore[attr-defined]
    for key, value in where.items():
        statement = statement.where(col(getattr(table, key)) == value)
    session.exec(statement)  # type: ignore[call-overload]


def _log(session: Session, month: str, part: str, source: str, rows: int, now: dt.datetime) -> None:
    session.add(InputImportRow(month=month, part=part, source=source, rows=rows, imported_at=now))


def save_cases(session: Session, month: str, volumes: list[CaseVolume], source: str, now: dt.datetime) -> None:
    _replace(session, CaseVolumeRow, month)
    for position, volume in enumerate(volumes):
        for category, count in volume.counts.items():
            session.add(
                CaseVolumeRow(
                    month=month, position=position, department=volume.department, category=category, count=count
                )
            )
    _log(session, month, "cases", source, len(volumes), now)


def save_reviews(session: Session, month: str, reviews: list[ReviewCount], source: str, now: dt.datetime) -> None:
    _replace(session, ReviewCountRow, month)
    for position, r in enumerate(reviews):
        five, four, three, two, one = r.stars
        session.add(
            ReviewCountRow(
                month=month,
                position=position,
                department=r.department,
                five=five,
                four=four,
                three=three,
                two=two,
                one=one,
                complaints=r.complaints,
                follow_up_rate=None if r.follow_up_rate is None else str(r.follow_up_rate),
                follow_up_satisfaction=None if r.follow_up_satisfaction is None else str(r.follow_up_satisfaction),
            )
        )
    _log(session, month, "reviews", source, len(reviews), now)


def save_scores(session: Session, month: str, scores: ScoresImport, source: str, now: dt.datetime) -> list[str]:
    """Replace the parts the import has; returns their names."""
    saved = []
    for sheet, part in (("department", scores.departments), ("window", scores.windows)):
        if part is None:
            continue
        _replace(session, EnteredScoreRow, month, sheet=sheet)
        for target, points in part.items():
            for category, value in points.items():
                session.add(
                    EnteredScoreRow(month=month, sheet=sheet, target=target, category=category, points=str(value))
                )
        _log(session, month, f"{sheet}_scores", source, len(part), now)
        saved.append(f"{sheet}_scores")
    if scores.honors is not None:
        _replace(session, HonorRow, month)
        for position, entry in enumerate(scores.honors):
            session.add(HonorRow(month=month, position=position, name=entry.name, department=entry.department))
        _log(session, month, "honors", source, len(scores.honors), now)
        saved.append("honors")
    if scores.reasons is not None:
        _replace(session, ChangeReasonRow, month)
        for position, reason in enumerate(scores.reasons):
            session.add(
                ChangeReasonRow(
                    month=month,
                    position=position,
                    department=reason.department,
                    reason=reason.reason,
                    business=reason.business,
                )
            )
        _log(session, month, "reasons", source, len(scores.reasons), now)
        saved.append("reasons")
    return saved


def load_month_inputs(session: Session, config: MonitorConfig, month: str) -> MonthInputs:
    parts = set(session.exec(select(InputImportRow.part).where(InputImportRow.month == month)).all())
    cases: list[CaseVolume] | None = None
    if "cases" in parts:
        by_dept: dict[str, CaseVolume] = {}
        rows = session.exec(
            select(CaseVolumeRow).where(CaseVolumeRow.month == month).order_by(col(CaseVolumeRow.position))
        ).all()
        for row in rows:
            by_dept.setdefault(row.department, CaseVolume(row.department, {})).counts[row.category] = row.count
        order = config.notices.case_categories
        cases = [CaseVolume(v.department, {c: v.counts.get(c, 0) for c in order}) for v in by_dept.values()]
    reviews: list[ReviewCount] | None = None
    if "reviews" in parts:
        reviews = [
            ReviewCount(
                r.department,
                (r.five, r.four, r.three, r.two, r.one),
                r.complaints,
                None if r.follow_up_rate is None else Decimal(r.follow_up_rate),
                None if r.follow_up_satisfaction is None else Decimal(r.follow_up_satisfaction),
            )
            for r in session.exec(
                select(ReviewCountRow).where(ReviewCountRow.month == month).order_by(col(ReviewCountRow.position))
            ).all()
        ]
    points: dict[str, dict[str, dict[str, Decimal]]] = {}
    for sheet in ("department", "window"):
        if f"{sheet}_scores" in parts:
            found: dict[str, dict[str, Decimal]] = {}
            for row in session.exec(
                select(EnteredScoreRow)
                .where(EnteredScoreRow.month == month, EnteredScoreRow.sheet == sheet)
                .order_by(col(EnteredScoreRow.id))
            ).all():
                found.setdefault(row.target, {})[row.category] = Decimal(row.points)
            points[sheet] = found
    honors = (
        [
            HonorEntry(h.name, h.department)
            for h in session.exec(select(HonorRow).where(HonorRow.month == month).order_by(col(HonorRow.position)))
        ]
        if "honors" in parts
        else None
    )
    reasons = (
        [
            ChangeReason(r.department, r.reason, r.business)
            for r in session.exec(
                select(ChangeReasonRow).where(ChangeReasonRow.month == month).order_by(col(ChangeReasonRow.position))
            )
        ]
        if "reasons" in parts
        else None
    )
    return MonthInputs(month, cases, reviews, points.get("department"), points.get("window"), honors, reasons)
