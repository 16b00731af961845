"""A paho-mqtt client set up from `[mqtt]`: address, TLS, credentials from the environment,
and the availability topic with its last will.

Every process announces itself on <prefix>/availability/<component>: "online" (retained) once
connected, "offline" (retained) as its last will and on a clean stop.
"""

from __future__ import annotations

import logging
import os
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from monitor.config import MqttConfig
from monitor.contract import Topics
from monitor.errors import MonitorError

log = logging.getLogger(__name__)

ONLINE = "online"
OFFLINE = "offline"


class BrokerUnreachable(MonitorError):
    """The broker could not be reached or refused the connection."""


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str
    port: int
    tls: bool

    def __str__(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


def broker_address(config: MqttConfig) -> BrokerAddress:
    """Where to connect: the configured URL, or the embedded broker's port on 127.0.0.1."""
    if config.url == "embedded":
        return BrokerAddress("127.0.0.1", config.embedded_port, tls=False)
    parts = urlsplit(config.url)
    tls = parts.scheme == "mqtts"
    return BrokerAddress(parts.hostname or "127.0.0.1", parts.port or (8883 if tls else 1883), tls)


CHOSEN_MIDS = range(32768, 65536)
"""Message ids a caller chooses (`Client.publish_with_mid`); paho's own stay below them."""


class Client(mqtt.Client):
    """paho's client, able to publish with a message id the caller chooses.

    A QoS 2 publish that a process sent before it was killed is still held by the broker under its message id,
    for the client's durable session. Published again by the next process with the same id and the same
    content, the broker recognises it and does not deliver it twice (Mosquitto: "Reused message ID ...");
    a new message under an id still held is delivered as new. paho numbers its own messages below
    CHOSEN_MIDS, so a chosen id never meets one of paho's in flight.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._chosen: tuple[int, int] | None = None  # (thread id, message id) for the next publish of that thread

    def _mid_generate(self) -> int:
        with self._mid_generate_mutex:
            chosen = self._chosen
            if chosen is not None and chosen[0] == threading.get_ident():
                self._chosen = None
                return chosen[1]
            self._last_mid = self._last_mid % (CHOSEN_MIDS.start - 1) + 1
            return self._last_mid

    def publish_with_mid(
        self, mid: int, topic: str, payload: bytes, qos: int, retain: bool = False
    ) -> mqtt.MQTTMessageInfo:
        if mid not in CHOSEN_MIDS:
            raise ValueError(f"message id {mid} is not in {CHOSEN_MIDS}")
        with self._mid_generate_mutex:
            self._chosen = (threading.get_ident(), mid)
        try:
            return self.publish(topic, payload, qos=qos, retain=retain)
        finally:
            with self._mid_generate_mutex:
                if self._chosen is not None and self._chosen[0] == threading.get_ident():
                    self._chosen = None


def make_client(
    config: MqttConfig,
    name: str,
    *,
    component: str | None = None,
    clean_session: bool = True,
    manual_ack: bool = False,
) -> Client:
    """A configured, unconnected client with id <client_id>-<name>.

    `component` names the availability topic (last will "offline"); `clean_session=False` keeps
    the broker-side session (subscriptions and queued QoS 1 messages) across disconnects.
    """
    client = Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=f"{config.client_id}-{name}",
        clean_session=clean_session,
        protocol=mqtt.MQTTv311,
        manual_ack=manual_ack,
    )
    username = os.environ.get(config.username_env)
    if username:
        client.username_pw_set(username, os.environ.get(config.password_env))
    if broker_address(config).tls:
        if config.ca_file and not Path(config.ca_file).is_file():
            raise BrokerUnreachable(
                f"[mqtt] ca_file = {config.ca_file!r}: no such file (give the CA bundle that signed the broker's "
                "certificate)"
            )
        try:
            client.tls_set(ca_certs=config.ca_file, cert_reqs=ssl.CERT_REQUIRED)
        except (OSError, ssl.SSLError) as exc:
            raise BrokerUnreachable(f"[mqtt] ca_file = {config.ca_file!r}: cannot use it for TLS: {exc}") from None
    client.reconnect_delay_set(min_delay=1, max_delay=30)
    if component:
        topic = Topics(config.topic_prefix).availability(component)
        client.will_set(topic, OFFLINE, qos=1, retain=True)

        def _announce(c: mqtt.Client, _u: object, _f: object, reason: ReasonCode, _p: object) -> None:
            if not reason.is_failure:
                c.publish(topic, ONLINE, qos=1, retain=True)

        client.on_connect = _announce
    return client


def connect(client: mqtt.Client, config: MqttConfig, *, timeout: float = 10.0) -> None:
    """Connect, start the network thread and wait for the broker's CONNACK.

    paho reconnects by itself afterwards; this only makes the first failure loud.
    """
    address = broker_address(config)
    connected = threading.Event()
    refused: list[str] = []
    previous = client.on_connect

    def _on_connect(c: mqtt.Client, userdata: object, flags: object, reason: ReasonCode, props: object) -> None:
        if reason.is_failure:
            refused.append(str(reason))
        if previous:
            previous(c, userdata, flags, reason, props)
        connected.set()

    client.on_connect = _on_connect
    try:
        client.connect(address.host, address.port, keepalive=int(config.keepalive.total_seconds()))
    except OSError as exc:
        hint = (
            " (is the recorder or `monitor run` running? it hosts the embedded broker)"
            if config.url == "embedded"
            else ""
        )
        raise BrokerUnreachable(f"cannot reach the MQTT broker at {address}: {exc}{hint}") from None
    client.loop_start()
    if not connected.wait(timeout) or refused:
        client.loop_stop()
        why = refused[0] if refused else f"no answer in {timeout:.0f}s"
        raise BrokerUnreachable(f"the MQTT broker at {address} refused the connection: {why}")


def disconnect(client: mqtt.Client, config: MqttConfig, component: str | None = None) -> None:
    """A clean stop: announce "offline" (a clean disconnect does not fire the last will)."""
    if component and client.is_connected():
        info = client.publish(Topics(config.topic_prefix).availability(component), OFFLINE, qos=1, retain=True)
        info.wait_for_publish(timeout=5)
    client.disconnect()
    client.loop_stop()
