"""Process wiring shared by the service commands: the embedded broker when configured, the store."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

from monitor.adapters.mqtt.broker import embedded_broker, free_port
from monitor.config import MonitorConfig

log = logging.getLogger(__name__)


@contextlib.contextmanager
def broker_for(config: MonitorConfig) -> Iterator[MonitorConfig]:
    """Run the embedded broker for the duration when `[mqtt] url = "embedded"`.

    Yields the configuration to use: with embedded_port = 0 a free port is chosen and written
    into the yielded copy, so every client of this process finds it.
    """
    if config.mqtt.url != "embedded":
        yield config
        return
    port = config.mqtt.embedded_port or free_port()
    config = config.model_copy(update={"mqtt": config.mqtt.model_copy(update={"embedded_port": port})})
    broker = embedded_broker(config.mqtt.embedded_broker, port, Path(config.paths.data_dir) / "broker")
    broker.start()
    log.info("embedded %s broker on 127.0.0.1:%d", broker.kind, port)
    try:
        yield config
    finally:
        broker.stop()
