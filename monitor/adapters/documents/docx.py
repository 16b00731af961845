"""The notice as an official document (.docx), laid out by GB/T 9704-2012 (党政机关公文格式) to the millimetre as
LibreOffice prints it.

A4 printed on both sides: 天头 37 mm, 订口 28 mm on the binding side (left on odd pages, right on even: mirrored
margins), a 156 × 225 mm 版心. The 发文机关标志 in red 小标宋 with its top 35 mm below the 版心's top (a draft's red
【草稿】 banner in those 35 mm), two blank lines, the 发文字号 and 4 mm under it the red rule; two blank lines, the
title in 2号小标宋 broken at sense boundaries (`title_lines`), a blank line, the 主送; body in 3号仿宋 at a fixed
28 pt pitch, level-one headings in 黑体 and the body's tables under their captions, neither left at a page's foot;
the 附件说明 after a blank line with its names aligned (hanging indent); the 署名 centred over the date, which ends
four characters from the right (sealed layout), kept on the page of the body's last lines. Page numbers 「— 1 —」
in 4号宋体 7 mm below the 版心, at the outside edge one character in: right on odd pages, left on even ones. Each
attachment on a page of its own (landscape where the table is wide: its page number is printed turned, where a
portrait page has it on the sheet), header rows repeated, rows never split across pages, department names on
every row (a merged cell would leave a page of continuation rows without its department), short columns never
wrapped. The 版记 (抄送, 印发机关 and 印发日期 between rules) closes the document on an even page of its own, its
last rule on the 版心's bottom edge.

Vertical positions follow from fixed ("exact") line heights, so they do not depend on the fonts: LibreOffice puts
an exact line's baseline at 80 % of its height, and a Chinese font's em box reaches 0.88 em above the baseline
(Noto CJK, and the GB fonts' design), so a line 1.1 em high has the em box's top at its own top. East-Asian
fonts are set on every run (w:rFonts w:eastAsia) and the document's East-Asian language is zh-CN, so Word and
LibreOffice pick Chinese faces (a machine without the GB fonts substitutes its own, e.g. Noto CJK SC).
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
from collections.abc import Mapping
from typing import Any, Literal

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING, WD_TAB_ALIGNMENT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.section import Section, _Footer
from docx.shared import Length, Mm, Pt, RGBColor
from docx.table import _Cell
from docx.text.paragraph import Paragraph
from PIL import Image

from monitor.adapters.documents.lines import header_words, text_width, title_lines
from monitor.adapters.documents.ooxml import stable_zip
from monitor.core.notices.model import Block, Notice, Table

FANGSONG = "仿宋_GB2312"
XIAOBIAOSONG = "方正小标宋简体"
HEITI = "黑体"
SONGTI = "宋体"
RED = RGBColor(0xE6, 0x00, 0x12)
_PAGE = (Mm(210), Mm(297))
_MARGINS = (Mm(37), Mm(35), Mm(28), Mm(26))
"""Top, bottom, binding side (订口), outside: a 156 × 225 mm 版心 whose bottom edge is 262 mm from the top."""
_END_MARGINS = (Mm(37), Mm(35), Mm(27), Mm(27))
"""The 版记 page's (see `_layout`)."""
_LANDSCAPE_MARGINS = (Mm(27), Mm(27), Mm(36), Mm(36))
"""Top, bottom, left, right of a landscape page. Turned to read it, the sheet's top is at the right and its binding
edge at the top (odd pages; GB/T 9704: the table's head at the 订口 on odd pages, at the 切口 on even ones), so the
sheet's 版心 is kept: 225 mm along the long edge, 156 across. Mirrored margins swap left and right on even pages,
hence equal margins: the sheet's top margin is 36 mm here (37 ± 1), its side margins 27 mm (28 ± 1)."""
_BODY_PT = 16.0
"""3号: body, blank lines."""
_LINE_PT = 28.0
"""The body's line pitch: 22 lines of 3号 fill the 225 mm 版心 with a little to spare."""
_SMALL_PT = 14.0
"""4号: page numbers and the 版记."""
_TABLE_PT = 10.5
_SHORT_CELL_EM = 10.0
"""A column whose cells are all at most this wide (dates with their weekday, times, windows, points, department
names) never wraps; wider ones (free text) give way when a table does not fit."""
_LEAST_EM = 6.0
"""How narrow a long column may get."""
_ROW_PT = 16.0
"""A table row of one line of 五号 (LibreOffice prints it 15.7 pt high)."""
_CELL_PADDING_MM = 2.8
_CELL_MARGIN_TWIPS = 57
"""1 mm left and right inside each cell (Word's default 1.9 mm would squeeze the names)."""
_PT_PER_MM = 72 / 25.4
_BASELINE = 0.8
"""Where LibreOffice puts the baseline of an exact-height line, as a fraction of its height."""
_EM_TOP = 0.88
"""The top of a Chinese font's em box above the baseline, in em (Noto CJK; the GB fonts' ideographic em box)."""
_TURNED_EM_TOP = 0.444
"""A turned (tbRl) line is laid out otherwise: LibreOffice centres the font's ascent and descent in it, which puts
the em box's top 0.444 em above the line's middle (Noto CJK: ascent 1.16, descent 0.288)."""
_ISSUER_DROP = Mm(35)
"""GB/T 9704 7.2.1: the 发文机关标志's top edge 35 mm below the 版心's top (a downward document)."""
_DRAFT_SIZES = ((_SMALL_PT, _LINE_PT), (_TABLE_PT, 16.0))
"""The 【草稿】 banner's size and line pitch (pt), the first whose lines fit above the 标志: 4号 on the body's pitch,
五号 on a closer one."""
_RULE_BELOW_NUMBER_MM = 4.0
"""GB/T 9704 7.2.4: the red rule 4 mm below the 发文字号."""
_NUMBER_BELOW_MM = 7.0
"""GB/T 9704 7.5: the page number's top 7 mm below the 版心's bottom edge."""
_NUMBER_BOX_MM = 30.0
"""The length of the turned page number's box on a landscape page (「— 100 —」 fits)."""
_TYPE_AREA_PT = (_PAGE[1] - _MARGINS[0] - _MARGINS[1]) / 12700
"""The 版心's height (225 mm) in points."""
_RED_RULE_PT = 1.5
"""The red separator rule's thickness."""
_RULE_THICK = 8
_RULE_THIN = 6
"""The 版记's rules in eighths of a point: 1 pt (GB/T 9704: 0.35 mm) first and last, 0.75 pt (0.25 mm) between."""
_END_PADDING_PT = 7
"""Between a 版记 rule and the text under it (w:space is whole points)."""


