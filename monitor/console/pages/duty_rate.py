"""On-duty rate (在岗率): staffed time over observed duty time, per department and window, for a day, week or
month, drawn as bars."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import Session

from monitor.console.auth import Viewer
from monitor.console.context import console_of
from monitor.console.pages.incidents import SPANS, day_or_today
from monitor.console.params import Day, Span
from monitor.core.periods import containing
from monitor.errors import MonitorError
from monitor.services.duty_rate import duty_rates_between

router = APIRouter()


@router.get("/duty-rate")
def duty_rate(request: Request, who: Viewer, span: Span = "month", date: Day = None) -> Response:
    console = console_of(request)
    day = day_or_today(console, date)
    start, end = containing(span, day, console.config.hall.tz)
    now = console.now()
    error = rates = None
    try:
        with Session(console.engine) as session:
            rates = duty_rates_between(console.config, session, start, min(end, max(now, start)))
    except MonitorError as exc:
        error = str(exc)
    return console.page(
        request, "duty_rate.html", {"rates": rates, "error": error, "span": span, "spans": SPANS, "day": day}
    )
