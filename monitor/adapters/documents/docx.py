"""The notice as an official document (.docx), laid out by GB/T 9704 (党政机关公文格式).

A4, margins 37/35/28/26 mm; 发文机关标志 in red 小标宋, 发文字号 centred under it and the red separator
rule; the title in 2号小标宋, broken at sense boundaries (`title_lines`); body in 3号仿宋 at a fixed
28 pt pitch, level-one headings in 黑体; signature and date; page numbers 「— 1 —」 in the footer;
each attachment on a page of its own (landscape where the table is wide), header rows repeated,
rows never split across pages, department names printed on every row (a merged cell would leave
a page of continuation rows without its department); the 版记 (抄送, 印发机关 and 印发日期 between
rules) at the very end. East-Asian fonts are set on every run (w:rFonts w:eastAsia), so Word and
LibreOffice pick CJK fonts (a machine without the GB fonts substitutes its own, e.g. Noto CJK).
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Mapping
from itertools import pairwise
from typing import Any

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK, WD_LINE_SPACING, WD_TAB_ALIGNMENT
from docx.oxml.ns import qn
from docx.section import Section
from docx.shared import Mm, Pt, RGBColor
from docx.table import _Cell
from docx.text.paragraph import Paragraph
from PIL import Image

from monitor.adapters.documents.ooxml import stable_zip
from monitor.core.notices.model import Block, Notice, Table

FANGSONG = "仿宋_GB2312"
XIAOBIAOSONG = "方正小标宋简体"
HEITI = "黑体"
SONGTI = "宋体"
RED = RGBColor(0xE6, 0x00, 0x12)
_PAGE = (Mm(210), Mm(297))
_MARGINS = (Mm(37), Mm(35), Mm(28), Mm(26))
"""Top, bottom, left, right (portrait); a landscape page turns them with the paper."""
_TABLE_PT = 10.5
_CELL_PADDING_MM = 2.8
_CELL_MARGIN_TWIPS = 57
"""1 mm left and right inside each cell (Word's default 1.9 mm would squeeze the names)."""


def _font(target: Any, name: str, size: float, *, bold: bool = False, red: bool = False) -> None:
    """Set a run's or a style's font, East-Asian slot included (python-docx sets only the Latin ones)."""
    font = target.font
    font.name = name
    font.size = Pt(size)
    font.bold = bold
    if red:
        font.color.rgb = RED
    r_pr = target.element.get_or_add_rPr()
    fonts = r_pr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = r_pr.makeelement(qn("w:rFonts"), {})
        r_pr.insert(0, fonts)
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), name)


def _border(paragraph: Paragraph, side: str, size_eighths: int, *, red: bool = False) -> None:
    """A rule along one side of a paragraph (GB/T 9704's separator and 版记 rules)."""
    p_pr = paragraph._p.get_or_add_pPr()
    borders = p_pr.find(qn("w:pBdr"))
    if borders is None:
        borders = p_pr.makeelement(qn("w:pBdr"), {})
        p_pr.append(borders)
    attrs = {"w:val": "single", "w:sz": str(size_eighths), "w:space": "1", "w:color": "E60012" if red else "000000"}
    borders.append(borders.makeelement(qn(f"w:{side}"), {qn(k): v for k, v in attrs.items()}))


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


def _width(text: str) -> float:
    """Text width in em: CJK and full-width characters one, Latin letters and digits 0.6, and a
    quarter em where Latin and CJK meet (LibreOffice and Word space them apart)."""
    wide = [ord(ch) > 0x2E80 for ch in text]
    switches = sum(1 for a, b in pairwise(wide) if a != b)
    return sum(1.0 if w else 0.55 for w in wide) + 0.25 * switches


def _header_words(head: str) -> list[str]:
    """A header may wrap before its full-marks note: "工作纪律 (40 分)" -> 工作纪律 / (40 分)."""
    return re.split(r"\s(?=\()", head)


_TITLE_BREAKS = ("关于", "中心", "年", "月份", "周", "窗口", "人员", "情况")
"""Where a title may break: after these words, never inside a word such as 工作人员."""


