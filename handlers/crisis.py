"""A message that may come from someone in danger or despair (死にたい, いじめられて, DV ...) gets, before
anything else, where to talk to someone now: national consultation lines with call buttons. Never the
not-understood answer, never a content search, never taken as a survey's free-text answer.

A router COMMAND (tried before conversation flows and the classifier). The phrases and the text are
handlers/crisis_vocab.yaml; the message is never logged (nothing here logs)."""
from __future__ import annotations

import jaconv

from handlers import texts, ui
from handlers.context import Ctx
from handlers.flex import tail_quick

V = texts.vocab("crisis")
PHRASES = tuple(sorted({jaconv.kata2hira(str(p).lower()) for p in V["phrases"]}, key=len, reverse=True))


def is_crisis(normalised_text: str) -> bool:
    s = jaconv.kata2hira(normalised_text.replace(" ", ""))
    return any(p in s for p in PHRASES)


def support(ctx: Ctx) -> list[dict] | None:
    if not is_crisis(ctx.text):
        return None
    calls = [ui.uri_action(label, uri) for label, uri in V["buttons"]]
    return [ui.text(V["text"], tail_quick(*calls))]


COMMANDS = {"crisis": support}
