"""The one way a test gets a district: `district_config`, the hall and township centres on one store.

Each site is a copy of the seed hall (93 windows, no cameras) or of the fixture hall (the clips' cameras), under its
own topic prefix, with its own camera service key (`keys/<site>-cameras.key`, the site's `signing_key`) and its own
supervisor (`site_supervisor(site)`, `keys/<site>-supervisor.key`); the district has one supervisor of its own
(DISTRICT_SUPERVISOR), valid at every site. Camera ids are made unique in the district: `<site>-<camera>`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Literal, NamedTuple

from monitor.adapters.keys import read_key, write_key
from monitor.config import MonitorConfig, SignerConfig, load_config
from monitor.config.notices import NoticesConfig
from monitor.config.sites import SiteConfig
from monitor.config.writer import write_config
from monitor.core.signature import SigningKey
from tests.support.config import REPLAY_AGE
from tests.support.paths import FIXTURE_HALL, ROOT, SEED_HALL

DISTRICT_SUPERVISOR = "区督查员"
"""The district office's supervisor: signs at every site (keys/district-supervisor.key)."""

SiteKind = Literal["seed", "fixture"]


class District(NamedTuple):
    config: MonitorConfig
    path: Path
    """The same configuration as a TOML file (`monitor --config PATH --site ID ...`)."""

    def site(self, site: str) -> MonitorConfig:
        return self.config.site_view(site)


def site_supervisor(site: str) -> str:
    """The name of a site's own supervisor."""
    return f"督查员-{site}"


def district_config(
    directory: Path,
    sites: Mapping[str, SiteKind],
    *,
    db_url: str | None = None,
    mqtt_url: str | None = None,
    names: Mapping[str, str] | None = None,
    **sections: object,
) -> District:
    """A district of `sites` (id → which hall it copies), written to `directory/district.toml` and read back.

    The database is the test's own (default a SQLite file in `directory`), the topic prefixes `test/<tag>/<site>` no
    other test uses; `names` sets sites' names (default: the copied hall's name with the site id). `sections` replace
    whole top-level sections of the district (e.g. `presence=...`)."""
    tag = uuid.uuid4().hex[:8]
    seed, fixture = load_config(SEED_HALL), load_config(FIXTURE_HALL)
    site_configs = []
    for site, kind in sites.items():
        hall = seed if kind == "seed" else fixture
        cameras = [
            c.model_copy(update={"id": f"{site}-{c.id}", "url": str(ROOT / c.url) if kind == "fixture" else c.url})
            for c in hall.cameras
        ]
        camera_key = _key(directory, f"{site}-cameras.key", f"cameras-{site}")
        site_configs.append(
            SiteConfig(
                id=site,
                topic_prefix=f"test/{tag}/{site}",
                hall=hall.hall.model_copy(update={"name": (names or {}).get(site, f"{hall.hall.name}（{site}）")}),
                departments=list(hall.departments),
                windows=list(hall.windows),
                staff=list(hall.staff),
                cameras=cameras,
                signing_key=str(directory / "keys" / f"{site}-cameras.key"),
                signers=[
                    SignerConfig(name=f"cameras-{site}", role="camera", public_key=camera_key.public_text()),
                    SignerConfig(
                        name=site_supervisor(site),
                        role="supervisor",
                        public_key=_key(directory, f"{site}-supervisor.key", site_supervisor(site)).public_text(),
                    ),
                ],
                duty=hall.duty,
                rules=list(hall.rules),
                notices=NoticesConfig(doc_number_format=f"{site}发〔{{year}}〕{{number}}号"),
            )
        )
    base = fixture if any(kind == "fixture" for kind in sites.values()) else seed
    district_key = _key(directory, "district-supervisor.key", DISTRICT_SUPERVISOR)
    values = {
        **{name: getattr(base, name) for name in ("calendar", "presence", "evidence", "alerts", "console", "notices")},
        "hall": base.hall.model_copy(update={"name": "区政务服务管理办公室"}),
        "database": base.database.model_copy(update={"url": db_url or f"sqlite:///{directory / 'district.db'}"}),
        "mqtt": base.mqtt.model_copy(update={"client_id": f"test-{tag}", **({"url": mqtt_url} if mqtt_url else {})}),
        "paths": base.paths.model_copy(update={"data_dir": str(directory)}),
        "detector": base.detector.model_copy(update={"weights": str(ROOT / base.detector.weights)}),
        "recorder": base.recorder.model_copy(update={"camera_max_age": REPLAY_AGE}),
        "notices": base.notices.model_copy(update={"output_dir": str(directory / "out")}),
        "signers": [SignerConfig(name=DISTRICT_SUPERVISOR, role="supervisor", public_key=district_key.public_text())],
        "sites": site_configs,
        **sections,
    }
    directory.mkdir(parents=True, exist_ok=True)
    path = write_config(MonitorConfig.model_validate(values), directory / "district.toml")
    return District(load_config(path), path)


def site_key(directory: Path, name: str) -> SigningKey:
    """A key `district_config` made: `<site>-cameras.key`, `<site>-supervisor.key` or `district-supervisor.key`."""
    return read_key(directory / "keys" / name)


def _key(directory: Path, name: str, signer: str) -> SigningKey:
    path = directory / "keys" / name
    if not path.exists():
        write_key(path, SigningKey.generate(signer))
    return read_key(path)