def title_lines(title: str, per_line: float) -> list[str]:
    """The title in as few balanced lines as fit `per_line` em, broken only after `_TITLE_BREAKS`."""
    if _width(title) <= per_line:
        return [title]
    cuts = sorted(
        {i + len(word) for word in _TITLE_BREAKS for i in range(len(title)) if title.startswith(word, i)} - {len(title)}
    )
    fitting = [c for c in cuts if _width(title[:c]) <= per_line]
    if not fitting:
        return [title]
    best = min(fitting, key=lambda c: (_width(title[c:]) > per_line, abs(_width(title[:c]) - _width(title[c:]))))
    return [title[:best], *title_lines(title[best:], per_line)]


def _text_width_mm(section: Section) -> float:
    assert section.page_width is not None and section.left_margin is not None and section.right_margin is not None
    return (section.page_width - section.left_margin - section.right_margin) / 36000


def _block(doc: DocumentObject, block: Block) -> None:
    style = block.style
    if style == "draft":
        _paragraph(doc, block.text, HEITI, 14, red=True)
    elif style == "issuer":
        _paragraph(doc, block.text, XIAOBIAOSONG, 26, pitch=40, align=WD_ALIGN_PARAGRAPH.CENTER, red=True)
        _paragraph(doc, "", FANGSONG, 16)
    elif style == "number":
        _paragraph(doc, block.text, FANGSONG, 16, align=WD_ALIGN_PARAGRAPH.CENTER)
    elif style == "title":
        per_line = _text_width_mm(doc.sections[-1]) / (22 * 0.3528)
        for line in title_lines(block.text, per_line):
            _paragraph(doc, line, XIAOBIAOSONG, 22, pitch=36, align=WD_ALIGN_PARAGRAPH.CENTER)
        _paragraph(doc, "", FANGSONG, 16)
    elif style == "heading":
        _paragraph(doc, block.text, HEITI, 16, indent=True)
    elif style == "addressee":
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
    else:
        _paragraph(doc, block.text, FANGSONG, 16, indent=True)


def _separator(doc: DocumentObject) -> None:
    """The red rule under the 发文字号 (GB/T 9704 7.2.4), then a blank line before the title."""
    rule = _paragraph(doc, "", FANGSONG, 8, pitch=8)
    _border(rule, "bottom", 12, red=True)
    _paragraph(doc, "", FANGSONG, 16)


def _page_numbers(section: Section) -> None:
    """「— 1 —」 centred in the footer, 4号 宋体 (a PAGE field, so every page gets its own number)."""
    paragraph = section.footer.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(paragraph.add_run("— "), SONGTI, 14)
    field = paragraph._p.makeelement(qn("w:fldSimple"), {qn("w:instr"): "PAGE"})
    run = paragraph.add_run("1")
    _font(run, SONGTI, 14)
    field.append(run._r)
    paragraph._p.append(field)
    _font(paragraph.add_run(" —"), SONGTI, 14)


# ---------------------------------------------------------------- tables


def _column_widths(table: Table, available_mm: float) -> list[float]:
    """Widths (mm) that fit the content: a header may wrap at its spaces ("工作纪律 / (40 分)"), a
    figure never; long names wrap when the table would not fit otherwise."""
    em = _TABLE_PT * 0.3528
    header, *rows = table.rows
    natural: list[float] = []
    least: list[float] = []
    for c, head in enumerate(header):
        words = max(_width(w) for w in _header_words(head)) if head else 0
        cells = [_width(row[c]) for row in rows] or [0.0]
        natural.append(max(words, *cells) * em + _CELL_PADDING_MM)
        least.append(max(words, min(max(cells), 6.0)) * em + _CELL_PADDING_MM)
    total = sum(natural)
    if total <= available_mm:
        extra = (available_mm - total) / len(natural)
        return [w + extra for w in natural]
    slack = total - sum(least)
    share = (available_mm - sum(least)) / slack if slack > 0 else 0.0
    return [lo + (na - lo) * max(share, 0.0) for lo, na in zip(least, natural, strict=True)]


