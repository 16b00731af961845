"""A composed notice: paragraphs and tables of cell strings, ready for any writer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Style = Literal[
    "draft",
    "table",
    "issuer",
    "number",
    "title",
    "addressee",
    "heading",
    "body",
    "attachments",
    "signature",
    "date",
    "copy_to",
    "imprint",
]


@dataclass(frozen=True, slots=True)
class Block:
    """One paragraph; `style` tells a writer how to lay it out (GB/T 9704 elements).

    A "table" block places the table whose key is `text` in the body; attachments (tables with a
    label) follow the body, each on a page of its own. The 版记 blocks ("copy_to", and "imprint":
    '<印发机关>　<印发日期>印发') are printed at the very end, after the attachments.
    """

    style: Style
    text: str


@dataclass(frozen=True, slots=True)
class Table:
    """A table as printed: `rows` are cell strings, the header row first.

    `merge_down` lists columns whose blank cells continue the cell above (Attachment 2's
    department column), which writers render as merged cells.
    """

    key: str
    """"1".."4" for the monthly attachments; a name for the weekly notice's tables."""
    label: str
    """附件1, or "" when the table sits in the body."""
    caption: str
    rows: tuple[tuple[str, ...], ...]
    unit: str = ""
    merge_down: tuple[int, ...] = ()
    landscape: bool = False
    """Printed on landscape pages (a wide table such as the weekly notice's violations)."""


@dataclass(frozen=True, slots=True)
class Photo:
    """An evidence snapshot a notice shows, by its caption (window, kind, time), never by internal id."""

    caption: str
    """Two lines: the charge ("1. C20窗口 迟到 11月3日") and what the picture shows when ("09:12:00 到岗")."""
    incident_id: str
    """With `name`, where the store keeps the image (the writer is given the bytes)."""
    name: str


@dataclass(frozen=True, slots=True)
class Notice:
    kind: Literal["weekly", "monthly"]
    period: str
    """2020-W45 or 2020-11."""
    title: str
    blocks: tuple[Block, ...]
    tables: tuple[Table, ...]
    summary: str
    """A few lines for MQTT and the group robots."""
    figures: dict[str, object] = field(default_factory=dict)
    """Every figure the text states, JSON-ready (strings and ints)."""
    missing: tuple[str, ...] = ()
    """Inputs that were not available: a notice is issued without them only when its issuer confirms it."""
    warnings: tuple[str, ...] = ()
    """What the issuer should know before issuing, such as a violation whose person the roster does not name."""
    doc_number: str = ""
    """The 文号 it was issued under; "" for a draft generated on demand (not issued)."""
    photos: tuple[Photo, ...] = ()
    photos_label: str = ""
    """The heading of the photos' attachment (附件2 …), when there are photos."""

    @property
    def draft(self) -> bool:
        """Not issued: no 文号 yet."""
        return not self.doc_number

    @property
    def text(self) -> str:
        """The body, one paragraph a line (the attachments are in `tables`)."""
        return "\n".join(b.text for b in self.blocks if b.style != "table")

    @property
    def file_stem(self) -> str:
        return f"{self.kind}-{self.period}"
