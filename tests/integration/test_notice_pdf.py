"""The notices as a clerk prints them: the seed month's roll-up and its four weekly notices rendered to PDF by
LibreOffice, then measured page by page (pdfplumber) against GB/T 9704-2012: the 发文机关标志 35 mm below the 版心,
the blank lines of the head, the red rule 4 mm under the 发文字号, 「— n —」 at the outside edge 7 mm below the
版心 on every page (landscape ones included, where the sheet has it), the 版记 on the last page, an even one, its
last rule on the 版心's bottom edge, the 署名 never alone on a page, no table row split across pages, and every
window of 附件2 with its department on its page.

Positions are the fonts' em boxes: a Chinese font's em box reaches 0.88 em above the baseline and 0.12 em below
it (Noto CJK; the GB fonts' ideographic em box), and each character's baseline is its PDF text matrix's origin.
N blank lines between two elements means a gap of at least N and less than N + 1 lines of the body's 28 pt."""

from __future__ import annotations

import datetime as dt
import io
import itertools
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pdfplumber
import pytest
from docx import Document
from PIL import Image
from sqlalchemy import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from monitor.adapters.store.database import open_database
from monitor.adapters.store.tables import EvidenceRow, IncidentRow
from monitor.cli import _register, app
from tests.support.config import hall_config
from tests.support.notices import at, import_seed, incident, insert_incidents, seed_incidents
from tests.support.office import to_pdf

