"""The monthly attachments as .xlsx: one worksheet each (附件1..4), printable as they are.

Figures are numbers with the number format that prints them as the notice does (102.0 as `0.0`,
100 as `0`), columns are as wide as their content, pages are landscape and fit to one page wide,
the header row is frozen and repeated on every printed page.
"""

from __future__ import annotations

import datetime as dt
import io
import re

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

from monitor.adapters.documents.ooxml import stable_zip
from monitor.core.notices.model import Notice

FANGSONG = "仿宋_GB2312"
XIAOBIAOSONG = "方正小标宋简体"
HEITI = "黑体"
_NUMBER = re.compile(r"^-?\d+(?:\.(\d+))?$")


def _value(text: str) -> tuple[object, str]:
    """A cell's value and number format: a figure as a number printed with as many decimals as the text."""
    match = _NUMBER.match(text)
    if match is None:
        return text, "@"
    decimals = len(match.group(1) or "")
    if decimals == 0:
        return int(text), "0"
    return float(text), "0." + "0" * decimals


def _width(text: str) -> float:
    """Column width in Excel's units (about one Latin character): a CJK character counts two."""
    return sum(2.1 if ord(ch) > 0x2E80 else 1.1 for ch in text)


def xlsx_bytes(notice: Notice, issued_on: dt.date) -> bytes:
    book = Workbook()
    book.remove(book.active)
    thin = Side(style="thin")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    centre = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for table in (t for t in notice.tables if t.label):
        sheet = book.create_sheet(table.label)
        width = len(table.rows[0])
        sheet.cell(1, 1, table.label).font = Font(name=HEITI, size=14)
        sheet.cell(2, 1, table.caption).font = Font(name=XIAOBIAOSONG, size=16)
        sheet.cell(2, 1).alignment = centre
        sheet.merge_cells(start_row=2, start_column=1, end_row=2, end_column=width)
        first = 3
        if table.unit:
            sheet.cell(3, width, table.unit).font = Font(name=FANGSONG, size=11)
            first = 4
        widths = [0.0] * width
        for r, row in enumerate(table.rows):
            for c, text in enumerate(row, 1):
                value, number_format = _value(text) if r > 0 and c > 1 else (text, "@")
                cell = sheet.cell(first + r, c, value)
                cell.number_format = number_format
                cell.font = Font(name=HEITI if r == 0 else FANGSONG, size=11)
                cell.alignment = centre
                cell.border = border
                longest = max(text.split(" "), key=_width) if r == 0 else text
                widths[c - 1] = max(widths[c - 1], _width(longest) + 2)
        for column in table.merge_down:
            top = 1
            for r in range(2, len(table.rows) + 1):
                if r == len(table.rows) or table.rows[r][column]:
                    if r - 1 > top:
                        sheet.merge_cells(
                            start_row=first + top, start_column=column + 1, end_row=first + r - 1, end_column=column + 1
                        )
                    top = r
        for c, column_width in enumerate(widths, 1):
            sheet.column_dimensions[get_column_letter(c)].width = round(column_width, 1)
        sheet.freeze_panes = sheet.cell(first + 1, 1)
        sheet.print_title_rows = f"{first}:{first}"
        sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
        sheet.page_setup.orientation = "landscape"
        sheet.page_setup.fitToWidth = 1
        sheet.page_setup.fitToHeight = 0
        sheet.sheet_properties.pageSetUpPr.fitToPage = True
        sheet.print_options.horizontalCentered = True
    book.properties.creator = "monitor"
    book.properties.created = book.properties.modified = dt.datetime.combine(issued_on, dt.time())
    buffer = io.BytesIO()
    book.save(buffer)
    return stable_zip(buffer.getvalue(), issued_on)