def _row_flags(row: Any, *, header: bool) -> None:
    tr_pr = row._tr.get_or_add_trPr()
    tr_pr.append(tr_pr.makeelement(qn("w:cantSplit"), {qn("w:val"): "true"}))
    if header:
        tr_pr.append(tr_pr.makeelement(qn("w:tblHeader"), {qn("w:val"): "true"}))


def _table(doc: DocumentObject, table: Table) -> None:
    rows = [list(row) for row in table.rows]
    for column in table.merge_down:  # print the name on continuation rows: visible on every page
        for r in range(2, len(rows)):
            rows[r][column] = rows[r][column] or rows[r - 1][column]
    grid = doc.add_table(rows=len(rows), cols=len(rows[0]))
    grid.style = "Table Grid"
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    grid.autofit = False
    tbl_pr = grid._tbl.tblPr
    margins = tbl_pr.makeelement(qn("w:tblCellMar"), {})
    for side in ("left", "right"):
        margins.append(margins.makeelement(qn(f"w:{side}"), {qn("w:w"): str(_CELL_MARGIN_TWIPS), qn("w:type"): "dxa"}))
    tbl_pr.append(margins)
    # Cells straight from each row's XML: `Table.cell()` rescans the whole table on every call.
    cells = [[_Cell(tc, grid) for tc in tr.tc_lst] for tr in grid._tbl.tr_lst]
    widths = [Mm(w) for w in _column_widths(table, _text_width_mm(doc.sections[-1]) - 2)]
    for r, row in enumerate(rows):
        _row_flags(grid.rows[r], header=r == 0)
        for c, text in enumerate(row):
            cell = cells[r][c]
            cell.width = widths[c]  # every cell (Word reads these) and the grid below (LibreOffice does)
            cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
            paragraph = cell.paragraphs[0]
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
            if r == 0:  # "(10 分)" stays on one line: a no-break space inside the note
                text = "\n".join(w.replace(" ", "\u00a0") for w in _header_words(text)).replace("\n", " ")
            if text:
                _font(paragraph.add_run(text), HEITI if r == 0 else FANGSONG, _TABLE_PT)
    for column, width in enumerate(widths):
        grid.columns[column].width = width


def _new_page(doc: DocumentObject, landscape: bool) -> None:
    """A page break, or a new section when the orientation changes (its footer follows the first)."""
    section = doc.sections[-1]
    if (section.orientation == WD_ORIENT.LANDSCAPE) == landscape:
        run = doc.add_paragraph().add_run()
        _font(run, FANGSONG, 16)
        run.add_break(WD_BREAK.PAGE)
        return
    _layout(doc.add_section(WD_SECTION.NEW_PAGE), landscape)


def _layout(section: Section, landscape: bool) -> None:
    top, bottom, left, right = _MARGINS
    if landscape:
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = _PAGE[1], _PAGE[0]
        section.top_margin, section.bottom_margin, section.left_margin, section.right_margin = left, right, top, bottom
    else:
        section.orientation = WD_ORIENT.PORTRAIT
        section.page_width, section.page_height = _PAGE
        section.top_margin, section.bottom_margin, section.left_margin, section.right_margin = top, bottom, left, right
    section.footer_distance = Mm(18)


def _attachment_heading(doc: DocumentObject, label: str, caption: str) -> None:
    _paragraph(doc, label, HEITI, 16)
    if caption:
        _paragraph(doc, caption, XIAOBIAOSONG, 18, pitch=32, align=WD_ALIGN_PARAGRAPH.CENTER)


