"""A month's two score sheets as the office reads them: the scores, and what the sheets cannot know yet.

A category no incident deducts from (办件管理, 综合管理, 好差评 on the seed's department sheet) comes only from the
points the office enters; until they are imported the sheet shows it at full marks and the bonus at 0. A sheet that
does not say so reads as if every department earned full marks, so the month's missing inputs are listed in the
monthly notice's own words (monitor.core.notices.monthly.inputs_missing) and those columns are marked.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel import Session

from monitor.adapters.store.incidents import changes_after, load_incidents
from monitor.adapters.store.inputs import load_month_inputs
from monitor.config import MonitorConfig, SheetConfig
from monitor.core.notices.frame import doc_number_text
from monitor.core.notices.monthly import inputs_missing
from monitor.core.periods import month_bounds
from monitor.core.scoring import EnteredScores, MonthScores, Sheet, score_month
from monitor.services.notices import issued_entry


@dataclass(frozen=True, slots=True)
class Issued:
    """The month's notice is issued: its 文号 and date, and how many incidents (corrections), dismissals or
    reinstatements were recorded after it (each makes the sheets differ from what the notice printed, until a
    correction is issued)."""

    doc_number: str
    issued_on: dt.date
    changed_since: int


@dataclass(frozen=True, slots=True)
class ScoreSheets:
    scores: MonthScores
    missing: tuple[str, ...]
    """The month's inputs not imported, one line each, as the monthly notice's 缺少 says them."""
    pending: dict[Sheet, frozenset[str]]
    """Per sheet, the columns shown at full marks (the bonus at 0) because their entered points are not imported."""
    issued: Issued | None = None
    """The month's notice, when it is issued."""


def _entered_only(sheet: SheetConfig, deducted: set[str | None]) -> frozenset[str]:
    """The columns of `sheet` only entered points fill: the categories no incident deducts from, and the bonus."""
    return frozenset({*(c.name for c in sheet.categories if c.name not in deducted), sheet.bonus})


def score_sheets(session: Session, config: MonitorConfig, month: str) -> ScoreSheets:
    """Both sheets of `month` (YYYY-MM) from its incidents and imported points, with what is not imported."""
    start, end = month_bounds(month, config.hall.tz)
    inputs = load_month_inputs(session, config, month)
    entered = EnteredScores(departments=inputs.department_points or {}, windows=inputs.window_points or {})
    scores = score_month(config, month, load_incidents(session, start, end), entered)
    rules = config.rule_set_on(dt.date.fromisoformat(f"{month}-01"))
    pending: dict[Sheet, frozenset[str]] = {
        "department": frozenset()
        if inputs.department_points is not None
        else _entered_only(rules.department, {d.department_category for d in rules.deductions}),
        "staff": frozenset()
        if inputs.window_points is not None
        else _entered_only(rules.staff, {d.staff_category for d in rules.deductions}),
    }
    return ScoreSheets(scores, inputs_missing(month, inputs), pending, _issued(session, config, month, start, end))


def _issued(session: Session, config: MonitorConfig, month: str, start: dt.datetime, end: dt.datetime) -> Issued | None:
    entry = issued_entry(session, "monthly", month)
    if entry is None or entry.doc_year is None or entry.doc_number is None:
        return None
    since = entry.generated_at or entry.claimed_at
    return Issued(
        doc_number_text(config, entry.doc_year, entry.doc_number),
        entry.issued_on,
        changes_after(session, start, end, since),
    )