pytestmark = pytest.mark.skipif(
    not shutil.which("soffice"), reason="LibreOffice (soffice) is not installed; .ci/run installs it"
)
RED = (0.9019607843, 0.0, 0.0705882352)  # E60012
WEEKS = {"2020-W45": ("16", "2020-11-09"), "2020-W46": ("17", "2020-11-16"), "2020-W47": ("18", "2020-11-23")}
WEEKS["2020-W48"] = ("19", "2020-11-30")
PAGES = {"monthly": 10, "weekly": 6}
"""Pages with the fonts CI installs (fonts-noto-cjk): the roll-up's nine and its 版记 page; W45's four, a blank
page and its 版记 page. Other fonts break lines elsewhere."""
MM = 72 / 25.4
EM_TOP, EM_BOTTOM = 0.88, 0.12
LINE = 28 / MM
"""The body's line pitch (mm)."""
TYPE_AREA = {"top": 37.0, "bottom": 262.0, "odd": (28.0, 184.0), "even": (26.0, 182.0)}
"""The 版心 on the A4 sheet (mm from its top and left edges): 订口 28 mm on the binding side, left on odd pages."""
ONE_CHARACTER = 14 / MM
"""A 4号 character: the page number's distance from the 版心's outside edge."""


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The seed month issued as the office does it, its roll-up and weekly notices as .docx and .pdf."""
    tmp = tmp_path_factory.mktemp("pdf")
    config, path = hall_config(tmp)
    engine = open_database(config.database.url)
    insert_incidents(engine, seed_incidents(), dismissed=("inc-a05",))
    import_seed(config, engine)
    snapshot = io.BytesIO()
    Image.new("RGB", (640, 480), (90, 120, 150)).save(snapshot, "JPEG")
    with Session(engine) as session:
        for name in ("last_seen.jpg", "return.jpg"):
            session.add(
                EvidenceRow(
                    incident_id="inc-c20", name=name, data=snapshot.getvalue(), received_at=at("2020-11-03 09:12")
                )
            )
        session.commit()
    _register()
    for week, (number, day) in WEEKS.items():
        args = ["weekly", "--week", week, "--issue", "--number", number, "--date", day]
        assert CliRunner().invoke(app, ["-c", str(path), "notice", *args]).exit_code == 0
    args = ["monthly", "--month", "2020-11", "--issue", "--number", "20", "--date", "2020-12-01"]
    result = CliRunner().invoke(app, ["-c", str(path), "notice", *args])
    assert result.exit_code == 0, result.output
    folder = Path(config.notices.output_dir) / "notices"
    documents = {"monthly": folder / "2020-11" / "monthly-2020-11.docx"}
    documents |= {"weekly" if week == "2020-W45" else week: folder / week / f"weekly-{week}.docx" for week in WEEKS}
    to_pdf(documents.values(), tmp / "pdf", tmp / "lo-profile")
    out = {f"{kind}.docx": docx for kind, docx in documents.items()}
    out |= {f"{kind}.pdf": tmp / "pdf" / docx.with_suffix(".pdf").name for kind, docx in documents.items()}
    return out


def _texts(pdf: pdfplumber.PDF) -> list[str]:
    return [(page.extract_text() or "").replace(" ", "") for page in pdf.pages]


def _baseline(char: dict[str, Any], page: Any) -> float:
    """An upright character's baseline, mm from the page's top."""
    return (page.height - char["matrix"][5]) / MM


def _em_top(chars: list[dict[str, Any]], page: Any) -> float:
    return min(_baseline(c, page) - EM_TOP * c["size"] / MM for c in chars)


def _em_bottom(chars: list[dict[str, Any]], page: Any) -> float:
    return max(_baseline(c, page) + EM_BOTTOM * c["size"] / MM for c in chars)


def _line(page: Any, pattern: str) -> list[dict[str, Any]]:
    """The characters of the first upright line whose text (spaces left out) matches `pattern`."""
    lines: dict[float, list[dict[str, Any]]] = {}
    for c in page.chars:
        if c["upright"]:
            lines.setdefault(round(_baseline(c, page), 1), []).append(c)
    for _, chars in sorted(lines.items()):
        if re.search(pattern, "".join(c["text"] for c in sorted(chars, key=lambda c: c["x0"])).replace(" ", "")):
            return chars
    raise AssertionError(f"no line matches {pattern!r}")


def _rules(page: Any, colour: tuple[float, ...]) -> list[float]:
    """The heights (mm from the top) of the horizontal rules of one colour at least 100 mm long (LibreOffice may
    draw one twice, as a line and as a rectangle)."""
    found: list[float] = []
    for line in page.lines + page.rects:
        stroke = tuple(line.get("stroking_color") or line.get("non_stroking_color") or ())
        if line["width"] / MM < 100 or line["height"] / MM > 1.5 or stroke != pytest.approx(colour, abs=0.01):
            continue
        middle = (line["top"] + line["bottom"]) / 2 / MM
        if all(abs(middle - seen) > 0.5 for seen in found):
            found.append(middle)
    return sorted(found)


def _page_number(page: Any) -> tuple[str, dict[str, float]]:
    """The page number's text and where it is on the sheet (mm): its em box's top, measured down from the sheet's
    top, and its first and last character's extent across the sheet, measured from the sheet's left edge.

    A landscape page is the sheet turned: its left edge is the sheet's bottom and its top edge the sheet's left
    edge, and its number is printed turned 90° clockwise (read with the sheet upright)."""
    if page.width < page.height:
        chars = sorted((c for c in page.chars if _baseline(c, page) > TYPE_AREA["bottom"]), key=lambda c: c["x0"])
        assert chars, "no page number"
        place = {"top": _em_top(chars, page), "start": chars[0]["x0"] / MM, "end": chars[-1]["x1"] / MM}
    else:
        chars = sorted((c for c in page.chars if not c["upright"]), key=lambda c: c["top"])
        assert chars, "no page number"
        # Turned 90° clockwise, a character's up is the page's +x and its baseline at its matrix's x.
        assert all(c["matrix"][:4] == pytest.approx((0, -1, 1, 0)) for c in chars)
        size = 14  # 4号, as the upright pages' numbers (checked there)
        top_from_left = max(c["matrix"][4] + EM_TOP * size for c in chars) / MM
        place = {"top": page.width / MM - top_from_left, "start": chars[0]["top"] / MM, "end": chars[-1]["bottom"] / MM}
    return "".join(c["text"] for c in chars).replace(" ", ""), place


@pytest.mark.parametrize("kind", ["monthly", "weekly"])
def test_page_numbers_at_the_outside_edge_below_the_type_area(printed: dict[str, Path], kind: str) -> None:
    """「— n —」 on every page but the blank one LibreOffice inserts before the even 版记 page, in 4号, its top 7 mm
    below the 版心, one character in from the 版心's outside edge: right on odd pages, left on even ones. A landscape
    page has it where a portrait page has it on the sheet (GB/T 9704 10.1: read as a landscape page, odd pages
    have it at the bottom left, even ones at the top left)."""
    with pdfplumber.open(printed[f"{kind}.pdf"]) as pdf:
        landscape = 0
        for number, page in enumerate(pdf.pages, 1):
            if not page.chars:
                assert number == len(pdf.pages) - 1, f"page {number} is blank"
                continue
            text, place = _page_number(page)
            assert text == f"—{number}—", (number, text)
            odd = number % 2 == 1
            assert place["top"] - TYPE_AREA["bottom"] == pytest.approx(7, abs=1), (number, place)
            if odd:
                assert TYPE_AREA["odd"][1] - place["end"] == pytest.approx(ONE_CHARACTER, abs=1), (number, place)
            else:
                assert place["start"] - TYPE_AREA["even"][0] == pytest.approx(ONE_CHARACTER, abs=1), (number, place)
            if page.width > page.height:
                landscape += 1
            else:
                sizes = {round(c["size"], 1) for c in page.chars if _baseline(c, page) > TYPE_AREA["bottom"]}
                assert sizes == {14.0}, (number, sizes)
        assert landscape == (1 if kind == "weekly" else 0)


@pytest.mark.parametrize("kind", ["monthly", "weekly"])
def test_the_imprint_closes_the_last_page_an_even_one(printed: dict[str, Path], kind: str) -> None:
    """The 版记 only on the last page, which is even (the back of the last sheet), its last rule on the 版心's bottom
    edge: within a millimetre, so within the bottom fifth of the 版心."""
    with pdfplumber.open(printed[f"{kind}.pdf"]) as pdf:
        texts = _texts(pdf)
        assert len(texts) % 2 == 0
        assert [n for n, text in enumerate(texts, 1) if "印发" in text.replace("印发机关", "")] == [len(texts)]
        last = pdf.pages[-1]
        assert last.width < last.height
        rules = _rules(last, (0, 0, 0))
        assert rules and rules[-1] == pytest.approx(TYPE_AREA["bottom"], abs=1), rules
        assert rules[-1] > TYPE_AREA["bottom"] - (TYPE_AREA["bottom"] - TYPE_AREA["top"]) / 5
        imprint = _line(last, "印发$")
        assert rules[0] < _em_top(imprint, last) and _em_bottom(imprint, last) < rules[-1]


@pytest.mark.parametrize("kind", ["monthly", "weekly"])
def test_page_count_with_the_ci_fonts(printed: dict[str, Path], kind: str) -> None:
    """Pagination depends on the fonts: pinned for the ones CI installs (fonts-noto-cjk)."""
    with pdfplumber.open(printed[f"{kind}.pdf"]) as pdf:
        fonts = {c["fontname"].partition("+")[2] for page in pdf.pages for c in page.chars if ord(c["text"]) > 0x2E80}
        if not all(name.startswith("NotoSansCJK") for name in fonts):
            pytest.skip(f"pages counted with Noto Sans CJK (fonts-noto-cjk); Chinese printed with {sorted(fonts)}")
        assert len(pdf.pages) == PAGES[kind]


@pytest.mark.parametrize("kind", ["monthly", "weekly"])
def test_the_head_to_the_millimetre(printed: dict[str, Path], kind: str) -> None:
    """The 标志's top 35 mm below the 版心's top, two blank lines, the 发文字号, the red rule 4 mm under it, two blank
    lines, the title, one blank line, the 主送."""
    with pdfplumber.open(printed[f"{kind}.pdf"]) as pdf:
        first = pdf.pages[0]
        issuer = _line(first, "^临沂市河东区政务服务管理办公室$")
        number = _line(first, "〔2020〕")
        title = _line(first, "^区政务服务中心")
        addressee = _line(first, "：$")
        assert _em_top(issuer, first) - TYPE_AREA["top"] == pytest.approx(35, abs=1)
        assert 2 <= (_em_top(number, first) - _em_bottom(issuer, first)) / LINE < 3
        (rule,) = _rules(first, RED)
        assert rule - _em_bottom(number, first) == pytest.approx(4, abs=1)
        assert 2 <= (_em_top(title, first) - rule) / LINE < 3
        title_end = max(_em_bottom(_line(first, line), first) for line in _title_lines(printed[f"{kind}.docx"]))
        assert 1 <= (_em_top(addressee, first) - title_end) / LINE < 2


def _title_lines(docx: Path) -> list[str]:
    """The title's lines as the .docx breaks them (小标宋 22 pt, centred)."""
    doc = Document(str(docx))
    return [
        re.escape(p.text) for p in doc.paragraphs if p.runs and p.runs[0].font.size and p.runs[0].font.size.pt == 22
    ]


