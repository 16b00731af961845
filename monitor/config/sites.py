"""The district's sites: the central hall and the township centres (镇街便民服务中心), each with its own windows,
staff, cameras, signers and topics, sharing the district's calendar, duty hours and rules unless it sets its own.

A configuration without `[[sites]]` is one site, `DEFAULT_SITE`: what every single-hall installation is, and what the
store's migration names the records it already holds (docs/deploy.md, "The district").
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from monitor.config.base import Section
from monitor.config.calendar import CalendarConfig, DutyConfig
from monitor.config.hall import DepartmentConfig, HallConfig, StaffConfig, WindowGroupConfig
from monitor.config.mqtt import check_topic_prefix
from monitor.config.notices import NoticesConfig
from monitor.config.rules import RuleSetConfig
from monitor.config.signers import SignerConfig
from monitor.config.video import CameraConfig

DEFAULT_SITE = "hall"
"""The site of a configuration without `[[sites]]`, and of every record stored before there were sites."""

SITE_ID = re.compile(r"^[a-z][a-z0-9-]{0,31}$")


def check_site_id(value: str) -> str:
    if not SITE_ID.match(value):
        raise ValueError(
            f"{value!r}: a site id is 1 to 32 lowercase letters, digits or '-', starting with a letter (e.g. xinhe)"
        )
    return value


class SiteConfig(Section):
    """One site of the district. Sections left out are the district's (the configuration's top level)."""

    id: str = Field(description="The site's key: in the store, in account scopes and in commands (--site).")
    topic_prefix: str = Field(
        description="The prefix of the site's MQTT topics, e.g. linDong/xinhe: its bridge carries only these."
    )
    hall: HallConfig = Field(description="The site's name as its notices and pages print it, and its office.")
    departments: list[DepartmentConfig] | None = Field(
        None, description="The site's departments; default: the district's."
    )
    windows: list[WindowGroupConfig] = Field(min_length=1, description="The site's windows.")
    staff: list[StaffConfig] = Field(default_factory=list, description="The site's staff roster.")
    cameras: list[CameraConfig] = Field(
        default_factory=list, description="The site's cameras (ids unique in the district)."
    )
    signers: list[SignerConfig] = Field(
        default_factory=list,
        description="Who may sign the site's records besides the district's own signers: its supervisors and its "
        "camera service, whose key then signs only this site's incidents.",
    )
    signing_key: str | None = Field(
        None,
        description="The key file the site's camera service signs with (its public key one of the site's signers, "
        "role camera); default: the district's [paths] signing_key.",
    )
    duty: DutyConfig | None = Field(None, description="The site's duty hours; default: the district's.")
    calendar: CalendarConfig | None = Field(None, description="The site's working days; default: the district's.")
    rules: list[RuleSetConfig] | None = Field(None, description="The site's rule sets; default: the district's.")
    notices: NoticesConfig | None = Field(
        None,
        description="What the site's notices do not share with the district's [notices]: at least its 文号 "
        "(doc_number_format: each site keeps its own register, so no two sites may number alike), maybe its issuer, "
        "addressees or titles; the rest is the district's. Written under a folder of its own unless it sets "
        "output_dir.",
    )

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        return check_site_id(value)

    @field_validator("topic_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        return check_topic_prefix(value)


def check_sites(
    sites: list[SiteConfig], district_signers: list[SignerConfig], district_cameras: list[CameraConfig]
) -> None:
    """Ids, topic prefixes, camera ids and signer names each unique in the district; no prefix inside another's topics
    (a bridge or an ACL for one site would carry the other's)."""
    if sites and district_cameras:
        raise ValueError("with [[sites]], cameras belong to their site ([[sites.cameras]]), not to the top level")
    ids: set[str] = set()
    prefixes: dict[str, str] = {}
    cameras: dict[str, str] = {}
    signers = {s.name: "the district" for s in district_signers}
    for index, site in enumerate(sites):
        where = f"sites[{index}] ({site.id})"
        if site.id in ids:
            raise ValueError(f"{where}: the site id {site.id} is listed twice")
        ids.add(site.id)
        for other, prefix in prefixes.items():
            if _nested(site.topic_prefix, prefix):
                raise ValueError(
                    f"{where}: topic_prefix {site.topic_prefix} overlaps site {other}'s {prefix}: "
                    "give each site a prefix of its own, neither inside the other"
                )
        prefixes[site.id] = site.topic_prefix
        for camera in site.cameras:
            if camera.id in cameras:
                raise ValueError(
                    f"{where}: camera {camera.id} is also site {cameras[camera.id]}'s: "
                    "camera ids are unique in the district"
                )
            cameras[camera.id] = site.id
        for signer in site.signers:
            if signer.name in signers:
                raise ValueError(
                    f"{where}: signer {signer.name} is also {signers[signer.name]}'s: "
                    "signer names are unique in the district"
                )
            signers[signer.name] = f"site {site.id}"


def _nested(a: str, b: str) -> bool:
    return a == b or a.startswith(b + "/") or b.startswith(a + "/")
