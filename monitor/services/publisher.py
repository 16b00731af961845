"""Publishing an issued notice: on MQTT (<prefix>/notices/<kind>, QoS 1, retained) and to the webhooks."""

from __future__ import annotations

import json
import threading
from typing import Protocol

import paho.mqtt.client as mqtt

from monitor.adapters.mqtt.client import connect, disconnect, make_client
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
        self._client: mqtt.Client | None = None
        self._lock = threading.Lock()

    def _mqtt(self) -> mqtt.Client:
        with self._lock:
            if self._client is None:
                client = make_client(self.config.mqtt, "scheduler", component="scheduler")
                connect(client, self.config.mqtt)
                self._client = client
            return self._client

    def publish(self, message: NoticeIssued) -> None:
        timeout = self.config.notices.schedule.publish_timeout
        client = self._mqtt()
        topic = Topics(self.config.mqtt.topic_prefix).notice(message.kind)
        info = client.publish(topic, message.to_json(), qos=1, retain=True)
        info.wait_for_publish(timeout=timeout)
        if not info.is_published():
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
            if self._client is not None:
                disconnect(self._client, self.config.mqtt, "scheduler")
                self._client = None
