"""Small talk and courtesy: a greeting, thanks, "OK", goodbye, a complaint or an insult gets one short polite
sentence and the main menu (never 「読み取れません」). The classifier (handlers/nlu.py) names the kind in
`ctx.intent.target`; the sentences are in courtesy_vocab.yaml (`answers`), next to the words that reach them."""
from __future__ import annotations

from pathlib import Path

import yaml

from handlers import ui
from handlers.context import Ctx
from handlers.menu import main_menu_quick

VOCAB = Path(__file__).with_name("courtesy_vocab.yaml")
ANSWERS: dict[str, str] = (yaml.safe_load(VOCAB.read_text(encoding="utf-8")) or {}).get("answers") or {}
KINDS = ("greeting", "thanks", "ack", "bye", "complaint", "insult")


def answer(ctx: Ctx) -> list[dict]:
    kind = getattr(ctx.intent, "target", None)
    text = ANSWERS.get(kind) or ANSWERS["ack"]  # an unknown kind still gets a polite line
    return [ui.text(text, main_menu_quick())]


INTENTS = {"courtesy": answer}