@pytest.mark.parametrize("kind", ["monthly", "weekly"])
def test_red_issuer_and_red_rule(printed: dict[str, Path], kind: str) -> None:
    doc = Document(str(printed[f"{kind}.docx"]))
    issuer = next(run for p in doc.paragraphs for run in p.runs if run.text == "临沂市河东区政务服务管理办公室")
    assert str(issuer.font.color.rgb) == "E60012"
    with pdfplumber.open(printed[f"{kind}.pdf"]) as pdf:
        first = pdf.pages[0]
        top = min(c["top"] for c in first.chars)
        issuer_chars = [c for c in first.chars if abs(c["top"] - top) < 2]
        assert "".join(c["text"] for c in issuer_chars) == "临沂市河东区政务服务管理办公室"
        assert all(c["non_stroking_color"] == pytest.approx(RED, abs=0.01) for c in issuer_chars)
        # The separator: a red rule across the 版心, under the 文号 and above the title.
        number = next(w for w in first.extract_words() if "〔2020〕" in w["text"])
        title = next(w for w in first.extract_words() if w["text"].startswith("区政务服务中心"))
        red = [
            line
            for line in first.lines + first.rects
            if tuple(line.get("stroking_color") or line.get("non_stroking_color") or ()) == pytest.approx(RED, abs=0.01)
        ]
        assert any(
            number["bottom"] < rule["top"] < title["top"] and rule["width"] / MM == pytest.approx(156, abs=1)
            for rule in red
        )


