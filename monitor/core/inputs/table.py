"""A table as read from an import file, and the cell-level checks every input parser shares."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TypeVar

from monitor.config import MonitorConfig
from monitor.errors import InputError

_T = TypeVar("_T")
_SPACE = re.compile(r"\s+")
_MARKS = re.compile(r"[（(][^（）()]*[)）]$")
SHOWN_PROBLEMS = 50  # an import refused for more problems than this lists the first ones and a count

Row = tuple[int, tuple[str, ...]]
"""(line, cells as text) of one table row."""


def squeeze(text: str) -> str:
    """A name or header without whitespace: extraction and Excel wrap long names ("不动产登记 交易中心")."""
    return _SPACE.sub("", text)


def header_key(text: str) -> str:
    """A header as the parser matches it: no whitespace, no trailing "(30 分)" full-marks note."""
    return _MARKS.sub("", squeeze(text))


@dataclass(frozen=True, slots=True)
class Table:
    """One table of a file: `rows` are (line, cells) with the header first; empty rows are dropped."""

    source: str
    rows: tuple[Row, ...]

    def where(self, line: int) -> str:
        return f"{self.source}:{line}"

    @property
    def data(self) -> tuple[Row, ...]:
        """The rows after the header."""
        return self.rows[1:]


@dataclass
class Problems:
    """Every problem of an import, collected so that one run reports all of them."""

    lines: list[str] = field(default_factory=list)

    def add(self, where: str, message: str) -> None:
        self.lines.append(f"{where}: {message}")

    def raise_if_any(self, what: str) -> None:
        if self.lines:
            shown = self.lines[:SHOWN_PROBLEMS]
            more = len(self.lines) - SHOWN_PROBLEMS
            tail = f"\n… and {more} more" if more > 0 else ""
            raise InputError(f"{what} refused, nothing was imported:\n" + "\n".join(shown) + tail)


def columns(table: Table, required: Sequence[str], optional: Sequence[str], problems: Problems) -> dict[str, int]:
    """Header key -> position; unknown, repeated and missing columns are problems."""
    line, header = table.rows[0]
    index: dict[str, int] = {}
    for position, text in enumerate(header):
        key = header_key(text)
        if not key:
            continue
        if key in index:
            problems.add(table.where(line), f"column {key!r} appears twice")
        elif key not in required and key not in optional:
            known = "、".join([*required, *optional])
            problems.add(table.where(line), f"unknown column {text!r} (the columns are {known})")
        index[key] = position
    missing = [c for c in required if c not in index]
    if missing:
        problems.add(
            table.where(line), f"missing column(s) {'、'.join(missing)}: the header row is {'、'.join(header)}"
        )
    return index


def cell(cells: tuple[str, ...], index: dict[str, int], key: str) -> str:
    position = index.get(key)
    return cells[position].strip() if position is not None and position < len(cells) else ""


def count(text: str) -> int:
    cleaned = text.replace(",", "").replace("，", "")
    if not re.fullmatch(r"\d+", cleaned):
        raise ValueError(f"{text!r} is not a whole number of 0 or more" if text else "empty cell: write 0")
    return int(cleaned)


def percent(text: str) -> Decimal:
    try:
        value = Decimal(text.rstrip("%％").strip())
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a percentage such as 100% or 98.5") from None
    if not Decimal(0) <= value <= Decimal(100):
        raise ValueError(f"{text} is not between 0% and 100%")
    return value


def optional(
    cells: tuple[str, ...], index: dict[str, int], key: str, parse: Callable[[str], _T], where: str, problems: Problems
) -> _T | None:
    """An optional cell parsed by `parse`; None when empty or bad (the problem noted)."""
    text = cell(cells, index, key)
    if not text:
        return None
    try:
        return parse(text)
    except ValueError as exc:
        problems.add(where, f"{key}: {exc}")
        return None


def department(config: MonitorConfig, text: str) -> str:
    name = squeeze(text)
    if name not in {d.name for d in config.departments}:
        raise ValueError(f"department {text!r} is not in the configuration's [departments]: check the spelling")
    return name
