"""Webhook events as LINE sends them: built, signed and POSTed to the bot's webhook URL."""
from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import http.client
import json
import time
from typing import Any
from urllib.parse import urlsplit

from .ids import new_message_id, new_quote_token, new_ulid


class WebhookError(ConnectionError):
    """The webhook URL is not set or could not be reached."""


def sign(channel_secret: str, body: bytes) -> str:
    """X-Line-Signature: base64(HMAC-SHA256(channel secret, raw body))."""
    digest = hmac.new(channel_secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def encode_body(destination: str, events: list[dict]) -> bytes:
    return json.dumps({"destination": destination, "events": events}, ensure_ascii=False,
                      separators=(",", ":")).encode("utf-8")


def base_event(kind: str, user_id: str, reply_token: str | None) -> dict:
    now_ms = int(time.time() * 1000)
    event: dict[str, Any] = {"type": kind, "timestamp": now_ms, "mode": "active",
                             "webhookEventId": new_ulid(now_ms),
                             "source": {"type": "user", "userId": user_id},
                             "deliveryContext": {"isRedelivery": False}}
    if reply_token is not None:
        event["replyToken"] = reply_token
    return event


def text_event(user_id: str, text: str, reply_token: str) -> dict:
    event = base_event("message", user_id, reply_token)
    event["message"] = {"type": "text", "id": new_message_id(), "quoteToken": new_quote_token(), "text": text}
    return event


def postback_event(user_id: str, data: str, reply_token: str, params: dict | None = None) -> dict:
    event = base_event("postback", user_id, reply_token)
    event["postback"] = {"data": data}
    if params:
        event["postback"]["params"] = {str(k): str(v) for k, v in params.items()}
    return event


def location_event(user_id: str, latitude: float, longitude: float, reply_token: str,
                   title: str | None = None, address: str | None = None) -> dict:
    event = base_event("message", user_id, reply_token)
    message: dict[str, Any] = {"type": "location", "id": new_message_id(), "latitude": float(latitude),
                               "longitude": float(longitude)}
    if title is not None:
        message["title"] = title
    if address is not None:
        message["address"] = address
    event["message"] = message
    return event


def sticker_event(user_id: str, package_id: str, sticker_id: str, reply_token: str) -> dict:
    event = base_event("message", user_id, reply_token)
    event["message"] = {"type": "sticker", "id": new_message_id(), "quoteToken": new_quote_token(),
                        "packageId": str(package_id), "stickerId": str(sticker_id), "stickerResourceType": "STATIC"}
    return event


def follow_event(user_id: str, reply_token: str, is_unblocked: bool = False) -> dict:
    event = base_event("follow", user_id, reply_token)
    event["follow"] = {"isUnblocked": is_unblocked}
    return event


def unfollow_event(user_id: str) -> dict:
    return base_event("unfollow", user_id, None)


def as_redelivery(event: dict) -> dict:
    """Same event and webhookEventId; only deliveryContext.isRedelivery changes."""
    again = copy.deepcopy(event)
    again["deliveryContext"] = {"isRedelivery": True}
    return again


def deliver(url: str, body: bytes, signature: str, timeout: float = 10.0) -> int:
    """POST the signed body; returns the HTTP status (any status, including 4xx/5xx)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookError(f"webhook URL must be http(s): {url!r}")
    conn_cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    conn = conn_cls(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request("POST", path, body=body, headers={
            "Content-Type": "application/json; charset=utf-8",
            "X-Line-Signature": signature,
            "User-Agent": "LineBotWebhook/2.0",
        })
        response = conn.getresponse()
        response.read()
        return response.status
    except OSError as exc:
        raise WebhookError(f"could not reach the webhook at {url}: {exc}") from exc
    finally:
        conn.close()
