"""Supervisor actions (patrol findings, dismissals, leave) published on MQTT: the recorder stays the single writer."""

from __future__ import annotations

import datetime as dt
import getpass
import uuid

from monitor.adapters.mqtt.client import connect, disconnect, make_client
from monitor.config import MonitorConfig
from monitor.contract import Dismissal, IncidentEvent, LeaveGrant, Payload, Topics, now_utc
from monitor.core.incident import LATE_ARRIVAL
from monitor.errors import MonitorError


class PublishFailed(MonitorError):
    """The broker did not acknowledge a supervisor's message."""


def patrol_incident(
    *, window: str, kind: str, at: dt.datetime, minutes: int | None, note: str, by: str | None = None
) -> IncidentEvent:
    """A patrol finding (纪律巡查) as a complete incident; an absence of known length has ended."""
    lasted = minutes is not None and kind != LATE_ARRIVAL
    return IncidentEvent(
        id=f"patrol-{uuid.uuid4().hex[:12]}",
        event="new",
        kind=kind,
        window=window,
        started_at=at,
        ended_at=at + dt.timedelta(minutes=minutes) if lasted and minutes is not None else None,
        minutes=minutes,
        source=f"patrol:{by or getpass.getuser()}",
        note=note,
        sent_at=now_utc(),
    )


def dismissal(incident_id: str, reason: str, by: str | None = None) -> Dismissal:
    return Dismissal(incident_id=incident_id, reason=reason, by=by or getpass.getuser(), at=now_utc())


def leave_grant(*, window: str, start: dt.datetime, end: dt.datetime, reason: str, by: str | None = None) -> LeaveGrant:
    return LeaveGrant(
        id=f"leave-{uuid.uuid4().hex[:12]}",
        window=window,
        start=start,
        end=end,
        reason=reason,
        by=by or getpass.getuser(),
        at=now_utc(),
    )


def publish(config: MonitorConfig, topic_of: str, payloads: list[Payload]) -> None:
    """Publish at QoS 1 and return once the broker has acknowledged every message."""
    topics = Topics(config.mqtt.topic_prefix)
    topic = getattr(topics, topic_of)
    client = make_client(config.mqtt, f"cli-{uuid.uuid4().hex[:8]}")
    connect(client, config.mqtt)
    try:
        for payload in payloads:
            info = client.publish(topic, payload.to_json(), qos=1)
            info.wait_for_publish(timeout=10)
            if not info.is_published():
                raise PublishFailed(f"the broker did not acknowledge the message on {topic} within 10s; try again")
    finally:
        disconnect(client, config.mqtt)
