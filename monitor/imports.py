"""Imports of the month data cameras cannot see: case volumes, 好差评 ratings, entered points.

Files are CSV (UTF-8, or GBK as Excel saves it in China) or XLSX, with the Chinese headers the
seed's tables print. Reading a file gives `Table`s (cells as text, each with its line); parsing
a table is pure and collects every problem as "FILE:LINE: what is wrong, what to do" before
refusing the whole import, so one run reports all the bad rows and nothing is half imported.
Saving a part replaces that part of the month in one transaction.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TypeVar

from sqlmodel import Session, col, delete, select

from monitor.config import MonitorConfig
from monitor.errors import InputError
from monitor.store.inputs import (
    CaseVolumeRow,
    ChangeReasonRow,
    EnteredScoreRow,
    HonorRow,
    InputImportRow,
    ReviewCountRow,
)

TOTAL = "合计"
STARS = ("五星", "四星", "三星", "二星", "一星")
_T = TypeVar("_T")
_SPACE = re.compile(r"\s+")
_MARKS = re.compile(r"[（(][^（）()]*[)）]$")


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
    rows: tuple[tuple[int, tuple[str, ...]], ...]

    def where(self, line: int) -> str:
        return f"{self.source}:{line}"


# ---------------------------------------------------------------- reading files (adapter)


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value).strip()


def _table(source: str, lines: Iterable[tuple[int, Sequence[object]]]) -> Table:
    rows = []
    for line, cells in lines:
        texts = tuple(_cell_text(c) for c in cells)
        if any(texts):
            rows.append((line, texts))
    return Table(source, tuple(rows))


def read_tables(path: Path) -> list[Table]:
    """Every non-empty table of a CSV or XLSX file (one per worksheet)."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        raw = path.read_bytes()
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise InputError(f"{path}: neither UTF-8 nor GBK text: save the file as CSV UTF-8")
        reader = csv.reader(io.StringIO(text, newline=""))
        table = _table(str(path), ((reader.line_num, row) for row in reader))
        return [table] if table.rows else []
    if suffix in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        try:
            book = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a damaged file
            raise InputError(f"{path}: cannot read it as an Excel workbook: {exc}") from None
        tables = []
        for sheet in book.worksheets:
            lines = ((n, row) for n, row in enumerate(sheet.iter_rows(values_only=True), 1))
            table = _table(f"{path}[{sheet.title}]", lines)
            if table.rows:
                tables.append(table)
        book.close()
        return tables
    raise InputError(f"{path}: unknown file type {path.suffix!r}: import a .csv or .xlsx file")


# ---------------------------------------------------------------- parsed data


@dataclass(frozen=True, slots=True)
class CaseVolume:
    department: str
    counts: dict[str, int]
    """Category -> count, in the configured category order."""


@dataclass(frozen=True, slots=True)
class ReviewCount:
    department: str
    stars: tuple[int, int, int, int, int]
    """五星 .. 一星."""
    complaints: int | None = None
    follow_up_rate: Decimal | None = None
    follow_up_satisfaction: Decimal | None = None

    @property
    def total(self) -> int:
        return sum(self.stars)


@dataclass(frozen=True, slots=True)
class HonorEntry:
    name: str
    department: str


@dataclass(frozen=True, slots=True)
class ChangeReason:
    department: str
    reason: str
    business: str = ""


@dataclass(frozen=True, slots=True)
class ScoresImport:
    """What a scores file holds; None for a part the file does not have (left as it was)."""

    departments: dict[str, dict[str, Decimal]] | None = None
    windows: dict[str, dict[str, Decimal]] | None = None
    honors: list[HonorEntry] | None = None
    reasons: list[ChangeReason] | None = None


@dataclass
class _Problems:
    lines: list[str] = field(default_factory=list)

    def add(self, where: str, message: str) -> None:
        self.lines.append(f"{where}: {message}")

    def raise_if_any(self, what: str) -> None:
        if self.lines:
            shown = self.lines[:50]
            more = f"\n… and {len(self.lines) - 50} more" if len(self.lines) > 50 else ""
            raise InputError(f"{what} refused, nothing was imported:\n" + "\n".join(shown) + more)


