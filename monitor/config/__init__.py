"""Configuration: a tree of validated sections loaded from one TOML file.

`load_config(path)` is the only entry point; any problem raises `ConfigError` with a message that
names the file, the key (and line where TOML syntax is at fault) and what to do.
"""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from functools import cached_property
from pathlib import Path

from pydantic import ConfigDict, Field, ValidationError, model_validator

from monitor.config.alerts import AlertsConfig, WebhookConfig
from monitor.config.base import Section
from monitor.config.calendar import CalendarConfig, DutyConfig, SeasonConfig, SessionConfig
from monitor.config.hall import (
    DepartmentConfig,
    HallConfig,
    StaffConfig,
    WindowGroupConfig,
    expand_window_ids,
)
from monitor.config.mqtt import MqttConfig
from monitor.config.notices import NoticesConfig
from monitor.config.presence import PresenceConfig
from monitor.config.rules import DeductionConfig, RuleSetConfig, SheetConfig
from monitor.config.storage import DatabaseConfig, EvidenceConfig, PathsConfig
from monitor.config.video import CameraConfig, DetectorConfig
from monitor.errors import ConfigError

__all__ = [
    "AlertsConfig",
    "CalendarConfig",
    "CameraConfig",
    "ConfigError",
    "DatabaseConfig",
    "DeductionConfig",
    "DepartmentConfig",
    "DetectorConfig",
    "DutyConfig",
    "EvidenceConfig",
    "HallConfig",
    "MonitorConfig",
    "MqttConfig",
    "NoticesConfig",
    "PathsConfig",
    "PresenceConfig",
    "RuleSetConfig",
    "SeasonConfig",
    "SessionConfig",
    "SheetConfig",
    "StaffConfig",
    "WebhookConfig",
    "Window",
    "config_path",
    "load_config",
]

ENV_CONFIG = "MONITOR_CONFIG"


class Window(Section):
    """One window after the groups are expanded."""

    id: str
    departments: tuple[str, ...]
    label: str

    @property
    def department(self) -> str:
        """The department charged when nobody rostered says otherwise."""
        return self.departments[0]


def _default_departments() -> list[DepartmentConfig]:
    return [DepartmentConfig(name="综合受理"), DepartmentConfig(name="税务局")]


def _default_windows() -> list[WindowGroupConfig]:
    return [
        WindowGroupConfig(ids=["A01-A02"], departments=["综合受理"]),
        WindowGroupConfig(ids=["A03"], departments=["税务局"]),
    ]


