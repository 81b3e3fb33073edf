"""よくある質問 on LINE (step 10). An entry is matched like any intent: for every typed message the router asks
`weigh`, which sets the entry the message asks (bot/faq.py: match) against the classifier's answer, and the
winner is the message's intent ("faq" with the entry's id, the classifier's route, or, when the two are too close
to call, "unknown" with both as buttons). A button carrying an entry's id (a close call, content search bubbles)
shows that entry's answer while it is published."""
from __future__ import annotations

import os
from functools import lru_cache

from bot import faq as matching
from bot import ja_text
from handlers import faq_flex, nlu
from handlers.context import Ctx
from models.faq import PUBLISHED, FaqEntry

ACTION = "faq"   # the button: faq, id=<entry>
INTENT = "faq"   # Intent("faq", "<entry id>", score)

# How an entry competes with a route the classifier is sure of. The two scores cannot be compared as they are:
# the classifier gives 0.95-1.0 to nearly every message that names a feature, and an entry that mentions a
# feature gets a cosine of 0.6-0.9 from the bare feature word (ボランティアしたい → 0.76 against 「ボランティア保険には
# 入る必要がありますか」). So the cosine is split (bot/faq.split): the part made of words that name a feature on their
# own (the classifier routes the word by itself) is the route's as much as the entry's; the rest is the entry's
# own evidence: お金 / かかる in 「こども食堂はお金がかかりますか」. Tuned on the ~5,000 feature requests of
# tests/data/utterances*.tsv against 14 entries written to overlap the menu (4 answered by an entry, 9 close calls,
# each about that entry's own subject: 通知が多すぎるので減らしたい → 「LINEの通知を減らすには？」) and on
# paraphrases of those entries (most reach the entry or a close call).
OWN_WIN = 0.3     # own evidence for the entry to answer (with a sure match, bot/faq.SURE) ...
AHEAD = 0.15      # ... or a cosine this far above the classifier's score: the route is clearly weaker
OWN_CLOSE = 0.25  # own evidence this strong, or
CLOSE = 0.1       # a cosine within this of the classifier's score: too close to call, the resident chooses



def answer(entry: FaqEntry) -> list[dict]:
    return faq_flex.answer_messages(entry)


def _published(ctx: Ctx, eid: int | None) -> FaqEntry | None:
    entry = ctx.db.get(FaqEntry, eid) if eid is not None and 0 < eid < 2 ** 63 else None
    return entry if entry is not None and entry.status == PUBLISHED else None


def show(ctx: Ctx) -> list[dict]:
    entry = _published(ctx, ctx.postback.int("id") if ctx.postback is not None else None)
    return answer(entry) if entry is not None else faq_flex.not_available()


def on_intent(ctx: Ctx) -> list[dict] | None:
    """The entry `weigh` chose; None (the router's not-understood answer) if it went in the meantime."""
    target = getattr(ctx.intent, "target", None)
    entry = _published(ctx, int(target) if target and target.isdigit() else None)
    return answer(entry) if entry is not None else None


@lru_cache(maxsize=4096)
def _names_a_feature(word: str, city: str | None) -> bool:
    return nlu.classify(word).name not in ("unknown", "courtesy")


def _claimed(t: ja_text.Token) -> bool:
    """A word the classifier routes on its own (イベント, 申し込む, こども食堂): evidence for its route."""
    return _names_a_feature(t.base or t.surface, os.environ.get("KYODO_CITY"))


def weigh(ctx: Ctx, text: str, intent: nlu.Intent) -> nlu.Intent:
    """The message's intent once the FAQ has had its say: `intent` (the classifier's) when no entry is close
    enough or the route is clearly stronger; the entry when the classifier is unsure (as before any buttons or
    content search) or the entry is clearly stronger; otherwise a close call with both as buttons."""
    hit = matching.match(ctx.db, text)
    if hit is None:
        return intent
    entry, score = hit
    chosen = nlu.Intent(INTENT, str(entry.id), round(score, 3))
    if intent.name == "unknown":
        return chosen
    _cosine, own = matching.split(matching.index_for(ctx.db), text, entry.id, _claimed)
    if (score >= matching.SURE and own >= OWN_WIN) or score >= intent.score + AHEAD:
        return chosen
    if own >= OWN_CLOSE or score > intent.score - CLOSE:
        # The route's button is the one a close call between routes offers (None for leave, courtesy ...).
        buttons = (nlu.Alternative(entry.question, ACTION, {"id": entry.id}),
                   nlu.alternative(intent.name, intent.target))
        return nlu.Intent("unknown", None, intent.score, tuple(b for b in buttons if b is not None))
    return intent


POSTBACKS = {ACTION: show}
INTENTS = {INTENT: on_intent}