@pytest.mark.parametrize("kind", ["monthly", "weekly", "2020-W46", "2020-W47", "2020-W48"])
def test_the_signature_is_never_alone_on_a_page(printed: dict[str, Path], kind: str) -> None:
    """The 署名 and the date on the page of the body's last lines (GB/T 9704: no page of a signature alone)."""
    doc = Document(str(printed[f"{kind}.docx"]))
    texts = [p.text for p in doc.paragraphs]
    signature = next(n for n, p in enumerate(doc.paragraphs) if p.text == "区政务服务管理办公室")
    body = next(t for t in reversed(texts[:signature]) if t.strip() and not re.match(r"(附件：)?\d+\.\t", t))
    with pdfplumber.open(printed[f"{kind}.pdf"]) as pdf:
        pages = _texts(pdf)
    (page,) = [
        n for n, text in enumerate(pages) if "区政务服务管理办公室" in text.replace("河东区政务服务管理办公室", "")
    ]
    assert body.replace(" ", "")[-6:] in pages[page].replace("\n", ""), (kind, body)


@pytest.mark.parametrize("kind", ["monthly", "weekly", "2020-W46"])
def test_the_sign_off_as_a_sealed_notice_lays_it_out(printed: dict[str, Path], kind: str) -> None:
    """附件说明 after a blank line, two characters in, a wrapped name under its first character and "2." under "1."
    (a single attachment unnumbered: 附件：名称, as W46's); the date ending four characters from the 版心's right
    edge, the 署名 centred over it."""
    numbered = kind != "2020-W46"
    with pdfplumber.open(printed[f"{kind}.pdf"]) as pdf:
        texts = _texts(pdf)
        page = next(pdf.pages[n] for n, text in enumerate(texts) if "\n附件：" in text)
        odd = page.page_number % 2 == 1
        left, right = TYPE_AREA["odd" if odd else "even"]
        em = 16 / MM
        note = _line(page, "^附件：1\\." if numbered else "^附件：\\d{4}年")
        first = sorted(note, key=lambda c: c["x0"])
        assert first[0]["x0"] / MM - left == pytest.approx(2 * em, abs=0.5)
        number_at = first[3]["x0"] / MM  # after 附件：
        name_at = first[5 if numbered else 3]["x0"] / MM  # after 1.
        lines: dict[float, list[dict[str, Any]]] = {}
        for c in page.chars:
            if c["upright"] and _baseline(c, page) > _baseline(note[0], page) - 1:
                lines.setdefault(round(_baseline(c, page), 1), []).append(c)
        for _, chars in sorted(lines.items())[1:]:
            text = "".join(c["text"] for c in sorted(chars, key=lambda c: c["x0"]))
            if text == "区政务服务管理办公室":
                break
            start = min(c["x0"] for c in chars) / MM
            # "2.名称" under "1.", a wrapped name under its first character.
            assert start == pytest.approx(number_at if re.match(r"\d+\.", text) else name_at, abs=0.5), text
        blank = _em_top(note, page) - max(
            (_em_bottom([c], page) for c in page.chars if _baseline(c, page) < _baseline(note[0], page) - 1),
        )
        assert 1 <= blank / LINE < 2
        signature = sorted(_line(page, "^区政务服务管理办公室$"), key=lambda c: c["x0"])
        date = sorted(_line(page, "^20\\d\\d年\\d+月\\d+日$"), key=lambda c: c["x0"])
        assert right - date[-1]["x1"] / MM == pytest.approx(4 * em, abs=1)
        middle = (date[0]["x0"] + date[-1]["x1"]) / 2 / MM
        assert (signature[0]["x0"] + signature[-1]["x1"]) / 2 / MM == pytest.approx(middle, abs=1.5)


