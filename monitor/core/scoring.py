"""Scoring (pure): rule sets + incidents + entered points -> the month's two score sheets.

Deductions are derived, never stored: each comes from one incident and the rule set in force on
that incident's date, so a dismissal, a rule change or a late-arriving incident can never leave a
stale figure behind, and every deducted point can be explained by its incident.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo

from monitor.config import DeductionConfig, MonitorConfig, SheetConfig
from monitor.core.incident import Incident
from monitor.core.periods import month_bounds
from monitor.formatting import plain

Sheet = Literal["staff", "department"]


@dataclass(frozen=True, slots=True)
class Deduction:
    incident_id: str
    sheet: Sheet
    target: str
    """The window id (staff sheet) or the department name (department sheet)."""
    category: str
    points: Decimal
    reason: str
    """For people: e.g. "C20 迟到 12分钟（2020-11-03 09:12）扣1分"."""


@dataclass(frozen=True, slots=True)
class ScoreRow:
    key: str
    """Department name (department sheet) or window id (staff sheet)."""
    department: str
    name: str | None
    scores: dict[str, Decimal]
    """Category -> points in print order, the bonus column last."""
    total: Decimal
    rank: int
    deductions: tuple[Deduction, ...] = ()


@dataclass(frozen=True, slots=True)
class EnteredScores:
    """Points entered by hand for a month (categories cameras cannot see), and bonuses.

    A category not entered is at full marks; a bonus not entered is 0.
    """

    departments: Mapping[str, Mapping[str, Decimal]] = field(default_factory=dict)
    windows: Mapping[str, Mapping[str, Decimal]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MonthScores:
    month: str
    departments: list[ScoreRow]
    staff: list[ScoreRow]


def points_for(rule: DeductionConfig, minutes: int | None, occurrence: int) -> Decimal:
    """Points one incident deducts under `rule`: its duration tier, or the repeat points from the
    `occurrence`-th incident of its window and kind in the month on."""
    points = rule.points
    reached = [t for t in rule.tiers if (minutes or 0) >= t.min_minutes]
    if reached:
        points = max(reached, key=lambda t: t.min_minutes).points
    if rule.repeat_after is not None and rule.repeat_points is not None and occurrence >= rule.repeat_after:
        points = rule.repeat_points
    return points


def _describe(incident: Incident, label: str, tz: ZoneInfo) -> str:
    at = incident.started_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    minutes = f"{incident.minutes}分钟" if incident.minutes else ""
    return f"{incident.window} {label}{minutes}（{at}）"


def deductions_for(incidents: Iterable[Incident], config: MonitorConfig) -> list[Deduction]:
    """Every deduction the standing (not dismissed) incidents cause, in incident time order."""
    tz = config.hall.tz
    standing = sorted((i for i in incidents if not i.dismissed), key=lambda i: (i.started_at, i.id))
    occurrences: dict[tuple[str, str, str], int] = defaultdict(int)
    out: list[Deduction] = []
    for incident in standing:
        local = incident.started_at.astimezone(tz)
        rule = config.rule_set_on(local.date()).deduction(incident.kind)
        if rule is None:
            continue
        key = (incident.window, incident.kind, local.strftime("%Y-%m"))
        occurrences[key] += 1
        points = points_for(rule, incident.minutes, occurrences[key])
        reason = f"{_describe(incident, rule.label, tz)}扣{plain(points)}分"
        if rule.staff_category:
            out.append(Deduction(incident.id, "staff", incident.window, rule.staff_category, points, reason))
        if rule.department_category:
            out.append(
                Deduction(incident.id, "department", incident.department, rule.department_category, points, reason)
            )
    return out


def _sheet_row(
    sheet: SheetConfig,
    entered: Mapping[str, Decimal],
    deductions: list[Deduction],
) -> tuple[dict[str, Decimal], Decimal]:
    scores: dict[str, Decimal] = {}
    for category in sheet.categories:
        points = entered.get(category.name, category.full)
        points -= sum((d.points for d in deductions if d.category == category.name), Decimal(0))
        scores[category.name] = max(sheet.floor, min(points, category.full))
    scores[sheet.bonus] = max(Decimal(0), min(entered.get(sheet.bonus, Decimal(0)), sheet.bonus_cap))
    return scores, sum(scores.values(), Decimal(0))


def score_month(
    config: MonitorConfig,
    month: str,
    incidents: Iterable[Incident],
    entered: EnteredScores | None = None,
) -> MonthScores:
    """Both score sheets of `month` (YYYY-MM). Incidents outside the month are ignored."""
    entered = entered or EnteredScores()
    tz = config.hall.tz
    start, end = month_bounds(month, tz)
    rules = config.rule_set_on(start.date())
    in_month = [i for i in incidents if start <= i.started_at < end]
    by_target: dict[tuple[str, str], list[Deduction]] = defaultdict(list)
    for d in deductions_for(in_month, config):
        by_target[(d.sheet, d.target)].append(d)

    departments: list[ScoreRow] = []
    for dept in config.departments:
        found = by_target[("department", dept.name)]
        scores, total = _sheet_row(rules.department, entered.departments.get(dept.name, {}), found)
        departments.append(ScoreRow(dept.name, dept.name, None, scores, total, 0, tuple(found)))
    # Stable sort: ties keep the configured department order.
    ranked = sorted(departments, key=lambda r: -r.total)
    departments = [
        ScoreRow(r.key, r.department, r.name, r.scores, r.total, rank, r.deductions) for rank, r in enumerate(ranked, 1)
    ]

    staff: list[ScoreRow] = []
    for position, window in enumerate(config.window_list, 1):
        person = config.staff_by_window.get(window.id)
        found = by_target[("staff", window.id)]
        scores, total = _sheet_row(rules.staff, entered.windows.get(window.id, {}), found)
        department = (person.department if person and person.department else None) or window.department
        staff.append(
            ScoreRow(window.id, department, person.name if person else None, scores, total, position, tuple(found))
        )
    return MonthScores(month=month, departments=departments, staff=staff)


def describe_rule(rule: DeductionConfig, effective: dt.date) -> str:
    """The rule behind a deduction, as a person reads it in the 考核办法."""
    parts = [f"{rule.label}每次扣{plain(rule.points)}分"]
    parts += [
        f"{t.min_minutes}分钟及以上扣{plain(t.points)}分" for t in sorted(rule.tiers, key=lambda t: t.min_minutes)
    ]
    if rule.repeat_after is not None and rule.repeat_points is not None:
        parts.append(f"同一窗口当月第{rule.repeat_after}次起每次扣{plain(rule.repeat_points)}分")
    sheets = []
    if rule.staff_category:
        sheets.append(f"个人「{rule.staff_category}」")
    if rule.department_category:
        sheets.append(f"窗口「{rule.department_category}」")
    where = f"，计入{'、'.join(sheets)}" if sheets else ""
    return f"考核办法（{effective.isoformat()}起施行）：{'；'.join(parts)}{where}"
