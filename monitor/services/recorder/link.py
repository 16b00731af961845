"""The recorder's MQTT link while it holds the lease: the durable session it reads from, and a watcher that
hears any other process claiming the same session (two recorders sharing one client id).

The durable session (fixed client id, clean session off, QoS 1, manual acknowledgement) keeps for the
recorder what is published while it is down. A broker that comes back without the session, or refuses
the subscriptions, is an operators' alert: records may have been lost.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import uuid
from collections.abc import Callable

from monitor.adapters.mqtt.session import Fault, MqttSession, Publication, Received
from monitor.adapters.webhooks import WebhookFailed, send_text
from monitor.config import MonitorConfig
from monitor.contract import SystemAlert, Topics
from monitor.services.recorder.handlers import subscriptions
from monitor.services.recorder.liveness import camera_traffic

log = logging.getLogger(__name__)

COMPONENT = "recorder"


def session_name(config: MonitorConfig) -> str:
    """The durable session's client id, which the lease is named after too."""
    return f"{config.mqtt.client_id}-{COMPONENT}"


class RecorderLink:
    """The durable session and the owner watch of one recorder instance."""

    def __init__(
        self,
        config: MonitorConfig,
        instance: str,
        session_name: str,
        *,
        expected_session: bool,
        clock: Callable[[], dt.datetime],
        on_message: Callable[[Received], None],
        on_subscribed: Callable[[], None],
        on_fault: Fault,
        collision: threading.Event,
    ) -> None:
        self.config = config
        self.instance = instance
        self.clock = clock
        self.topics = Topics(config.mqtt.topic_prefix)
        self.session_name = session_name
        self.ready = threading.Event()
        """Set while the broker has confirmed the recorder's subscriptions (what it publishes is kept)."""
        self.collision = collision
        self.opened = False
        self._on_subscribed = on_subscribed

        def connected(session_present: bool) -> None:
            if expected_session and not session_present:
                self.system_alert(
                    "【系统告警】消息服务器丢失了记录器的会话：记录器离线期间发布的违纪记录可能已丢失，"
                    "请核对各摄像头和巡查记录（broker lost the recorder's persistent session)"
                )

        def subscribed(refused: list[str]) -> None:
            if refused:
                self.system_alert("【系统告警】消息服务器拒绝了记录器的订阅，违纪记录无法接收，请检查 ACL 配置")
                return
            self.ready.set()
            self._on_subscribed()

        def lost(reason: str) -> None:
            self.ready.clear()
            log.warning("recorder disconnected from the broker (%s); reconnecting", reason)

        self.session = MqttSession(
            config.mqtt,
            COMPONENT,
            component=COMPONENT,
            durable=True,
            manual_ack=True,
            subscriptions=[*subscriptions(self.topics), *camera_traffic(self.topics, (c.id for c in config.cameras))],
            on_message=on_message,
            on_connected=connected,
            on_subscribed=subscribed,
            on_lost=lost,
            on_fault=on_fault,
        )
        # Alerts go out through a durable session of their own, one unacknowledged at a time (delivery.py): the
        # broker holds at most one of them mid-handshake, and knows it again if the next recorder resends it.
        self.alerts = MqttSession(config.mqtt, f"{COMPONENT}-alerts", durable=True, max_inflight=1, on_fault=on_fault)
        self.watch = MqttSession(
            config.mqtt,
            f"{COMPONENT}-watch-{uuid.uuid4().hex[:8]}",
            subscriptions=[(self.topics.owner(self.session_name), 0)],
            on_message=self._check_owner,
            on_fault=on_fault,
        )

    def open(self) -> None:
        """Connect both in the background; paho retries with backoff while the broker is unreachable."""
        self.session.open_in_background()
        self.alerts.open_in_background()
        self.watch.open_in_background()
        self.opened = True
        log.info("recorder %s holds the session %s", self.instance, self.session_name)

    def close(self) -> None:
        self.ready.clear()
        self.watch.close()
        self.alerts.close()
        self.session.close()

    @property
    def alive(self) -> bool:
        """Whether the network threads still run (they end only through a fault)."""
        return self.session.running and self.alerts.running and self.watch.running

    def publish(self, topic: str, payload: bytes | str, *, qos: int = 1, retain: bool = False) -> Publication:
        return self.session.publish(topic, payload, qos=qos, retain=retain)

    def announce_owner(self) -> None:
        """At every lease renewal: this instance holds the session (`_check_owner` hears any other)."""
        self.watch.publish(self.topics.owner(self.session_name), json.dumps({"instance": self.instance}), qos=0)

    def _check_owner(self, message: Received) -> None:
        """Another instance announcing the same session means two processes share the client id."""
        try:
            other = str(json.loads(message.payload)["instance"])
        except (ValueError, KeyError, TypeError):
            return
        if other != self.instance and not self.collision.is_set():
            self.collision.set()
            log.error(
                "client id collision: %s also connects as %s; two recorders must not share one client id "
                "(give each hall its own [mqtt] client_id, or let the second run as a standby on the same database)",
                other,
                self.session_name,
            )
            self.system_alert(f"【系统告警】记录器客户端标识 {self.session_name} 被另一进程同时使用，请检查部署")

    def system_alert(self, message: str) -> None:
        """Something the hall's operators must act on: on <prefix>/alerts/system and to the webhooks."""
        log.error("%s", message)
        alert = SystemAlert(component=COMPONENT, message=message, at=self.clock())
        self.session.publish(self.topics.system_alerts, alert.to_json(), qos=1)
        for webhook in self.config.alerts.webhooks:
            try:
                send_text(webhook, message, timeout=self.config.alerts.timeout.total_seconds())
            except WebhookFailed as exc:
                log.warning("system alert via %s: %s", webhook.name, exc)
