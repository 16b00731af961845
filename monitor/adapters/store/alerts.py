"""The alert outbox in the database: queued in the incident's transaction, delivered after it."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta

from sqlalchemy import ColumnElement, update
from sqlmodel import Session, col, select

from monitor.adapters.store.tables import AlertRow
from monitor.config import AlertsConfig
from monitor.contract import Alert

MQTT_CHANNEL = "mqtt"


def webhook_channel(name: str) -> str:
    return f"webhook:{name}"


def queue_alert(session: Session, alert: Alert, config: AlertsConfig, now: dt.datetime) -> None:
    """One outbox row per channel: MQTT, and each configured webhook."""
    channels = [MQTT_CHANNEL, *(webhook_channel(w.name) for w in config.webhooks)]
    payload = alert.to_json().decode()
    for channel in channels:
        session.add(
            AlertRow(
                incident_id=alert.incident_id, channel=channel, payload=payload, created_at=now, next_attempt_at=now
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


def due_alerts(session: Session, now: dt.datetime, limit: int = 200) -> list[AlertRow]:
    """Due alerts nobody is delivering now, oldest first."""
    return list(session.exec(select(AlertRow).where(*_due(now)).order_by(col(AlertRow.id)).limit(limit)).all())


def claim_due(session: Session, holder: str, now: dt.datetime, hold: timedelta, limit: int = 200) -> list[AlertRow]:
    """Claim due alerts for `holder` until now + hold: a row another recorder claimed first is skipped, so
    two recorders never deliver one alert twice. The caller commits the claims before delivering."""
    claimed: list[AlertRow] = []
    for row in due_alerts(session, now, limit):
        taken = session.exec(  # type: ignore[call-overload]
            update(AlertRow)
            .where(col(AlertRow.id) == row.id, *_due(now))
            .values(claimed_by=holder, claimed_until=now + hold)
        )
        if taken.rowcount == 1:
            session.refresh(row)
            claimed.append(row)
    return claimed


def mark_delivered(row: AlertRow, now: dt.datetime) -> None:
    row.delivered_at = now
    row.claimed_until = None


def extend_claim(row: AlertRow, now: dt.datetime, hold: timedelta) -> None:
    """Still being delivered (the MQTT client holds the publish): keep it from the others."""
    row.claimed_until = now + hold


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
