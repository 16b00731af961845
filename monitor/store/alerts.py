"""The alert outbox in the database: queued in the incident's transaction, delivered after it."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta

from sqlmodel import Session, col, select

from monitor.config import AlertsConfig
from monitor.contract import Alert
from monitor.store.tables import AlertRow

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


def due_alerts(session: Session, now: dt.datetime, limit: int = 50) -> list[AlertRow]:
    return list(
        session.exec(
            select(AlertRow)
            .where(
                col(AlertRow.delivered_at).is_(None),
                col(AlertRow.gave_up_at).is_(None),
                AlertRow.next_attempt_at <= now,
            )
            .order_by(col(AlertRow.id))
            .limit(limit)
        ).all()
    )


def retry_delay(attempts: int, config: AlertsConfig) -> timedelta:
    """Exponential backoff: initial, 2x, 4x ... capped at retry_max."""
    return min(config.retry_initial * (2 ** max(attempts - 1, 0)), config.retry_max)


def mark_failed(row: AlertRow, error: str, config: AlertsConfig, now: dt.datetime) -> None:
    row.attempts += 1
    row.last_error = error[:1000]
    if now - row.created_at >= config.give_up_after:
        row.gave_up_at = now
    else:
        row.next_attempt_at = now + retry_delay(row.attempts, config)
