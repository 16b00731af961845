"""The monthly notice's .xlsx as a clerk prints it: LibreOffice renders the seed month's workbook to PDF
and pdfplumber measures every page against the cell borders it drew — each attachment on pages of its
own with no spill of a few rows, the header row repeated and as tall as its wrapped lines, the title on
one line above the table, and every character inside its cell."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pdfplumber
import pytest
from openpyxl import load_workbook
from pdfplumber.page import Page
from typer.testing import CliRunner

from monitor.adapters.store.database import open_database
from monitor.cli import _register, app
from tests.support.config import hall_config
from tests.support.notices import import_seed, insert_incidents, seed_incidents
from tests.support.office import to_pdf

pytestmark = pytest.mark.skipif(
    not shutil.which("soffice"), reason="LibreOffice (soffice) is not installed; .ci/run installs it"
)
TOLERANCE = 0.5
"""Points a character may pass a border by: LibreOffice's rounding, never a visible overflow."""


@dataclass(frozen=True)
class Sheet:
    """An attachment as written (the workbook) and as printed (its PDF pages, in order)."""

    label: str
    caption: str
    header: list[str]
    rows: list[list[str]]
    """Data rows' cell texts, the header excluded."""
    pages: list[Page]


@dataclass(frozen=True)
class Grid:
    """A printed page's table, from the borders LibreOffice drew: column edges left to right, and for
    each column the horizontal rules across it top to bottom (a merged cell has none inside it)."""

    columns: list[float]
    rules: list[list[float]]

    def column(self, x: float) -> int | None:
        return next((c for c in range(len(self.columns) - 1) if self.columns[c] <= x < self.columns[c + 1]), None)

    @property
    def header(self) -> tuple[float, float]:
        return self.rules[0][0], self.rules[0][1]

    @property
    def data_rows(self) -> int:
        """Rows below the header: the first column is never merged, so each row has its rule there."""
        return len(self.rules[0]) - 2


def _distinct(values: list[float]) -> list[float]:
    out: list[float] = []
    for value in sorted(values):
        if not out or value - out[-1] > TOLERANCE:
            out.append(value)
    return out


def grid(page: Page) -> Grid:
    columns = _distinct([e["x0"] for e in page.edges if e["orientation"] == "v"])
    rules = [
        _distinct(
            [
                e["top"]
                for e in page.edges
                if e["orientation"] == "h" and e["x0"] <= left + TOLERANCE and e["x1"] >= right - TOLERANCE
            ]
        )
        for left, right in itertools.pairwise(columns)
    ]
    return Grid(columns, rules)


def _text(chars: list[dict]) -> str:
    return "".join(c["text"] for c in sorted(chars, key=lambda c: (round(c["top"]), c["x0"]))).replace(" ", "")


