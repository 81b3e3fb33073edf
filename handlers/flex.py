"""Flex Message pieces every feature's view uses: text, boxes, buttons, bubbles, carousels packed within LINE's
limits, and the quick-reply tail back to the menu. Pure functions from values to message dicts.

LINE's limits kept here: 12 bubbles per carousel, 30 KB per Flex message (a budget below it is used), and
20-character labels (through handlers.ui). Wording lives with each feature, not here.
"""
from __future__ import annotations

import json

from handlers import ui

# Colours: dark text on light backgrounds, contrast kept high for older readers.
ACCENT = "#0B6E4F"
ACCENT_SOFT = "#E3F2EB"
NOW = "#B45309"        # the current year / "you are here": an orange that reads as "here"
NOW_SOFT = "#FFF1D6"
TEXT = "#1F1F1F"
MUTED = "#5C5C5C"
OFF = "#E6E6E6"
WHITE = "#FFFFFF"

CAROUSEL_MAX = 12
FLEX_BUDGET = 25_000      # bytes per Flex message; LINE allows 30 KB, the rest is headroom
MENU_LABEL = "メニュー"


def text(s: str, *, size: str = "md", color: str = TEXT, weight: str | None = None, wrap: bool = True,
         margin: str | None = None, align: str | None = None, flex: int | None = None) -> dict:
    node: dict = {"type": "text", "text": s or " ", "size": size, "wrap": wrap}
    if color != TEXT:
        node["color"] = color
    if weight:
        node["weight"] = weight
    if margin:
        node["margin"] = margin
    if align:
        node["align"] = align
    if flex is not None:
        node["flex"] = flex
    return node


def box(contents: list[dict], layout: str = "vertical", **kw) -> dict:
    return {"type": "box", "layout": layout, "contents": contents, **kw}


def separator(margin: str = "md") -> dict:
    return {"type": "separator", "margin": margin}


def button(action: dict, style: str = "secondary") -> dict:
    b = {"type": "button", "action": action, "style": style, "height": "sm"}
    if style == "primary":
        b["color"] = ACCENT
    return b


def bubble(body: list[dict], *, header: list[dict] | None = None, footer: list[dict] | None = None,
           size: str = "mega", header_bg: str = ACCENT_SOFT) -> dict:
    b: dict = {"type": "bubble", "size": size, "body": box(body, spacing="sm")}
    if header:
        b["header"] = box(header, spacing="xs", backgroundColor=header_bg, paddingAll="16px")
    if footer:
        b["footer"] = box(footer, spacing="sm")
    return b


def flex_size(contents: dict) -> int:
    return len(json.dumps(contents, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


_CAROUSEL_FRAME = flex_size({"type": "carousel", "contents": []})


def pack(bubbles: list[dict], *, max_bubbles: int = CAROUSEL_MAX, budget: int = FLEX_BUDGET) -> list[list[dict]]:
    """Group bubbles into carousels that respect the count and byte limits (order kept)."""
    # A carousel's compact JSON is its fixed frame plus its bubbles' JSON joined by commas, so each
    # bubble is measured once (not the whole trial carousel again for every bubble added).
    groups: list[list[dict]] = []
    current: list[dict] = []
    size = _CAROUSEL_FRAME
    for b in bubbles:
        trial_size = size + flex_size(b) + (1 if current else 0)
        if current and (len(current) + 1 > max_bubbles or trial_size > budget):
            groups.append(current)
            current, size = [b], _CAROUSEL_FRAME + flex_size(b)
        else:
            current, size = current + [b], trial_size
    if current:
        groups.append(current)
    return groups


def flex_message(alt: str, bubbles: list[dict]) -> dict:
    contents = bubbles[0] if len(bubbles) == 1 else {"type": "carousel", "contents": bubbles}
    return ui.flex(alt, contents)


def list_page(text: str, alt: str, cards: list[dict], quick: list[dict],
              more: tuple[dict, dict] | None = None) -> list[dict]:
    """One page of a list of cards: `text`, then the cards packed into carousels (at most 4 messages, LINE's 5 less
    the text), `quick` on the last message; `more` = (the もっと見る card, its quick reply) when a next page exists."""
    if more is not None:
        cards, quick = [*cards, more[0]], [more[1], *quick]
    return ui.with_quick([ui.text(text)] + [flex_message(alt, group) for group in pack(cards)][:4], quick)


def qlabel(no: int | str, name: str) -> str:
    """A numbered quick-reply label cut to LINE's 20 characters: `101 地域福祉計画の策定と…`."""
    return ui.label(f"{no} {name}")


def tail_quick(*extra: dict) -> list[dict]:
    """Quick replies that always end with the way back to the menu."""
    return [*extra, ui.postback(MENU_LABEL, "help")]
