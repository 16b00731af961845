"""One MQTT session, as every service and the console hold it: connect, subscribe and wait for the broker's
confirmation, reconnect, last will, and the callbacks — the only place that wires paho's callbacks.

A caller gives what it wants to hear (`subscriptions`) and what to do with it (`on_message`); the session
subscribes again on every connection, says whether the broker kept a durable session (`on_connected`),
which subscriptions it refused (`on_subscribed`), and when a publish is acknowledged (`on_published`).
Nothing of paho leaks out: messages arrive as `Received`, publishes come back as `Publication`.

A callback that raises would end paho's network thread, and with it the session, in silence. Here it
is caught, logged and handed to `on_fault`: a service that must not go deaf (the recorder) ends its
process there; the default logs it and keeps the session.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode

from monitor.adapters.mqtt.client import BrokerUnreachable, broker_address, connect, disconnect, make_client
from monitor.config import MqttConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Received:
    """One message as it arrived; `mid` and `qos` are what its acknowledgement needs."""

    topic: str
    payload: bytes
    qos: int
    retain: bool
    mid: int


@dataclass(frozen=True, slots=True)
class Publication:
    """A publish handed to the client: `queued` when it is on its way (now, or once reconnected)."""

    mid: int
    queued: bool
    error: str
    _info: mqtt.MQTTMessageInfo

    @property
    def published(self) -> bool:
        """Whether the broker has acknowledged it (PUBACK for QoS 1, PUBCOMP for QoS 2; QoS 0 once sent)."""
        try:
            return self._info.is_published()
        except (RuntimeError, ValueError):  # paho raises for a publish it could not queue
            return False

    def wait(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for the acknowledgement; whether it came."""
        if not self.queued:
            return False
        if not self.published:
            try:
                self._info.wait_for_publish(timeout=timeout)
            except (RuntimeError, ValueError):
                return False
        return self.published


Fault = Callable[[str, BaseException], None]


def _log_fault(where: str, exc: BaseException) -> None:
    log.error("MQTT %s failed: %s: %s", where, type(exc).__name__, exc, exc_info=exc)


