"""Loading the configuration: one TOML file, validated; every problem names the file, line and key."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from pydantic import ValidationError

from monitor.config.root import MonitorConfig
from monitor.errors import ConfigError

ENV_CONFIG = "MONITOR_CONFIG"


def config_path(explicit: str | os.PathLike[str] | None) -> Path | None:
    """The file to load: --config, else $MONITOR_CONFIG, else None (embedded defaults)."""
    chosen = explicit or os.environ.get(ENV_CONFIG)
    return Path(chosen) if chosen else None


def _format_loc(loc: tuple[object, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _line_of(text: str, loc: tuple[object, ...]) -> int | None:
    """Best effort: the line of the last named key in `loc`, when it appears once in the file."""
    keys = [p for p in loc if isinstance(p, str)]
    if not keys:
        return None
    key = keys[-1]
    hits = [
        n
        for n, line in enumerate(text.splitlines(), 1)
        if line.strip().startswith((f"{key} ", f"{key}=", f"[{key}]", f"[[{key}]]"))
    ]
    return hits[0] if len(hits) == 1 else None


def load_config(path: str | os.PathLike[str] | None = None) -> MonitorConfig:
    """Load and validate a configuration file; None gives the embedded defaults."""
    if path is None:
        return MonitorConfig()
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{file}: no such file (set --config or {ENV_CONFIG} to the hall's .toml)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: cannot read it: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from None
    try:
        return MonitorConfig.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = _format_loc(err["loc"])
            line = _line_of(text, err["loc"])
            at = f"{file}:{line}" if line else str(file)
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                message = "unknown key (a typo? `monitor check-config --help` lists the sections)"
            problems.append(f"{at}: {where}: {message}")
        raise ConfigError("\n".join(problems)) from None
