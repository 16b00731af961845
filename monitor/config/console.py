"""The supervisor console (web): where it listens, how long a login lasts, how it signs what people do."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, IPvAnyNetwork

from monitor.config.base import Section
from monitor.units import Duration


class ConsoleConfig(Section):
    host: str = Field(
        "127.0.0.1",
        description="Address to listen on. The default serves this machine only; for the hall's LAN put it behind a "
        "reverse proxy with TLS (docs/deploy.md) rather than listening on 0.0.0.0.",
    )
    port: int = Field(8080, ge=1, le=65535, description="TCP port.")
    session_ttl: Duration = Field(
        timedelta(hours=8), description="A login lasts this long (a working day), then the person logs in again."
    )
    secure_cookies: bool = Field(
        False, description="Mark the session cookie Secure: set true when the console is served over HTTPS."
    )
    login_attempts: int = Field(
        5,
        ge=1,
        le=100,
        description="Failed logins allowed for one account from one address within `login_window`; an account "
        "takes 3 times as many from all addresses together, an address 10 times as many over all account names.",
    )
    login_window: Duration = Field(
        timedelta(minutes=15), description="The period over which failed logins are counted (login rate limiting)."
    )
    signing_key: str | None = Field(
        None,
        description="The key file the console signs supervisors' actions with (`monitor key new --role console`); "
        "$MONITOR_CONSOLE_KEY overrides. Its public key is a [[signers]] entry with role console.",
    )
    upload_bytes: int = Field(
        5 * 1024 * 1024,
        ge=1024,
        description="Largest import file (case volumes, ratings, scores) accepted, in bytes; a form whose body is "
        "larger (by more than a form's overhead) is refused before it is read.",
    )
    trusted_proxies: list[IPvAnyNetwork] = Field(
        default_factory=list,
        description="Addresses or networks of the reverse proxies whose X-Forwarded-For is believed, e.g. "
        '["127.0.0.1"] for nginx on the same machine. Empty (the default): the header is never honoured and the '
        "peer's address is the client's (login limits and the audit trail use it).",
    )
