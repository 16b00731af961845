"""The MQTT payload announcing an issued notice on <prefix>/notices/<kind> (schema version 1)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import AwareDatetime, Field

from monitor.contract import Payload


class NoticeIssued(Payload):
    """A notice was issued: its summary and its files."""

    kind: Literal["weekly", "monthly"]
    period: str = Field(description="2020-W45 or 2020-11.")
    title: str
    issued_on: dt.date
    draft: bool = Field(description="True for a notice not issued (no 文号); an issued one is never a draft.")
    missing: list[str] = Field(default_factory=list)
    summary: str = Field(description="A few lines in Chinese, as the group robots get them.")
    files: list[str] = Field(description="File names in <output_dir>/notices/<period>/.")
    sent_at: AwareDatetime
