"""The hall: its name, its departments (派驻部门), its windows (窗口) and the staff roster."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from monitor.config.base import Section

_RANGE = re.compile(r"^([A-Za-z]*)(\d+)\s*[-~]\s*([A-Za-z]*)(\d+)$")


def expand_window_ids(spec: str) -> list[str]:
    """Expand "A01-A14" into A01..A14 (zero padding kept), "1-9" into 1..9; a single id is itself."""
    spec = spec.strip()
    match = _RANGE.match(spec)
    if not match:
        if not spec:
            raise ValueError("empty window id")
        return [spec]
    prefix, first, prefix2, last = match.groups()
    if prefix2 and prefix2 != prefix:
        raise ValueError(f"window range {spec!r} mixes prefixes {prefix!r} and {prefix2!r}")
    if int(last) < int(first):
        raise ValueError(f"window range {spec!r} runs backwards")
    width = len(first) if first.startswith("0") else 0
    return [f"{prefix}{n:0{width}d}" for n in range(int(first), int(last) + 1)]


class HallConfig(Section):
    name: str = Field("示例政务服务中心", description="The hall's name as notices print it (区政务服务中心).")
    office: str = Field(
        "政务服务管理办公室", description="The issuing office named in a notice's 落款 (区政务服务管理办公室)."
    )
    timezone: str = Field("Asia/Shanghai", description="IANA timezone of the hall; times are stored as UTC.")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f'unknown timezone {value!r}: use an IANA name such as "Asia/Shanghai"') from exc
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class DepartmentConfig(Section):
    name: str = Field(description="Department name exactly as the notices print it.")
    counted_in_totals: bool = Field(
        True,
        description="False for a unit listed in the tables but not counted in the hall's totals "
        "(e.g. a city-level unit, 上级驻区单位).",
    )

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, data: object) -> object:
        return {"name": data} if isinstance(data, str) else data


class WindowGroupConfig(Section):
    """One or more consecutive windows with the same department(s).

    `ids` takes single ids and ranges: "A01-A14", "C09", "1-9".
    """

    ids: list[str] = Field(description='Window ids or ranges, e.g. ["A01-A14"].')
    departments: list[str] = Field(min_length=1, description="The department(s) the windows belong to.")
    label: str | None = Field(
        None,
        description="Department cell as Attachment 2 prints it when it differs from the department "
        "names joined with '、' (e.g. 开发区税务局 for a 税务局 window).",
    )

    @field_validator("ids", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("departments", mode="before")
    @classmethod
    def _department_one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value


class StaffConfig(Section):
    window: str = Field(description="The window the person staffs.")
    name: str = Field(description="The person's name as notices print it.")
    department: str | None = Field(
        None, description="The person's department; defaults to the window's first department."
    )
