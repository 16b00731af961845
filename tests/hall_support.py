"""Test helpers: the seed hall pointed at a test's own database, broker and topic prefix."""

from __future__ import annotations

import uuid
from pathlib import Path

from monitor.config import MonitorConfig

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
"""The workplace's shared folder beside the repository: real detector weights and images, when present."""


def hall_config(
    hedong: MonitorConfig, *, db_url: str, mqtt_url: str, data_dir: Path, **alerts: object
) -> MonitorConfig:
    """The seed hall on the given database and broker, under a topic prefix and client id of its own."""
    tag = uuid.uuid4().hex[:8]
    return hedong.model_copy(
        update={
            "database": hedong.database.model_copy(update={"url": db_url}),
            "mqtt": hedong.mqtt.model_copy(
                update={"url": mqtt_url, "topic_prefix": f"test/{tag}", "client_id": f"test-{tag}"}
            ),
            "paths": hedong.paths.model_copy(update={"data_dir": str(data_dir)}),
            "alerts": hedong.alerts.model_copy(update=alerts),
        }
    )


def config_file(config: MonitorConfig, path: Path) -> Path:
    """Write `config` as a TOML file the CLI can load (the seed file's hall, these services)."""
    seed = (ROOT / "config" / "hedong.toml").read_text(encoding="utf-8")
    hall = seed[: seed.index("[database]")]
    path.write_text(
        hall
        + f'[database]\nurl = "{config.database.url}"\n\n'
        + f'[mqtt]\nurl = "{config.mqtt.url}"\ntopic_prefix = "{config.mqtt.topic_prefix}"\n'
        + f'client_id = "{config.mqtt.client_id}"\nembedded_port = {config.mqtt.embedded_port}\n\n'
        + f'[paths]\ndata_dir = "{config.paths.data_dir}"\n',
        encoding="utf-8",
    )
    return path
