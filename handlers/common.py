"""Help, the not-understood answer, the stale-button and too-long answers, and the apology."""
from __future__ import annotations

from dataclasses import dataclass

from handlers import texts, ui
from handlers.context import Ctx
from handlers.menu import main_menu_quick


@dataclass
class Outcome:
    replies: list[dict]
    line_user_id: str | None


def show_help(ctx: Ctx) -> list[dict]:
    # Leaving is offered as a button too: a resident should not have to know a typed command.
    return [ui.text(texts.HELP, [*main_menu_quick(), ui.postback(texts.LEAVE_BUTTON, "leave")])]


def not_understood(ctx: Ctx) -> list[dict]:
    """Never silence: offer the closest guesses when there are any, else the menu."""
    alts = getattr(ctx.intent, "alternatives", None) or []
    if alts:
        quick = [ui.postback(a.label, a.action, **a.params) for a in alts[:3]] + [ui.postback("メニュー", "help")]
        return [ui.text(texts.NOT_UNDERSTOOD_SUGGEST, quick)]
    return [ui.text(texts.NOT_UNDERSTOOD, main_menu_quick())]


def stale_button(ctx: Ctx) -> list[dict]:
    return [ui.text(texts.STALE_BUTTON, main_menu_quick())]


def unsupported_message(ctx: Ctx) -> list[dict]:
    return [ui.text(texts.UNSUPPORTED_MESSAGE, main_menu_quick())]


def too_long(ctx: Ctx) -> list[dict]:
    return [ui.text(texts.TOO_LONG, main_menu_quick())]


def sorry(body: dict) -> Outcome:
    """What a resident gets when a handler crashed: an apology and the menu, never nothing."""
    user_id = (body.get("source") or {}).get("userId")
    if body.get("type") not in ("message", "postback", "follow"):
        return Outcome([], user_id)
    return Outcome([ui.text(texts.SORRY, main_menu_quick())], user_id)


# Every main menu entry is answered by its feature module (tests/test_menu.py checks that none is missing).
POSTBACKS = {"help": show_help}
INTENTS = {"help": show_help}
