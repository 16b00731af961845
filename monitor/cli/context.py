"""What every subcommand shares: the chosen configuration, loaded once and on demand."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import typer

from monitor.config import MonitorConfig, config_path, load_config


@dataclass
class CliState:
    config_file: Path | None
    _config: MonitorConfig | None = field(default=None, repr=False)

    @property
    def source(self) -> str:
        path = config_path(self.config_file)
        return str(path) if path else "embedded defaults"

    @property
    def config(self) -> MonitorConfig:
        if self._config is None:
            self._config = load_config(config_path(self.config_file))
        return self._config


def state(ctx: typer.Context) -> CliState:
    obj = ctx.find_root().obj
    assert isinstance(obj, CliState)
    return obj