def test_no_row_split_and_every_window_with_its_department(printed: dict[str, Path]) -> None:
    doc = Document(str(printed["monthly.docx"]))
    rows = [[cell.text for cell in row.cells] for row in doc.tables[1].rows][1:]
    with pdfplumber.open(printed["monthly.pdf"]) as pdf:
        pages = [page for page, text in zip(pdf.pages, _texts(pdf), strict=True) if "窗口号" in text]
        assert len(pages) >= 3  # 附件2 runs over several pages, its header on each
        seen: dict[str, int] = {}
        for n, page in enumerate(pages):
            words = page.extract_words()
            header = next(w for w in words if w["text"] == "窗口号")
            for window, department, *figures in rows:
                found = [
                    w
                    for w in words
                    if w["text"] == window and w["x0"] < 120 and header["bottom"] < w["top"] < TYPE_AREA["bottom"] * MM
                ]
                if not found:
                    continue
                assert window not in seen, f"{window} on two pages"
                seen[window] = n
                middle = (found[0]["top"] + found[0]["bottom"]) / 2
                figures_from = next(w["x0"] for w in words if w["text"].startswith("工作纪律"))

                def near(word: dict, reach: float, middle: float = middle) -> bool:
                    return abs((word["top"] + word["bottom"]) / 2 - middle) < reach

                name = "".join(w["text"] for w in words if near(w, 10) and found[0]["x1"] < w["x0"] < figures_from)
                cells = [
                    w["text"] for w in sorted(words, key=lambda w: w["x0"]) if near(w, 4) and w["x0"] >= figures_from
                ]
                # The whole row on this page: its department and all its figures.
                assert name.replace(" ", "") == department, (window, name)
                assert cells == figures, (window, cells)
        assert sorted(seen) == sorted(r[0] for r in rows)


def test_the_weekly_violations_fit_a_landscape_page(printed: dict[str, Path]) -> None:
    with pdfplumber.open(printed["weekly.pdf"]) as pdf:
        page = next(p for p in pdf.pages if "违反工作纪律情况明细" in (p.extract_text() or "").replace(" ", ""))
        assert page.width > page.height
        words = [w["text"] for w in page.extract_words()]
        # Nothing wraps: the date, the time and the window each on one line.
        assert any(w.startswith("09:12") for w in words) and "C20" in words
        assert any(w.startswith("11月3日（周二）") for w in words), words