def _tight(size: float) -> float:
    """The exact line height (pt) that puts a `size`-pt Chinese em box's top at the line's top."""
    return size * _EM_TOP / _BASELINE


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


def _border(paragraph: Paragraph, side: str, size_eighths: int, *, space: int = 1, red: bool = False) -> None:
    """A rule along one side of a paragraph, `space` points from its text (the red rule, the 版记's rules)."""
    p_pr = paragraph._p.get_or_add_pPr()
    borders = p_pr.find(qn("w:pBdr"))
    if borders is None:
        borders = p_pr.makeelement(qn("w:pBdr"), {})
        p_pr.append(borders)
    attrs = {
        "w:val": "single",
        "w:sz": str(size_eighths),
        "w:space": str(space),
        "w:color": "E60012" if red else "000000",
    }
    borders.append(borders.makeelement(qn(f"w:{side}"), {qn(k): v for k, v in attrs.items()}))


def _paragraph(
    doc: DocumentObject,
    text: str,
    font: str,
    size: float,
    *,
    pitch: float = _LINE_PT,
    align: WD_ALIGN_PARAGRAPH | None = None,
    indent: bool = False,
    red: bool = False,
) -> Paragraph:
    """One paragraph at a fixed line pitch (GB/T 9704: 22 lines of 三号 a page is about 28 pt)."""
    p = doc.add_paragraph()
    _exact(p, pitch)
    if align is not None:
        p.alignment = align
    if indent:
        p.paragraph_format.first_line_indent = Pt(size * 2)
    _font(p.add_run(text), font, size, red=red)
    return p


