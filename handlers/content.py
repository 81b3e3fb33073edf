"""Answers from the content: when no route is confident, the best 1-3 things the city has published that the
message is about (plan actions and projects, events, places, volunteer opportunities, surveys, FAQ entries),
each a bubble whose button opens the feature's own view. The ranking is bot/content_search.py's; this module
checks each match is still there for this resident (a shift still open, a survey they may answer) and builds
the cards."""
from __future__ import annotations

from sqlalchemy import select

from bot import content_search
from bot.clock import utc
from handlers import content_flex as F
from handlers.context import Ctx, raw_text


def _event_card(ctx: Ctx, m: content_search.Match) -> F.Card | None:
    from handlers.events_flex import occurrence_when
    from models.events import PUBLISHED, Event, EventOccurrence as O

    event = ctx.db.get(Event, m.ref)
    if event is None or event.status != PUBLISHED:
        return None
    occ = ctx.db.scalar(select(O).where(O.event_id == event.id, O.visible.is_(True), O.ends_at > utc(ctx.now))
                        .order_by(O.starts_at, O.id).limit(1))
    if occ is None:
        return None
    return F.Card("event", event.title, m.subtitle, occurrence_when(event, occ, ctx.now),
                  F.postback("event", f"{event.title[:40]}を見る", id=event.id, o=occ.id))


def _volunteer_card(ctx: Ctx, m: content_search.Match) -> F.Card | None:
    from bot.volunteer_search import find_shifts
    from handlers.volunteer_flex import shift_when

    hits = find_shifts(ctx.db, now=ctx.now, opportunity_id=m.ref, limit=1)
    if not hits:
        return None
    h = hits[0]
    return F.Card("volunteer", h.opportunity.title, m.subtitle, shift_when(h.shift, ctx.now),
                  F.postback("volunteer", f"{h.opportunity.title[:40]}を見る", id=h.shift.id))


def _survey_card(ctx: Ctx, m: content_search.Match) -> F.Card | None:
    from bot.survey_logic import is_live, may_answer
    from models.surveys import Survey

    survey = ctx.db.get(Survey, m.ref)
    if survey is None or not is_live(survey, ctx.now):
        return None
    if ctx.user is not None and not may_answer(ctx.db, survey, ctx.user.id):
        return None
    return F.Card("survey", survey.title, (survey.intro or "")[:80], None,
                  F.postback("survey", f"{survey.title[:40]}を開く", s=survey.id))


def card(ctx: Ctx, m: content_search.Match) -> F.Card | None:
    """A match as the resident will see it, or None when it is no longer there for them."""
    if m.kind == "action":
        return F.Card("action", m.title, m.subtitle, None, F.postback("action", f"アクション{m.ref}を見る", no=m.ref))
    if m.kind == "project":
        return F.Card("project", m.title, m.subtitle, None, F.postback("project", f"プロジェクト{m.ref}を見る", id=m.ref))
    if m.kind == "place":
        return F.Card("place", m.title, m.subtitle, None, F.postback("place", f"{m.title}の詳細", id=m.ref))
    if m.kind == "event":
        return _event_card(ctx, m)
    if m.kind == "volunteer":
        return _volunteer_card(ctx, m)
    if m.kind == "survey":
        return _survey_card(ctx, m)
    if m.kind == "faq":
        return F.Card("faq", m.title, m.subtitle, None, F.postback("faq", m.title, id=m.ref))
    return None


# What the fallback may offer for a message only the learned layer took to be out of scope: this week's content
# (names the model has never seen), matched strongly; the plan's own items it knows, so not those.
NEW_CONTENT = ("event", "place", "volunteer", "survey")
STRONG = 2.0  # ... scoring at least this many times content_search.MIN_SCORE


def matches(ctx: Ctx, text: str | None = None) -> list[content_search.Match]:
    return content_search.search(ctx.db, text if text is not None else raw_text(ctx), ctx.now,
                                 city=getattr(ctx.config, "city", None) or "odawara",
                                 limit=content_search.LIMIT + 2)  # spares for matches gone for this resident


def offered(found: list[content_search.Match], text: str, foreign: str | None) -> list[content_search.Match]:
    """The matches a message may be offered, by how the classifier saw it: `foreign` is None (unsure: all),
    nlu.OUT_OF_SCOPE (an out-of-scope word: only titles it names) or nlu.LOOKS_OUT_OF_SCOPE (only the model
    thought so: strong matches among NEW_CONTENT)."""
    from handlers import nlu

    if foreign not in (nlu.OUT_OF_SCOPE, nlu.LOOKS_OUT_OF_SCOPE):
        return found
    said = nlu.lookup_forms(text)  # folded once for every match
    strong = STRONG * content_search.MIN_SCORE if foreign == nlu.LOOKS_OUT_OF_SCOPE else float("inf")
    return [m for m in found if names(m.title, said) or (m.kind in NEW_CONTENT and m.score >= strong)]


def names(title: str, said: tuple[str, ...]) -> bool:
    """The message (`said`: its nlu.lookup_forms) is the title of something published, or a good part of it
    (「ひまわり亭」): folded alike."""
    from handlers import nlu

    name = nlu.lookup_forms(title)
    return bool(said and name) and any(len(s) >= 2 and (s in name[0] or name[0] in s) for s in said)


def answer(ctx: Ctx, text: str | None = None, foreign: str | None = None) -> list[dict] | None:
    """「こちらが関係ありそうです」 with one bubble per match, or None when nothing matches well. `foreign`: the
    classifier's out-of-scope target, if any (see `offered`: a new place's name looks foreign to the classifier,
    but a resident who types it wants that place)."""
    cards = []
    text = text if text is not None else raw_text(ctx)
    for m in offered(matches(ctx, text), text, foreign):
        c = card(ctx, m)
        if c is not None:
            cards.append(c)
        if len(cards) == content_search.LIMIT:
            break
    return F.answer_messages(cards) if cards else None
