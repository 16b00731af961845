"""The assessment rule table (考核办法): score categories, full marks and deductions per incident kind.

Rules change over time, so the table is a list of rule sets, each with the date it takes effect;
an incident is judged by the set in force on its date, a month's sheets by the set in force on
the month's first day.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import Field, model_validator

from monitor.config.base import Section


class CategoryConfig(Section):
    name: str = Field(description="Category name exactly as the seed prints it, e.g. 窗口出勤.")
    full: Decimal = Field(gt=0, description="Full marks, e.g. 30.")


class SheetConfig(Section):
    """The categories of one score sheet (departments' or staff's), in print order."""

    categories: list[CategoryConfig] = Field(min_length=1, description="Scored categories, in print order.")
    bonus: str = Field("加分", description="Name of the bonus column.")
    bonus_cap: Decimal = Field(Decimal(10), ge=0, description="Most bonus points a row can get.")
    floor: Decimal = Field(Decimal(0), description="No category goes below this (扣完为止).")

    def category(self, name: str) -> CategoryConfig | None:
        return next((c for c in self.categories if c.name == name), None)


class TierConfig(Section):
    min_minutes: int = Field(ge=0, description="From this duration (minutes) on, the tier's points apply.")
    points: Decimal = Field(ge=0, description="Points deducted in this tier.")


class DeductionConfig(Section):
    kind: str = Field(description="Incident kind: late_arrival, empty_post, early_leave or a hall's own.")
    label: str = Field(description="The kind as notices print it: 迟到, 空岗, 早退.")
    points: Decimal = Field(ge=0, description="Points deducted per incident.")
    tiers: list[TierConfig] = Field(
        default_factory=list,
        description="Duration-dependent points (e.g. 离岗 over 15 minutes: 3); the highest tier reached wins.",
    )
    repeat_after: int | None = Field(
        None, ge=1, description="From the Nth incident of this kind at a window in a month on, ..."
    )
    repeat_points: Decimal | None = Field(None, ge=0, description="... this many points are deducted instead.")
    staff_category: str | None = Field("工作纪律", description="Staff category deducted (none: null).")
    department_category: str | None = Field("窗口出勤", description="Department category deducted (none: null).")

    @model_validator(mode="after")
    def _repeat_pair(self) -> DeductionConfig:
        if (self.repeat_after is None) != (self.repeat_points is None):
            raise ValueError("repeat_after and repeat_points go together")
        return self


def _dept_sheet() -> SheetConfig:
    return SheetConfig(
        categories=[
            CategoryConfig(name="窗口出勤", full=Decimal(30)),
            CategoryConfig(name="办件管理", full=Decimal(20)),
            CategoryConfig(name="综合管理", full=Decimal(40)),
            CategoryConfig(name="好差评", full=Decimal(10)),
        ]
    )


def _staff_sheet() -> SheetConfig:
    return SheetConfig(
        categories=[
            CategoryConfig(name="工作纪律", full=Decimal(40)),
            CategoryConfig(name="人员出勤", full=Decimal(30)),
            CategoryConfig(name="规范服务", full=Decimal(20)),
            CategoryConfig(name="综合评议", full=Decimal(10)),
        ]
    )


def _deductions() -> list[DeductionConfig]:
    return [
        DeductionConfig(kind="late_arrival", label="迟到", points=Decimal(1)),
        DeductionConfig(kind="empty_post", label="空岗", points=Decimal(10)),
        DeductionConfig(kind="early_leave", label="早退", points=Decimal(1)),
    ]


class RuleSetConfig(Section):
    effective: dt.date = Field(dt.date(2000, 1, 1), description="First day this rule set is in force.")
    department: SheetConfig = Field(default_factory=_dept_sheet, description="Department (window) sheet.")
    staff: SheetConfig = Field(default_factory=_staff_sheet, description="Staff sheet.")
    deductions: list[DeductionConfig] = Field(
        default_factory=_deductions, description="Points deducted per incident kind."
    )

    @model_validator(mode="after")
    def _categories_exist(self) -> RuleSetConfig:
        kinds = [d.kind for d in self.deductions]
        if len(set(kinds)) != len(kinds):
            raise ValueError(f"an incident kind is listed twice in deductions: {kinds}")
        for d in self.deductions:
            if d.staff_category and not self.staff.category(d.staff_category):
                raise ValueError(f"deduction {d.kind!r}: staff category {d.staff_category!r} is not on the staff sheet")
            if d.department_category and not self.department.category(d.department_category):
                raise ValueError(
                    f"deduction {d.kind!r}: department category {d.department_category!r} "
                    "is not on the department sheet"
                )
        return self

    def deduction(self, kind: str) -> DeductionConfig | None:
        return next((d for d in self.deductions if d.kind == kind), None)