def _exact(p: Paragraph, pitch: float) -> None:
    fmt = p.paragraph_format
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = Pt(pitch)
    fmt.space_before = Pt(0)
    fmt.space_after = Pt(0)


def _blank(doc: DocumentObject) -> Paragraph:
    """One blank 3号 line (GB/T 9704's 空一行)."""
    return _paragraph(doc, "", FANGSONG, _BODY_PT)


def _text_width_mm(section: Section) -> float:
    assert section.page_width is not None and section.left_margin is not None and section.right_margin is not None
    return (section.page_width - section.left_margin - section.right_margin) / 36000


def _centred_lines(doc: DocumentObject, text: str, font: str, size: float, pitch: float) -> None:
    """A title or caption centred, one paragraph per line of `title_lines`."""
    per_line = _text_width_mm(doc.sections[-1]) / (size / _PT_PER_MM)
    for line in title_lines(text, per_line):
        _paragraph(doc, line, font, size, pitch=pitch, align=WD_ALIGN_PARAGRAPH.CENTER)


# ---------------------------------------------------------------- the head (版头) and the body


def _draft(doc: DocumentObject, text: str) -> None:
    """The red 【草稿】 banner in the 35 mm above the 发文机关标志, which keeps its place in a draft too: a frame at
    the 版心's top at least 35 mm high, with no text beside it, so the 标志 under it does not depend on how many
    lines the banner takes. In 4号 on the body's pitch where that fits, else in 五号 on a closer one; a banner too
    long even so makes the frame taller and pushes the 标志 down rather than be cut off."""
    width = Mm(_text_width_mm(doc.sections[-1]))
    for size, pitch in _DRAFT_SIZES:
        lines = math.ceil(text_width(text) / (width.pt / size - 1))  # a character to spare
        if lines * pitch <= _ISSUER_DROP.pt:
            break
    p_pr = _paragraph(doc, text, HEITI, size, pitch=pitch, red=True)._p.get_or_add_pPr()
    frame = {"w": width.twips, "h": _ISSUER_DROP.twips, "hRule": "atLeast", "wrap": "notBeside"}
    frame |= {"hAnchor": "margin", "vAnchor": "margin", "x": 0, "y": 0}
    p_pr.insert(0, p_pr.makeelement(qn("w:framePr"), {qn(f"w:{k}"): str(v) for k, v in frame.items()}))


def _issuer(doc: DocumentObject, text: str, *, drafted: bool) -> None:
    """The 发文机关标志, its top 35 mm below the 版心's top (right under the 【草稿】 banner's frame where `drafted`),
    then the two blank lines above the 发文字号."""
    p = _paragraph(doc, text, XIAOBIAOSONG, 26, pitch=_tight(26), align=WD_ALIGN_PARAGRAPH.CENTER, red=True)
    p.paragraph_format.space_before = Pt(0) if drafted else _ISSUER_DROP
    _blank(doc)
    _blank(doc)


def _number(doc: DocumentObject, text: str) -> None:
    """The 发文字号 (or, for a draft, an empty line in its place) with the red rule 4 mm under it, the width of the
    版心, then two blank lines above the title."""
    p = _paragraph(doc, text, FANGSONG, _BODY_PT, align=WD_ALIGN_PARAGRAPH.CENTER)
    em_bottom_to_line_bottom = _LINE_PT * (1 - _BASELINE) - _BODY_PT * (1 - _EM_TOP)
    space = _RULE_BELOW_NUMBER_MM * _PT_PER_MM - em_bottom_to_line_bottom - _RED_RULE_PT / 2
    _border(p, "bottom", round(_RED_RULE_PT * 8), space=round(space), red=True)
    _blank(doc)
    _blank(doc)


_ATTACHMENT = re.compile(r"(附件：)?(\d+\.)?(.+)")


