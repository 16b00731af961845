"""The notices as a clerk prints them: both notices of the seed month and a weekly notice rendered to PDF
by LibreOffice, then checked page by page (pdfplumber): the page count, the red issuer and red rule,
「— n —」 on every page, the 版记 on the last page only, no table row split across pages, and every
window of 附件2 shown with its department on its page."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pdfplumber
import pytest
from docx import Document
from PIL import Image
from sqlmodel import Session
from typer.testing import CliRunner

from monitor.adapters.store.database import open_database
from monitor.adapters.store.tables import EvidenceRow
from monitor.cli import _register, app
from tests.support.config import hall_config
from tests.support.notices import at, import_seed, insert_incidents, seed_incidents

pytestmark = pytest.mark.skipif(
    not shutil.which("soffice"), reason="LibreOffice (soffice) is not installed; .ci/run installs it"
)
RED = (0.9019607843, 0.0, 0.0705882352)  # E60012
WEEKS = {"2020-W45": ("16", "2020-11-09"), "2020-W46": ("17", "2020-11-16"), "2020-W47": ("18", "2020-11-23")}
WEEKS["2020-W48"] = ("19", "2020-11-30")


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The seed month issued as the office does it, and its monthly and W45 notices as .docx and .pdf."""
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
    documents = {
        "monthly": folder / "2020-11" / "monthly-2020-11.docx",
        "weekly": folder / "2020-W45" / "weekly-2020-W45.docx",
    }
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation=file://{tmp / 'lo-profile'}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp / "pdf"),
            *map(str, documents.values()),
        ],
        check=True,
        timeout=180,
        capture_output=True,
    )
    out = {f"{kind}.docx": docx for kind, docx in documents.items()}
    out |= {f"{kind}.pdf": tmp / "pdf" / docx.with_suffix(".pdf").name for kind, docx in documents.items()}
    return out


def _texts(pdf: pdfplumber.PDF) -> list[str]:
    return [(page.extract_text() or "").replace(" ", "") for page in pdf.pages]


@pytest.mark.parametrize(("kind", "pages"), [("monthly", 9), ("weekly", 4)])
def test_pages_numbered_and_the_imprint_last(printed: dict[str, Path], kind: str, pages: int) -> None:
    with pdfplumber.open(printed[f"{kind}.pdf"]) as pdf:
        texts = _texts(pdf)
        assert len(texts) == pages
        for number, text in enumerate(texts, 1):
            assert text.rstrip().endswith(f"—{number}—"), (number, text[-40:])
        imprint = "印发"
        assert [n for n, text in enumerate(texts, 1) if imprint in text.replace("印发机关", "")] == [pages]


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
        # The separator: a red rule across the text block, under the 文号 and above the title.
        number = next(w for w in first.extract_words() if "〔2020〕" in w["text"])
        title = next(w for w in first.extract_words() if w["text"].startswith("区政务服务中心"))
        rules = [
            line
            for line in first.lines + first.rects
            if tuple(line.get("stroking_color") or line.get("non_stroking_color") or ()) == pytest.approx(RED, abs=0.01)
            and line["width"] > 400
        ]
        assert any(number["bottom"] < rule["top"] < title["top"] for rule in rules)


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
                found = [w for w in words if w["text"] == window and w["x0"] < 120 and w["top"] > header["bottom"]]
                if not found:
                    continue
                assert window not in seen, f"{window} on two pages"
                seen[window] = n
                middle = (found[0]["top"] + found[0]["bottom"]) / 2
                figures_from = next(w["x0"] for w in words if w["text"].startswith("工作纪律"))

                def near(word: dict, reach: float, middle: float = middle) -> bool:
                    return abs((word["top"] + word["bottom"]) / 2 - middle) < reach

                name = "".join(w["text"] for w in words if near(w, 7) and found[0]["x1"] < w["x0"] < figures_from)
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
        assert "09:12" in words and "C20" in words
        assert any(w.startswith("11月3日（周二）") for w in words), words
