"""A supervisor's action as the recorder records it: signed by the console for the person logged in, sent,
confirmed by the recorder's receipt, and kept in the audit trail whatever the outcome."""

from __future__ import annotations

import logging

from fastapi import Request

from monitor.console.auth import Who
from monitor.console.context import Console
from monitor.core.signature import Record
from monitor.errors import MonitorError
from monitor.services.patrol import submit

log = logging.getLogger(__name__)

RECEIPT_WAIT = 10.0
"""Seconds a page waits for the recorder's receipt."""


def record_action(
    console: Console, request: Request, who: Who, record: Record, *, action: str, target: str, what: str
) -> bool:
    """Send `record` and flash what happened to the person; True when the recorder recorded it (or had already)."""
    try:
        receipt = submit(console.config, record, console.key, timeout=RECEIPT_WAIT)
    except MonitorError as exc:
        log.warning("console: %s by %s not confirmed: %s", action, who.name, exc)
        ok, outcome, message = False, "failed", f"{what}未确认：记录服务未答复。请稍后在列表中核对，勿重复提交"
    else:
        if receipt.status in ("rejected", "conflict"):
            # The recorder's detail is for the log; the person is told in words (the receipt's), else in general.
            log.info("console: %s by %s refused by the recorder: %s", action, who.name, receipt.detail)
            ok, outcome = False, "refused"
            message = f"{what}未记录：{receipt.words or '记录服务不接受这条记录，请刷新页面核对后重试'}"
        elif receipt.status == "duplicate":
            ok, outcome, message = True, "ok", f"{what}此前已记录"
        else:
            ok, outcome, message = True, "ok", f"{what}已记录"
    console.note(request, who.name, action, outcome, target=target, detail=message)
    console.flash(request, "ok" if ok else "error", message)
    return ok
