"""Builders for LINE message dicts, so handlers read like the screen they produce."""
from __future__ import annotations

from bot.postback import encode

QUICK_REPLY_MAX = 13
LABEL_MAX = 20


def label(s: str, limit: int = LABEL_MAX) -> str:
    return s if len(s) <= limit else s[: limit - 1] + "…"


def postback(text_label: str, action: str, display: str | None = None, **params) -> dict:
    """A postback action; the resident sees `display` (default: the label) as their own message."""
    return {"type": "postback", "label": label(text_label), "data": encode(action, **params),
            "displayText": (display or text_label)[:300]}


def message_action(text_label: str, text: str | None = None) -> dict:
    return {"type": "message", "label": label(text_label), "text": (text or text_label)[:300]}


def uri_action(text_label: str, uri: str) -> dict:
    return {"type": "uri", "label": label(text_label), "uri": uri}


def quick_replies(actions: list[dict]) -> dict:
    return {"items": [{"type": "action", "action": a} for a in actions[:QUICK_REPLY_MAX]]}


def text(body: str, quick: list[dict] | None = None) -> dict:
    msg: dict = {"type": "text", "text": body[:5000]}
    if quick:
        msg["quickReply"] = quick_replies(quick)
    return msg


def confirm(alt: str, question: str, yes: dict, no: dict) -> dict:
    return {"type": "template", "altText": alt[:400],
            "template": {"type": "confirm", "text": question[:240], "actions": [yes, no]}}


def flex(alt: str, contents: dict, quick: list[dict] | None = None) -> dict:
    msg: dict = {"type": "flex", "altText": alt[:1500], "contents": contents}
    if quick:
        msg["quickReply"] = quick_replies(quick)
    return msg


def with_quick(messages: list[dict], quick: list[dict]) -> list[dict]:
    """Quick replies belong on the last message (LINE shows only that one's)."""
    if messages and quick:
        messages[-1] = {**messages[-1], "quickReply": quick_replies(quick)}
    return messages
