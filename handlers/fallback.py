"""What a message gets when the classifier is not confident (the router calls `answer_unknown` for intent
"unknown"): never "could not read that" while something the city published answers it. An FAQ entry the city
wrote for the question has already been tried: the router asks handlers/faq.weigh for every typed message, and a
message an entry answers arrives as the intent "faq", not here.

  1. a close call (between routes, or between an FAQ entry and a route) → 2-3 guesses as buttons
     (handlers/common.not_understood);
  2. the content itself (bot/content_search.py through handlers/content.py) → 「こちらが関係ありそうです」;
  3. otherwise the short not-understood answer with the menu, and the text is counted in the not-understood
     list (bot/faq.py: record_miss: normalised text and a count, nothing about the resident) so staff can add
     an FAQ entry or a synonym for it.

Text the classifier recognised as outside the service (weather, garbage days, tax: an Intent whose target is
OUT_OF_SCOPE) gets only what it names outright (the title of a new place or event, which the classifier has
never seen); text only the learned layer took to be outside (LOOKS_OUT_OF_SCOPE) also gets a strong match among
this week's events, places, shifts and surveys (handlers/content.offered). Otherwise refusing it politely is the
right answer, a bubble about the plan is not.
"""
from __future__ import annotations

import logging

from bot import faq
from handlers import common, content
from handlers.context import Ctx, raw_text

log = logging.getLogger("kyodo.fallback")


def _record_miss(ctx: Ctx, text: str) -> None:
    """Count the miss in a savepoint: a failure here must not cost the resident their answer."""
    try:
        with ctx.db.begin_nested():
            faq.record_miss(ctx.db, text, ctx.now)
    except Exception as exc:  # noqa: BLE001 - the answer goes out anyway; the text is never logged
        log.warning("not-understood list: could not count a miss (%s)", type(exc).__name__)


def answer_unknown(ctx: Ctx) -> list[dict]:
    text = raw_text(ctx)
    if not getattr(ctx.intent, "alternatives", None):
        foreign = getattr(ctx.intent, "target", None) if getattr(ctx.intent, "name", None) == "unknown" else None
        if (replies := content.answer(ctx, text, foreign=foreign)) is not None:
            return replies
    _record_miss(ctx, text)
    return common.not_understood(ctx)


# The router's table entry for intent "unknown" (this module is in handlers/router.py FEATURES).
INTENTS = {"unknown": answer_unknown}
