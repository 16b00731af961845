"""The simulated district's configuration, built in code: the seed hall and N township centres, each site with
synthetic cameras over its windows and a camera service key of its own.

The hall is the seed hall (monitor/halls/hedong.toml: 93 windows, its departments, staff, duty hours and rules), its
windows shared out among `hall_cameras` cameras. Each centre (镇街便民服务中心) has `centre_windows` windows numbered
1, 2, ... as a centre numbers them (the same numbers at every centre: the store keys them by site), of five of the
hall's departments in turn, shared out among `centre_cameras` cameras. Camera ids are unique in the district
(`<site>-cam01`); the cameras' stream URLs are never opened (the simulation publishes what their service would).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from importlib.resources import as_file, files

from monitor.config import CameraConfig, MonitorConfig, SignerConfig, load_config
from monitor.config.hall import WindowGroupConfig
from monitor.config.sites import DEFAULT_SITE, SiteConfig
from monitor.config.video import SeatZoneConfig
from monitor.core.signature import SigningKey
from monitor.errors import InputError

SIM_DAY = dt.date(2020, 11, 3)
"""The simulated day: a Tuesday, a working day of the seed hall's calendar (winter duty hours, 09:00-12:00)."""
SIM_START = dt.time(9, 20)
"""The simulated clock starts here: an empty post of 15 minutes found at once began inside the morning session."""
SIM_END = dt.time(11, 55)
"""The run must end before the morning session does (the recorder refuses incidents outside duty hours)."""
CENTRE_DEPARTMENTS = ("行政审批服务局", "人社局", "医保局", "税务局", "不动产登记交易中心")
"""A township centre's windows belong to these of the hall's departments, in turn."""


@dataclass(frozen=True, slots=True)
class SimSite:
    id: str
    bridged: bool
    """A township centre: its cameras publish to its own Mosquitto, bridged to the district's. The hall's publish to
    the district's broker directly (the district's server stands in the hall)."""
    prefix: str
    key: SigningKey
    """The site's camera service key (its signer `cameras-<site>`): it signs the site's incidents only."""
    cameras: dict[str, tuple[str, ...]]
    """Camera id -> the windows it watches."""


@dataclass(frozen=True, slots=True)
class SimDistrict:
    config: MonitorConfig
    sites: tuple[SimSite, ...]
    start: dt.datetime
    """The simulated moment the run starts (aware): SIM_START of SIM_DAY in the hall's time zone."""

    @property
    def windows(self) -> int:
        return sum(len(w) for site in self.sites for w in site.cameras.values())

    @property
    def cameras(self) -> int:
        return sum(len(site.cameras) for site in self.sites)

    def site(self, site: str) -> SimSite:
        return next(s for s in self.sites if s.id == site)


def centre_ids(centres: int) -> list[str]:
    return [f"centre-{n:02d}" for n in range(1, centres + 1)]


def share_out(windows: list[str], cameras: int, site: str) -> dict[str, tuple[str, ...]]:
    """`cameras` cameras over the windows in order, each seeing a run of neighbours (the first ones one more when
    they do not divide evenly)."""
    if not 1 <= cameras <= len(windows):
        raise InputError(f"bench-district: {site} has {len(windows)} windows, so 1 to {len(windows)} cameras")
    size, extra = divmod(len(windows), cameras)
    out: dict[str, tuple[str, ...]] = {}
    first = 0
    for n in range(cameras):
        count = size + (1 if n < extra else 0)
        out[f"{site}-cam{n + 1:02d}"] = tuple(windows[first : first + count])
        first += count
    return out


def _camera(camera: str, windows: tuple[str, ...]) -> CameraConfig:
    """A camera whose seat zones lie side by side across the picture (the zones are never read: no video)."""
    width = 1 / len(windows)
    zones = [
        SeatZoneConfig(
            window=window,
            polygon=[
                [round((k + 0.1) * width, 4), 0.2],
                [round((k + 0.9) * width, 4), 0.2],
                [round((k + 0.9) * width, 4), 0.7],
                [round((k + 0.1) * width, 4), 0.7],
            ],
        )
        for k, window in enumerate(windows)
    ]
    return CameraConfig(id=camera, url=f"rtsp://127.0.0.1:8554/{camera}", windows=zones)


