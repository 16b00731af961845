"""On-duty rate (在岗率): staffed time over observed duty time, per department and window, for a day, a Monday–Sunday
week or a month, drawn as bars, lowest rate first: what needs attention comes first, and the departments and windows
with nothing observed are one line, not a row each."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import Session

from monitor.console.auth import Viewer
from monitor.console.context import Console
from monitor.console.deps import ConsoleDep, Db
from monitor.console.params import SPAN_WORDS, Period, PeriodQuery
from monitor.core.duty_rate import DepartmentRate, DutyRates, WindowRate, by_rate
from monitor.errors import MonitorError
from monitor.services.duty_rate import duty_rates

router = APIRouter()


@dataclass(frozen=True, slots=True)
class DutyChart:
    """A period's rates as the page and its downloads show them."""

    rates: DutyRates
    departments: list[DepartmentRate]
    """Departments with something observed, lowest rate first."""
    unobserved_departments: list[DepartmentRate]
    windows: list[WindowRate]
    """Windows with something observed, lowest rate first."""
    unobserved_windows: list[WindowRate]
    until: str
    """For a period not over yet, up to when it is counted (截至12月3日 14:20); empty otherwise."""


def duty_chart(console: Console, session: Session, period: Period) -> DutyChart:
    """The rates of `period`, counted up to now when it is not over; MonitorError when the hall's calendar cannot
    say its duty days (a year it has no schedule for)."""
    tz = console.config.hall.tz
    rates = duty_rates(console.config, session, period.kind, period.key, now=console.now())
    departments, unobserved_departments = by_rate(rates.departments)
    windows, unobserved_windows = by_rate(rates.windows)
    _, end = period.bounds(tz)
    until = ""
    if rates.end < end:
        local = rates.end.astimezone(tz)
        until = "尚未开始" if rates.end <= rates.start else f"截至{local.month}月{local.day}日 {local:%H:%M}"
    return DutyChart(rates, departments, unobserved_departments, windows, unobserved_windows, until)


@router.get("/duty-rate")
def duty_rate(request: Request, who: Viewer, console: ConsoleDep, session: Db, period: PeriodQuery) -> Response:
    error = chart = None
    try:
        chart = duty_chart(console, session, period)
    except MonitorError as exc:
        error = str(exc)
    return console.page(
        request,
        "duty_rate.html",
        {
            "chart": chart,
            "error": error,
            "period": period,
            "spans": SPAN_WORDS,
            "downloads": period.query(),
        },
    )
