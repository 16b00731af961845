"""One of the console's tables as an .xlsx workbook, for the office to sort, filter and print (score sheets, on-duty
rates, the incident list).

A title row and notes (what the table lacks, how it was filtered), then the header, frozen, with a filter on it, then
the rows as the page shows them: figures as numbers (right-aligned, with the number format that prints them as the
page does), times as times, text as text. Columns are as wide as their content, a CJK character counting two.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

Cell = str | int | float | Decimal | dt.datetime | dt.date | None
"""A cell's value: a figure, a (naive, hall-local) time, text, or nothing."""

_MAX_WIDTH = 60
"""The widest column, in Excel's units; longer text wraps."""
_SHEET_NAME = 31
"""Excel's limit on a worksheet's name."""


@dataclass(frozen=True, slots=True)
class Column:
    title: str
    number_format: str = "General"
    """How figures print: "0", "0.0", "0.0%", "yyyy-mm-dd hh:mm"."""


def _width(value: Cell, number_format: str) -> float:
    """A cell's width in Excel's units (about one Latin character at 11 pt): a CJK character counts two."""
    if isinstance(value, dt.datetime | dt.date):
        return len(number_format) + 1
    text = "" if value is None else str(value)
    return sum(2.1 if ord(ch) > 0x2E80 else 1.1 for ch in text)


def _sheet_name(text: str) -> str:
    """`text` as a worksheet's name: without the characters Excel refuses there, cut to its length limit."""
    return "".join(ch for ch in text if ch not in "[]:*?/\\")[:_SHEET_NAME] or "表"


def table_xlsx(
    title: str, columns: Sequence[Column], rows: Sequence[Sequence[Cell]], notes: Sequence[str] = (), *, site: str = ""
) -> bytes:
    """The workbook of one table: `title`, `notes` (a line each), the header of `columns`, then `rows`. A district's
    table names its `site` (the site's name) before the title: in its heading, and in its sheet's name when both fit
    Excel's limit (else the title alone, which tells the table apart better than a title cut short)."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    heading = f"{site} {title}" if site else title
    sheet.title = _sheet_name(heading if len(heading) <= _SHEET_NAME else title)
    sheet.cell(1, 1, heading).font = Font(bold=True, size=14)
    for offset, note in enumerate(notes, 2):
        sheet.cell(offset, 1, note).font = Font(color="9A6700")
    top = len(notes) + 3 if notes else 2
    thin = Side(style="thin", color="D8DEE4")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    widths = [_width(c.title, "") + 2 for c in columns]
    for c, column in enumerate(columns, 1):
        cell = sheet.cell(top, c, column.title)
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="EEF1F4")
        cell.border = border
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for r, row in enumerate(rows, top + 1):
        for c, (column, value) in enumerate(zip(columns, row, strict=True), 1):
            cell = sheet.cell(r, c, value)
            cell.border = border
            figure = isinstance(value, int | float | Decimal | dt.datetime | dt.date)
            if figure:
                cell.number_format = column.number_format
            cell.alignment = Alignment(horizontal="right" if figure else "left", vertical="top", wrap_text=not figure)
            widths[c - 1] = max(widths[c - 1], _width(value, column.number_format) + 2)
    for c, width in enumerate(widths, 1):
        sheet.column_dimensions[get_column_letter(c)].width = min(width, _MAX_WIDTH)
    sheet.freeze_panes = sheet.cell(top + 1, 1)
    if rows:
        sheet.auto_filter.ref = f"A{top}:{get_column_letter(len(columns))}{top + len(rows)}"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