def _attachment_note(doc: DocumentObject, text: str) -> Paragraph:
    """附件：1.名称 two characters in, "2.名称" under "1.", a wrapped name under its own first character: the
    name starts at a tab stop, which a hanging indent makes the left edge of the following lines. A single
    attachment is not numbered (附件：名称, GB/T 9704 7.3.5): its name follows the colon, wrapped lines under it."""
    match = _ATTACHMENT.fullmatch(text)
    if match is None or not (match[1] or match[2]):
        return _paragraph(doc, text, FANGSONG, _BODY_PT, indent=True)
    label, number, name = match.groups()
    em = _BODY_PT
    name_at = Pt(em * (2 + 3 + 0.5 * len(number or "")))  # 2 in, 附件：, then half-width digits and the point
    p = doc.add_paragraph()
    _exact(p, _LINE_PT)
    p.paragraph_format.left_indent = name_at
    p.paragraph_format.first_line_indent = Pt(em * (2 if label else 5)) - name_at
    if number:
        p.paragraph_format.tab_stops.add_tab_stop(name_at)
    _font(p.add_run(f"{label or ''}{number}\t{name}" if number else f"{label}{name}"), FANGSONG, _BODY_PT)
    return p


def _sign_off(doc: DocumentObject, signature: str, date: str) -> list[Paragraph]:
    """The 署名 centred over the date, the date ending four characters from the right (GB/T 9704 7.3.5.1, a
    sealed notice), after one blank line."""
    em = _BODY_PT
    blank = _blank(doc)
    name = _paragraph(doc, signature, FANGSONG, em, align=WD_ALIGN_PARAGRAPH.RIGHT)
    name.paragraph_format.right_indent = Pt(em * max(4 + (text_width(date) - text_width(signature)) / 2, 0))
    day = _paragraph(doc, date, FANGSONG, em, align=WD_ALIGN_PARAGRAPH.RIGHT)
    day.paragraph_format.right_indent = Pt(em * 4)
    return [blank, name, day]


def _block(doc: DocumentObject, block: Block) -> list[Paragraph]:
    """The paragraphs of one body block (the head's and the sign-off's are laid out by `docx_bytes`)."""
    style = block.style
    if style == "title":
        _centred_lines(doc, block.text, XIAOBIAOSONG, 22, 36)
        return [_blank(doc)]
    if style == "heading":  # never alone at a page's foot
        heading = _paragraph(doc, block.text, HEITI, _BODY_PT, indent=True)
        heading.paragraph_format.keep_with_next = True
        return [heading]
    if style == "addressee":
        return [_paragraph(doc, block.text, FANGSONG, _BODY_PT)]
    return [_paragraph(doc, block.text, FANGSONG, _BODY_PT, indent=True)]


# ---------------------------------------------------------------- page numbers


def _number_runs(paragraph: Paragraph) -> None:
    """「— n —」 in 4号 宋体, the number a PAGE field."""
    _font(paragraph.add_run("— "), SONGTI, _SMALL_PT)
    field = paragraph._p.makeelement(qn("w:fldSimple"), {qn("w:instr"): "PAGE"})
    run = paragraph.add_run("1")
    _font(run, SONGTI, _SMALL_PT)
    field.append(run._r)
    paragraph._p.append(field)
    _font(paragraph.add_run(" —"), SONGTI, _SMALL_PT)


def _portrait_number(footer: _Footer, *, odd: bool, outside: Length) -> None:
    """The number one character in from the 版心's outside edge: right on odd pages, left on even ones. `outside`
    is the section's margin there; the number keeps its place on the sheet whatever it is."""
    paragraph = footer.paragraphs[0]
    _exact(paragraph, _tight(_SMALL_PT))
    paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT if odd else WD_ALIGN_PARAGRAPH.LEFT
    inset = Pt(_SMALL_PT) + _MARGINS[3] - outside
    if odd:
        paragraph.paragraph_format.right_indent = inset
    else:
        paragraph.paragraph_format.left_indent = inset
    _number_runs(paragraph)