def _columns(table: Table, required: Sequence[str], optional: Sequence[str], problems: _Problems) -> dict[str, int]:
    line, header = table.rows[0]
    index: dict[str, int] = {}
    for position, cell in enumerate(header):
        key = header_key(cell)
        if not key:
            continue
        if key in index:
            problems.add(table.where(line), f"column {key!r} appears twice")
        elif key not in required and key not in optional:
            known = "、".join([*required, *optional])
            problems.add(table.where(line), f"unknown column {cell!r} (the columns are {known})")
        index[key] = position
    missing = [c for c in required if c not in index]
    if missing:
        problems.add(
            table.where(line), f"missing column(s) {'、'.join(missing)}: the header row is {'、'.join(header)}"
        )
    return index


def _cell(cells: tuple[str, ...], index: dict[str, int], key: str) -> str:
    position = index.get(key)
    return cells[position].strip() if position is not None and position < len(cells) else ""


def _count(text: str) -> int:
    cleaned = text.replace(",", "").replace("，", "")
    if not re.fullmatch(r"\d+", cleaned):
        raise ValueError(f"{text!r} is not a whole number of 0 or more" if text else "empty cell: write 0")
    return int(cleaned)


def _percent(text: str) -> Decimal:
    try:
        value = Decimal(text.rstrip("%％").strip())
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a percentage such as 100% or 98.5") from None
    if not Decimal(0) <= value <= Decimal(100):
        raise ValueError(f"{text} is not between 0% and 100%")
    return value


def _department(config: MonitorConfig, text: str) -> str:
    name = squeeze(text)
    if name not in {d.name for d in config.departments}:
        raise ValueError(f"department {text!r} is not in the configuration's [departments]: check the spelling")
    return name


def _counted(config: MonitorConfig) -> set[str]:
    return {d.name for d in config.departments if d.counted_in_totals}


def _new_department(
    config: MonitorConfig, raw_name: str, line: int, seen: dict[str, int], where: str, problems: _Problems
) -> str | None:
    """The row's department, or None (the problem noted) when unknown or already listed in this table."""
    try:
        name = _department(config, raw_name)
    except ValueError as exc:
        problems.add(where, str(exc))
        return None
    if name in seen:
        problems.add(where, f"{name} is listed twice (first on line {seen[name]})")
        return None
    seen[name] = line
    return name


def _data_rows(table: Table) -> tuple[tuple[int, tuple[str, ...]], ...]:
    return table.rows[1:]


def _single_table(tables: list[Table], path: Path) -> Table:
    if not tables:
        raise InputError(f"{path}: the file is empty")
    return tables[0]


# ---------------------------------------------------------------- cases


def parse_cases(config: MonitorConfig, table: Table) -> list[CaseVolume]:
    """部门 + the configured categories (+ an optional 合计 column and 合计 row, both checked)."""
    categories = config.notices.case_categories
    problems = _Problems()
    index = _columns(table, ["部门", *categories], [TOTAL], problems)
    problems.raise_if_any(f"{table.source}: cases")
    out: list[CaseVolume] = []
    seen: dict[str, int] = {}
    total_row: tuple[int, dict[str, int]] | None = None
    for line, cells in _data_rows(table):
        where = table.where(line)
        raw_name = _cell(cells, index, "部门")
        counts: dict[str, int] = {}
        bad = False
        for category in categories:
            try:
                counts[category] = _count(_cell(cells, index, category))
            except ValueError as exc:
                problems.add(where, f"{category}: {exc}")
                bad = True
        if squeeze(raw_name) == TOTAL:
            if not bad:
                total_row = (line, counts)
            continue
        name = _new_department(config, raw_name, line, seen, where, problems)
        if name is None:
            continue
        row_total = _cell(cells, index, TOTAL)
        if row_total and not bad:
            try:
                stated = _count(row_total)
                if stated != sum(counts.values()):
                    problems.add(
                        where,
                        f"合计 {stated} is not the sum of the row ({sum(counts.values())}, "
                        f"difference {stated - sum(counts.values()):+d}): correct the row or its 合计",
                    )
            except ValueError as exc:
                problems.add(where, f"合计: {exc}")
        if not bad:
            out.append(CaseVolume(name, counts))
    if total_row is not None:
        line, stated = total_row
        counted = _counted(config)
        for category in categories:
            computed = sum(v.counts[category] for v in out if v.department in counted)
            if stated[category] != computed:
                problems.add(
                    table.where(line),
                    f"合计 row: {category} says {stated[category]} but the counted rows add up to {computed} "
                    f"(difference {stated[category] - computed:+d}); totals are computed from the rows, "
                    "so correct the rows or the 合计 row",
                )
    if not out and not problems.lines:
        problems.add(table.source, "no department rows")
    problems.raise_if_any(f"{table.source}: cases")
    return out


# ---------------------------------------------------------------- reviews

