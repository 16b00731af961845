"""Where things are kept: the database and the local data directory."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, field_validator

from monitor.config.base import Section
from monitor.units import Duration


class DatabaseConfig(Section):
    url: str = Field(
        "sqlite:///var/monitor.db",
        description="SQLAlchemy URL: sqlite:///path (default, relative to the working directory) or "
        "postgresql+psycopg://user@host/db in production. A password comes from MONITOR_DB_PASSWORD.",
    )

    @field_validator("url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgresql")):
            raise ValueError(f"{value!r}: use sqlite:///path or postgresql+psycopg://user@host/db")
        return value


class EvidenceConfig(Section):
    retention: Duration = Field(
        timedelta(days=30), description="Evidence snapshots (they show faces) are deleted after this long."
    )
    purge_every: Duration = Field(timedelta(hours=1), description="How often the recorder deletes expired evidence.")
    max_bytes: int = Field(
        2 * 1024 * 1024,
        ge=1024,
        description="Largest evidence picture or clip the recorder keeps, in bytes; larger is refused.",
    )
    picture_every: Duration = Field(
        timedelta(minutes=10),
        description="While an empty post lasts, a picture of the empty seat this often (with the post's updates).",
    )
    pictures_max: int = Field(
        6, ge=0, le=50, description="At most this many of those pictures per empty post (the rest is in its times)."
    )
    clip_before: Duration = Field(
        timedelta(seconds=60),
        description="An incident's evidence clip starts this long before the incident (its sampled frames).",
    )
    clip_after: Duration = Field(
        timedelta(seconds=60),
        description="…and ends this long after it; a late arrival is sent once the clip is complete. "
        "clip_before = clip_after = 0s sends no clips.",
    )
    clip_width: int = Field(
        480,
        ge=160,
        le=1920,
        description="Clips are scaled down by a whole factor to at most this width (pixels) to stay small.",
    )
    font: str = Field(
        "auto",
        description="The font the pictures' Chinese labels are drawn with: a .ttc/.ttf/.otf file with Chinese "
        'glyphs, or "auto": Noto Sans CJK SC (Debian\'s fonts-noto-cjk) or another installed CJK font. '
        "No such font is an error.",
    )
    blur_citizens: bool = Field(
        True,
        description="Blur the citizen side (each camera's `exclusions`) and the persons standing on it in the "
        "evidence pictures and clips themselves, before they are labelled and stored: a charge needs the seat, not "
        "the citizens' faces. Off: kept as seen, and only the citizen side is blurred where pictures leave the "
        "console (the notices' photos); docs/security.md, Citizens' faces.",
    )


class RecorderConfig(Section):
    lease: Duration = Field(
        timedelta(seconds=15),
        description="Two recorders on one database: the holder renews its lease every third of this; a standby "
        "takes over the MQTT session once the lease has run out.",
    )
    dead_letters: int = Field(
        10000, ge=100, description="Refused messages kept in the dead-letter table for inspection (the newest)."
    )
    heartbeat: Duration = Field(
        timedelta(seconds=10),
        description="How often the recorder holding the session says it is working (<prefix>/recorder/heartbeat); "
        "three missed beats show 记录器无响应 in the console and in `monitor recorder --check`.",
    )
    clock_tolerance: Duration = Field(
        timedelta(minutes=2),
        description="How far in the future an incident may start or end (clocks that disagree); later is refused.",
    )
    camera_max_age: Duration = Field(
        timedelta(days=3),
        description="A camera's incident that started longer ago than this is refused (an outbox may hold a long "
        "outage's incidents; older ones are for a supervisor to enter). docs/security.md, Freshness.",
    )

    @field_validator("heartbeat")
    @classmethod
    def _heartbeat_range(cls, value: timedelta) -> timedelta:
        if not timedelta(seconds=1) <= value <= timedelta(minutes=10):
            raise ValueError("between 1s and 10m")
        return value


class PathsConfig(Section):
    data_dir: str = Field(
        "var",
        description="Local data: the cameras' outboxes and the embedded broker's persistence (evidence is kept in "
        "the database; notices go to [notices] output_dir).",
    )
    signing_key: str | None = Field(
        None,
        description="The key file the camera service signs its incidents with (`monitor key new --role camera`); "
        "without it, $MONITOR_SIGNING_KEY names the file. Its public key is a [[signers]] entry with role camera.",
    )
