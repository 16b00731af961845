"""The frame every notice shares (pure): the 版头 (发文机关标志, 发文字号), the title and 主送, and the sign-off
(附件说明, 署名, 成文日期 and the 版记), as GB/T 9704 orders them. The weekly and the monthly notice compose only
their own text and attachments inside it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from monitor.config import MonitorConfig
from monitor.core.notices.model import Block
from monitor.core.periods import chinese_date


def doc_number_text(config: MonitorConfig, year: int, number: int) -> str:
    """临东政管办发〔2020〕20号."""
    return config.notices.doc_number_format.format(year=year, number=number)


def _draft_marker(missing: Sequence[str], number: str) -> list[Block]:
    """The red 【草稿】 line of a notice not issued: what is missing, or that it has no 文号 yet. An issued
    notice has none, whatever its issuer confirmed it without."""
    if number:
        return []
    if missing:
        return [Block("draft", "【草稿】缺少：" + "；".join(missing))]
    return [Block("draft", "【草稿】未印发，无文号")]


def attachment_label(number: int, count: int) -> str:
    """附件1, 附件2 …; 附件 when there is only one."""
    return f"附件{number}" if count > 1 else "附件"


def head(config: MonitorConfig, title: str, number: str, missing: Sequence[str]) -> list[Block]:
    """From the draft line (if any) to the 主送."""
    notices = config.notices
    return [
        *_draft_marker(missing, number),
        Block("issuer", notices.issuer),
        *([Block("number", number)] if number else []),
        Block("title", title),
        Block("addressee", f"{notices.addressees}："),
    ]


def sign_off(config: MonitorConfig, attachments: Sequence[str], issued_on: dt.date) -> list[Block]:
    """The 附件说明 (附件：1.名称, then 2.名称 …; a single attachment unnumbered, 附件：名称, GB/T 9704 7.3.5), the
    office's 署名, the date and the 版记 (抄送 when configured, then '<印发机关>　<印发日期>印发')."""
    notices = config.notices
    numbered = len(attachments) > 1
    listed = [
        Block("attachments", f"{'附件：' if n == 1 else ''}{f'{n}.' if numbered else ''}{name}")
        for n, name in enumerate(attachments, 1)
    ]
    copy_to = [Block("copy_to", f"抄送：{notices.copy_to}。")] if notices.copy_to else []
    return [
        *listed,
        Block("signature", config.hall.office),
        Block("date", chinese_date(issued_on)),
        *copy_to,
        Block("imprint", f"{notices.imprint or config.hall.office}　{chinese_date(issued_on)}印发"),
    ]
