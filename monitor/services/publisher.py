"""Publishing an issued notice: on MQTT (<prefix>/notices/<kind>, QoS 1, retained) and to the webhooks."""

from __future__ import annotations

import json
import threading
from typing import Protocol

from monitor.adapters.mqtt.session import MqttSession
from monitor.adapters.webhooks import send_text
from monitor.config import MonitorConfig
from monitor.contract import Topics
from monitor.core.notices.message import NoticeIssued


class Publisher(Protocol):
    def publish(self, message: NoticeIssued) -> None:
        """Deliver the message; raise on failure (the ledger keeps the error and it is retried)."""


class BrokerAndWebhooks:
    """Publishes on <prefix>/notices/<kind> (QoS 1, retained) and posts the summary to the alert webhooks."""

    def __init__(self, config: MonitorConfig) -> None:
        self.config = config
        self._session: MqttSession | None = None
        self._lock = threading.Lock()

    def _mqtt(self) -> MqttSession:
        with self._lock:
            if self._session is None:
                session = MqttSession(self.config.mqtt, "scheduler", component="scheduler")
                session.open()
                self._session = session
            return self._session

    def publish(self, message: NoticeIssued) -> None:
        timeout = self.config.notices.schedule.publish_timeout
        topic = Topics(self.config.mqtt.topic_prefix).notice(message.kind)
        publication = self._mqtt().publish(topic, message.to_json(), qos=1, retain=True)
        if not publication.queued:
            raise RuntimeError(f"MQTT: {topic} not sent: {publication.error}")
        if not publication.wait(timeout):
            raise RuntimeError(f"MQTT: {topic} not acknowledged within {timeout:.0f}s")
        if self.config.notices.publish_webhooks:
            failures = []
            document = json.loads(message.to_json())
            for webhook in self.config.alerts.webhooks:
                try:
                    send_text(webhook, message.summary, timeout=timeout, document=document)
                except Exception as exc:  # one robot's failure must not stop the others
                    failures.append(str(exc))
            if failures:
                raise RuntimeError("; ".join(failures))

    def close(self) -> None:
        with self._lock:
            if self._session is not None:
                self._session.close()
                self._session = None
