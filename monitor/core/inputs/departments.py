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
                problems.add(table.where(line, index[column]), str(exc))
        complete = len(counts) == len(counted)
        stated = optional(table, line, cells, index, TOTAL, count, problems)
        if complete and stated is not None and stated != sum(counts):
            problems.add(
                table.where(line, index[TOTAL]),
                f"合计 {stated} 不等于本行之和（{sum(counts)}，差 {stated - sum(counts):+d}），请改正本行的数字或合计",
            )
        raw_name = cell(cells, index, "部门")
        if squeeze(raw_name) == TOTAL:
            if complete:
                total_row = (line, counts)
            continue
        try:
            name = department(config, raw_name)
        except ValueError as exc:
            problems.add(table.where(line, index["部门"]), str(exc))
            continue
        if name in first_line:
            problems.add(where, f"{name} 重复出现（第一次在第 {first_line[name]} 行），请删去重复的一行")
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
                    table.where(line, index[column]),
                    f"合计行为 {stated_totals[position]}，但计入合计的各行相加为 {computed}"
                    f"（差 {stated_totals[position] - computed:+d}）；合计由各行算出，请改正各行或合计行",
                )
    if not rows and not problems.lines:
        problems.add(table.source, "没有部门数据行，请在表头下面逐行填写各部门")
    return rows, index


def parse_cases(config: MonitorConfig, table: Table) -> list[CaseVolume]:
    """部门 + the configured categories (+ an optional 合计 column and 合计 row, both checked)."""
    categories = config.notices.case_categories
    problems = Problems()
    rows, _ = parse_department_table(config, table, categories, (), problems)
    problems.raise_if_any(f"{table.source}：办件量")
    return [CaseVolume(r.department, dict(zip(categories, r.counts, strict=True))) for r in rows]


def parse_reviews(config: MonitorConfig, table: Table) -> list[ReviewCount]:
    """部门, 五星 … 一星 (+ 合计, checked; + 投诉, 二次回访率, 二次满意度 per department)."""
    problems = Problems()
    rows, index = parse_department_table(config, table, STARS, REVIEW_EXTRAS, problems)
    out = []
    for row in rows:
        five, four, three, two, one = row.counts
        out.append(
            ReviewCount(
                row.department,
                (five, four, three, two, one),
                complaints=optional(table, row.line, row.cells, index, "投诉", count, problems),
                follow_up_rate=optional(table, row.line, row.cells, index, "二次回访率", percent, problems),
                follow_up_satisfaction=optional(table, row.line, row.cells, index, "二次满意度", percent, problems),
            )
        )
    problems.raise_if_any(f"{table.source}：“好差评”")
    return out


def unlisted_departments(config: MonitorConfig, listed: Sequence[str]) -> list[str]:
    """Configured departments an import did not list (the notice prints them with zeros)."""
    present = set(listed)
    return [d.name for d in config.departments if d.name not in present]
