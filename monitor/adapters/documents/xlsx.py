"""The monthly attachments as .xlsx: one worksheet each (附件1..4), printable as they are.

Figures are numbers with the number format that prints them as the notice does (102.0 as `0.0`,
100 as `0`), columns are as wide as their content (and together as wide as the title), the header
row is frozen and repeated on every printed page.

Printing is planned here, because neither Excel nor LibreOffice sizes the rows of a generated file:
every row gets an explicit height that fits its lines (a header breaks before its full-marks note,
"窗口出勤 / (30 分)"). A table that fits one A4 page at 70% or more is fitted to one page, in the
orientation that prints it larger (on a tie, the one shaped like the table); a longer one prints as
large as its width allows and is cut by manual page breaks into pages of about equal length, between
departments where it can (a merged department cell is not cut), so that no page is a spill of a few
rows.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import math
import re
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.pagebreak import Break

from monitor.adapters.documents.lines import header_words
from monitor.adapters.documents.ooxml import stable_zip
from monitor.core.notices.model import Notice, Table

FANGSONG = "仿宋_GB2312"
XIAOBIAOSONG = "方正小标宋简体"
HEITI = "黑体"
_NUMBER = re.compile(r"^-?\d+(?:\.(\d+))?$")

LABEL_PT, TITLE_PT, TABLE_PT = 14, 16, 11
_LINE_EM = 1.45
"""A CJK font's line in em (Noto CJK's ascent + descent; the GB fonts are no taller)."""
_PT_PER_UNIT = 7.0
"""A column-width unit in points as LibreOffice prints it without Calibri (DejaVu Sans' digit); Excel's
Calibri is narrower, so a plan made with this errs towards a smaller table."""
_A4_PT = (595.3, 841.9)
_MARGIN_IN, _HEADER_IN = 0.5, 0.3
"""Page margins in inches: all round, and the (unused) header and footer."""
_MIN_SCALE = 0.7
"""The smallest scale at which a table is fitted to one page; below it the table paginates."""


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
    """Column width in Excel's units (about one Latin character at 11 pt): a CJK character counts two,
    and so do curly quotes, which CJK fonts print full width."""
    return sum(2.1 if ord(ch) > 0x2E80 or ch in "“”‘’" else 1.1 for ch in text)


def _height(size_pt: float, lines: int = 1) -> float:
    """A row's height in points that holds `lines` lines of `size_pt` text with a little room, in whole
    pixels (0.75 pt), as LibreOffice rounds a row's height down to them."""
    return math.ceil((lines * size_pt * _LINE_EM + 0.5) / 0.75) * 0.75


@dataclass(frozen=True, slots=True)
class _Plan:
    """How a sheet prints: its orientation, and either one page (`scale` None, fitted by the program)
    or pages cut after the data rows `breaks` (0-based counts of data rows) at `scale` percent."""

    landscape: bool
    scale: int | None
    breaks: tuple[int, ...] = ()


def _printable(landscape: bool) -> tuple[float, float]:
    """The page's printable width and height in points."""
    short, long = _A4_PT
    width, height = (long, short) if landscape else (short, long)
    return width - 2 * 72 * _MARGIN_IN, height - 2 * 72 * _MARGIN_IN


def _plan(width_pt: float, top_pt: float, header_pt: float, row_pt: float, rows: int, starts: set[int]) -> _Plan:
    """The sheet's print plan for a table `width_pt` wide: `top_pt` of label and title above a header
    row of `header_pt`, then `rows` data rows of `row_pt`; `starts` are the data rows a page may start
    at without cutting a merged cell."""
    height = top_pt + header_pt + rows * row_pt
    fits = {
        landscape: min(1.0, page_w / width_pt, page_h / height)
        for landscape in (True, False)
        for page_w, page_h in [_printable(landscape)]
    }
    if max(fits.values()) >= _MIN_SCALE:
        # The larger print; on a tie the page shaped like the table (portrait for a tall narrow one).
        landscape = fits[True] > fits[False] or (fits[True] == fits[False] and width_pt >= height)
        return _Plan(landscape, scale=None)
    # Too long for one page: as large as the width allows, portrait on a tie (more rows a page).
    landscape = min(1.0, _printable(True)[0] / width_pt) > min(1.0, _printable(False)[0] / width_pt)
    page_w, page_h = _printable(landscape)
    scale = math.floor(min(1.0, page_w / width_pt) * 100)
    room = page_h * 100 / scale - header_pt
    # One row short of what fits: the programs round row heights to their own units.
    first, others = int((room - top_pt) // row_pt) - 1, int(room // row_pt) - 1
    return _Plan(landscape, scale, _breaks(rows, first, others, starts))


def _breaks(rows: int, first: int, others: int, starts: set[int]) -> tuple[int, ...]:
    """Where pages end (counts of data rows before each cut): the fewest pages that hold `first` rows on
    the first page and `others` on each next, then the longest shortest page; cut only before a row in
    `starts` (a department's first row) unless a department is longer than a page."""
    aligned = starts | {rows}
    ordered = sorted(aligned | {0})
    if any(b - a > others for a, b in itertools.pairwise(ordered)) or ordered[1] > first:
        aligned = set(range(rows + 1))
    fewest = 1 + math.ceil(max(0, rows - first) / others)
    pages = next(n for n in range(fewest, rows + 1) if _cut(rows, first, others, n, aligned, 1) is not None)
    return next(
        cuts
        for least in range(rows // pages, 0, -1)
        if (cuts := _cut(rows, first, others, pages, aligned, least)) is not None
    )


def _cut(rows: int, first: int, others: int, pages: int, cuts: set[int], least: int) -> tuple[int, ...] | None:
    """Cuts (from `cuts`) into `pages` pages that each hold between `least` rows and their capacity, or None."""
    reach: dict[int, tuple[int, ...]] = {0: ()}
    for capacity in [first] + [others] * (pages - 1):
        reach = {
            end: (*before, end)
            for start, before in reach.items()
            for end in range(start + least, min(start + capacity, rows) + 1)
            if end in cuts
        }
    return reach[rows][:-1] if rows in reach else None


DRAFT = "【草稿】未印发，无文号"


def _sheet(book: Workbook, table: Table, *, draft: bool) -> None:
    """One attachment's worksheet, laid out and planned for print; a draft's says so on screen and on paper."""
    sheet = book.create_sheet(table.label)
    if draft:
        sheet.oddHeader.center.text = DRAFT
        sheet.oddHeader.center.color = "E60012"
    thin = Side(style="thin")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    centre = Alignment(horizontal="center", vertical="center", wrap_text=True)
    width = len(table.rows[0])
    label = sheet.cell(1, 1, f"{table.label}　{DRAFT}" if draft else table.label)
    label.font = Font(name=HEITI, size=LABEL_PT, color="E60012" if draft else None)
    sheet.cell(1, 1).alignment = Alignment(horizontal="left", vertical="center")
    sheet.cell(2, 1, table.caption).font = Font(name=XIAOBIAOSONG, size=TITLE_PT)
    sheet.cell(2, 1).alignment = centre
    sheet.row_dimensions[1].height = _height(LABEL_PT)
    sheet.row_dimensions[2].height = _height(TITLE_PT) + TITLE_PT / 2  # room above and below the title
    first = 3
    if table.unit:
        sheet.cell(3, 1, table.unit).font = Font(name=FANGSONG, size=TABLE_PT)
        sheet.cell(3, 1).alignment = Alignment(horizontal="right", vertical="center")
        sheet.row_dimensions[3].height = _height(TABLE_PT)
        first = 4
    header = [header_words(text) for text in table.rows[0]]
    widths = [max(_width(line) for line in lines) + 2 for lines in header]
    for r, row in enumerate(table.rows):
        for c, text in enumerate(row, 1):
            if r == 0:
                value, number_format = "\n".join(header[c - 1]), "@"
            else:
                value, number_format = _value(text) if c > 1 else (text, "@")
                widths[c - 1] = max(widths[c - 1], _width(text) + 2)
            cell = sheet.cell(first + r, c, value)
            cell.number_format = number_format
            cell.font = Font(name=HEITI if r == 0 else FANGSONG, size=TABLE_PT)
            cell.alignment = centre
            cell.border = border
        sheet.row_dimensions[first + r].height = _height(TABLE_PT, max(map(len, header)) if r == 0 else 1)
    # The table as wide as its title, so the title prints on one line over it.
    missing = max(0.0, _width(table.caption) * TITLE_PT / TABLE_PT + 2 - sum(widths))
    widths = [w + missing / width for w in widths]
    for row in range(1, first):
        sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=width)
    for column in table.merge_down:
        top = 1
        for r in range(2, len(table.rows) + 1):
            if r == len(table.rows) or table.rows[r][column]:
                if r - 1 > top:
                    sheet.merge_cells(
                        start_row=first + top, start_column=column + 1, end_row=first + r - 1, end_column=column + 1
                    )
                top = r
    data = len(table.rows) - 1
    starts = {r for r in range(data) if all(table.rows[r + 1][column] for column in table.merge_down)}
    for c, column_width in enumerate(widths, 1):
        sheet.column_dimensions[get_column_letter(c)].width = round(column_width, 1)
    plan = _plan(
        sum(widths) * _PT_PER_UNIT,
        sum(sheet.row_dimensions[row].height for row in range(1, first)),
        sheet.row_dimensions[first].height,
        _height(TABLE_PT),
        data,
        starts,
    )
    sheet.freeze_panes = sheet.cell(first + 1, 1)
    sheet.print_title_rows = f"{first}:{first}"
    setup = sheet.page_setup
    setup.paperSize = sheet.PAPERSIZE_A4
    setup.orientation = "landscape" if plan.landscape else "portrait"
    if plan.scale is None:
        setup.fitToWidth = setup.fitToHeight = 1
        sheet.sheet_properties.pageSetUpPr.fitToPage = True
    else:  # Fitting would override the page breaks (Excel ignores manual breaks when fitting).
        setup.scale = plan.scale
        for end in plan.breaks:
            sheet.row_breaks.append(Break(id=first + end))
    margins = sheet.page_margins
    margins.left = margins.right = margins.top = margins.bottom = _MARGIN_IN
    margins.header = margins.footer = _HEADER_IN
    sheet.print_options.horizontalCentered = True


def xlsx_bytes(notice: Notice, issued_on: dt.date) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for table in (t for t in notice.tables if t.label):
        _sheet(book, table, draft=notice.draft)
    book.properties.creator = next((b.text for b in notice.blocks if b.style == "signature"), "")
    book.properties.created = book.properties.modified = dt.datetime.combine(issued_on, dt.time())
    buffer = io.BytesIO()
    book.save(buffer)
    return stable_zip(buffer.getvalue(), issued_on)