_REVIEW_OPTIONAL = ("投诉", "二次回访率", "二次满意度")


def _optional(
    cells: tuple[str, ...], index: dict[str, int], key: str, parse: Callable[[str], _T], where: str, problems: _Problems
) -> _T | None:
    text = _cell(cells, index, key)
    if not text:
        return None
    try:
        return parse(text)
    except ValueError as exc:
        problems.add(where, f"{key}: {exc}")
        return None


def parse_reviews(config: MonitorConfig, table: Table) -> list[ReviewCount]:
    """部门, 五星 … 一星 (+ 合计, checked; + 投诉, 二次回访率, 二次满意度 per department)."""
    problems = _Problems()
    index = _columns(table, ["部门", *STARS], [TOTAL, *_REVIEW_OPTIONAL], problems)
    problems.raise_if_any(f"{table.source}: reviews")
    out: list[ReviewCount] = []
    seen: dict[str, int] = {}
    total_row: tuple[int, list[int]] | None = None
    for line, cells in _data_rows(table):
        where = table.where(line)
        stars: list[int] = []
        for star in STARS:
            try:
                stars.append(_count(_cell(cells, index, star)))
            except ValueError as exc:
                problems.add(where, f"{star}: {exc}")
        complete = len(stars) == len(STARS)
        raw_name = _cell(cells, index, "部门")
        stated_total = _cell(cells, index, TOTAL)
        if complete and stated_total:
            try:
                if _count(stated_total) != sum(stars):
                    problems.add(where, f"合计 {stated_total} is not the sum of the stars ({sum(stars)})")
            except ValueError as exc:
                problems.add(where, f"合计: {exc}")
        if squeeze(raw_name) == TOTAL:
            if complete:
                total_row = (line, stars)
            continue
        name = _new_department(config, raw_name, line, seen, where, problems)
        if name is None:
            continue
        complaints = _optional(cells, index, "投诉", _count, where, problems)
        rate = _optional(cells, index, "二次回访率", _percent, where, problems)
        satisfaction = _optional(cells, index, "二次满意度", _percent, where, problems)
        if complete:
            out.append(
                ReviewCount(
                    name,
                    (stars[0], stars[1], stars[2], stars[3], stars[4]),
                    complaints=complaints,
                    follow_up_rate=rate,
                    follow_up_satisfaction=satisfaction,
                )
            )
    if total_row is not None:
        line, stated = total_row
        counted = _counted(config)
        for position, star in enumerate(STARS):
            computed = sum(r.stars[position] for r in out if r.department in counted)
            if stated[position] != computed:
                problems.add(
                    table.where(line),
                    f"合计 row: {star} says {stated[position]} but the counted rows add up to {computed} "
                    f"(difference {stated[position] - computed:+d})",
                )
    if not out and not problems.lines:
        problems.add(table.source, "no department rows")
    problems.raise_if_any(f"{table.source}: reviews")
    return out


# ---------------------------------------------------------------- scores, honor list, reasons


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
    config: MonitorConfig, month: str, table: Table, sheet: str, key: str, problems: _Problems
) -> dict[str, dict[str, Decimal]]:
    limits, from_incidents = _entered_categories(config, month, sheet)
    ignored = ("部门名称",) if sheet == "window" else ()
    index = _columns(table, [key], [*limits, *from_incidents, *ignored], problems)
    for name in from_incidents & set(index):
        problems.add(
            table.where(table.rows[0][0]),
            f"column {name!r} is scored from recorded incidents and cannot be entered: remove the column",
        )
    out: dict[str, dict[str, Decimal]] = {}
    windows = config.window_by_id
    for line, cells in _data_rows(table):
        where = table.where(line)
        raw = _cell(cells, index, key)
        if sheet == "department":
            try:
                target = _department(config, raw)
            except ValueError as exc:
                problems.add(where, str(exc))
                continue
        else:
            target = squeeze(raw)
            if target not in windows:
                problems.add(where, f"window {raw!r} is not in the configuration's [windows]")
                continue
        if target in out:
            problems.add(where, f"{target} is listed twice")
            continue
        points: dict[str, Decimal] = {}
        for category, most in limits.items():
            text = _cell(cells, index, category)
            if not text:
                continue
            try:
                value = Decimal(text)
            except InvalidOperation:
                problems.add(where, f"{category}: {text!r} is not a number")
                continue
            if not value.is_finite() or not Decimal(0) <= value <= most:
                problems.add(where, f"{category}: {text} is outside 0..{most}")
                continue
            points[category] = value
        out[target] = points
    return out