class MqttSession:
    """A client with id <client_id>-<name>, its subscriptions kept across reconnections.

    `durable` keeps the broker-side session (its subscriptions and queued QoS 1 messages) across
    disconnects; `manual_ack` acknowledges a message only when `ack` is called (after it is stored);
    `component` announces the process on <prefix>/availability/<component> with an "offline" last will;
    `max_inflight` bounds the QoS 1/2 messages in flight at once (paho's default: 20).
    """

    def __init__(
        self,
        config: MqttConfig,
        name: str,
        *,
        component: str | None = None,
        durable: bool = False,
        manual_ack: bool = False,
        subscriptions: Sequence[str | tuple[str, int]] = (),
        on_message: Callable[[Received], None] | None = None,
        on_connected: Callable[[bool], None] | None = None,
        on_subscribed: Callable[[list[str]], None] | None = None,
        on_lost: Callable[[str], None] | None = None,
        on_fault: Fault = _log_fault,
        max_inflight: int | None = None,
    ) -> None:
        self.config = config
        self.component = component
        self._subscriptions = [(s, 1) if isinstance(s, str) else s for s in subscriptions]
        self._on_message = on_message
        self._on_connected = on_connected
        self._on_subscribed = on_subscribed
        self._on_lost = on_lost
        self._on_fault = on_fault
        self._published: list[Callable[[int], None]] = []
        self._subscribe_mid: int | None = None
        self.subscribed = threading.Event()
        """Set once the broker has granted every subscription on the current connection."""
        self._answered = threading.Event()  # the broker's SUBACK on the current connection, granted or not
        self.refused: list[str] = []
        """The reason codes of the subscriptions the broker refused in its last SUBACK (empty when it granted all)."""
        self.client = make_client(config, name, component=component, clean_session=not durable, manual_ack=manual_ack)
        if max_inflight is not None:
            self.client.max_inflight_messages_set(max_inflight)
        announce = self.client.on_connect
        self._announce = announce
        self.client.on_connect = self._connected
        self.client.on_subscribe = self._subscribed
        self.client.on_disconnect = self._disconnected
        self.client.on_message = self._message
        self.client.on_publish = self._acknowledged

    @property
    def client_id(self) -> str:
        return self.client._client_id.decode()

    @property
    def running(self) -> bool:
        """Whether the network thread runs (started and not ended by a fault; paho has no public word for it)."""
        thread = self.client._thread
        return thread is not None and thread.is_alive()

    # -- lifecycle --------------------------------------------------------------------------------

    def open(self, *, timeout: float = 10.0) -> None:
        """Connect and wait for the broker's CONNACK; BrokerUnreachable (with the reason) when it does not
        come. paho reconnects by itself afterwards."""
        connect(self.client, self.config, timeout=timeout)

    def open_in_background(self) -> None:
        """Connect without waiting: paho keeps trying, with backoff, until the broker answers."""
        address = broker_address(self.config)
        self.client.connect_async(address.host, address.port, keepalive=int(self.config.keepalive.total_seconds()))
        self.client.loop_start()

    def open_or_retry(self, *, timeout: float = 10.0) -> bool:
        """Connect now if the broker answers, else keep trying in the background; whether it answered."""
        try:
            self.open(timeout=timeout)
        except BrokerUnreachable as exc:
            log.warning("%s; retrying in the background", exc)
            self.open_in_background()
            return False
        return True

    def wait_subscribed(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for the broker to grant every subscription; whether it did. Returns False
        as soon as the broker answers with a refusal (then `refused` says which codes)."""
        self._answered.wait(timeout)
        return self.subscribed.is_set()

    def close(self) -> None:
        """A clean stop: "offline" on the availability topic (a clean disconnect does not fire the will)."""
        try:
            disconnect(self.client, self.config, self.component)
        except (OSError, RuntimeError, ValueError) as exc:
            log.warning("MQTT %s: disconnect: %s", self.client_id, exc)

    # -- use --------------------------------------------------------------------------------------

    def publish(
        self, topic: str, payload: bytes | str, *, qos: int = 0, retain: bool = False, mid: int | None = None
    ) -> Publication:
        """Publish; `mid` (in CHOSEN_MIDS) is the message id to publish under: the same message published again
        under the same id after a crash reaches the subscribers once (Client)."""
        if mid is None:
            info = self.client.publish(topic, payload, qos=qos, retain=retain)
        else:
            data = payload.encode() if isinstance(payload, str) else payload
            info = self.client.publish_with_mid(mid, topic, data, qos, retain)
        if info.rc == mqtt.MQTT_ERR_NO_CONN and qos > 0:
            # Not connected: paho keeps a QoS 1/2 message and sends it on reconnection. Its info would otherwise
            # answer every later question with "not connected", even once the broker has acknowledged it.
            info.rc = mqtt.MQTT_ERR_SUCCESS
        queued = info.rc == mqtt.MQTT_ERR_SUCCESS
        return Publication(info.mid, queued, "" if queued else mqtt.error_string(info.rc), info)

    def ack(self, message: Received) -> None:
        """Acknowledge a message of a `manual_ack` session (the broker then forgets it)."""
        self.client.ack(message.mid, message.qos)

    def on_published(self, listener: Callable[[int], None]) -> Callable[[], None]:
        """Call `listener(mid)` on every acknowledged publish; returns what removes it."""
        self._published.append(listener)

        def unregister() -> None:
            with contextlib.suppress(ValueError):  # already removed: removing twice is harmless
                self._published.remove(listener)

        return unregister

    # -- paho's callbacks (the network thread) ----------------------------------------------------

    def _guarded(self, where: str, call: Callable[..., Any], *args: Any) -> None:
        try:
            call(*args)
        except Exception as exc:  # an exception here would end paho's network thread, silently
            self._on_fault(where, exc)

    def _connected(self, c: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode, props: Any) -> None:
        if reason.is_failure:
            log.error("MQTT %s: the broker refused the connection: %s", self.client_id, reason)
            return
        if self._announce is not None:
            self._guarded("announce", self._announce, c, userdata, flags, reason, props)
        self.subscribed.clear()
        self._answered.clear()
        if self._subscriptions:
            _, self._subscribe_mid = c.subscribe(self._subscriptions)
        else:
            self.refused = []
            self.subscribed.set()
            self._answered.set()
        if self._on_connected is not None:
            self._guarded("on_connected", self._on_connected, bool(getattr(flags, "session_present", False)))

    def _subscribed(self, c: mqtt.Client, userdata: Any, mid: int, codes: Sequence[ReasonCode], props: Any) -> None:
        if mid != self._subscribe_mid:
            return
        refused = [str(code) for code in codes if code.is_failure]
        self.refused = refused
        if refused:
            log.error(
                "MQTT %s: the broker refused subscriptions (%s): check its ACL", self.client_id, ", ".join(refused)
            )
        else:
            self.subscribed.set()
        self._answered.set()
        if self._on_subscribed is not None:
            self._guarded("on_subscribed", self._on_subscribed, refused)

    def _disconnected(self, c: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode, props: Any) -> None:
        self.subscribed.clear()
        self._answered.clear()
        if self._on_lost is not None:
            self._guarded("on_lost", self._on_lost, str(reason))

    def _message(self, c: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        if self._on_message is not None:
            self._guarded("message", self._deliver, message)

    def _deliver(self, message: mqtt.MQTTMessage) -> None:
        # Inside the guard: paho decodes the topic here, and a broker that passes one not in UTF-8 must not end
        # the network thread.
        assert self._on_message is not None
        received = Received(message.topic, bytes(message.payload), message.qos, bool(message.retain), message.mid)
        self._on_message(received)

    def _acknowledged(self, c: mqtt.Client, userdata: Any, mid: int, reason: ReasonCode, props: Any) -> None:
        for listener in list(self._published):
            self._guarded("on_published", listener, mid)
