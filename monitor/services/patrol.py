"""Supervisor actions (patrol findings, dismissals and reinstatements, leave and its withdrawal or change): signed,
published on MQTT, confirmed.

The recorder stays the single writer: a supervisor's record goes to it over MQTT, signed with the
supervisor's own key (monitor.core.signature), and `submit` waits for the recorder's receipt, so a
command reports what was recorded — not merely that the broker took the message.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import queue
import uuid

from monitor.adapters.mqtt.session import MqttSession
from monitor.config import MonitorConfig
from monitor.contract import (
    ContractError,
    Dismissal,
    IncidentEvent,
    LeaveChange,
    LeaveGrant,
    LeaveKind,
    Payload,
    Receipt,
    Reinstatement,
    Topics,
    now_utc,
)
from monitor.core.incident import LATE_ARRIVAL
from monitor.core.signature import Kind, Record, SigningKey, kind_of
from monitor.errors import MonitorError

RECEIPT_WAIT = 15.0
"""Seconds a command waits for the recorder's receipt."""


class PublishFailed(MonitorError):
    """The broker did not take a supervisor's message, or the recorder did not confirm it."""


def patrol_incident(
    *,
    window: str,
    kind: str,
    seen_at: dt.datetime,
    minutes: int | None,
    note: str,
    by: str,
    correction: str | None = None,
) -> IncidentEvent:
    """A patrol finding (纪律巡查) by supervisor `by`, as a complete incident built from what a person says: when
    it was seen and how long. A late arrival: `seen_at` is the arrival, `minutes` how late. Any other kind:
    `seen_at` is when the post was seen empty, which ends it, and it began `minutes` before — "just now, 20
    minutes" ran from 20 minutes ago until now (without minutes it is the moment seen, with no end).
    `correction`: why it comes after its month's notice was issued (the recorder refuses a finding for such a
    month without one, and the notices show it as a correction)."""
    lasted = minutes is not None and kind != LATE_ARRIVAL
    started_at = seen_at
    if lasted and minutes is not None:
        # Minutes or a time beyond any calendar: the contract's bounds refuse the event below.
        with contextlib.suppress(OverflowError):
            started_at = seen_at - dt.timedelta(minutes=minutes)
    return IncidentEvent(
        id=f"patrol-{uuid.uuid4().hex[:12]}",
        event="new",
        kind=kind,
        window=window,
        started_at=started_at,
        ended_at=seen_at if lasted else None,
        minutes=minutes,
        source=f"patrol:{by}",
        note=note,
        correction=correction,
        sent_at=now_utc(),
    )


def seen_in_future(seen_at: dt.datetime, config: MonitorConfig, now: dt.datetime) -> bool:
    """Whether a finding seen at `seen_at` (its end, or the arrival) lies beyond the recorder's clock tolerance
    from `now`: the recorder refuses an incident that starts or ends in the future (core.admission.check_fresh),
    so the console and the CLI refuse it before anything is sent, in words the person can act on."""
    return seen_at > now + config.recorder.clock_tolerance


def dismissal(incident_id: str, reason: str, by: str) -> Dismissal:
    """A dismissal of the incident, with an id of its own (a later dismissal after a reinstatement is another)."""
    return Dismissal(
        id=f"dismissal-{uuid.uuid4().hex[:12]}", incident_id=incident_id, reason=reason, by=by, at=now_utc()
    )


def reinstatement(incident_id: str, reason: str, by: str) -> Reinstatement:
    """The reversal of the incident's dismissal: it stands, and deducts, again."""
    return Reinstatement(
        id=f"reinstatement-{uuid.uuid4().hex[:12]}", incident_id=incident_id, reason=reason, by=by, at=now_utc()
    )


def leave_grant(
    *, window: str, start: dt.datetime, end: dt.datetime, kind: LeaveKind, reason: str, by: str
) -> LeaveGrant:
    """Approved leave of the window's staff: `kind` 请假 or 公出, `reason` why (may be empty)."""
    return LeaveGrant(
        id=f"leave-{uuid.uuid4().hex[:12]}",
        window=window,
        start=start,
        end=end,
        kind=kind,
        reason=reason,
        by=by,
        at=now_utc(),
    )


