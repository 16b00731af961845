"""The alert outbox in the database: queued in the incident's transaction, delivered after it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import ColumnElement, Engine, text, update
from sqlmodel import Session, col, select

from monitor.adapters.store.tables import AlertRow
from monitor.config import AlertsConfig
from monitor.contract import Alert

MQTT_CHANNEL = "mqtt"


def webhook_channel(name: str) -> str:
    return f"webhook:{name}"


def queue_alert(
    session: Session, alert: Alert, config: AlertsConfig, now: dt.datetime, *, outage_id: int | None = None
) -> None:
    """One outbox row per channel: MQTT, and each configured webhook; of the alert's incident, or of the camera
    outage `outage_id` (a camera alert)."""
    channels = [MQTT_CHANNEL, *(webhook_channel(w.name) for w in config.webhooks)]
    payload = alert.to_json().decode()
    for channel in channels:
        session.add(
            AlertRow(
                incident_id=alert.incident_id,
                outage_id=outage_id,
                channel=channel,
                payload=payload,
                created_at=now,
                next_attempt_at=now,
            )
        )


def _due(now: dt.datetime) -> tuple[ColumnElement[bool], ...]:
    """Undelivered, not given up, due, and not claimed by a recorder delivering it now."""
    return (
        col(AlertRow.delivered_at).is_(None),
        col(AlertRow.gave_up_at).is_(None),
        AlertRow.next_attempt_at <= now,
        col(AlertRow.claimed_until).is_(None) | (col(AlertRow.claimed_until) < now),
    )


def claim_due(session: Session, claim: str, now: dt.datetime, hold: timedelta, limit: int = 200) -> list[AlertRow]:
    """Claim up to `limit` due alerts until now + hold, with one UPDATE; `claim` names this round of
    delivery (unique to it). A row another recorder claimed first no longer matches, so two recorders
    never deliver one alert twice. The caller commits the claims before delivering."""
    due = select(AlertRow.id).where(*_due(now)).order_by(col(AlertRow.id)).limit(limit)
    session.exec(  # type: ignore[call-overload]
        update(AlertRow)
        .where(col(AlertRow.id).in_(due), *_due(now))
        .values(claimed_by=claim, claimed_until=now + hold)
        .execution_options(synchronize_session=False)
    )
    return list(session.exec(select(AlertRow).where(AlertRow.claimed_by == claim).order_by(col(AlertRow.id))).all())


def release_claims(session: Session, instance: str) -> int:
    """Free the claims of undelivered alerts held by recorders other than `instance` (whose rounds claim as
    `<instance>#<n>`): the lease is this instance's, so whoever claimed them no longer delivers. Returns how
    many. The caller commits."""
    result = session.exec(  # type: ignore[call-overload]
        update(AlertRow)
        .where(
            col(AlertRow.delivered_at).is_(None),
            col(AlertRow.claimed_until).is_not(None),
            col(AlertRow.claimed_by).not_like(f"{instance}#%"),
        )
        .values(claimed_until=None)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)


def mark_delivered(session: Session, ids: Iterable[int], now: dt.datetime) -> None:
    _update(session, ids, delivered_at=now, claimed_until=None)


def note_delivered(engine: Engine, row_id: int, now: dt.datetime) -> None:
    """Note one alert delivered, in a transaction of its own, as cheaply as the database allows: a Core
    statement, and on PostgreSQL without waiting for the disk (synchronous_commit off: a database server that
    crashes in the next moment loses the note, and the alert goes out once more, which its id lets consumers
    drop). Called once per alert, in the MQTT network thread, while a backlog may be draining."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SET LOCAL synchronous_commit TO OFF"))
        connection.execute(
            update(AlertRow).where(col(AlertRow.id) == row_id).values(delivered_at=now, claimed_until=None)
        )


def extend_claims(session: Session, ids: Iterable[int], now: dt.datetime, hold: timedelta) -> None:
    """Still being delivered (the MQTT client holds the publish): keep them from the others."""
    _update(session, ids, claimed_until=now + hold)


def _update(session: Session, ids: Iterable[int], **values: object) -> None:
    chosen = list(ids)
    if chosen:
        session.exec(  # type: ignore[call-overload]
            update(AlertRow)
            .where(col(AlertRow.id).in_(chosen))
            .values(**values)
            .execution_options(synchronize_session=False)
        )


def retry_delay(attempts: int, config: AlertsConfig) -> timedelta:
    """Exponential backoff: initial, 2x, 4x ... capped at retry_max."""
    return min(config.retry_initial * (2 ** max(attempts - 1, 0)), config.retry_max)


def mark_failed(row: AlertRow, error: str, config: AlertsConfig, now: dt.datetime) -> None:
    row.attempts += 1
    row.claimed_until = None
    row.last_error = error[:1000]
    if now - row.created_at >= config.give_up_after:
        row.gave_up_at = now
    else:
        row.next_attempt_at = now + retry_delay(row.attempts, config)
