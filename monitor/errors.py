"""Errors a user can act on. The CLI prints their message and exits 1; no traceback."""


class MonitorError(Exception):
    """Base of every error whose message is meant for the person running the command."""


class ConfigError(MonitorError):
    """The configuration file is missing, unreadable or invalid."""


class CalendarError(MonitorError):
    """The calendar cannot tell whether a day is a working day (a year nobody covers: `year`)."""

    def __init__(self, message: str, year: int | None = None) -> None:
        super().__init__(message)
        self.year = year


class InputError(MonitorError):
    """A command-line argument or imported file is wrong."""
