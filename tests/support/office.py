"""LibreOffice as a clerk prints with it: documents to PDF, headless, in a profile of the test's own."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from pathlib import Path

KEEP_BLANK_PAGES = '{"IsSkipEmptyPages":{"type":"boolean","value":"false"}}'
"""The blank page Writer inserts before an even page (the 版记's) is printed: PDF export leaves it out unless told
(printing has the same choice: Tools ▸ Options ▸ LibreOffice Writer ▸ Print, 'Print automatically inserted blank
pages')."""


def to_pdf(documents: Iterable[Path], outdir: Path, profile: Path) -> list[Path]:
    """Each document as a PDF in `outdir` (.docx with their blank pages kept, .xlsx as Calc prints them); the
    PDFs' paths in order."""
    documents = list(documents)
    writer = all(d.suffix == ".docx" for d in documents)
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--convert-to",
            f"pdf:writer_pdf_Export:{KEEP_BLANK_PAGES}" if writer else "pdf",
            "--outdir",
            str(outdir),
            *map(str, documents),
        ],
        check=True,
        timeout=300,
        capture_output=True,
    )
    return [outdir / document.with_suffix(".pdf").name for document in documents]