def build_district(
    *,
    centres: int,
    centre_windows: int,
    centre_cameras: int,
    hall_windows: int,
    hall_cameras: int,
    db_url: str,
    mqtt_url: str,
    tag: str,
    data_dir: str,
) -> SimDistrict:
    """The district's configuration (MonitorConfig with [[sites]]) on the given database and district broker."""
    with as_file(files("monitor") / "halls" / "hedong.toml") as path:
        seed = load_config(path)
    if not 1 <= hall_windows <= len(seed.window_list):
        raise InputError(f"bench-district: --hall-windows 1 to {len(seed.window_list)} (the seed hall's)")
    if centre_windows < 1 or centres < 0:
        raise InputError("bench-district: --centre-windows at least 1, --centres at least 0")
    hall = seed.window_list[:hall_windows]
    kept = {w.id for w in hall}
    plans: list[tuple[str, list[WindowGroupConfig], list[str], int]] = [
        (
            DEFAULT_SITE,
            [WindowGroupConfig(ids=[w.id], departments=list(w.departments)) for w in hall]
            if hall_windows < len(seed.window_list)
            else list(seed.windows),
            [w.id for w in hall],
            hall_cameras,
        )
    ]
    numbers = [str(n) for n in range(1, centre_windows + 1)]
    groups = [
        WindowGroupConfig(ids=[n], departments=[CENTRE_DEPARTMENTS[k % len(CENTRE_DEPARTMENTS)]])
        for k, n in enumerate(numbers)
    ]
    plans += [(centre, groups, numbers, centre_cameras) for centre in centre_ids(centres)]
    sites: list[SimSite] = []
    site_configs: list[SiteConfig] = []
    for site, window_groups, window_ids, cameras in plans:
        key = SigningKey.generate(f"cameras-{site}")
        watched = share_out(window_ids, cameras, site)
        prefix = f"bench{tag}/{site}"
        sites.append(SimSite(site, site != DEFAULT_SITE, prefix, key, watched))
        name = seed.hall.name if site == DEFAULT_SITE else f"镇街便民服务中心{site.removeprefix('centre-')}"
        site_configs.append(
            SiteConfig(
                id=site,
                topic_prefix=prefix,
                hall=seed.hall.model_copy(update={"name": name}),
                departments=list(seed.departments),
                windows=window_groups,
                staff=[s for s in seed.staff if site == DEFAULT_SITE and s.window in kept],
                cameras=[_camera(camera, windows) for camera, windows in watched.items()],
                signers=[SignerConfig(name=key.name, role="camera", public_key=key.public_text())],
                # Each site numbers its own notices (its own 文号 register); the hall's are the district's.
                notices=None
                if site == DEFAULT_SITE
                else seed.notices.model_copy(
                    update={
                        "doc_number_format": f"{name}发〔{{year}}〕{{number}}号",
                        "output_dir": f"{data_dir}/notices/{site}",
                    }
                ),
            )
        )
    config = MonitorConfig.model_validate(
        {
            **{name: getattr(seed, name) for name in ("calendar", "duty", "rules", "presence", "alerts")},
            "hall": seed.hall.model_copy(update={"name": "区政务服务管理办公室"}),
            "departments": list(seed.departments),
            "windows": list(seed.windows),
            "database": seed.database.model_copy(update={"url": db_url}),
            "mqtt": seed.mqtt.model_copy(
                update={"url": mqtt_url, "topic_prefix": f"bench{tag}/district", "client_id": f"bench-{tag}"}
            ),
            "paths": seed.paths.model_copy(update={"data_dir": data_dir}),
            "notices": seed.notices.model_copy(update={"output_dir": f"{data_dir}/notices"}),
            "sites": site_configs,
        }
    )
    start = dt.datetime.combine(SIM_DAY, SIM_START, tzinfo=config.hall.tz)
    return SimDistrict(config, tuple(sites), start)
