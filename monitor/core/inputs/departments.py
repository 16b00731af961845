"""Department tables: case volumes (Attachment 3) and 好差评 ratings (Attachment 4).

Both are the same shape — 部门, count columns, an optional 合计 column and 合计 row — so one parser
reads them: counts are whole numbers, a department appears once, a row's 合计 is its sum, and the 合计
row is checked against the rows counted in the hall's totals (never used in their place).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from monitor.config import MonitorConfig
from monitor.core.inputs.table import Problems, Table, cell, columns, count, department, optional, percent, squeeze
from monitor.core.inputs.types import STARS, TOTAL, CaseVolume, ReviewCount

REVIEW_EXTRAS = ("投诉", "二次回访率", "二次满意度")


@dataclass(frozen=True, slots=True)
class DepartmentRow:
    """One department's row: its counts in the table's count-column order, and its cells for extras."""

    line: int
    department: str
    counts: tuple[int, ...]
    cells: tuple[str, ...]


def parse_department_table(
    config: MonitorConfig, table: Table, counted: Sequence[str], extras: Sequence[str], problems: Problems
) -> tuple[list[DepartmentRow], dict[str, int]]:
    """The department rows of `table` (the 合计 row checked and left out) and its column index."""
    index = columns(table, ["部门", *counted], [TOTAL, *extras], problems)
    if problems.lines:
        return [], index
    rows: list[DepartmentRow] = []
    first_line: dict[str, int] = {}
    total_row: tuple[int, list[int]] | None = None
    for line, cells in table.data:
        where = table.where(line)
        counts: list[int] = []
        for column in counted:
            try:
                counts.append(count(cell(cells, index, column)))
            except ValueError as exc:
                problems.add(where, f"{column}: {exc}")
        complete = len(counts) == len(counted)
        stated = optional(cells, index, TOTAL, count, where, problems)
        if complete and stated is not None and stated != sum(counts):
            problems.add(
                where,
                f"合计 {stated} is not the sum of the row ({sum(counts)}, difference {stated - sum(counts):+d}): "
                "correct the row or its 合计",
            )
        raw_name = cell(cells, index, "部门")
        if squeeze(raw_name) == TOTAL:
            if complete:
                total_row = (line, counts)
            continue
        try:
            name = department(config, raw_name)
        except ValueError as exc:
            problems.add(where, str(exc))
            continue
        if name in first_line:
            problems.add(where, f"{name} is listed twice (first on line {first_line[name]})")
            continue
        first_line[name] = line
        if complete:
            rows.append(DepartmentRow(line, name, tuple(counts), cells))
    if total_row is not None:
        line, stated_totals = total_row
        in_totals = {d.name for d in config.departments if d.counted_in_totals}
        for position, column in enumerate(counted):
            computed = sum(r.counts[position] for r in rows if r.department in in_totals)
            if stated_totals[position] != computed:
                problems.add(
                    table.where(line),
                    f"合计 row: {column} says {stated_totals[position]} but the counted rows add up to {computed} "
                    f"(difference {stated_totals[position] - computed:+d}); totals are computed from the rows, "
                    "so correct the rows or the 合计 row",
                )
    if not rows and not problems.lines:
        problems.add(table.source, "no department rows")
    return rows, index


def parse_cases(config: MonitorConfig, table: Table) -> list[CaseVolume]:
    """部门 + the configured categories (+ an optional 合计 column and 合计 row, both checked)."""
    categories = config.notices.case_categories
    problems = Problems()
    rows, _ = parse_department_table(config, table, categories, (), problems)
    problems.raise_if_any(f"{table.source}: cases")
    return [CaseVolume(r.department, dict(zip(categories, r.counts, strict=True))) for r in rows]


def parse_reviews(config: MonitorConfig, table: Table) -> list[ReviewCount]:
    """部门, 五星 … 一星 (+ 合计, checked; + 投诉, 二次回访率, 二次满意度 per department)."""
    problems = Problems()
    rows, index = parse_department_table(config, table, STARS, REVIEW_EXTRAS, problems)
    out = []
    for row in rows:
        where = table.where(row.line)
        five, four, three, two, one = row.counts
        out.append(
            ReviewCount(
                row.department,
                (five, four, three, two, one),
                complaints=optional(row.cells, index, "投诉", count, where, problems),
                follow_up_rate=optional(row.cells, index, "二次回访率", percent, where, problems),
                follow_up_satisfaction=optional(row.cells, index, "二次满意度", percent, where, problems),
            )
        )
    problems.raise_if_any(f"{table.source}: reviews")
    return out
