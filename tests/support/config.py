"""The one way a test gets a hall configuration: `hall_config`.

It copies the seed hall (config/hedong.toml) or the fixture hall (fixtures/videos/hall.toml) onto the
test's own database, broker, topic prefix and folders, applies the test's changes, and writes the
result as a TOML file that the commands load: the test and the process it starts see the very same
configuration (the file is read back, so every value is validated as a hall's own file would be).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Literal, NamedTuple

from pydantic import BaseModel

from monitor.adapters.keys import read_key, write_key
from monitor.config import MonitorConfig, SignerConfig, load_config
from monitor.config.writer import write_config
from monitor.core.signature import Record, SigningKey
from tests.support.paths import FIXTURE_HALL, ROOT, SEED_HALL

SUPERVISOR = "巡查员"
"""The test hall's supervisor: signs patrol findings, dismissals and leave (keys/supervisor.key)."""
CAMERAS = "test-cameras"
"""The test hall's camera service: signs the cameras' incidents (keys/cameras.key, `[paths] signing_key`)."""


REPLAY_AGE = dt.timedelta(days=365 * 30)


class Hall(NamedTuple):
    config: MonitorConfig
    path: Path
    """The same configuration as a TOML file (`monitor --config PATH ...`)."""


def hall_config(
    directory: Path,
    *,
    hall: Literal["seed", "fixture"] = "seed",
    db_url: str | None = None,
    mqtt_url: str | None = None,
    name: str = "hall.toml",
    **sections: object,
) -> Hall:
    """The seed or fixture hall for one test, written to `directory / name`.

    Signed records work as in a hall: a supervisor (SUPERVISOR) and a camera service (CAMERAS) with
    key files in `directory/keys` are the configured [[signers]], and the camera service's key is
    `[paths] signing_key`; `supervisor_key(config)` signs as the supervisor.

    Always the test's own: the database (default a SQLite file in `directory`), the data and notice
    folders (`directory`, `directory/out`), and an MQTT topic prefix and client id no other test uses
    (a shared broker keeps retained messages). `mqtt_url` names the broker (default: the hall file's).
    The fixture hall's camera files and detector weights are made absolute, so that no test depends on
    the working directory.

    `sections` change whole sections: a mapping updates that section's fields (e.g.
    `presence={"stats_every": timedelta(seconds=1)}`), anything else replaces it (e.g. `cameras=[...]`).
    """
    base = load_config(SEED_HALL if hall == "seed" else FIXTURE_HALL)
    tag = uuid.uuid4().hex[:8]
    changes: dict[str, Mapping[str, object]] = {
        "database": {"url": db_url or f"sqlite:///{directory / 'hall.db'}"},
        "mqtt": {"topic_prefix": f"test/{tag}", "client_id": f"test-{tag}", **({"url": mqtt_url} if mqtt_url else {})},
        "paths": {"data_dir": str(directory), "signing_key": str(_key_file(directory, "cameras.key", CAMERAS))},
        "notices": {"output_dir": str(directory / "out")},
        # The tests replay 2020 (the seed's month, the fixture clips): cameras' incidents of any age are
        # accepted, as in the demo; the freshness tests set their own window.
        "recorder": {"camera_max_age": REPLAY_AGE},
    }
    if "signers" not in sections:
        sections["signers"] = [
            SignerConfig(name=name, role=role, public_key=_signing_key(directory, file).public_text())
            for name, role, file in ((SUPERVISOR, "supervisor", "supervisor.key"), (CAMERAS, "camera", "cameras.key"))
        ]
    if hall == "fixture":
        changes["detector"] = {"weights": str(ROOT / base.detector.weights)}
        base = base.model_copy(
            update={"cameras": [c.model_copy(update={"url": str(ROOT / c.url)}) for c in base.cameras]}
        )
    updates: dict[str, object] = {}
    for section in changes.keys() | sections.keys():
        value = sections.get(section, {})
        current = getattr(base, section)
        if isinstance(value, Mapping) and isinstance(current, BaseModel):
            fields = {**current.model_dump(), **changes.get(section, {}), **value}
            updates[section] = type(current).model_validate(fields)  # checked, as the file would be
        else:
            updates[section] = value
    directory.mkdir(parents=True, exist_ok=True)
    path = write_config(base.model_copy(update=updates), directory / name)
    return Hall(load_config(path), path)


def _key_file(directory: Path, name: str, signer: str) -> Path:
    """The key file `directory/keys/name`, made once per test folder."""
    path = directory / "keys" / name
    if not path.exists():
        write_key(path, SigningKey.generate(signer))
    return path


def _signing_key(directory: Path, name: str) -> SigningKey:
    return read_key(_key_file(directory, name, SUPERVISOR if name == "supervisor.key" else CAMERAS))


def supervisor_key(config: MonitorConfig) -> SigningKey:
    """The test hall's supervisor key (the hall made by `hall_config`)."""
    return _signing_key(Path(config.paths.data_dir), "supervisor.key")


def supervisor_key_file(config: MonitorConfig) -> Path:
    """The supervisor's key file, for `monitor ... --key FILE`."""
    return _key_file(Path(config.paths.data_dir), "supervisor.key", SUPERVISOR)


def signed(config: MonitorConfig, record: Record) -> Record:
    """`record` signed by the test hall's supervisor."""
    return supervisor_key(config).sign(record)