BUSY = [
    ("A03", "行政审批服务局"),
    ("A15", "公章刻制"),
    ("B05", "人社局"),
    ("B16", "医保局"),
    ("C09", "不动产登记交易中心"),
]
BUSY += [("C20", "应急管理局"), ("C25", "卫健局"), ("D05", "邮政快递"), ("D08", "临沂建行"), ("C29", "临沂市测绘院")]


COPY_TO = "市委办公室，市政府办公室，市纪委监委驻市政府办公室纪检监察组，各县区政务服务中心"


def _busy_week(engine: Engine) -> None:
    """Forty incidents in the week of 2 November over ten windows, a quarter of them patrol findings with remarks,
    five with pictures: a body that brings its statistics tables to a page's foot, and a 情况 column of long free
    text."""
    days = ["2020-11-02", "2020-11-03", "2020-11-04", "2020-11-05", "2020-11-06"]
    rows: list[IncidentRow] = []
    for n in range(40):
        window, department = BUSY[n % len(BUSY)]
        day = days[n % 5]
        if n % 3 == 0:
            row = incident(
                f"i{n:02d}", "empty_post", window, department, f"{day} {10 + n % 5}:{n * 7 % 60:02d}", 20 + n
            )
            if n % 9 == 0:  # still away
                row.ended_at = row.minutes = None
        else:
            minutes = n * 3 % 50 + 1
            row = incident(f"i{n:02d}", "late_arrival", window, department, f"{day} 09:{minutes:02d}", minutes)
        if n % 4 == 1:
            row.source = "patrol:巡查员"
            row.note = "工作人员在窗口内使用手机玩游戏，经提醒后仍未改正" if n % 8 == 1 else "离岗未放置暂离牌"
        rows.append(row)
    pictured = [(r.id, r.kind, r.started_at, r.ended_at) for r in rows[:6] if r.ended_at is not None]
    insert_incidents(engine, rows)
    snapshot = io.BytesIO()
    Image.new("RGB", (640, 480), (90, 120, 150)).save(snapshot, "JPEG")
    with Session(engine) as session:
        for id, kind, started, ended in pictured:
            names = [
                f"{started.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}-{'arrival' if kind == 'late_arrival' else 'threshold'}"
            ]
            names.append(f"{ended.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}-return")
            for name in names:
                session.add(
                    EvidenceRow(incident_id=id, name=f"{name}.jpg", data=snapshot.getvalue(), received_at=started)
                )
        session.commit()