def _landscape_number(footer: _Footer, *, odd: bool) -> None:
    """The number of a landscape page where a portrait page has it on the sheet, turned with the sheet: a
    floating one-cell table anchored to the page, its text turned 90° clockwise (tbRl). Read as a landscape page
    the number sits at the left edge, near the bottom on odd pages and near the top on even ones (GB/T 9704
    10.1); its top is 7 mm below the sheet's 版心 and one character in from the 版心's outside edge."""
    paragraph = footer.paragraphs[0]
    _exact(paragraph, 1)
    pitch = _tight(_SMALL_PT)
    # Across the landscape page from its left edge, which is the sheet's bottom: the number's top is 7 mm inside
    # the sheet's bottom margin. The cell's right edge is the turned line's top.
    top = _MARGINS[1].mm - _NUMBER_BELOW_MM + (pitch / 2 - _TURNED_EM_TOP * _SMALL_PT) / _PT_PER_MM
    # Down the landscape page, which is along the sheet's width from its left edge: to the number's end on odd
    # pages (one character in from the 版心's right edge), from its start on even ones.
    inset = _MARGINS[3].mm + _SMALL_PT / _PT_PER_MM
    start = _PAGE[0].mm - inset - _NUMBER_BOX_MM if odd else inset
    width = round(pitch * 20)
    table = parse_xml(
        f"<w:tbl {nsdecls('w')}><w:tblPr>"
        f'<w:tblpPr w:leftFromText="0" w:rightFromText="0" w:vertAnchor="page" w:horzAnchor="page"'
        f' w:tblpX="{Mm(top).twips - width}" w:tblpY="{Mm(start).twips}"/>'
        f'<w:tblW w:w="{width}" w:type="dxa"/><w:tblLayout w:type="fixed"/>'
        '<w:tblCellMar><w:top w:w="0" w:type="dxa"/><w:left w:w="0" w:type="dxa"/>'
        '<w:bottom w:w="0" w:type="dxa"/><w:right w:w="0" w:type="dxa"/></w:tblCellMar>'
        f'</w:tblPr><w:tblGrid><w:gridCol w:w="{width}"/></w:tblGrid><w:tr><w:trPr>'
        f'<w:trHeight w:val="{Mm(_NUMBER_BOX_MM).twips}" w:hRule="exact"/></w:trPr><w:tc><w:tcPr>'
        f'<w:tcW w:w="{width}" w:type="dxa"/><w:textDirection w:val="tbRl"/></w:tcPr><w:p/></w:tc></w:tr></w:tbl>'
    )
    paragraph._p.addprevious(table)
    cell = Paragraph(table.find(qn("w:tr")).find(qn("w:tc")).find(qn("w:p")), footer)
    _exact(cell, pitch)
    cell.alignment = WD_ALIGN_PARAGRAPH.RIGHT if odd else WD_ALIGN_PARAGRAPH.LEFT
    _number_runs(cell)


def _layout(section: Section, page: Literal["portrait", "landscape", "end"]) -> None:
    """A section's page, margins and its own odd and even footers (every section has them: a landscape
    section's differ). The 版记's even page has equal side margins: LibreOffice lays out an even-page section
    without mirroring its margins, Word mirrors them, and both then put its 版心 1 mm from the standard's."""
    landscape = page == "landscape"
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = (_PAGE[1], _PAGE[0]) if landscape else _PAGE
    margins = {"portrait": _MARGINS, "landscape": _LANDSCAPE_MARGINS, "end": _END_MARGINS}[page]
    section.top_margin, section.bottom_margin, section.left_margin, section.right_margin = margins
    # A footer's last line ends `footer_distance` above the page's foot: the number's line (its em box's top at
    # the line's top) starts 7 mm below the 版心. A landscape page's number is placed on the page instead.
    below = Mm(_NUMBER_BELOW_MM) + Pt(_tight(_SMALL_PT))
    section.footer_distance = Mm(10) if landscape else Length(_MARGINS[1] - below)
    for footer, odd in ((section.footer, True), (section.even_page_footer, False)):
        footer.is_linked_to_previous = False
        if landscape:
            _landscape_number(footer, odd=odd)
        else:
            _portrait_number(footer, odd=odd, outside=margins[3])


# ---------------------------------------------------------------- tables


