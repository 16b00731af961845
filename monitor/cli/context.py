"""What every subcommand shares: the chosen configuration, loaded once and on demand."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import typer

from monitor.config import MonitorConfig, config_path, load_config
from monitor.errors import InputError


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


def parse_time(text: str, config: MonitorConfig, option: str = "--at") -> dt.datetime:
    """An ISO 8601 time from the command line; without an offset it is the hall's local time."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InputError(
            f"{option} {text!r}: not an ISO 8601 time such as 2020-11-03T09:12 or 2020-11-03T09:12+08:00"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=config.hall.tz)


def checked(check: Callable[[str], str], text: str, flag: str) -> str:
    """A period checked by the calendar (monitor.core.periods), its error prefixed with the option it came from."""
    try:
        return check(text)
    except InputError as exc:
        raise InputError(f"{flag}：{exc}") from None