class MonitorConfig(Section):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, ignored_types=(cached_property,))

    hall: HallConfig = Field(default_factory=HallConfig, description="The hall.")
    departments: list[DepartmentConfig] = Field(
        default_factory=_default_departments,
        description="Departments in Attachment 1's order (ties in the ranking keep this order).",
    )
    windows: list[WindowGroupConfig] = Field(
        default_factory=_default_windows, description="Windows in Attachment 2's order."
    )
    staff: list[StaffConfig] = Field(default_factory=list, description="Staff roster, one person per window.")
    duty: DutyConfig = Field(default_factory=DutyConfig, description="Duty hours.")
    calendar: CalendarConfig = Field(default_factory=CalendarConfig, description="Working days.")
    rules: list[RuleSetConfig] = Field(
        default_factory=lambda: [RuleSetConfig()], description="Rule sets by effective date."
    )
    database: DatabaseConfig = Field(default_factory=DatabaseConfig, description="The store.")
    mqtt: MqttConfig = Field(default_factory=MqttConfig, description="The broker.")
    alerts: AlertsConfig = Field(default_factory=AlertsConfig, description="Supervisor alerts.")
    paths: PathsConfig = Field(default_factory=PathsConfig, description="Local files.")
    evidence: EvidenceConfig = Field(default_factory=EvidenceConfig, description="Evidence snapshots.")
    cameras: list[CameraConfig] = Field(default_factory=list, description="Cameras and their seat zones.")
    detector: DetectorConfig = Field(default_factory=DetectorConfig, description="The person detector.")
    presence: PresenceConfig = Field(default_factory=PresenceConfig, description="Presence thresholds.")
    notices: NoticesConfig = Field(default_factory=NoticesConfig, description="Notices and their schedule.")

    @model_validator(mode="after")
    def _consistent(self) -> MonitorConfig:
        names = [d.name for d in self.departments]
        if dupes := sorted({n for n in names if names.count(n) > 1}):
            raise ValueError(f"departments: listed twice: {', '.join(dupes)}")
        known = set(names)
        seen: set[str] = set()
        for index, group in enumerate(self.windows):
            for dept in group.departments:
                if dept not in known:
                    raise ValueError(
                        f"windows[{index}] ({', '.join(group.ids)}): department {dept!r} is not in [departments]"
                    )
            for spec in group.ids:
                for wid in expand_window_ids(spec):
                    if wid in seen:
                        raise ValueError(f"windows[{index}]: window {wid} is listed twice")
                    seen.add(wid)
        staffed: set[str] = set()
        for index, person in enumerate(self.staff):
            if person.window not in seen:
                raise ValueError(f"staff[{index}] ({person.name}): window {person.window!r} is not in [windows]")
            if person.window in staffed:
                raise ValueError(f"staff[{index}] ({person.name}): window {person.window} already has a person")
            staffed.add(person.window)
            if person.department and person.department not in known:
                raise ValueError(f"staff[{index}] ({person.name}): department {person.department!r} is unknown")
        watched: dict[str, str] = {}
        for index, camera in enumerate(self.cameras):
            for zone in camera.windows:
                if zone.window not in seen:
                    raise ValueError(f"cameras[{index}] ({camera.id}): window {zone.window!r} is not in [windows]")
                if zone.window in watched:
                    # Two cameras judging one seat would report one absence twice.
                    raise ValueError(
                        f"cameras[{index}] ({camera.id}): window {zone.window} is already watched by camera "
                        f"{watched[zone.window]}"
                    )
                watched[zone.window] = camera.id
        camera_ids = [c.id for c in self.cameras]
        if len(set(camera_ids)) != len(camera_ids):
            raise ValueError("cameras: two cameras have the same id")
        if not self.rules:
            raise ValueError("rules: at least one rule set is needed")
        dates = [r.effective for r in self.rules]
        if len(set(dates)) != len(dates):
            raise ValueError("rules: two rule sets take effect on the same date")
        return self

    @cached_property
    def window_list(self) -> tuple[Window, ...]:
        """All windows in configured order, groups expanded."""
        return tuple(
            Window(id=wid, departments=tuple(g.departments), label=g.label or "、".join(g.departments))
            for g in self.windows
            for spec in g.ids
            for wid in expand_window_ids(spec)
        )

    @cached_property
    def window_by_id(self) -> dict[str, Window]:
        return {w.id: w for w in self.window_list}

    @cached_property
    def staff_by_window(self) -> dict[str, StaffConfig]:
        return {s.window: s for s in self.staff}

    def rule_set_on(self, day: dt.date) -> RuleSetConfig:
        """The rule set in force on `day`; the earliest set if `day` precedes them all."""
        in_force = [r for r in self.rules if r.effective <= day]
        return max(in_force, key=lambda r: r.effective) if in_force else min(self.rules, key=lambda r: r.effective)


def config_path(explicit: str | os.PathLike[str] | None) -> Path | None:
    """The file to load: --config, else $MONITOR_CONFIG, else None (embedded defaults)."""
    chosen = explicit or os.environ.get(ENV_CONFIG)
    return Path(chosen) if chosen else None


def _format_loc(loc: tuple[object, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _line_of(text: str, loc: tuple[object, ...]) -> int | None:
    """Best effort: the line of the last named key in `loc`, when it appears once in the file."""
    keys = [p for p in loc if isinstance(p, str)]
    if not keys:
        return None
    key = keys[-1]
    hits = [
        n
        for n, line in enumerate(text.splitlines(), 1)
        if line.strip().startswith((f"{key} ", f"{key}=", f"[{key}]", f"[[{key}]]"))
    ]
    return hits[0] if len(hits) == 1 else None


def load_config(path: str | os.PathLike[str] | None = None) -> MonitorConfig:
    """Load and validate a configuration file; None gives the embedded defaults."""
    if path is None:
        return MonitorConfig()
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{file}: no such file (set --config or {ENV_CONFIG} to the hall's .toml)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: cannot read it: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from None
    try:
        return MonitorConfig.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = _format_loc(err["loc"])
            line = _line_of(text, err["loc"])
            at = f"{file}:{line}" if line else str(file)
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                message = "unknown key (a typo? `monitor check-config --help` lists the sections)"
            problems.append(f"{at}: {where}: {message}")
        raise ConfigError("\n".join(problems)) from None
