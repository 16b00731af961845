"""Reading import files (CSV in UTF-8 or GBK as Excel saves it in China, or XLSX) into tables.

Reading is the only I/O of an import: the tables go to the pure parsers of monitor.core.inputs.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable, Sequence
from pathlib import Path

from monitor.config import MonitorConfig
from monitor.core.evaluation import Truth, parse_truth
from monitor.core.inputs.departments import parse_cases, parse_reviews
from monitor.core.inputs.scores import parse_scores
from monitor.core.inputs.table import Table
from monitor.core.inputs.types import CaseVolume, ReviewCount, ScoresImport
from monitor.errors import InputError


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
        raise InputError(f"{path}：文件不存在，请检查路径")
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
            raise InputError(f"{path}：既不是 UTF-8 也不是 GBK 文本，请在 Excel 中另存为“CSV UTF-8”")
        reader = csv.reader(io.StringIO(text, newline=""))
        table = _table(str(path), ((reader.line_num, row) for row in reader))
        return [table] if table.rows else []
    if suffix in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        try:
            book = load_workbook(path, read_only=True, data_only=True)
        except Exception:  # openpyxl raises many kinds for a damaged file, in English: the clerk gets what to do
            raise InputError(
                f"{path}：无法作为 Excel 工作簿读取（文件可能已损坏），请用 Excel 打开后另存为 .xlsx"
            ) from None
        tables = []
        for sheet in book.worksheets:
            lines = ((n, row) for n, row in enumerate(sheet.iter_rows(values_only=True), 1))
            table = _table(f"{path} 工作表“{sheet.title}”", lines)
            if table.rows:
                tables.append(table)
        book.close()
        return tables
    raise InputError(f"{path}：不支持的文件类型“{path.suffix}”，请导入 .csv 或 .xlsx 文件")


def _single_table(path: Path) -> Table:
    tables = read_tables(path)
    if not tables:
        raise InputError(f"{path}：文件为空，请填写后重新导入")
    return tables[0]


def load_cases_file(config: MonitorConfig, path: Path) -> list[CaseVolume]:
    return parse_cases(config, _single_table(path))


def load_reviews_file(config: MonitorConfig, path: Path) -> list[ReviewCount]:
    return parse_reviews(config, _single_table(path))


def load_scores_file(config: MonitorConfig, month: str, path: Path) -> ScoresImport:
    return parse_scores(config, month, read_tables(path))


def load_truth(path: Path) -> Truth:
    """Read a clip's `.truth.json` sidecar (fixtures/videos/README.md)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: cannot read the ground truth: {exc}") from None
    return parse_truth(data, str(path))
