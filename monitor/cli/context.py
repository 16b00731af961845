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
    site: str | None = None
    _config: MonitorConfig | None = field(default=None, repr=False)

    @property
    def source(self) -> str:
        path = config_path(self.config_file)
        return str(path) if path else "embedded defaults"

    @property
    def district(self) -> MonitorConfig:
        """The whole configuration: every site (what the services and the accounts commands work on)."""
        if self._config is None:
            self._config = load_config(config_path(self.config_file))
        return self._config

    @property
    def config(self) -> MonitorConfig:
        """The site a command works on: the one --site names, or the configuration's only one."""
        views = self.district.site_views
        if self.site is not None:
            if self.site not in views:
                raise InputError(f"--site {self.site}: not a site of {self.source} (its sites: {', '.join(views)})")
            return views[self.site]
        if len(views) > 1:
            raise InputError(f"{self.source} has {len(views)} sites: choose one with --site ({', '.join(views)})")
        return next(iter(views.values()))


def state(ctx: typer.Context) -> CliState:
    obj = ctx.find_root().obj
    assert isinstance(obj, CliState)
    return obj


def sites_chosen(ctx: typer.Context) -> list[MonitorConfig]:
    """The site --site names, or every site of the configuration (one, without [[sites]])."""
    cli = state(ctx)
    return [cli.config] if cli.site is not None else list(cli.district.site_views.values())


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
