"""Whether the recorder is working, as anyone can tell from outside: its retained heartbeat.

`monitor recorder --check` and the console read <prefix>/recorder/heartbeat; a heartbeat older than
STALE_BEATS of its intervals, or none at all, means 记录器无响应.
"""

from __future__ import annotations

import datetime as dt
import queue
import uuid
from dataclasses import dataclass

from monitor.adapters.mqtt.session import MqttSession, Received
from monitor.config import MonitorConfig
from monitor.contract import ContractError, RecorderHeartbeat, Topics


@dataclass(frozen=True, slots=True)
class Health:
    working: bool
    text: str
    """In the users' words."""


def read_heartbeat(config: MonitorConfig, *, timeout: float = 3.0) -> RecorderHeartbeat | None:
    """The last heartbeat the broker keeps (retained), or None when it keeps none or it is unreadable."""
    topic = Topics(config.mqtt.topic_prefix).recorder_heartbeat
    arrived: queue.Queue[bytes] = queue.Queue()

    def keep(message: Received) -> None:
        arrived.put(message.payload)

    session = MqttSession(config.mqtt, f"check-{uuid.uuid4().hex[:8]}", subscriptions=[topic], on_message=keep)
    session.open(timeout=timeout)
    try:
        session.wait_subscribed(timeout)
        try:
            payload = arrived.get(timeout=timeout)
        except queue.Empty:
            return None
    finally:
        session.close()
    try:
        return RecorderHeartbeat.from_json(payload)
    except ContractError:
        return None


def health(heartbeat: RecorderHeartbeat | None, now: dt.datetime, tz: dt.tzinfo) -> Health:
    """What the heartbeat says, as a supervisor reads it."""
    if heartbeat is None:
        return Health(False, "记录器无响应：未收到记录器心跳（记录器未运行，或从未连接消息服务器）")
    beat = heartbeat.at.astimezone(tz)
    when = f"{beat:%H:%M:%S}" if beat.date() == now.astimezone(tz).date() else f"{beat:%Y-%m-%d %H:%M:%S}"
    if heartbeat.stale(now):
        return Health(False, f"记录器无响应：最后心跳 {when}，违纪记录、撤销与请假暂时无法记录")
    last = heartbeat.last_message_at
    handled = f"，最近处理消息 {last.astimezone(tz):%Y-%m-%d %H:%M:%S}" if last else ""
    counts = f"本次已处理 {heartbeat.processed} 条消息{handled}，待处理 {heartbeat.waiting} 条"
    return Health(True, f"记录器正常：心跳 {when}，{counts}")
