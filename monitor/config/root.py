"""The root of the configuration: every section, and the views of the hall the services share."""

from __future__ import annotations

import datetime as dt
from functools import cached_property

from pydantic import ConfigDict, Field, ValidationError, field_validator, model_validator

from monitor.config.alerts import AlertsConfig
from monitor.config.base import Section
from monitor.config.calendar import CalendarConfig, DutyConfig
from monitor.config.checks import (
    check_cameras,
    check_departments,
    check_rules,
    check_signers,
    check_staff,
    check_windows,
)
from monitor.config.console import ConsoleConfig
from monitor.config.hall import DepartmentConfig, HallConfig, StaffConfig, WindowGroupConfig, expand_window_ids
from monitor.config.mqtt import MqttConfig
from monitor.config.notices import NoticesConfig
from monitor.config.presence import PresenceConfig
from monitor.config.rules import RuleSetConfig
from monitor.config.signers import SignerConfig
from monitor.config.sites import DEFAULT_SITE, SiteConfig, check_site_id, check_sites
from monitor.config.storage import DatabaseConfig, EvidenceConfig, PathsConfig, RecorderConfig
from monitor.config.video import CameraConfig, DetectorConfig


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

    site: str = Field(
        DEFAULT_SITE,
        description="The site this configuration describes; with [[sites]], each site's view names its own "
        "(monitor.config.sites).",
    )
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
    recorder: RecorderConfig = Field(default_factory=RecorderConfig, description="The recorder.")
    cameras: list[CameraConfig] = Field(default_factory=list, description="Cameras and their seat zones.")
    detector: DetectorConfig = Field(default_factory=DetectorConfig, description="The person detector.")
    presence: PresenceConfig = Field(default_factory=PresenceConfig, description="Presence thresholds.")
    notices: NoticesConfig = Field(default_factory=NoticesConfig, description="Notices and their schedule.")
    console: ConsoleConfig = Field(default_factory=ConsoleConfig, description="The supervisor console (web).")
    signers: list[SignerConfig] = Field(
        default_factory=list,
        description="Who may sign records: supervisors and camera services, with their public keys "
        "(docs/security.md). The recorder refuses an incident, dismissal or leave no signer here signed. With "
        "[[sites]]: the district's signers (the console, district supervisors), valid at every site.",
    )
    in_district: bool = Field(
        False,
        description="Set in each site's view of a district (not written in a file): what the site shows and sends "
        "names the site where one reader may see several (alerts).",
    )
    sites: list[SiteConfig] = Field(
        default_factory=list,
        description="The district's sites (the hall and the township centres), each with its own windows, staff, "
        "cameras, signers and topics; empty: this file is one hall, the site `site`.",
    )

    @field_validator("site")
    @classmethod
    def _site(cls, value: str) -> str:
        return check_site_id(value)

    @model_validator(mode="after")
    def _consistent(self) -> MonitorConfig:
        departments = check_departments(self.departments)
        windows = check_windows(self.windows, departments)
        check_staff(self.staff, windows, departments)
        check_cameras(self.cameras, windows)
        check_rules(self.rules)
        check_signers(self.signers, {c.id for c in self.cameras})
        check_sites(self.sites, self.signers, self.cameras)
        _ = self.site_views  # each site's own checks, now: an error names its site when the file is loaded
        return self

    @property
    def district(self) -> bool:
        """Whether this configuration describes several sites (`[[sites]]`)."""
        return bool(self.sites)

    @property
    def site_views(self) -> dict[str, MonitorConfig]:
        """Each site's configuration, as one hall's: what its recorder, scheduler, cameras and console pages read.
        Without [[sites]], this configuration itself under its `site`. Built on each call (not cached: a copy of this
        configuration with another broker port must give views with that port)."""
        if not self.sites:
            return {self.site: self}
        views: dict[str, MonitorConfig] = {}
        numbering: dict[str, str] = {}
        for index, site in enumerate(self.sites):
            try:
                views[site.id] = view = self._view_of(site)
            except ValidationError as exc:
                reasons = "; ".join(
                    f"{'.'.join(str(p) for p in e['loc']) or site.id}: {e['msg'].removeprefix('Value error, ')}"
                    for e in exc.errors()
                )
                raise ValueError(f"sites[{index}] ({site.id}): {reasons}") from None
            number = view.notices.doc_number_format
            if number in numbering:
                raise ValueError(
                    f"sites[{index}] ({site.id}): its notices would be numbered as site {numbering[number]}'s "
                    f"({number}): each site keeps its own register of 文号, so give it its own "
                    '[sites.notices] doc_number_format (e.g. "新河便民发〔{year}〕{number}号")'
                )
            numbering[number] = site.id
        return views

    def site_view(self, site: str) -> MonitorConfig:
        """One site's configuration (`site_views`); KeyError for a site the district does not have."""
        if not self.sites:
            return {self.site: self}[site]
        (chosen,) = [s for s in self.sites if s.id == site] or [None]
        if chosen is None:
            raise KeyError(site)
        return self._view_of(chosen)

    def _notices_of(self, site: SiteConfig) -> NoticesConfig:
        """The district's [notices] with what the site's own `[sites.notices]` sets (its 文号 format, its issuer …),
        written under a folder of the site's own unless it names one."""
        own = site.notices.model_dump(include=site.notices.model_fields_set) if site.notices else {}
        merged = {**self.notices.model_dump(), **own}
        if "output_dir" not in own:
            merged["output_dir"] = f"{self.notices.output_dir.rstrip('/')}/{site.id}"
        return NoticesConfig.model_validate(merged)

    def _view_of(self, site: SiteConfig) -> MonitorConfig:
        """The district's sections, with the site's own in their place: its hall, windows, staff, cameras, topics; the
        district's signers and its own; duty, calendar, rules and departments where it sets them. Its recorder's MQTT
        session, its files and its notices are its own (client id, data folder, notices folder by its id)."""
        values = {name: getattr(self, name) for name in type(self).model_fields if name != "sites"}
        values.update(
            site=site.id,
            in_district=True,
            hall=site.hall,
            windows=site.windows,
            staff=site.staff,
            cameras=site.cameras,
            signers=[*self.signers, *site.signers],
            mqtt=self.mqtt.model_copy(
                update={"topic_prefix": site.topic_prefix, "client_id": f"{self.mqtt.client_id}-{site.id}"}
            ),
            paths=self.paths.model_copy(
                update={
                    "data_dir": f"{self.paths.data_dir.rstrip('/')}/{site.id}",
                    "signing_key": site.signing_key or self.paths.signing_key,
                }
            ),
            notices=self._notices_of(site),
        )
        for name in ("departments", "duty", "calendar", "rules"):
            if (own := getattr(site, name)) is not None:
                values[name] = own
        return MonitorConfig.model_validate(values)

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
    def signers_by_name(self) -> dict[str, SignerConfig]:
        return {s.name: s for s in self.signers}

    @cached_property
    def staff_by_window(self) -> dict[str, StaffConfig]:
        return {s.window: s for s in self.staff}

    def rule_set_on(self, day: dt.date) -> RuleSetConfig:
        """The rule set in force on `day`; the earliest set if `day` precedes them all."""
        in_force = [r for r in self.rules if r.effective <= day]
        return max(in_force, key=lambda r: r.effective) if in_force else min(self.rules, key=lambda r: r.effective)
