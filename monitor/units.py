"""Durations written with units, as configuration and the CLI take them ("90s", "10m", "1h30m")."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str | int | float | timedelta) -> timedelta:
    """Parse "90s", "10m", "1h30m", "1.5h" (or a timedelta) into a timedelta.

    A bare number is refused: a duration without a unit is ambiguous, and a hall's
    configuration is read by people who should not have to guess.
    """
    if isinstance(text, timedelta):
        return text
    if isinstance(text, bool) or not isinstance(text, str):
        raise ValueError(f'duration {text!r} has no unit: write it as a string such as "90s" or "10m"')
    compact = text.replace(" ", "").lower()
    pos, seconds = 0, 0.0
    for match in _PART.finditer(compact):
        if match.start() != pos:
            break
        seconds += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    if not compact or pos != len(compact):
        raise ValueError(
            f'cannot read duration {text!r}: use a number with a unit (ms, s, m, h, d), e.g. "90s", "10m", "1h30m"'
        )
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """Inverse of parse_duration for whole seconds: 5400s -> "1h30m"."""
    total = int(value.total_seconds())
    if total == 0:
        return "0s"
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, total = divmod(total, size)
        if count:
            out.append(f"{count}{unit}")
    return "".join(out)


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
]
"""A pydantic field type: a duration string with units in the file, a timedelta in code."""