def _column_widths(table: Table, available_mm: float) -> list[float]:
    """Widths (mm) that fit the content: a header may wrap at its spaces ("工作纪律 / (40 分)"), a figure never.
    When the table does not fit, only the long columns give way (free text, long names: `_SHORT_CELL_EM`), down
    to `_LEAST_EM`: a date, a time, a window or a short name never wraps. Only where the short columns alone
    would not fit do they give way too."""
    em = _TABLE_PT / _PT_PER_MM
    header, *rows = table.rows
    natural: list[float] = []
    least: list[float] = []
    short: list[bool] = []
    for c, head in enumerate(header):
        words = max(text_width(w) for w in header_words(head)) if head else 0
        widest = max((text_width(row[c]) for row in rows), default=0.0)
        short.append(widest <= _SHORT_CELL_EM)
        natural.append(max(words, widest) * em + _CELL_PADDING_MM)
        least.append(max(words, min(widest, _LEAST_EM)) * em + _CELL_PADDING_MM)
    total = sum(natural)
    if total <= available_mm:
        extra = (available_mm - total) / len(natural)
        return [w + extra for w in natural]
    floor = [na if s else lo for na, lo, s in zip(natural, least, short, strict=True)]
    if sum(floor) > available_mm:
        floor = least
    slack = total - sum(floor)
    share = max((available_mm - sum(floor)) / slack, 0.0) if slack > 0 else 0.0
    return [lo + (na - lo) * share for lo, na in zip(floor, natural, strict=True)]


def _row_flags(row: Any, *, header: bool) -> None:
    tr_pr = row._tr.get_or_add_trPr()
    tr_pr.append(tr_pr.makeelement(qn("w:cantSplit"), {qn("w:val"): "true"}))
    if header:
        tr_pr.append(tr_pr.makeelement(qn("w:tblHeader"), {qn("w:val"): "true"}))


def _table(doc: DocumentObject, table: Table, *, kept: int = 0) -> None:
    """`table` across the 版心, its rows never split, its header row repeated on every page; its first `kept` rows
    each kept on the page of the row after it."""
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
            if r < kept:
                paragraph.paragraph_format.keep_with_next = True
            # A header's full-marks note on a line of its own, whole: LibreOffice breaks Chinese text before an
            # ideograph even after a no-break space, so "加分 (10 分)" could end up as "加分 (10 / 分)".
            for n, word in enumerate(header_words(text) if r == 0 else [text] if text else []):
                run = paragraph.add_run()
                if n:
                    run.add_break()
                run.add_text(word.replace(" ", "\u00a0"))
                _font(run, HEITI if r == 0 else FANGSONG, _TABLE_PT)
    for column, width in enumerate(widths):
        grid.columns[column].width = width


def _body_table(doc: DocumentObject, table: Table) -> None:
    """A table in the body under its caption, which is never left at a page's foot: a small table (half a page at
    most) whole on one page, a longer one at least with its header and first row."""
    caption = _paragraph(doc, table.caption, HEITI, _SMALL_PT, align=WD_ALIGN_PARAGRAPH.CENTER)
    caption.paragraph_format.keep_with_next = True
    small = len(table.rows) * _ROW_PT <= _TYPE_AREA_PT / 2
    _table(doc, table, kept=len(table.rows) - 1 if small else 1)


def _attachment_page(doc: DocumentObject, landscape: bool, label: str, caption: str) -> None:
    """A new page for an attachment (a new section where the orientation changes): "附件1" in 3号黑体 on the
    版心's first line, its title centred on the third (GB/T 9704 8)."""
    if (doc.sections[-1].orientation == WD_ORIENT.LANDSCAPE) != landscape:
        _layout(doc.add_section(WD_SECTION.NEW_PAGE), "landscape" if landscape else "portrait")
        _paragraph(doc, label, HEITI, _BODY_PT)
    else:
        _paragraph(doc, label, HEITI, _BODY_PT).paragraph_format.page_break_before = True
    if caption:
        _blank(doc)
        _centred_lines(doc, caption, XIAOBIAOSONG, 18, 32)


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
    """The evidence snapshots as thumbnails, two a row, each captioned (window, kind, time) in centred lines: a
    line break in a caption is a break in its run (python-docx's `add_run`)."""
    shown = [p for p in notice.photos if (p.incident_id, p.name) in images]
    if not shown:
        return
    label, _, caption = notice.photos_label.partition(" ")
    _attachment_page(doc, False, label, caption)
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