def parse_scores(config: MonitorConfig, month: str, tables: list[Table]) -> ScoresImport:
    """Each table is recognised by its header: 部门 + categories (department points), 窗口号 + categories
    (window points), 姓名 + 部门 (the honor list, in order), 部门 + 原因 [+ 业务] (change reasons)."""
    problems = _Problems()
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
                "cannot tell what this table is: its first row needs 部门 (department points), 窗口号 (window "
                "points), 姓名 (honor list) or 部门 and 原因 (change reasons)",
            )
            continue
        if part in parts:
            problems.add(table.source, f"a second {part} table in the same import")
        parts[part] = value
    if not tables:
        problems.add("scores", "the file is empty")
    problems.raise_if_any("scores import")
    return ScoresImport(**parts)  # type: ignore[arg-type]


def _parse_honors(config: MonitorConfig, table: Table, problems: _Problems) -> list[HonorEntry]:
    index = _columns(table, ["姓名", "部门"], ["序号", "窗口号"], problems)
    out = []
    for line, cells in _data_rows(table):
        name = squeeze(_cell(cells, index, "姓名"))
        if not name:
            problems.add(table.where(line), "姓名 is empty")
            continue
        try:
            out.append(HonorEntry(name, _department(config, _cell(cells, index, "部门"))))
        except ValueError as exc:
            problems.add(table.where(line), str(exc))
    return out


def _parse_reasons(config: MonitorConfig, table: Table, problems: _Problems) -> list[ChangeReason]:
    index = _columns(table, ["部门", "原因"], ["业务"], problems)
    out: list[ChangeReason] = []
    for line, cells in _data_rows(table):
        reason = _cell(cells, index, "原因").rstrip("，,。")
        if not reason:
            problems.add(table.where(line), "原因 is empty: write why the case volume changed")
            continue
        try:
            department = _department(config, _cell(cells, index, "部门"))
        except ValueError as exc:
            problems.add(table.where(line), str(exc))
            continue
        if any(r.department == department for r in out):
            problems.add(table.where(line), f"{department} has a second reason")
            continue
        out.append(ChangeReason(department, reason, squeeze(_cell(cells, index, "业务"))))
    return out


def load_cases_file(config: MonitorConfig, path: Path) -> list[CaseVolume]:
    return parse_cases(config, _single_table(read_tables(path), path))


def load_reviews_file(config: MonitorConfig, path: Path) -> list[ReviewCount]:
    return parse_reviews(config, _single_table(read_tables(path), path))


def load_scores_file(config: MonitorConfig, month: str, path: Path) -> ScoresImport:
    return parse_scores(config, month, read_tables(path))


# ---------------------------------------------------------------- saving (adapter)


def _replace(session: Session, table: type, month: str, **where: str) -> None:
    statement = delete(table).where(col(table.month) == month)  # type: ignore[attr-defined]
    for key, value in where.items():
        statement = statement.where(col(getattr(table, key)) == value)
    session.exec(statement)  # type: ignore[call-overload]


def _log(session: Session, month: str, part: str, source: str, rows: int, now: dt.datetime) -> None:
    session.add(InputImportRow(month=month, part=part, source=source, rows=rows, imported_at=now))


def save_cases(session: Session, month: str, volumes: list[CaseVolume], source: str, now: dt.datetime) -> None:
    _replace(session, CaseVolumeRow, month)
    for position, volume in enumerate(volumes):
        for category, count in volume.counts.items():
            session.add(
                CaseVolumeRow(
                    month=month, position=position, department=volume.department, category=category, count=count
                )
            )
    _log(session, month, "cases", source, len(volumes), now)


def save_reviews(session: Session, month: str, reviews: list[ReviewCount], source: str, now: dt.datetime) -> None:
    _replace(session, ReviewCountRow, month)
    for position, r in enumerate(reviews):
        five, four, three, two, one = r.stars
        session.add(
            ReviewCountRow(
                month=month,
                position=position,
                department=r.department,
                five=five,
                four=four,
                three=three,
                two=two,
                one=one,
                complaints=r.complaints,
                follow_up_rate=None if r.follow_up_rate is None else str(r.follow_up_rate),
                follow_up_satisfaction=None if r.follow_up_satisfaction is None else str(r.follow_up_satisfaction),
            )
        )
    _log(session, month, "reviews", source, len(reviews), now)


