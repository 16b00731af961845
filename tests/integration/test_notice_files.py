"""The files: a GB/T 9704 style .docx with East-Asian fonts set on every run, the .xlsx attachments with
Attachment 2's merged department cells, the .md, and byte-stable output for the same data."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path

import pytest
from docx import Document
from docx.oxml.ns import qn
from openpyxl import load_workbook
from sqlmodel import Session

from monitor.adapters.store.database import open_database
from monitor.services.notices import monthly_notice, weekly_notice, write, write_notices
from tests.support.config import hall_config
from tests.support.notices import import_seed, insert_incidents, seed_incidents


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("files")
    config, _ = hall_config(tmp)
    engine = open_database(config.database.url)
    insert_incidents(engine, seed_incidents(), dismissed=("inc-a05",))
    import_seed(config, engine)
    paths = write_notices(config, engine, "2020-11", "2020-W45")
    return config, engine, {p.name: p for p in paths}


def test_write_notices_returns_both_notices(written) -> None:
    _, _, paths = written
    assert sorted(paths) == [
        *(f"monthly-2020-11.{suffix}" for suffix in ("docx", "html", "json", "md", "xlsx")),
        *(f"weekly-2020-W45.{suffix}" for suffix in ("docx", "html", "json", "md")),
    ]
    assert all(p.stat().st_size > 0 for p in paths.values())


def test_docx_layout_and_cjk_fonts(written) -> None:
    _, _, paths = written
    doc = Document(str(paths["monthly-2020-11.docx"]))
    section = doc.sections[0]
    # A4 and GB/T 9704's margins, to the twip Word stores them in.
    sizes = (section.page_width, section.page_height, section.top_margin, section.left_margin)
    assert [round(s.mm) for s in sizes] == [210, 297, 37, 28]
    runs = [run for p in doc.paragraphs for run in p.runs]
    runs += [run for t in doc.tables for row in t.rows for cell in row.cells for p in cell.paragraphs for run in p.runs]
    assert runs
    for run in runs:
        fonts = run._element.rPr.find(qn("w:rFonts"))
        assert fonts is not None and fonts.get(qn("w:eastAsia")), run.text
    by_text = {run.text: run for run in runs}
    # The title broken at a sense boundary, never inside a word (工作/人员).
    title = by_text["区政务服务中心11月份派驻部门窗口"]
    assert "及工作人员考核情况通报" in by_text
    assert title._element.rPr.find(qn("w:rFonts")).get(qn("w:eastAsia")) == "方正小标宋简体"
    assert title.font.size.pt == 22
    body = next(r for r in runs if r.text.startswith("11月份，中心窗口办件总量100884件"))
    assert body._element.rPr.find(qn("w:rFonts")).get(qn("w:eastAsia")) == "仿宋_GB2312"
    assert body.font.size.pt == 16
    assert len(doc.tables) == 4
    attachment_2 = doc.tables[1]
    assert len(attachment_2.rows) == 94
    # The department on every row (a merged cell would leave a page's rows without it), no row split.
    assert [attachment_2.cell(r, 1).text for r in (1, 14)] == ["行政审批服务局", "行政审批服务局"]
    assert all(row._tr.trPr.find(qn("w:cantSplit")) is not None for row in attachment_2.rows)
    assert attachment_2.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None
    # Page numbers 「— 1 —」 in the footer, as a PAGE field.
    footer = section.footer.paragraphs[0]
    assert "".join(t.text for t in footer._p.iter(qn("w:t"))) == "— 1 —"
    assert footer._p.find(qn("w:fldSimple")).get(qn("w:instr")) == "PAGE"
    # The 版记 is the document's last paragraph, after the attachments.
    assert doc.paragraphs[-1].text.startswith("河东区政务服务管理办公室\t2020年12月1日印发")


def test_xlsx_attachments(written) -> None:
    _, _, paths = written
    book = load_workbook(paths["monthly-2020-11.xlsx"])
    assert book.sheetnames == ["附件1", "附件2", "附件3", "附件4"]
    sheet = book["附件3"]
    assert sheet["A2"].value == "2020年11月份派驻部门窗口办件量统计"
    assert [c.value for c in sheet[4]] == ["部门", "行政审批", "便民服务", "公共服务", "收费", "合计"]
    assert [c.value for c in sheet[sheet.max_row]] == ["合计", 6676, 53131, 38927, 2150, 100884]
    # Figures are numbers printed as the notice prints them; printable as they are.
    first = book["附件1"]
    row = [(c.value, c.number_format) for c in first[5]]
    assert row[-2:] == [(2, "0"), (102.0, "0.0")]
    assert [(c.value, c.number_format) for c in first[13]][-2:] == [(1.2, "0.0"), (99.2, "0.0")]
    assert first.freeze_panes == "A4" and first.page_setup.orientation == "landscape"
    assert first.page_setup.fitToWidth == 1 and first.sheet_properties.pageSetUpPr.fitToPage
    assert first.column_dimensions["A"].width >= 18 and first.column_dimensions["B"].width >= 8
    merged = {str(r) for r in book["附件2"].merged_cells.ranges}
    assert "B4:B17" in merged  # A01..A14
    # A draft says so on every sheet, on screen and in the printed header.
    assert (
        first["A1"].value == "附件1　【草稿】未印发，无文号" and first.oddHeader.center.text == "【草稿】未印发，无文号"
    )


def test_markdown(written) -> None:
    _, _, paths = written
    text = paths["monthly-2020-11.md"].read_text(encoding="utf-8")
    assert "# 区政务服务中心11月份派驻部门窗口及工作人员考核情况通报" in text
    assert "| 不动产登记交易中心 | 30 | 20 | 40 | 10 | 2 | 102.0 |" in text
    assert "| 合计 | 6676 | 53131 | 38927 | 2150 | 100884 |" in text


def test_byte_stable_for_the_same_data(written, tmp_path: Path) -> None:
    config, engine, paths = written
    before = {name: path.read_bytes() for name, path in paths.items()}
    with Session(engine) as session:
        again = [
            *write(config, weekly_notice(config, session, "2020-W45"), engine),
            *write(config, monthly_notice(config, session, "2020-11"), engine),
        ]
    assert {p.name: p.read_bytes() for p in again} == before
    # And the same bytes in another folder, another second.
    other = config.model_copy(update={"notices": config.notices.model_copy(update={"output_dir": str(tmp_path)})})
    with Session(engine) as session:
        copies = write(other, monthly_notice(other, session, "2020-11"), engine)
    assert {p.name: p.read_bytes() for p in copies} == {k: v for k, v in before.items() if k.startswith("monthly")}


def test_a_different_issue_date_changes_the_document(written) -> None:
    config, engine, _ = written
    with Session(engine) as session:
        notice = monthly_notice(config, session, "2020-11", issued_on=dt.date(2020, 12, 17))
    assert notice.text.endswith("区政务服务管理办公室\n2020年12月17日\n河东区政务服务管理办公室　2020年12月17日印发")


@pytest.mark.skipif(not shutil.which("soffice"), reason="LibreOffice (soffice) is not installed")
def test_libreoffice_converts_it(written, tmp_path: Path) -> None:
    _, _, paths = written
    subprocess.run(
        ["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(paths["monthly-2020-11.docx"])],
        check=True,
        timeout=120,
        capture_output=True,
    )
    assert (tmp_path / "monthly-2020-11.pdf").stat().st_size > 10_000


def test_html_preview_from_the_same_model(written) -> None:
    _, _, paths = written
    page = paths["monthly-2020-11.html"].read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and '<p class="issuer">' in page and '<hr class="rule">' in page
    # The title broken where the printed one breaks, at a sense boundary.
    assert "<h1>区政务服务中心11月份派驻部门窗口<br>及工作人员考核情况通报</h1>" in page
    assert page.count("<table>") == 4 and "<td>不动产登记交易中心</td>" in page
    # The 版记 closes the page, after the attachments.
    assert page.index("附件4") < page.index('<div class="end">') < page.index("2020年12月1日印发")