def _thumbnail(data: bytes) -> bytes | None:
    """A JPEG at most 640 px wide (a notice is printed, not a forensic copy); None when unreadable."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.thumbnail((640, 640))
            out = io.BytesIO()
            image.convert("RGB").save(out, "JPEG", quality=80)
    except (OSError, ValueError):
        return None
    return out.getvalue()


def _photos(doc: DocumentObject, notice: Notice, images: Mapping[tuple[str, str], bytes]) -> None:
    """The evidence snapshots as thumbnails, two a row, each captioned (window, kind, time)."""
    shown = [p for p in notice.photos if (p.incident_id, p.name) in images]
    if not shown:
        return
    _new_page(doc, landscape=False)
    label, _, caption = notice.photos_label.partition(" ")
    _attachment_heading(doc, label, caption)
    grid = doc.add_table(rows=(len(shown) + 1) // 2, cols=2)
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    for n, photo in enumerate(shown):
        row = grid.rows[n // 2]
        if n % 2 == 0:
            _row_flags(row, header=False)
        cell = row.cells[n % 2]
        picture = cell.paragraphs[0]
        picture.alignment = WD_ALIGN_PARAGRAPH.CENTER
        thumbnail = _thumbnail(images[(photo.incident_id, photo.name)])
        if thumbnail is None:
            _font(picture.add_run("（照片无法读取）"), FANGSONG, _TABLE_PT)
        else:
            picture.add_run().add_picture(io.BytesIO(thumbnail), width=Mm(72))
        text = cell.add_paragraph()
        text.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _font(text.add_run(photo.caption), FANGSONG, _TABLE_PT)


def _end_notes(doc: DocumentObject, blocks: list[Block]) -> None:
    """The 版记 at the end of the document: 抄送 and '<印发机关>…<印发日期>印发', between rules
    (GB/T 9704 7.4: the first and last rules thicker)."""
    if not blocks:
        return
    _paragraph(doc, "", FANGSONG, 16)
    section = doc.sections[-1]
    right = Mm(_text_width_mm(section))
    for n, block in enumerate(blocks):
        if block.style == "imprint":
            office, _, date = block.text.rpartition("　")
            p = _paragraph(doc, "", FANGSONG, 14)
            p.paragraph_format.tab_stops.add_tab_stop(right - Mm(4), WD_TAB_ALIGNMENT.RIGHT)
            p.paragraph_format.left_indent = Mm(4)
            _font(p.add_run(f"{office}\t{date}"), FANGSONG, 14)
        else:
            p = _paragraph(doc, block.text, FANGSONG, 14)
            p.paragraph_format.left_indent = Mm(4)
        p.paragraph_format.keep_with_next = n + 1 < len(blocks)
        _border(p, "top", 8 if n == 0 else 4)
        if n + 1 == len(blocks):
            _border(p, "bottom", 8)


def docx_bytes(notice: Notice, issued_on: dt.date, images: Mapping[tuple[str, str], bytes]) -> bytes:
    doc = Document()
    _layout(doc.sections[0], landscape=False)
    _page_numbers(doc.sections[0])
    _font(doc.styles["Normal"], FANGSONG, 16)
    core = doc.core_properties
    core.title = notice.title
    core.author = core.last_modified_by = "monitor"
    core.revision = 1
    core.created = core.modified = dt.datetime.combine(issued_on, dt.time())
    tables = {t.key: t for t in notice.tables}
    body = [b for b in notice.blocks if b.style not in ("copy_to", "imprint")]
    for index, block in enumerate(body):
        if block.style == "table":
            _paragraph(doc, tables[block.text].caption, HEITI, 14, align=WD_ALIGN_PARAGRAPH.CENTER)
            _table(doc, tables[block.text])
        else:
            _block(doc, block)
        following = body[index + 1].style if index + 1 < len(body) else ""
        if block.style in ("issuer", "number") and following != "number":
            _separator(doc)
    for table in (t for t in notice.tables if t.label):
        _new_page(doc, table.landscape)
        _attachment_heading(doc, table.label, table.caption)
        if table.unit:
            _paragraph(doc, table.unit, FANGSONG, 12, align=WD_ALIGN_PARAGRAPH.RIGHT)
        _table(doc, table)
    _photos(doc, notice, images)
    _end_notes(doc, [b for b in notice.blocks if b.style in ("copy_to", "imprint")])
    buffer = io.BytesIO()
    doc.save(buffer)
    return stable_zip(buffer.getvalue(), issued_on)