# ---------------------------------------------------------------- the 版记


def _name_lines(text: str, first: float, rest: float) -> list[str]:
    """`text` (a list of names) in lines of at most `first` em, then `rest` em, broken only after 、 or ，: a name
    is never split (a name longer than a line has one of its own)."""
    lines = [""]
    for part in re.findall(r"[^、，]+[、，]?", text):
        if lines[-1] and text_width(lines[-1] + part) > (first if len(lines) == 1 else rest):
            lines.append(part)
        else:
            lines[-1] += part
    return lines


def _end_notes(doc: DocumentObject, blocks: list[Block]) -> None:
    """The 版记 (GB/T 9704 7.4): 抄送 (the first block, when there is one) and '<印发机关>…<印发日期>印发' in 4号仿宋
    between rules the width of the 版心 (the first and last thicker), one character in from either side, on the
    document's last page, an even one, its last rule on the 版心's bottom edge.

    An even-page section puts it there whatever the pagination (LibreOffice and Word insert a blank page after an
    odd one); a spacer paragraph of exact height fills the 版心 above it, since every line's height is fixed. A
    paragraph's rule is as wide as its indents leave it, so the 印发 line keeps its text in by a first-line indent
    and a tab stop, and the 抄送, whose lines start under its first name, has no rule of its own: the one above it
    is the spacer's. (LibreOffice joins the borders of neighbouring paragraphs alike but for their spacing, so the
    spacer never carries the rule above a 印发 line.) The 抄送 is broken only between names (`_name_lines`), a
    paragraph a line, its lines as far apart as the 印发 row is high."""
    if not blocks:
        return
    _layout(doc.add_section(WD_SECTION.EVEN_PAGE), "end")
    spacer = _paragraph(doc, "", FANGSONG, 1, pitch=1)
    width = Mm(_text_width_mm(doc.sections[-1]))
    inset = Pt(_SMALL_PT)
    pitch = _tight(_SMALL_PT)
    below = _END_PADDING_PT - (pitch - _SMALL_PT)  # under the em box as much room as over it
    row = _END_PADDING_PT + pitch + below  # a 印发 row's height, and the 抄送's pitch
    height = 0.0
    for n, block in enumerate(blocks):
        rule = _RULE_THICK if n == 0 else _RULE_THIN
        if block.style == "imprint":
            office, _, date = block.text.rpartition("　")
            p = _paragraph(doc, f"{office}\t{date}", FANGSONG, _SMALL_PT, pitch=pitch)
            p.paragraph_format.first_line_indent = inset
            p.paragraph_format.tab_stops.add_tab_stop(width - inset, WD_TAB_ALIGNMENT.RIGHT)
            _border(p, "top", rule, space=_END_PADDING_PT)
            lines = 1
        else:
            _border(spacer, "bottom", rule, space=0)
            per_line = width.pt / _SMALL_PT - 2 - 1  # a character to spare: better a line too many than too few
            names = _name_lines(block.text, per_line, per_line - 3)
            colon = Pt(_SMALL_PT * 3)
            for k, line in enumerate(names):  # under the first name, "抄送：" hanging (should a name still wrap)
                p = _paragraph(doc, line, FANGSONG, _SMALL_PT, pitch=pitch)
                p.paragraph_format.left_indent = inset + colon
                p.paragraph_format.first_line_indent = Pt(0) if k else -colon
                p.paragraph_format.right_indent = inset
                p.paragraph_format.space_before = Pt(row - pitch if k else _END_PADDING_PT)
                p.paragraph_format.keep_with_next = True
            lines = len(names)
        height += rule / 8 + _END_PADDING_PT + pitch + (lines - 1) * row
        if n + 1 < len(blocks):
            p.paragraph_format.keep_with_next = True
            p.paragraph_format.space_after = Pt(below)
            height += below
        else:
            _border(p, "bottom", _RULE_THICK, space=round(below))
            height += round(below) + _RULE_THICK / 8
    # A point to spare: a spacer a hair too tall would push the last rule onto a page of its own.
    spacer.paragraph_format.line_spacing = Pt(_TYPE_AREA_PT - height - 1)


