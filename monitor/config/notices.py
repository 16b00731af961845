"""Notices and their schedule: the weekly discipline notice and the monthly roll-up (通报).

Every text a notice prints that is not computed from data is a field here, with the seed
hall's wording as the default, so another hall changes wording without touching code.
Templates use Python `str.format` fields, named in each description.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import Field, field_validator

from monitor.config.base import Section
from monitor.units import Duration

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _time(value: object) -> object:
    if isinstance(value, str):
        try:
            return dt.time.fromisoformat(value)
        except ValueError:
            raise ValueError(f'{value!r}: write a time of day as "HH:MM", e.g. "17:30"') from None
    return value


class ScheduleConfig(Section):
    """When the scheduler issues notices, in the hall's timezone."""

    weekly_day: str = Field(
        "mon",
        description="Weekday of the weekly notice, in the week after the Monday–Sunday week it reports "
        "(so a notice never lists a day after its own date, not even a 调休 working Saturday): "
        "mon, tue, wed, thu, fri, sat or sun.",
    )
    weekly_time: dt.time = Field(dt.time(9, 0), description='Time of day of the weekly notice ("HH:MM").')
    monthly_day: int = Field(1, ge=1, le=28, description="Day of the month the previous month's roll-up is issued.")
    monthly_time: dt.time = Field(dt.time(8, 0), description='Time of day of the monthly roll-up ("HH:MM").')
    catch_up_weeks: int = Field(
        8, ge=0, description="How many past weeks a scheduler started after downtime looks back for missed notices."
    )
    catch_up_months: int = Field(3, ge=0, description="How many past months it looks back for missed roll-ups.")
    import_poll: Duration = Field(
        "5m", description="How often the scheduler checks for imports that arrived after a roll-up was issued."
    )
    publish_timeout: float = Field(10.0, gt=0, description="Seconds to wait for MQTT and webhook deliveries.")

    @field_validator("weekly_day")
    @classmethod
    def _weekday(cls, value: str) -> str:
        value = value.strip().lower()[:3]
        if value not in WEEKDAYS:
            raise ValueError(f"{value!r}: use one of {', '.join(WEEKDAYS)}")
        return value

    @field_validator("weekly_time", "monthly_time", mode="before")
    @classmethod
    def _clock(cls, value: object) -> object:
        return _time(value)


class NoticesConfig(Section):
    output_dir: str = Field("var", description="Notices are written under <output_dir>/notices/<period>/.")
    issuer: str = Field(
        "政务服务管理办公室",
        description="The issuing authority printed at the top of the monthly notice (发文机关标志), "
        "e.g. 临沂市河东区政务服务管理办公室.",
    )
    doc_number_format: str = Field(
        "政管办发〔{year}〕{number}号",
        description="The document number (文号); fields {year} (year of issue) and {number} (counter).",
    )
    doc_number_start: int = Field(
        1,
        ge=1,
        description="The first number of every year's register of 文号 (normally 1); later notices of the year "
        "count on from the register.",
    )
    doc_number_from: dict[int, int] = Field(
        default_factory=dict,
        description="Years whose register does not start at doc_number_start, with their first number: e.g. "
        "{ 2020 = 16 } when the office gave 1–15 by hand before this installation numbered its notices.",
    )
    addressees: str = Field(
        "区直有关部门、上级驻区有关单位，中心各窗口",
        description="主送: who the monthly notice is addressed to (printed followed by '：').",
    )
    monthly_title: str = Field(
        "{hall}{month}月份派驻部门窗口及工作人员考核情况通报",
        description="Monthly title; fields {hall} (hall name), {year}, {month} (1-12).",
    )
    weekly_title: str = Field(
        "{hall}{span}工作纪律情况通报",
        description="Weekly title; fields {hall} and {span}, the week as a hall says it (2020年11月2日至11月8日).",
    )
    weekly_rectification: str = Field(
        "请相关派驻部门督促窗口工作人员立即整改，严格遵守中心工作纪律，并于{deadline}前将整改情况报中心办公室。",
        description="The rectification demanded at the end of a weekly notice with violations (整改要求); field "
        "{deadline}, the date it is due (rectification_days after the issue date, e.g. 11月16日).",
    )
    rectification_days: int = Field(
        7, ge=1, le=60, description="Days after a weekly notice's issue date by which the rectification is reported."
    )
    rules_title: str = Field(
        "《派驻部门窗口及工作人员考核办法》", description="The assessment rules' title as section 一 cites them."
    )
    imprint: str | None = Field(
        None,
        description="Office named in the 版记 line '<imprint> <date>印发' at the end; default the hall's office.",
    )
    copy_to: str = Field(
        "",
        description="抄送: who receives a copy, printed in the 版记 as '抄送：<copy_to>。' "
        "(e.g. 区委办公室，区政府办公室); empty: no 抄送 line.",
    )
    header_format: str = Field(
        "{name} ({full} 分)", description="Score sheet column headers; fields {name} and {full} (full marks)."
    )
    case_categories: list[str] = Field(
        default_factory=lambda: ["行政审批", "便民服务", "公共服务", "收费"],
        min_length=1,
        description="Case-volume categories in Attachment 3's column order (the cases import's headers).",
    )
    notable_change: Decimal = Field(
        Decimal(50),
        gt=0,
        description="A department whose case volume changed by at least this percentage month over month "
        "is a notable change: section 二 prints it with the reason imported for it.",
    )
    top_departments: int = Field(5, ge=1, description="How many windows section 一 names (考核前五名).")
    top_staff: int = Field(10, ge=1, description="How many staff section 一 names (考核前十名).")
    top_volume: int = Field(10, ge=1, description="How many departments section 二 names by case volume.")
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig, description="When notices are issued.")
    publish_webhooks: bool = Field(True, description="Post each issued notice's summary to the alert webhooks.")

    def first_number(self, year: int) -> int:
        """Where `year`'s register of 文号 starts: each year afresh at doc_number_start, unless doc_number_from
        names the year."""
        return self.doc_number_from.get(year, self.doc_number_start)
