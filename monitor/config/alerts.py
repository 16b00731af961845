"""Supervisor alerts: webhooks of group robots (WeCom / DingTalk style)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from monitor.config.base import Section
from monitor.units import Duration


class WebhookConfig(Section):
    name: str = Field(description="A name for logs, e.g. 值班主任群.")
    url: str | None = Field(None, description="Robot URL; prefer url_env, since the URL carries the key.")
    url_env: str | None = Field(None, description="Environment variable holding the robot URL.")
    style: Literal["wecom", "dingtalk", "json"] = Field(
        "wecom", description="Payload shape: wecom/dingtalk text message, or the alert JSON itself."
    )

    @model_validator(mode="after")
    def _one_source(self) -> WebhookConfig:
        if (self.url is None) == (self.url_env is None):
            raise ValueError(f"webhook {self.name!r}: give exactly one of url and url_env")
        return self


class AlertsConfig(Section):
    webhooks: list[WebhookConfig] = Field(default_factory=list, description="Where alerts are posted.")
    retry_initial: Duration = Field("5s", description="First retry delay of a failed webhook; it doubles.")
    retry_max: Duration = Field("10m", description="Longest delay between retries.")
    give_up_after: Duration = Field("24h", description="A webhook alert older than this is dropped (logged).")
    timeout: Duration = Field("10s", description="HTTP timeout of one webhook call.")
