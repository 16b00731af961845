"""Dead letters: every message the recorder refused or could not handle, the newest `keep` of them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from monitor.adapters.store.tables import DeadLetterRow

KEPT_BYTES = 64 * 1024


def add_dead_letter(session: Session, topic: str, reason: str, payload: bytes, received_at: dt.datetime) -> None:
    """Keep the message (its first KEPT_BYTES) and why it was refused, in the caller's transaction."""
    session.add(
        DeadLetterRow(
            topic=topic[:1000],
            reason=reason[:4000],
            payload=payload[:KEPT_BYTES],
            size=len(payload),
            received_at=received_at,
        )
    )


def trim_dead_letters(session: Session, keep: int) -> int:
    """Delete all but the newest `keep`; returns how many went. The caller commits."""
    newest = session.exec(select(func.max(DeadLetterRow.id))).one()
    if newest is None or newest <= keep:
        return 0
    result = session.exec(delete(DeadLetterRow).where(col(DeadLetterRow.id) <= newest - keep))  # type: ignore[call-overload]
    return int(result.rowcount or 0)
