"""Duty sessions (上午/下午, seasonal hours) and the working-day calendar (holidays, 调休)."""

from __future__ import annotations

import datetime as dt

from pydantic import Field, field_validator, model_validator

from monitor.config.base import Section


class SessionConfig(Section):
    name: str = Field(description="Session name as notices print it, e.g. 上午 or 下午.")
    start: dt.time = Field(description="Start of duty, local time (HH:MM).")
    end: dt.time = Field(description="End of duty, local time (HH:MM).")

    @model_validator(mode="after")
    def _ordered(self) -> SessionConfig:
        if self.end <= self.start:
            raise ValueError(f"session {self.name!r} ends ({self.end}) before it starts ({self.start})")
        return self


class SeasonConfig(Section):
    """Duty hours for part of the year, e.g. summer hours from 05-01 to 09-30."""

    name: str = Field("全年", description="Season name, e.g. 夏季 or 冬季.")
    start: str = Field("01-01", description="First day of the season, MM-DD (inclusive).")
    end: str = Field("12-31", description="Last day of the season, MM-DD (inclusive); may wrap past 12-31.")
    sessions: list[SessionConfig] = Field(min_length=1, description="Duty sessions of a working day, in order.")

    @field_validator("start", "end")
    @classmethod
    def _month_day(cls, value: str) -> str:
        try:
            dt.date.fromisoformat(f"2000-{value}")
        except ValueError as exc:
            raise ValueError(f'{value!r} is not a month-day such as "05-01"') from exc
        return value

    @model_validator(mode="after")
    def _sessions_in_order(self) -> SeasonConfig:
        for before, after in zip(self.sessions, self.sessions[1:], strict=False):
            if after.start < before.end:
                raise ValueError(f"session {after.name!r} starts before session {before.name!r} ends")
        return self


def _default_seasons() -> list[SeasonConfig]:
    return [
        SeasonConfig(
            sessions=[
                SessionConfig(name="上午", start=dt.time(9), end=dt.time(12)),
                SessionConfig(name="下午", start=dt.time(13, 30), end=dt.time(17)),
            ]
        )
    ]


class DutyConfig(Section):
    seasons: list[SeasonConfig] = Field(
        default_factory=_default_seasons,
        description="Duty hours by season; every day of the year must fall in exactly one season.",
    )


class YearScheduleConfig(Section):
    """A year's published holiday schedule (国务院办公厅 notice), for years the package does not know."""

    year: int = Field(description="The year this schedule covers.")
    holidays: list[dt.date] = Field(default_factory=list, description="Statutory holidays (days off).")
    workdays: list[dt.date] = Field(
        default_factory=list, description="Make-up working days (调休) that fall on weekends."
    )

    @model_validator(mode="after")
    def _dates_in_year(self) -> YearScheduleConfig:
        for day in [*self.holidays, *self.workdays]:
            if day.year != self.year:
                raise ValueError(f"{day} is listed in the schedule for {self.year}")
        return self


class DateOverrideConfig(Section):
    date: dt.date = Field(description="The date.")
    working: bool = Field(description="True: the hall is open (duty applies); false: closed.")
    reason: str = Field("", description="Why, for the record (e.g. 中心停电, 周六延时服务).")


class CalendarConfig(Section):
    statutory: bool = Field(
        True, description="Use the chinesecalendar package for holidays and 调休 in the years it covers."
    )
    years: list[YearScheduleConfig] = Field(
        default_factory=list, description="Published schedules for years chinesecalendar does not cover."
    )
    overrides: list[DateOverrideConfig] = Field(
        default_factory=list, description="Per-date openings and closings of this hall; they win over all else."
    )
