"""The LINE messages of one announcement: its text, then the optional image, then the optional link button.

The same list is what bot.publish pushes and what the admin's phone-frame preview draws
(templates/admin/announcements_phone.html), so what staff see is what residents get.
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

TEXT_LIMIT = 5000  # LINE: a text message holds at most 5,000 characters, counted in UTF-16 code units
URGENT_PREFIX = "【緊急】"
DEFAULT_LINK_LABEL = "詳しく見る"
LINK_LABEL_LIMIT = 20  # LINE: an action label is at most 20 characters
LINK_URL_LIMIT = 1000  # LINE: a uri action's uri is at most 1,000 characters
LINK_TEXT = "詳しくは、下のボタンからご覧ください。"


def utf16_len(s: str) -> int:
    """Length as LINE counts it: UTF-16 code units (an emoji outside the BMP counts 2)."""
    return len(s.encode("utf-16-le")) // 2


def text_of(body: str, urgent: bool) -> str:
    return (URGENT_PREFIX if urgent else "") + body


def body_limit(urgent: bool) -> int:
    """How long the body may be: the 緊急 mark is part of the same text message."""
    return TEXT_LIMIT - (utf16_len(URGENT_PREFIX) if urgent else 0)


def link_problem(url: str) -> str | None:
    """None when `url` may go on a button; otherwise why not, in Japanese."""
    if len(url) > LINK_URL_LIMIT:
        return f"リンクは{LINK_URL_LIMIT}文字以内にしてください。"
    parts = urlsplit(url)
    if parts.scheme != "https":
        return "リンクは https:// で始まるアドレスにしてください（http:// は使えません）。"
    if not parts.hostname or " " in url:
        return "リンクのアドレスが正しくありません。"
    return None


@dataclass(frozen=True)
class Content:
    """What an announcement says, saved or still on the form."""

    body: str
    urgent: bool = False
    image: tuple[str, str] | None = None  # (original URL, preview URL)
    link_url: str | None = None
    link_label: str | None = None


def build(c: Content) -> list[dict]:
    messages: list[dict] = [{"type": "text", "text": text_of(c.body, c.urgent)}]
    if c.image:
        messages.append({"type": "image", "originalContentUrl": c.image[0], "previewImageUrl": c.image[1]})
    if c.link_url:
        label = (c.link_label or DEFAULT_LINK_LABEL)[:LINK_LABEL_LIMIT]
        messages.append({
            "type": "template", "altText": f"{label}: {c.link_url}"[:400],
            "template": {"type": "buttons", "text": LINK_TEXT,
                         "actions": [{"type": "uri", "label": label, "uri": c.link_url}]},
        })
    return messages


def content_of(ann, image_urls: tuple[str, str] | None = None) -> Content:
    return Content(body=ann.body, urgent=ann.urgent, image=image_urls, link_url=ann.link_url, link_label=ann.link_label)
