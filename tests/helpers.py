"""Small helpers for tests that post webhooks by hand."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
import uuid

from tests.conftest import SECRET


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def text_event(user_id: str, text: str, *, event_id: str | None = None, ts_ms: int | None = None,
               reply_token: str | None = None, redelivery: bool = False) -> dict:
    return {
        "type": "message", "mode": "active", "timestamp": ts_ms or int(time.time() * 1000),
        "source": {"type": "user", "userId": user_id},
        "webhookEventId": event_id or uuid.uuid4().hex[:26].upper(),
        "deliveryContext": {"isRedelivery": redelivery},
        "replyToken": reply_token or uuid.uuid4().hex,
        "message": {"id": str(int(time.time() * 1e6)), "type": "text", "text": text, "quoteToken": "q"},
    }


def post(url: str, body: bytes, headers: dict | None = None, timeout: float = 10.0) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, method="POST",
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def post_events(url: str, events: list[dict], *, signature: str | None = None) -> int:
    body = json.dumps({"destination": "Ubot", "events": events}, ensure_ascii=False).encode()
    status, _ = post(url + "/callback", body, {"X-Line-Signature": signature if signature is not None else sign(body)})
    return status


def texts_of(messages: list[dict]) -> list[str]:
    return [m.get("text") or m.get("altText") or "" for m in messages]


def quick_labels(message: dict) -> list[str]:
    return [i["action"]["label"] for i in (message.get("quickReply") or {}).get("items", [])]


def issue_reply_tokens(emulator, users: list[str]) -> list[str]:
    """Reply tokens the emulator will accept for webhooks posted by hand, one per entry of `users`."""
    status, body = post(emulator.base_url + "/_emulator/reply_tokens", json.dumps({"users": users}).encode())
    assert status == 200, body
    return json.loads(body)["tokens"]


def leave_buttons(bot, emulator, user_id: str) -> list[dict]:
    """Follow, ask to leave (退会), and return the confirmation's [削除する, やめる] actions."""
    emulator.send_follow(user_id)
    emulator.send_text(user_id, "退会")
    bot.settle()
    return emulator.messages_for(user_id)[-1]["template"]["actions"]
