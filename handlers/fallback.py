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

Text the classifier recognised as outside the service (weather, garbage days, tax, 「職員と話したい」: an Intent
whose target is OUT_OF_SCOPE) gets only what it names outright (the title of a new place or event, which the
classifier has never seen); text only the learned layer took to be outside (LOOKS_OUT_OF_SCOPE) also gets a strong
match among this week's events, places, shifts and surveys (handlers/content.offered). Otherwise it gets the
out-of-scope answer, not "could not read that": this LINE account does not handle the topic, and where to ask (the
city's contact, cities/<city>/contact.yaml through bot/city_contact.py, left out for a city without one), with a
call button and a website button when an out-of-scope word named the topic, and the menu. A bubble about the plan
is not the right answer. A message that asks nothing (a keyboard mash, 「テスト」: fallback_vocab.yaml `noise`)
gets the not-understood answer even when the examples taught the classifier to call it out of scope.
"""
from __future__ import annotations

import logging
import re

from bot import faq
from bot.city_contact import city_contact
from handlers import common, content, nlu, texts, ui
from handlers.context import Ctx, raw_text
from handlers.menu import main_menu_quick

log = logging.getLogger("kyodo.fallback")
V = texts.vocab("fallback")
NOISE = frozenset(nlu.fold(str(w)) for w in V.get("noise") or ())
# A message mostly of Latin letters and without a kanji (「asdfgh」「ｱｓｄｆｇｈ」, folded): a keyboard mash, since
# the bot reads Japanese (romaji it can read has already been read by handlers/nlu.classify).
_LATIN, _KANJI = re.compile(r"[a-z]"), re.compile(r"[\u3400-\u9fff]")
MASH_SHARE = 0.6
FOREIGN = (nlu.OUT_OF_SCOPE, nlu.LOOKS_OUT_OF_SCOPE)


def _record_miss(ctx: Ctx, text: str) -> None:
    """Count the miss in a savepoint: a failure here must not cost the resident their answer."""
    try:
        with ctx.db.begin_nested():
            faq.record_miss(ctx.db, text, ctx.now)
    except Exception as exc:  # noqa: BLE001 - the answer goes out anyway; the text is never logged
        log.warning("not-understood list: could not count a miss (%s)", type(exc).__name__)


def asks_nothing(text: str) -> bool:
    """A keyboard mash or a test of the bot, not a question about something else."""
    folded = nlu.fold(text)
    if not folded or folded in NOISE:
        return True
    return not _KANJI.search(folded) and len(_LATIN.findall(folded)) >= MASH_SHARE * len(folded)


def out_of_scope(ctx: Ctx, sure: bool) -> list[dict]:
    """This LINE account does not handle that; where to ask instead (the city's contact, when it has one), with
    call and website buttons when `sure` (an out-of-scope word named the topic), then the menu."""
    T = V["out_of_scope"]
    contact = city_contact(getattr(ctx.config, "city", None))
    if contact is None:
        return [ui.text(f"{T['text']}\n{T['no_contact']}", main_menu_quick())]
    body = f"{T['text']}\n" + T["contact"].format(name=contact.name, phone=contact.phone, website=contact.website)
    buttons = [ui.uri_action(T["call_button"], contact.tel_uri), ui.uri_action(T["web_button"], contact.website)]
    return [ui.text(body, [*(buttons if sure else []), *main_menu_quick()])]


def answer_unknown(ctx: Ctx) -> list[dict]:
    text = raw_text(ctx)
    foreign = None
    if not getattr(ctx.intent, "alternatives", None):
        foreign = getattr(ctx.intent, "target", None) if getattr(ctx.intent, "name", None) == "unknown" else None
        if (replies := content.answer(ctx, text, foreign=foreign)) is not None:
            return replies
    _record_miss(ctx, text)
    if foreign in FOREIGN and not asks_nothing(text):
        return out_of_scope(ctx, sure=foreign == nlu.OUT_OF_SCOPE)
    return common.not_understood(ctx)


# The router's table entry for intent "unknown" (this module is in handlers/router.py FEATURES).
INTENTS = {"unknown": answer_unknown}