def save_scores(session: Session, month: str, scores: ScoresImport, source: str, now: dt.datetime) -> list[str]:
    """Replace the parts the import has; returns their names."""
    saved = []
    for sheet, part in (("department", scores.departments), ("window", scores.windows)):
        if part is None:
            continue
        _replace(session, EnteredScoreRow, month, sheet=sheet)
        for target, points in part.items():
            for category, value in points.items():
                session.add(
                    EnteredScoreRow(month=month, sheet=sheet, target=target, category=category, points=str(value))
                )
        _log(session, month, f"{sheet}_scores", source, len(part), now)
        saved.append(f"{sheet}_scores")
    if scores.honors is not None:
        _replace(session, HonorRow, month)
        for position, entry in enumerate(scores.honors):
            session.add(HonorRow(month=month, position=position, name=entry.name, department=entry.department))
        _log(session, month, "honors", source, len(scores.honors), now)
        saved.append("honors")
    if scores.reasons is not None:
        _replace(session, ChangeReasonRow, month)
        for position, reason in enumerate(scores.reasons):
            session.add(
                ChangeReasonRow(
                    month=month,
                    position=position,
                    department=reason.department,
                    reason=reason.reason,
                    business=reason.business,
                )
            )
        _log(session, month, "reasons", source, len(scores.reasons), now)
        saved.append("reasons")
    return saved


# ---------------------------------------------------------------- reading back


@dataclass(frozen=True, slots=True)
class MonthInputs:
    """Everything imported for one month; None where a part was never imported."""

    month: str
    cases: list[CaseVolume] | None
    reviews: list[ReviewCount] | None
    department_points: dict[str, dict[str, Decimal]] | None
    window_points: dict[str, dict[str, Decimal]] | None
    honors: list[HonorEntry] | None
    reasons: list[ChangeReason] | None


def load_month_inputs(session: Session, config: MonitorConfig, month: str) -> MonthInputs:
    parts = set(session.exec(select(InputImportRow.part).where(InputImportRow.month == month)).all())
    cases: list[CaseVolume] | None = None
    if "cases" in parts:
        by_dept: dict[str, CaseVolume] = {}
        rows = session.exec(
            select(CaseVolumeRow).where(CaseVolumeRow.month == month).order_by(col(CaseVolumeRow.position))
        ).all()
        for row in rows:
            by_dept.setdefault(row.department, CaseVolume(row.department, {})).counts[row.category] = row.count
        order = config.notices.case_categories
        cases = [CaseVolume(v.department, {c: v.counts.get(c, 0) for c in order}) for v in by_dept.values()]
    reviews: list[ReviewCount] | None = None
    if "reviews" in parts:
        reviews = [
            ReviewCount(
                r.department,
                (r.five, r.four, r.three, r.two, r.one),
                r.complaints,
                None if r.follow_up_rate is None else Decimal(r.follow_up_rate),
                None if r.follow_up_satisfaction is None else Decimal(r.follow_up_satisfaction),
            )
            for r in session.exec(
                select(ReviewCountRow).where(ReviewCountRow.month == month).order_by(col(ReviewCountRow.position))
            ).all()
        ]
    points: dict[str, dict[str, dict[str, Decimal]]] = {}
    for sheet in ("department", "window"):
        if f"{sheet}_scores" in parts:
            found: dict[str, dict[str, Decimal]] = {}
            for row in session.exec(
                select(EnteredScoreRow)
                .where(EnteredScoreRow.month == month, EnteredScoreRow.sheet == sheet)
                .order_by(col(EnteredScoreRow.id))
            ).all():
                found.setdefault(row.target, {})[row.category] = Decimal(row.points)
            points[sheet] = found
    honors = (
        [
            HonorEntry(h.name, h.department)
            for h in session.exec(select(HonorRow).where(HonorRow.month == month).order_by(col(HonorRow.position)))
        ]
        if "honors" in parts
        else None
    )
    reasons = (
        [
            ChangeReason(r.department, r.reason, r.business)
            for r in session.exec(
                select(ChangeReasonRow).where(ChangeReasonRow.month == month).order_by(col(ChangeReasonRow.position))
            )
        ]
        if "reasons" in parts
        else None
    )
    return MonthInputs(month, cases, reviews, points.get("department"), points.get("window"), honors, reasons)


def last_import_at(session: Session, months: Iterable[str]) -> dt.datetime | None:
    """When the newest import for any of `months` arrived (the scheduler regenerates after it)."""
    times = session.exec(select(InputImportRow.imported_at).where(col(InputImportRow.month).in_(list(months)))).all()
    return max(times) if times else None
