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

    def where(self, line: int, position: int | None = None) -> str:
        """Where a problem is, as a clerk finds it in the file: "FILE 第3行", or for one cell
        "FILE 第3行第2列（行政审批）" (counted from 1, with the column's header)."""
        place = f"{self.source} 第{line}行"
        if position is None:
            return place
        header = self.rows[0][1]
        name = header_key(header[position]) if position < len(header) else ""
        return place + f"第{position + 1}列" + (f"（{name}）" if name else "")

    @property
    def data(self) -> tuple[Row, ...]:
        """The rows after the header."""
        return self.rows[1:]


@dataclass
class Problems:
    """Every problem of an import, collected so that one run reports all of them."""

    lines: list[str] = field(default_factory=list)

    def add(self, where: str, message: str) -> None:
        """A problem at `where` (Table.where, or a file's name; "" for the whole import): what is wrong, then what
        to do, in the clerk's words."""
        self.lines.append(f"{where}：{message}" if where else message)

    def raise_if_any(self, what: str) -> None:
        if self.lines:
            shown = self.lines[:SHOWN_PROBLEMS]
            more = len(self.lines) - SHOWN_PROBLEMS
            tail = f"\n……另有 {more} 处问题" if more > 0 else ""
            raise InputError(f"{what}：导入被拒绝，未导入任何数据：\n" + "\n".join(shown) + tail)


def columns(table: Table, required: Sequence[str], optional: Sequence[str], problems: Problems) -> dict[str, int]:
    """Header key -> position; unknown, repeated and missing columns are problems."""
    line, header = table.rows[0]
    index: dict[str, int] = {}
    for position, text in enumerate(header):
        key = header_key(text)
        if not key:
            continue
        if key in index:
            problems.add(table.where(line, position), f"列“{key}”重复出现，请删去重复的一列")
        elif key not in required and key not in optional:
            known = "、".join([*required, *optional])
            problems.add(table.where(line, position), f"未知的列名“{text}”（可用的列：{known}），请改正列名或删去该列")
        index[key] = position
    missing = [c for c in required if c not in index]
    if missing:
        problems.add(table.where(line), f"缺少列：{'、'.join(missing)}（表头为：{'、'.join(header)}），请补上这些列")
    return index


def cell(cells: tuple[str, ...], index: dict[str, int], key: str) -> str:
    position = index.get(key)
    return cells[position].strip() if position is not None and position < len(cells) else ""


def count(text: str) -> int:
    cleaned = text.replace(",", "").replace("，", "")
    if not re.fullmatch(r"\d+", cleaned):
        raise ValueError(f"“{text}”不是 0 或正整数，请填写件数" if text else "单元格为空，没有就填 0")
    return int(cleaned)


def percent(text: str) -> Decimal:
    try:
        value = Decimal(text.rstrip("%％").strip())
    except InvalidOperation:
        raise ValueError(f"“{text}”不是百分比，请写作 100% 或 98.5") from None
    if not Decimal(0) <= value <= Decimal(100):
        raise ValueError(f"{text} 不在 0% 到 100% 之间，请改正")
    return value


def optional(
    table: Table,
    line: int,
    cells: tuple[str, ...],
    index: dict[str, int],
    key: str,
    parse: Callable[[str], _T],
    problems: Problems,
) -> _T | None:
    """An optional cell of row `line` parsed by `parse`; None when empty or bad (the problem noted at the cell)."""
    text = cell(cells, index, key)
    if not text:
        return None
    try:
        return parse(text)
    except ValueError as exc:
        problems.add(table.where(line, index[key]), str(exc))
        return None


def department(config: MonitorConfig, text: str) -> str:
    name = squeeze(text)
    if name not in {d.name for d in config.departments}:
        raise ValueError(f"部门“{text}”不在本中心的部门名单中，请核对名称或请管理员添加")
    return name
