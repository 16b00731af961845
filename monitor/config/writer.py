"""A configuration written back as a hall's TOML file, which `load_config` reads to the same configuration.

For a configuration made in code (the demo's, served in the console): the commands an operator runs next —
`monitor user add … --config FILE` — must reach the same database and broker. Python reads TOML (tomllib) but
does not write it; the values of a configuration are JSON-like, so a small writer does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

from monitor.config.root import MonitorConfig

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def write_config(config: MonitorConfig, path: Path) -> Path:
    """`config` as a hall's TOML file at `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_toml(config.model_dump(mode="json", exclude_none=True)), encoding="utf-8")
    return path


def to_toml(data: Mapping[str, object]) -> str:
    """Top-level values first (lists of tables one item a line), then one [table] per section."""
    lines: list[str] = []
    tables = {k: v for k, v in data.items() if isinstance(v, dict)}
    for key, value in data.items():
        if key in tables:
            continue
        if isinstance(value, list) and value:
            lines += [f"{_key(key)} = [", *(f"  {_value(item)}," for item in value), "]"]
        else:
            lines.append(f"{_key(key)} = {_value(value)}")
    for key, table in tables.items():
        lines += ["", f"[{_key(key)}]", *(f"{_key(k)} = {_value(v)}" for k, v in table.items())]
    return "\n".join(lines) + "\n"


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _string(key)


def _string(text: str) -> str:
    """A JSON string is a TOML basic string, but for DEL, which JSON leaves as it is and TOML forbids."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {value!r} as TOML")