def leave_withdrawal(leave_id: str, reason: str, by: str) -> LeaveChange:
    """The leave ends now: the time it already covered stays leave; a leave not yet begun covers nothing."""
    return LeaveChange(
        id=f"leave-change-{uuid.uuid4().hex[:12]}",
        leave_id=leave_id,
        action="withdraw",
        reason=reason,
        by=by,
        at=now_utc(),
    )


def leave_change(leave_id: str, start: dt.datetime, end: dt.datetime, reason: str, by: str) -> LeaveChange:
    """The leave covers [start, end) instead (shorter, longer or moved)."""
    return LeaveChange(
        id=f"leave-change-{uuid.uuid4().hex[:12]}",
        leave_id=leave_id,
        action="change",
        start=start,
        end=end,
        reason=reason,
        by=by,
        at=now_utc(),
    )


TOPIC_OF: dict[Kind, str] = {
    "incident": "incidents",
    "dismissal": "dismissals",
    "reinstatement": "reinstatements",
    "leave": "leaves",
    "leave_change": "leave_changes",
}
"""The Topics attribute each kind of record is sent on."""


def _topic(topics: Topics, record: Record) -> str:
    return str(getattr(topics, TOPIC_OF[kind_of(record)]))


def record_id(record: Record) -> str:
    """The id the recorder's receipt names: a dismissal's incident's, any other record's own."""
    return record.incident_id if isinstance(record, Dismissal) else record.id


def submit(config: MonitorConfig, record: Record, key: SigningKey, *, timeout: float = RECEIPT_WAIT) -> Receipt:
    """Sign `record`, publish it at QoS 1 and return the recorder's receipt (recorded, duplicate, dismissed
    or rejected with the reason). PublishFailed when the broker refuses it or no receipt comes in time."""
    signed = key.sign(record)
    topics = Topics(config.mqtt.topic_prefix)
    kind, named = kind_of(signed), record_id(signed)
    answers: queue.Queue[bytes] = queue.Queue()
    session = MqttSession(
        config.mqtt,
        f"cli-{uuid.uuid4().hex[:8]}",
        subscriptions=[(topics.receipt(kind, named), 1)],
        on_message=lambda message: answers.put(message.payload),
    )
    session.open()
    try:
        if not session.wait_subscribed(timeout):
            if session.refused:
                raise PublishFailed(
                    f"the broker refused this account the recorder's receipts ({topics.receipt(kind, '…')}): "
                    "check the account's ACL (docs/security.md)"
                )
            raise PublishFailed(f"the broker did not confirm the receipt subscription within {timeout:.0f}s")
        if not session.publish(_topic(topics, signed), signed.to_json(), qos=1).wait(timeout):
            raise PublishFailed(f"the broker did not take the message within {timeout:.0f}s; nothing was recorded")
        try:
            raw = answers.get(timeout=timeout)
        except queue.Empty:
            raise PublishFailed(
                f"{kind} {named}: published, but the recorder has not confirmed it within {timeout:.0f}s — it may "
                "be stopped, or the broker may have refused this account the topic (ACL). Check with "
                "`monitor incident list` before sending it again"
            ) from None
        try:
            return Receipt.from_json(raw)
        except ContractError as exc:
            raise PublishFailed(f"the recorder's receipt is unreadable: {exc}") from None
    finally:
        session.close()


def publish(config: MonitorConfig, topic_of: str, payloads: list[Payload]) -> None:
    """Publish at QoS 1 and return once the broker has acknowledged every message (no receipts: the
    demo watches the recorder itself)."""
    topic = getattr(Topics(config.mqtt.topic_prefix), topic_of)
    session = MqttSession(config.mqtt, f"cli-{uuid.uuid4().hex[:8]}")
    session.open()
    try:
        for payload in payloads:
            if not session.publish(topic, payload.to_json(), qos=1).wait(10):
                raise PublishFailed(f"the broker did not acknowledge the message on {topic} within 10s; try again")
    finally:
        session.close()
