"""Writers (thin adapters): a composed `Notice` as .docx, .md, .json, .html and (monthly) .xlsx bytes.

One module per format: `docx` (GB/T 9704 layout), `xlsx` (the attachments), `text` (.md, .json,
.html). Output is byte-stable for the same notice (`ooxml.stable_zip`), so regenerating unchanged
data changes no file.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from monitor.adapters.documents.docx import docx_bytes
from monitor.adapters.documents.text import html_text, json_text, markdown_text
from monitor.adapters.documents.xlsx import xlsx_bytes
from monitor.core.notices.model import Notice

Images = Mapping[tuple[str, str], bytes]
"""(incident id, evidence name) -> image bytes, for the notice's photos."""


def notice_files(notice: Notice, issued_on: dt.date, images: Images) -> list[tuple[str, bytes]]:
    """The notice's files as (name, bytes): .docx, .md, .json, .html and, for the month, .xlsx."""
    stem = notice.file_stem
    files = [
        (f"{stem}.docx", docx_bytes(notice, issued_on, images)),
        (f"{stem}.md", markdown_text(notice).encode()),
        (f"{stem}.json", json_text(notice).encode()),
        (f"{stem}.html", html_text(notice).encode()),
    ]
    if notice.kind == "monthly":
        files.append((f"{stem}.xlsx", xlsx_bytes(notice, issued_on)))
    return files


def write_files(folder: Path, files: list[tuple[str, bytes]]) -> list[Path]:
    """Write `files` into `folder` (created), each atomically and only when its bytes changed."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files:
        path = folder / name
        if not path.exists() or path.read_bytes() != data:
            # A temporary file of this writer's own: two schedulers may write the same draft at once.
            handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            Path(temporary).replace(path)
    return [folder / name for name, _ in files]
