"""Entered points (the categories cameras cannot score), the honor list and case-volume change reasons."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from monitor.config import MonitorConfig
from monitor.core.inputs.table import Problems, Table, cell, columns, header_key, squeeze
from monitor.core.inputs.table import department as department_of
from monitor.core.inputs.types import ChangeReason, HonorEntry, ScoresImport


def _entered_categories(config: MonitorConfig, month: str, sheet: str) -> tuple[dict[str, Decimal], set[str]]:
    """Enterable category -> most points, and the categories scored from incidents (not enterable)."""
    rules = config.rule_set_on(dt.date.fromisoformat(f"{month}-01"))
    table = rules.department if sheet == "department" else rules.staff
    from_incidents = {
        (d.department_category if sheet == "department" else d.staff_category) for d in rules.deductions
    } - {None}
    limits = {c.name: c.full for c in table.categories if c.name not in from_incidents}
    limits[table.bonus] = table.bonus_cap
    return limits, {c for c in from_incidents if c}


def _parse_points(
    config: MonitorConfig, month: str, table: Table, sheet: str, key: str, problems: Problems
) -> dict[str, dict[str, Decimal]]:
    limits, from_incidents = _entered_categories(config, month, sheet)
    ignored = ("部门名称",) if sheet == "window" else ()
    index = columns(table, [key], [*limits, *from_incidents, *ignored], problems)
    for name in from_incidents & set(index):
        problems.add(
            table.where(table.rows[0][0], index[name]),
            f"列“{name}”由记录的违纪情况计分，不能录入，请删去该列",
        )
    out: dict[str, dict[str, Decimal]] = {}
    windows = config.window_by_id
    for line, cells in table.data:
        where = table.where(line, index.get(key))
        raw = cell(cells, index, key)
        if sheet == "department":
            try:
                target = department_of(config, raw)
            except ValueError as exc:
                problems.add(where, str(exc))
                continue
        else:
            target = squeeze(raw)
            if target not in windows:
                problems.add(where, f"窗口号“{raw}”不在本中心的窗口名单中，请核对窗口号或请管理员添加")
                continue
        if target in out:
            problems.add(where, f"{target} 重复出现，请删去重复的一行")
            continue
        points: dict[str, Decimal] = {}
        for category, most in limits.items():
            text = cell(cells, index, category)
            if not text:
                continue
            try:
                value = Decimal(text)
            except InvalidOperation:
                problems.add(table.where(line, index[category]), f"“{text}”不是数字，请填写分数")
                continue
            if not value.is_finite() or not Decimal(0) <= value <= most:
                problems.add(table.where(line, index[category]), f"{text} 超出 0–{most} 分，请改正")
                continue
            points[category] = value
        out[target] = points
    return out


_PART_NAMES = {
    "departments": "部门考核录入分表",
    "windows": "工作人员考核录入分表",
    "honors": "表彰名单",
    "reasons": "办件量变化原因表",
}
"""Each table a scores file may hold, as the clerk calls it."""


def parse_scores(config: MonitorConfig, month: str, tables: list[Table]) -> ScoresImport:
    """Each table is recognised by its header: 部门 + categories (department points), 窗口号 + categories
    (window points), 姓名 + 部门 (the honor list, in order), 部门 + 原因 [+ 业务] (change reasons)."""
    problems = Problems()
    parts: dict[str, object] = {}
    for table in tables:
        keys = {header_key(c) for c in table.rows[0][1]}
        if "姓名" in keys:
            part, value = "honors", _parse_honors(config, table, problems)
        elif "原因" in keys:
            part, value = "reasons", _parse_reasons(config, table, problems)
        elif "窗口号" in keys:
            part, value = "windows", _parse_points(config, month, table, "window", "窗口号", problems)
        elif "部门" in keys:
            part, value = "departments", _parse_points(config, month, table, "department", "部门", problems)
        else:
            problems.add(
                table.where(table.rows[0][0]),
                "无法识别这张表：第一行需要 部门（部门考核录入分）、窗口号（工作人员考核录入分）、"
                "姓名（表彰名单）或 部门 和 原因（办件量变化原因），请改正表头",
            )
            continue
        if part in parts:
            problems.add(table.source, f"同一文件里有第二张{_PART_NAMES[part]}，请只保留一张")
        parts[part] = value
    if not tables:
        problems.add("", "文件为空，请填写后重新导入")
    problems.raise_if_any("考核分导入")
    return ScoresImport(**parts)  # type: ignore[arg-type]


def _parse_honors(config: MonitorConfig, table: Table, problems: Problems) -> list[HonorEntry]:
    index = columns(table, ["姓名", "部门"], ["序号", "窗口号"], problems)
    out = []
    for line, cells in table.data:
        name = squeeze(cell(cells, index, "姓名"))
        if not name:
            problems.add(table.where(line, index.get("姓名")), "姓名为空，请填写姓名或删去该行")
            continue
        try:
            out.append(HonorEntry(name, department_of(config, cell(cells, index, "部门"))))
        except ValueError as exc:
            problems.add(table.where(line, index.get("部门")), str(exc))
    return out


def _parse_reasons(config: MonitorConfig, table: Table, problems: Problems) -> list[ChangeReason]:
    index = columns(table, ["部门", "原因"], ["业务"], problems)
    out: list[ChangeReason] = []
    for line, cells in table.data:
        reason = cell(cells, index, "原因").rstrip("，,。")
        if not reason:
            problems.add(table.where(line, index.get("原因")), "原因为空，请写明办件量变化的原因")
            continue
        try:
            department = department_of(config, cell(cells, index, "部门"))
        except ValueError as exc:
            problems.add(table.where(line, index.get("部门")), str(exc))
            continue
        if any(r.department == department for r in out):
            problems.add(table.where(line), f"{department} 有第二条原因，请合并为一条")
            continue
        out.append(ChangeReason(department, reason, squeeze(cell(cells, index, "业务"))))
    return out