# ---------------------------------------------------------------- the document


def _chinese_document(doc: DocumentObject, office: str, title: str, issued_on: dt.date) -> None:
    """Mirrored margins and odd/even footers; East-Asian language zh-CN (so a reader without the GB fonts picks a
    Chinese face); properties naming the issuing office, nothing of the template's (its thumbnail, its
    application, "generated by python-docx")."""
    settings = doc.settings.element
    settings.find(qn("w:zoom")).addnext(parse_xml(f"<w:mirrorMargins {nsdecls('w')}/>"))
    doc.settings.odd_and_even_pages_header_footer = True
    theme_lang = settings.find(qn("w:themeFontLang"))
    if theme_lang is not None:
        theme_lang.set(qn("w:eastAsia"), "zh-CN")
    defaults = doc.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    normal = doc.styles["Normal"]
    _font(normal, FANGSONG, _BODY_PT)
    for r_pr in (defaults, normal.element.get_or_add_rPr()):
        lang = r_pr.find(qn("w:lang"))
        if lang is None:
            lang = r_pr.makeelement(qn("w:lang"), {})
            r_pr.append(lang)
        lang.set(qn("w:eastAsia"), "zh-CN")
    core = doc.core_properties
    core.title = title
    core.author = core.last_modified_by = office
    core.comments = core.keywords = ""
    core.revision = 1
    core.created = core.modified = dt.datetime.combine(issued_on, dt.time())
    package = doc.part.package
    for r_id, rel in list(package.rels.items()):
        if rel.reltype in (RT.THUMBNAIL, RT.EXTENDED_PROPERTIES):
            del package.rels[r_id]


def docx_bytes(notice: Notice, issued_on: dt.date, images: Mapping[tuple[str, str], bytes]) -> bytes:
    doc = Document()
    office = next((b.text for b in notice.blocks if b.style == "signature"), "")
    _chinese_document(doc, office, notice.title, issued_on)
    _layout(doc.sections[0], "portrait")
    tables = {t.key: t for t in notice.tables}
    body = [b for b in notice.blocks if b.style not in ("copy_to", "imprint")]
    last: list[Paragraph] = []  # the body's last paragraphs, kept with the sign-off
    sign_off: list[Paragraph] = []
    date = next((b.text for b in body if b.style == "date"), "")
    for block in body:
        if block.style == "draft":
            _draft(doc, block.text)
        elif block.style == "issuer":
            _issuer(doc, block.text, drafted=any(b.style == "draft" for b in body))
            if not any(b.style == "number" for b in body):
                _number(doc, "")
        elif block.style == "number":
            _number(doc, block.text)
        elif block.style == "table":
            _body_table(doc, tables[block.text])
            last = []
        elif block.style == "attachments":
            if block.text.startswith("附件："):
                sign_off.append(_blank(doc))
            sign_off.append(_attachment_note(doc, block.text))
        elif block.style == "signature":
            sign_off += _sign_off(doc, block.text, date)
        elif block.style != "date":
            last = _block(doc, block)
    # GB/T 9704: the 署名 never alone on a page, "此页无正文" never needed.
    for p in [*last, *sign_off[:-1]]:
        p.paragraph_format.keep_with_next = True
    for table in (t for t in notice.tables if t.label):
        _attachment_page(doc, table.landscape, table.label, table.caption)
        if table.unit:
            _paragraph(doc, table.unit, FANGSONG, 12, align=WD_ALIGN_PARAGRAPH.RIGHT)
        _table(doc, table)
    _photos(doc, notice, images)
    _end_notes(doc, [b for b in notice.blocks if b.style in ("copy_to", "imprint")])
    buffer = io.BytesIO()
    doc.save(buffer)
    return stable_zip(buffer.getvalue(), issued_on)
