"""The MQTT connection: broker URL, credentials from the environment, topic prefix."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import Field, field_validator

from monitor.config.base import Section
from monitor.units import Duration


def check_topic_prefix(value: str) -> str:
    if not value or any(c in value for c in "#+") or value.startswith("/") or value.endswith("/"):
        raise ValueError(f"{value!r}: a topic prefix has no wildcards and no leading or trailing '/'")
    return value


class MqttConfig(Section):
    url: str = Field(
        "embedded",
        description='"embedded" (a broker run inside the process), mqtt://host:port, or mqtts://host:port '
        "for TLS. Credentials never go here: see username_env / password_env.",
    )
    topic_prefix: str = Field("monitor", description="Prefix of every topic, one per hall, e.g. hall/hedong.")
    client_id: str = Field(
        "monitor", description="Base of client ids; the recorder's persistent session is <client_id>-recorder."
    )
    username_env: str = Field("MONITOR_MQTT_USERNAME", description="Environment variable holding the username.")
    password_env: str = Field("MONITOR_MQTT_PASSWORD", description="Environment variable holding the password.")
    ca_file: str | None = Field(None, description="CA bundle for mqtts:// (default: the system's).")
    keepalive: Duration = Field("30s", description="MQTT keepalive interval.")
    embedded_port: int = Field(
        1883, ge=0, le=65535, description="Port the embedded broker listens on (127.0.0.1); 0 picks a free one."
    )
    embedded_broker: str = Field(
        "auto",
        description='"auto" (Mosquitto if its binary is installed, else amqtt), "mosquitto" or "amqtt".',
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if value == "embedded":
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError(f'{value!r}: use "embedded", mqtt://host:port or mqtts://host:port')
        if parts.username or parts.password:
            raise ValueError("credentials do not belong in the URL: set them in the environment (username_env)")
        return value

    @field_validator("topic_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        return check_topic_prefix(value)

    @field_validator("embedded_broker")
    @classmethod
    def _broker(cls, value: str) -> str:
        if value not in ("auto", "mosquitto", "amqtt"):
            raise ValueError('use "auto", "mosquitto" or "amqtt"')
        return value
