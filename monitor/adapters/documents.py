"""Writers (thin adapters): a composed `Notice` as .docx, .md, .json and (monthly) .xlsx bytes.

Output is byte-stable for the same notice: zip members get a fixed timestamp and the documents'
own created/modified properties are the issue date, so regenerating unchanged data changes no file.

The .docx follows GB/T 9704 (党政机关公文格式): A4, margins 37/35/28/26 mm, the issuing authority
and title in 小标宋, body in 仿宋 三号 (16 pt) at a fixed 28 pt line pitch, level-one headings in 黑体.
East-Asian fonts are set on every run (w:rFonts w:eastAsia), so Word and LibreOffice pick CJK fonts.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK, WD_LINE_SPACING
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from docx.table import Table as DocxTable
from docx.table import _Cell
from docx.text.paragraph import Paragraph

from monitor.core.notices.model import Block, Notice, Table

FANGSONG = "仿宋_GB2312"
XIAOBIAOSONG = "方正小标宋简体"
HEITI = "黑体"
KAITI = "楷体_GB2312"
_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_CORE_TIMES = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:(?:created|modified)>)")


def _stable_zip(data: bytes, issued_on: dt.date) -> bytes:
    """Rewrite an OOXML zip with fixed member timestamps and the issue date as created/modified."""
    stamp = f"{issued_on.isoformat()}T00:00:00Z".encode()
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name in sorted(source.namelist(), key=lambda n: (n != "[Content_Types].xml", n)):
            blob = source.read(name)
            if name == "docProps/core.xml":
                blob = _CORE_TIMES.sub(rb"\g<1>" + stamp + rb"\g<2>", blob)
            info = zipfile.ZipInfo(name, _FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(info, blob)
    return out.getvalue()


# ---------------------------------------------------------------- docx


def _font(target: Any, name: str, size: float, *, bold: bool = False, red: bool = False) -> None:
    """Set a run's or a style's font, East-Asian slot included (python-docx sets only the Latin ones)."""
    font = target.font
    font.name = name
    font.size = Pt(size)
    font.bold = bold
    if red:
        font.color.rgb = RGBColor(0xE6, 0x00, 0x12)
    r_pr = target.element.get_or_add_rPr()
    fonts = r_pr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = r_pr.makeelement(qn("w:rFonts"), {})
        r_pr.insert(0, fonts)
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), name)


def _paragraph(
    doc: DocumentObject,
    text: str,
    font: str,
    size: float,
    *,
    pitch: float = 28,
    align: WD_ALIGN_PARAGRAPH | None = None,
    indent: bool = False,
    red: bool = False,
) -> Paragraph:
    """One paragraph at a fixed line pitch (GB/T 9704: 22 lines of 三号 a page is about 28 pt)."""
    p = doc.add_paragraph()
    fmt = p.paragraph_format
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = Pt(pitch)
    fmt.space_before = Pt(0)
    fmt.space_after = Pt(0)
    if align is not None:
        p.alignment = align
    if indent:
        fmt.first_line_indent = Pt(size * 2)
    _font(p.add_run(text), font, size, red=red)
    return p


def _block(doc: DocumentObject, block: Block) -> None:
    style = block.style
    if style == "draft":
        _paragraph(doc, block.text, HEITI, 14, red=True)
    elif style == "issuer":
        _paragraph(doc, block.text, XIAOBIAOSONG, 26, pitch=40, align=WD_ALIGN_PARAGRAPH.CENTER, red=True)
        _paragraph(doc, "", FANGSONG, 16)
    elif style == "number":
        _paragraph(doc, block.text, FANGSONG, 16, align=WD_ALIGN_PARAGRAPH.CENTER)
        _paragraph(doc, "", FANGSONG, 16)
    elif style == "title":
        _paragraph(doc, block.text, XIAOBIAOSONG, 22, pitch=36, align=WD_ALIGN_PARAGRAPH.CENTER)
        _paragraph(doc, "", FANGSONG, 16)
    elif style == "heading":
        _paragraph(doc, block.text, HEITI, 16, indent=True)
    elif style in ("addressee",):
        _paragraph(doc, block.text, FANGSONG, 16)
    elif style == "attachments":
        p = _paragraph(doc, block.text, FANGSONG, 16, indent=True)
        if not block.text.startswith("附件"):
            p.paragraph_format.left_indent = Pt(16 * 5)
            p.paragraph_format.first_line_indent = Pt(0)
    elif style in ("signature", "date"):
        if style == "signature":
            _paragraph(doc, "", FANGSONG, 16)
        p = _paragraph(doc, block.text, FANGSONG, 16, align=WD_ALIGN_PARAGRAPH.RIGHT)
        p.paragraph_format.right_indent = Pt(16 * 4)
    elif style == "imprint":
        _paragraph(doc, "", FANGSONG, 16)
        _paragraph(doc, block.text, FANGSONG, 14)
    else:
        _paragraph(doc, block.text, FANGSONG, 16, indent=True)


def _cell_text(cell: _Cell, text: str, *, bold: bool) -> None:
    cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
    paragraph = cell.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    if not text:  # an empty cell stays empty, so that merging it adds no blank line
        return
    run = paragraph.add_run(text)
    _font(run, HEITI if bold else FANGSONG, 10.5)


_TEXT_WIDTH_MM = 210 - 28 - 26
_NAME_COLUMNS = {"部门": 38, "部门名称": 38, "窗口号": 15, "证据": 30, "日期": 24}


def _column_widths(header: tuple[str, ...]) -> list[Mm]:
    """Names get room, figures share the rest of the text width."""
    fixed = {i: _NAME_COLUMNS[h] for i, h in enumerate(header) if h in _NAME_COLUMNS}
    rest = (_TEXT_WIDTH_MM - sum(fixed.values())) / max(1, len(header) - len(fixed))
    return [Mm(fixed.get(i, rest)) for i in range(len(header))]


def _table(doc: DocumentObject, table: Table) -> DocxTable:
    columns = len(table.rows[0])
    grid = doc.add_table(rows=len(table.rows), cols=columns)
    grid.style = "Table Grid"
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    # Cells straight from each row's XML: `Table.cell()` rescans the whole table on every call.
    cells = [[_Cell(tc, grid) for tc in tr.tc_lst] for tr in grid._tbl.tr_lst]
    for r, row in enumerate(table.rows):
        for c, text in enumerate(row):
            _cell_text(cells[r][c], text, bold=r == 0)
    grid.autofit = False
    for column, width in enumerate(_column_widths(table.rows[0])):
        grid.columns[column].width = width  # the grid (LibreOffice reads it) and every cell (Word does)
        for row_cells in cells:
            row_cells[column].width = width
    # Repeat the header row on every page (Attachment 2 runs over several pages).
    tr_pr = grid.rows[0]._tr.get_or_add_trPr()
    tr_pr.append(tr_pr.makeelement(qn("w:tblHeader"), {qn("w:val"): "true"}))
    for column in table.merge_down:
        top = 1
        for r in range(2, len(table.rows) + 1):
            if r == len(table.rows) or table.rows[r][column]:
                if r - 1 > top:
                    cells[top][column].merge(cells[r - 1][column])
                top = r
    return grid


def docx_bytes(notice: Notice, issued_on: dt.date) -> bytes:
    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    normal = doc.styles["Normal"]
    _font(normal, FANGSONG, 16)
    core = doc.core_properties
    core.title = notice.title
    core.author = core.last_modified_by = "monitor"
    core.revision = 1
    moment = dt.datetime.combine(issued_on, dt.time())
    core.created = core.modified = moment
    tables = {t.key: t for t in notice.tables}
    for block in notice.blocks:
        if block.style == "table":
            caption = tables[block.text].caption
            _paragraph(doc, caption, HEITI, 14, align=WD_ALIGN_PARAGRAPH.CENTER)
            _table(doc, tables[block.text])
        else:
            _block(doc, block)
    for table in (t for t in notice.tables if t.label):
        page_break = doc.add_paragraph().add_run()
        _font(page_break, FANGSONG, 16)
        page_break.add_break(WD_BREAK.PAGE)
        _paragraph(doc, table.label, HEITI, 16)
        _paragraph(doc, table.caption, XIAOBIAOSONG, 18, pitch=32, align=WD_ALIGN_PARAGRAPH.CENTER)
        if table.unit:
            _paragraph(doc, table.unit, FANGSONG, 12, align=WD_ALIGN_PARAGRAPH.RIGHT)
        _table(doc, table)
    buffer = io.BytesIO()
    doc.save(buffer)
    return _stable_zip(buffer.getvalue(), issued_on)


# ---------------------------------------------------------------- markdown, json


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def _md_table(table: Table) -> list[str]:
    header, *rows = table.rows
    lines = ["| " + " | ".join(_md_escape(c) for c in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_md_escape(c) for c in row) + " |" for row in rows]
    return lines


def markdown_text(notice: Notice) -> str:
    tables = {t.key: t for t in notice.tables}
    lines: list[str] = []
    for block in notice.blocks:
        if block.style == "table":
            lines += [f"**{tables[block.text].caption}**", "", *_md_table(tables[block.text])]
        elif block.style == "title":
            lines.append(f"# {block.text}")
        elif block.style == "heading":
            lines.append(f"## {block.text}")
        elif block.style == "draft":
            lines.append(f"> **{block.text}**")
        elif block.style in ("issuer", "number", "signature", "date"):
            lines.append(f'<p align="{"right" if block.style in ("signature", "date") else "center"}">{block.text}</p>')
        else:
            lines.append(block.text)
        lines.append("")
    for table in (t for t in notice.tables if t.label):
        lines += ["---", "", f"**{table.label}**", "", f"### {table.caption}", ""]
        if table.unit:
            lines += [table.unit, ""]
        lines += [*_md_table(table), ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def notice_document(notice: Notice) -> dict[str, object]:
    """Everything the notice states: the JSON file, and `--json` (attachments + text) is a subset."""
    return {
        "kind": notice.kind,
        "period": notice.period,
        "title": notice.title,
        "draft": notice.draft,
        "missing": list(notice.missing),
        "figures": notice.figures,
        "attachments": {t.key: [list(r) for r in t.rows] for t in notice.tables if t.label},
        "tables": {t.key: {"caption": t.caption, "rows": [list(r) for r in t.rows]} for t in notice.tables},
        "text": notice.text,
        "summary": notice.summary,
    }


def json_text(notice: Notice) -> str:
    return json.dumps(notice_document(notice), ensure_ascii=False, indent=2) + "\n"


# ---------------------------------------------------------------- xlsx


def xlsx_bytes(notice: Notice, issued_on: dt.date) -> bytes:
    """The attachments, one worksheet each (附件1..4), with the caption above the table."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, Side

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
        for r, row in enumerate(table.rows):
            for c, text in enumerate(row, 1):
                cell = sheet.cell(first + r, c, int(text) if text.isdigit() and c > 1 else text)
                cell.font = Font(name=HEITI if r == 0 else FANGSONG, size=11)
                cell.alignment = centre
                cell.border = border
        for column in table.merge_down:
            top = 1
            for r in range(2, len(table.rows) + 1):
                if r == len(table.rows) or table.rows[r][column]:
                    if r - 1 > top:
                        sheet.merge_cells(
                            start_row=first + top, start_column=column + 1, end_row=first + r - 1, end_column=column + 1
                        )
                    top = r
        sheet.column_dimensions["A"].width = 24
        sheet.print_title_rows = f"{first}:{first}"
    book.properties.creator = "monitor"
    book.properties.created = book.properties.modified = dt.datetime.combine(issued_on, dt.time())
    buffer = io.BytesIO()
    book.save(buffer)
    return _stable_zip(buffer.getvalue(), issued_on)


def write_notice(notice: Notice, folder: Path, issued_on: dt.date) -> list[Path]:
    """Write the notice's files into `folder` (created); returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / notice.file_stem
    outputs: list[tuple[Path, bytes]] = [
        (stem.with_suffix(".docx"), docx_bytes(notice, issued_on)),
        (stem.with_suffix(".md"), markdown_text(notice).encode()),
        (stem.with_suffix(".json"), json_text(notice).encode()),
    ]
    if notice.kind == "monthly":
        outputs.append((stem.with_suffix(".xlsx"), xlsx_bytes(notice, issued_on)))
    for path, data in outputs:
        if not path.exists() or path.read_bytes() != data:
            temporary = path.with_suffix(path.suffix + ".tmp")
            temporary.write_bytes(data)
            temporary.replace(path)
    return [path for path, _ in outputs]
