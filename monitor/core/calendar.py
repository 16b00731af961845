"""The duty calendar (pure): which days are working days and when duty sessions run.

China moves working days around holidays (调休), so "weekday" is not "working day". The
`chinesecalendar` package knows the State Council's schedule for the years it covers; a hall enters
later years' published schedules in its configuration; per-date overrides of the hall win over
both. A day no source covers raises `CalendarError`: guessing would invent or hide violations.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import chinese_calendar

from monitor.config import CalendarConfig, DutyConfig, SeasonConfig
from monitor.errors import CalendarError


@dataclass(frozen=True, slots=True)
class DutySession:
    """One duty session on one day, as aware datetimes in the hall's timezone."""

    name: str
    start: dt.datetime
    end: dt.datetime

    def contains(self, moment: dt.datetime) -> bool:
        return self.start <= moment < self.end


def _in_season(season: SeasonConfig, day: dt.date) -> bool:
    key = day.strftime("%m-%d")
    if season.start <= season.end:
        return season.start <= key <= season.end
    return key >= season.start or key <= season.end


@dataclass(frozen=True)
class WorkCalendar:
    """Working days and duty sessions of one hall."""

    calendar: CalendarConfig
    duty: DutyConfig
    tz: ZoneInfo

    def is_working_day(self, day: dt.date) -> bool:
        for override in self.calendar.overrides:
            if override.date == day:
                return override.working
        for year in self.calendar.years:
            if year.year == day.year:
                if day in year.workdays:
                    return True
                return day.weekday() < 5 and day not in year.holidays
        if self.calendar.statutory:
            try:
                return bool(chinese_calendar.is_workday(day))
            except NotImplementedError:
                pass
        raise CalendarError(
            f"no holiday schedule for {day.year}: the chinesecalendar package does not cover it and the "
            f"configuration has no [[calendar.years]] entry with year = {day.year}. Enter that year's "
            "published holidays and 调休 working days there.",
            year=day.year,
        )

    def season_on(self, day: dt.date) -> SeasonConfig:
        matches = [s for s in self.duty.seasons if _in_season(s, day)]
        if len(matches) != 1:
            names = ", ".join(s.name for s in matches) or "none"
            raise CalendarError(f"{day}: duty seasons must cover each day exactly once (found: {names})")
        return matches[0]

    def sessions_on(self, day: dt.date) -> list[DutySession]:
        """The duty sessions of `day`, empty when the hall is closed."""
        if not self.is_working_day(day):
            return []
        return [
            DutySession(
                name=s.name,
                start=dt.datetime.combine(day, s.start, self.tz),
                end=dt.datetime.combine(day, s.end, self.tz),
            )
            for s in self.season_on(day).sessions
        ]

    def session_at(self, moment: dt.datetime) -> DutySession | None:
        """The session `moment` (aware) falls in, or None outside duty hours and on closed days."""
        local = moment.astimezone(self.tz)
        return next((s for s in self.sessions_on(local.date()) if s.contains(local)), None)