@pytest.fixture(scope="module")
def unseen(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Notices the seed month does not print: a busy week (40 incidents) issued, and a month drafted before any of
    its inputs were imported (a 【草稿】 banner naming all four) by an office that sends copies (抄送), as .docx,
    .json and .pdf."""
    tmp = tmp_path_factory.mktemp("unseen")
    _register()
    documents: dict[str, Path] = {}
    for kind, args in (
        ("busy", ["weekly", "--week", "2020-W45", "--issue", "--number", "16", "--date", "2020-11-09"]),
        ("draft", ["monthly", "--month", "2020-12"]),
    ):
        config, path = hall_config(tmp / kind, **({"notices": {"copy_to": COPY_TO}} if kind == "draft" else {}))
        if kind == "busy":
            _busy_week(open_database(config.database.url))
        result = CliRunner().invoke(app, ["-c", str(path), "notice", *args])
        assert result.exit_code == 0, result.output
        (documents[kind],) = (Path(config.notices.output_dir) / "notices").rglob("*.docx")
    to_pdf(documents.values(), tmp / "pdf", tmp / "lo-profile")
    out = {
        f"{kind}.{suffix}": docx.with_suffix(f".{suffix}")
        for kind, docx in documents.items()
        for suffix in ("docx", "json")
    }
    return out | {f"{kind}.pdf": tmp / "pdf" / docx.with_suffix(".pdf").name for kind, docx in documents.items()}


def _lines(page: Any) -> list[tuple[float, str, list[dict[str, Any]]]]:
    """A page's upright lines, top down: baseline (mm), text without spaces, characters."""
    lines: dict[float, list[dict[str, Any]]] = {}
    for c in page.chars:
        if c["upright"]:
            lines.setdefault(round(_baseline(c, page), 1), []).append(c)
    return [
        (baseline, "".join(c["text"] for c in sorted(chars, key=lambda c: c["x0"])).replace(" ", ""), chars)
        for baseline, chars in sorted(lines.items())
    ]


def test_a_long_draft_banner_leaves_the_issuer_in_place(unseen: dict[str, Path]) -> None:
    """A draft's 【草稿】 banner naming every missing input (too long for 4号 in the 35 mm above the 标志) is printed
    smaller, all of it above the 标志, whose top stays 35 mm below the 版心's top."""
    banner = next(p.text for p in Document(str(unseen["draft.docx"])).paragraphs if p.text.startswith("【草稿】"))
    assert banner.count("；") == 3  # four inputs missing
    with pdfplumber.open(unseen["draft.pdf"]) as pdf:
        first = pdf.pages[0]
        issuer = _line(first, "^临沂市河东区政务服务管理办公室$")
        assert _em_top(issuer, first) - TYPE_AREA["top"] == pytest.approx(35, abs=1)
        above = [(text, chars) for baseline, text, chars in _lines(first) if baseline < _baseline(issuer[0], first)]
        assert "".join(text for text, _ in above) == banner.replace(" ", "")
        assert len(above) > 3  # more lines than 4号 on the body's pitch would fit
        assert max(_em_bottom(chars, first) for _, chars in above) < _em_top(issuer, first)
        assert all(c["non_stroking_color"] == pytest.approx(RED, abs=0.01) for _, chars in above for c in chars)


def test_body_tables_whole_under_their_captions(unseen: dict[str, Path]) -> None:
    """The weekly notice's statistics in the body (按类型统计, 按部门统计): each table whole, on its caption's page."""
    tables = json.loads(unseen["busy.json"].read_text(encoding="utf-8"))["tables"]
    with pdfplumber.open(unseen["busy.pdf"]) as pdf:
        pages = [text.splitlines() for text in _texts(pdf)]
    for key in ("by_kind", "by_department"):
        caption, rows = tables[key]["caption"], tables[key]["rows"]
        (lines,) = [lines for lines in pages if caption in lines]
        assert all("".join(row).replace(" ", "") in lines for row in rows), (key, lines)


def test_short_columns_never_wrap(unseen: dict[str, Path]) -> None:
    """The violations' long remarks give way, a date with its weekday ("11月2日（周一）") or a time span
    ("10:30—11:20") never wraps."""
    table = json.loads(unseen["busy.json"].read_text(encoding="utf-8"))["tables"]["violations"]
    header, *rows = table["rows"]
    with pdfplumber.open(unseen["busy.pdf"]) as pdf:
        lines = [text for page in pdf.pages for _, text, _ in _lines(page)]
    assert any(len(row[header.index("情况")]) > 20 for row in rows)
    for row in rows:
        for column in ("日期", "时间"):
            cell = row[header.index(column)].replace(" ", "")
            assert any(cell in line for line in lines), (column, cell)


def test_copies_broken_between_names_on_the_imprint_rows_pitch(unseen: dict[str, Path]) -> None:
    """The 抄送 in the 版记 wraps only after a "，" (a name never split), its lines as far apart as the 印发 row is
    high: the body's 28 pt."""
    with pdfplumber.open(unseen["draft.pdf"]) as pdf:
        last = pdf.pages[-1]
        lines = _lines(last)
    start = next(n for n, (_, text, _) in enumerate(lines) if text.startswith("抄送："))
    end = next(n for n, (_, text, _) in enumerate(lines) if text.endswith("印发"))
    copies = lines[start:end]
    assert "".join(text for _, text, _ in copies) == f"抄送：{COPY_TO}。"
    assert len(copies) > 1 and all(text[-1] in "，。" for _, text, _ in copies)
    pitches = [b - a for (a, _, _), (b, _, _) in itertools.pairwise(copies)]
    assert pitches == pytest.approx([LINE] * len(pitches), abs=0.3)