@pytest.fixture(scope="module")
def sheets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Sheet]]:
    """The seed month's notice (a draft: the attachments are the issued notice's), its .xlsx printed to PDF
    by LibreOffice."""
    tmp = tmp_path_factory.mktemp("xlsx")
    config, path = hall_config(tmp)
    engine = open_database(config.database.url)
    insert_incidents(engine, seed_incidents(), dismissed=("inc-a05",))
    import_seed(config, engine)
    _register()
    result = CliRunner().invoke(
        app,
        [
            "-c",
            str(path),
            "notice",
            "monthly",
            "--month",
            "2020-11",
            "--issue",
            "--number",
            "20",
            "--date",
            "2020-12-17",
        ],
    )
    assert result.exit_code == 0, result.output
    workbook = Path(config.notices.output_dir) / "notices" / "2020-11" / "monthly-2020-11.xlsx"
    to_pdf([workbook], tmp / "pdf", tmp / "lo-profile")
    book = load_workbook(workbook)
    with pdfplumber.open(tmp / "pdf" / "monthly-2020-11.pdf") as pdf:
        firsts = [n for n, page in enumerate(pdf.pages) if (page.extract_text() or "").startswith("附件")]
        sheets = []
        for sheet, start, end in zip(book.worksheets, firsts, [*firsts[1:], len(pdf.pages)], strict=True):
            header = int(sheet.print_title_rows.split(":")[0].lstrip("$"))
            cells = [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
            sheets.append(
                Sheet(sheet.title, cells[1][0], cells[header - 1], cells[header:], list(pdf.pages[start:end]))
            )
        yield sheets


def test_each_attachment_starts_its_own_page(sheets: list[Sheet]) -> None:
    assert [s.label for s in sheets] == ["附件1", "附件2", "附件3", "附件4"]
    for sheet in sheets:
        assert (sheet.pages[0].extract_text() or "").splitlines()[0] == sheet.label


def test_short_tables_on_one_page_and_a_long_one_without_a_spill(sheets: list[Sheet]) -> None:
    pages = {s.label: len(s.pages) for s in sheets}
    assert pages["附件1"] == pages["附件3"] == pages["附件4"] == 1, pages
    assert pages["附件2"] > 1
    for sheet in sheets:
        counts = [grid(page).data_rows for page in sheet.pages]
        assert sum(counts) == len(sheet.rows), (sheet.label, counts)
        assert min(counts) >= min(5, len(sheet.rows)), (sheet.label, counts)
        # Every row printed, in order, with its first cell on the page that holds it.
        first_cells = [
            _text([c for c in page.chars if grid(page).column(c["x0"]) == 0 and c["top"] > grid(page).header[1]])
            for page in sheet.pages
        ]
        assert "".join(first_cells) == "".join(row[0] for row in sheet.rows if row[0])


def test_the_header_fits_its_row_on_every_page(sheets: list[Sheet]) -> None:
    for sheet in sheets:
        for number, page in enumerate(sheet.pages, 1):
            table = grid(page)
            top, bottom = table.header
            heads = [c for c in page.chars if top - TOLERANCE <= (c["top"] + c["bottom"]) / 2 <= bottom]
            for c in heads:
                column = table.column((c["x0"] + c["x1"]) / 2)
                assert column is not None, (sheet.label, number, c["text"])
                assert table.columns[column] - TOLERANCE <= c["x0"], (sheet.label, number, c["text"])
                assert c["x1"] <= table.columns[column + 1] + TOLERANCE, (sheet.label, number, c["text"])
                assert top - TOLERANCE <= c["top"] and c["bottom"] <= bottom + TOLERANCE, (sheet.label, c["text"])
            by_column = [
                _text([c for c in heads if table.column((c["x0"] + c["x1"]) / 2) == column])
                for column in range(len(sheet.header))
            ]
            assert by_column == [h.replace(" ", "").replace("\n", "") for h in sheet.header], (sheet.label, number)
            # Nothing else reaches into the header: not the title above it, not the first row below it.
            others = [c for c in page.chars if c not in heads]
            assert all(c["bottom"] <= top + TOLERANCE or c["top"] >= bottom - TOLERANCE for c in others)


def test_the_title_on_one_line_above_the_table(sheets: list[Sheet]) -> None:
    for sheet in sheets:
        page = sheet.pages[0]
        table = grid(page)
        above = [c for c in page.chars if c["bottom"] <= table.header[0]]
        title = [c for c in above if c["size"] > max(c["size"] for c in above) - 0.1]  # the largest type
        assert _text(title) == sheet.caption
        assert max(c["top"] for c in title) - min(c["top"] for c in title) < 1, sheet.label
        assert table.columns[0] - TOLERANCE <= min(c["x0"] for c in title), sheet.label
        assert max(c["x1"] for c in title) <= table.columns[-1] + TOLERANCE, sheet.label


def test_every_character_inside_its_cell(sheets: list[Sheet]) -> None:
    for sheet in sheets:
        for number, page in enumerate(sheet.pages, 1):
            table = grid(page)
            inside = [
                c
                for c in page.chars
                if table.columns[0] <= (c["x0"] + c["x1"]) / 2 <= table.columns[-1]
                and table.rules[0][0] <= (c["top"] + c["bottom"]) / 2 <= table.rules[0][-1]
            ]
            assert inside
            for c in inside:
                column = table.column((c["x0"] + c["x1"]) / 2)
                assert column is not None
                where = (sheet.label, number, c["text"], round(c["x0"]), round(c["top"]))
                assert table.columns[column] - TOLERANCE <= c["x0"] <= c["x1"] <= table.columns[column + 1] + TOLERANCE
                middle = (c["top"] + c["bottom"]) / 2
                rules = table.rules[column]
                upper = max(r for r in rules if r <= middle)
                lower = min(r for r in rules if r >= middle)
                assert upper - TOLERANCE <= c["top"] and c["bottom"] <= lower + TOLERANCE, where
