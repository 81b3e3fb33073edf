"""Small talk and courtesy: a greeting, thanks, "OK", goodbye, a complaint or an insult gets one short polite
sentence and the main menu (never 「読み取れません」). The classifier (handlers/nlu.py) names the kind in
`ctx.intent.target`; the sentences are in courtesy_vocab.yaml (`answers`), next to the words that reach them.
A greeting is answered in kind (`greetings`): おはようございます to おはよう, こんばんは to こんばんは, and to a
greeting that names no time of day (はじめまして, よろしく) the one for the hour in Asia/Tokyo by the ctx clock."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import yaml

from bot.clock import to_tokyo
from handlers import nlu, ui
from handlers.context import Ctx, raw_text
from handlers.menu import main_menu_quick

VOCAB = Path(__file__).with_name("courtesy_vocab.yaml")
_DATA = yaml.safe_load(VOCAB.read_text(encoding="utf-8")) or {}
ANSWERS: dict[str, str] = _DATA.get("answers") or {}
KINDS = ("greeting", "thanks", "ack", "bye", "complaint", "insult")
# (first hour, what to say, the resident's words for it), by hour.
GREETINGS: tuple[tuple[int, str, tuple[str, ...]], ...] = tuple(sorted(
    (int(g["from"]), str(g["say"]), tuple(nlu.fold(str(w)) for w in g.get("words") or ()))
    for g in (_DATA.get("greetings") or {}).values()))


def greeting_word(text: str, now: datetime) -> str:
    """The greeting to send back: the kind the resident said (the first said, if several), else the hour's."""
    folded = nlu.fold(text)
    said = [(pos, say) for _, say, words in GREETINGS for w in words if (pos := folded.find(w)) >= 0]
    if said:
        return min(said)[1]
    hour = to_tokyo(now).hour
    # Before the first kind's hour it is still the last kind's (こんばんは at 2 a.m.).
    return next((say for start, say, _ in reversed(GREETINGS) if hour >= start), GREETINGS[-1][1])


def answer(ctx: Ctx) -> list[dict]:
    kind = getattr(ctx.intent, "target", None)
    text = ANSWERS.get(kind) or ANSWERS["ack"]  # an unknown kind still gets a polite line
    if "{greeting}" in text:
        text = text.format(greeting=greeting_word(raw_text(ctx), ctx.now))
    return [ui.text(text, main_menu_quick())]


INTENTS = {"courtesy": answer}
