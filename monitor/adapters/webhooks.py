"""Group-robot webhooks (WeCom / DingTalk style): one HTTP POST per message."""

from __future__ import annotations

import json
import os

import httpx

from monitor.config import WebhookConfig


class WebhookFailed(RuntimeError):
    """The robot did not accept the message; the text says why."""


def webhook_url(webhook: WebhookConfig) -> str:
    if webhook.url:
        return webhook.url
    assert webhook.url_env is not None
    url = os.environ.get(webhook.url_env)
    if not url:
        raise WebhookFailed(f"webhook {webhook.name!r}: environment variable {webhook.url_env} is not set")
    return url


def webhook_body(webhook: WebhookConfig, text: str, document: dict[str, object] | None = None) -> dict[str, object]:
    """The JSON body for the robot's style; the `json` style posts `document` (or the text) as is."""
    if webhook.style == "json":
        return document if document is not None else {"text": text}
    return {"msgtype": "text", "text": {"content": text}}


def send_text(
    webhook: WebhookConfig,
    text: str,
    *,
    timeout: float = 10.0,
    document: dict[str, object] | None = None,
    key: str | None = None,
) -> None:
    """POST one message; raise WebhookFailed unless the robot says it took it (errcode 0).

    `key` goes in the Idempotency-Key header: the same alert retried after a lost answer carries the
    same key, so a receiver that honours it shows it once."""
    headers = {"Idempotency-Key": key} if key else None
    try:
        response = httpx.post(
            webhook_url(webhook), json=webhook_body(webhook, text, document), timeout=timeout, headers=headers
        )
    except httpx.HTTPError as exc:
        raise WebhookFailed(f"webhook {webhook.name!r}: {exc.__class__.__name__}: {exc}") from None
    if response.status_code >= 300:
        raise WebhookFailed(f"webhook {webhook.name!r}: HTTP {response.status_code}: {response.text[:200]}")
    if webhook.style != "json":
        try:
            errcode = response.json().get("errcode", 0)
        except (json.JSONDecodeError, AttributeError):
            errcode = 0
        if errcode:
            raise WebhookFailed(f"webhook {webhook.name!r}: robot answered {response.text[:200]}")
