"""申込状況: a resident's live registrations, whatever they are for (events now, volunteer shifts from step 8),
each with a cancel button that asks once.

Generic over RegistrationSlot.kind: each feature registers a describer for its kind
(`@describer("event")`), which turns that kind's (registration, slot) pairs into `Described` rows with one
query. Cancelling goes through bot.registrations.cancel; whoever is promoted from the waitlist is told by the
kind's own notifier (bot.registrations.on_promoted), not here.

Reached by the "regs" postback and typed 申込状況 (the NLU's "regs" intent, words in events_vocab.yaml `nlu:`). The
tables are exported through handlers/events.py (the router's FEATURES list is not this module's).
"""
from __future__ import annotations

from typing import Callable

from bot import registrations as R
from handlers import ui
from handlers import registrations_flex as F
from handlers.context import Ctx
from handlers.events_flex import T
from handlers.flex import flex_message, pack, tail_quick
from handlers.menu import main_menu_quick
from models.registrations import CANCELLED, KINDS, WAITLISTED, Registration

Describer = Callable[[Ctx, list], dict]  # (ctx, [(registration, slot)]) -> {registration id: F.Described}
DESCRIBERS: dict[str, Describer] = {}
MAX_SHOWN = 12  # one carousel


def describer(kind: str):
    """Register how registrations of `kind` are shown (and named in the cancel question)."""
    def register(fn: Describer) -> Describer:
        DESCRIBERS[kind] = fn
        return fn
    return register


def _describe(ctx: Ctx, pairs: list) -> dict[int, F.Described]:
    out: dict[int, F.Described] = {}
    by_kind: dict[str, list] = {}
    for reg, slot in pairs:
        by_kind.setdefault(slot.kind, []).append((reg, slot))
    for kind, group in by_kind.items():
        fn = DESCRIBERS.get(kind)
        described = fn(ctx, group) if fn is not None else {}
        for reg, slot in group:
            out[reg.id] = described.get(reg.id) or F.fallback(slot, ctx.now)
    return out


def _quick() -> list[dict]:
    return tail_quick(ui.postback(T["btn_events"], "events"))


def show_regs(ctx: Ctx) -> list[dict]:
    if ctx.user is None:
        return [ui.text(T["no_user"], main_menu_quick())]
    pairs = R.registrations_of(ctx.db, ctx.user.id, kinds=KINDS, upcoming_after=ctx.now)
    if not pairs:
        return [ui.text(T["regs_none"], _quick())]
    shown = pairs[:MAX_SHOWN]
    described = _describe(ctx, shown)
    bubbles = [F.registration_bubble(reg, described[reg.id],
                                     R.waitlist_position(ctx.db, reg) if reg.status == WAITLISTED else None)
               for reg, _ in shown]
    intro = T["regs_intro"].format(n=len(pairs))
    if len(pairs) > len(shown):
        intro += "\n" + T["regs_more"].format(n=len(pairs) - len(shown))
    msgs = [ui.text(intro)] + [flex_message(T["regs_title"], group) for group in pack(bubbles)][:4]
    return ui.with_quick(msgs, _quick())


def _own(ctx: Ctx) -> Registration | None:
    reg_id = ctx.postback.int("reg") if ctx.postback is not None else None
    if reg_id is None or ctx.user is None:
        return None
    reg = ctx.db.get(Registration, reg_id)
    return reg if reg is not None and reg.user_id == ctx.user.id else None  # someone else's: as if absent


def cancel_registration(ctx: Ctx) -> list[dict]:
    """Ask once (はい → ok=1), then cancel. A second tap on either button is answered, never repeated."""
    reg = _own(ctx)
    if reg is None:
        return [ui.text(T["cancel_not_found"], _quick())]
    if reg.status == CANCELLED:
        return [ui.text(T["cancel_already"], tail_quick(ui.postback(T["btn_regs"], "regs")))]
    slot = ctx.db.get(R.RegistrationSlot, reg.slot_id)
    d = _describe(ctx, [(reg, slot)])[reg.id]
    if ctx.postback.get("ok") != "1":
        q = T["cancel_confirm"].format(title=d.title[:60], when=d.when)
        return [ui.confirm(q, q,
                           ui.postback(T["btn_yes_cancel"], "regs.cancel", T["btn_yes_cancel"], reg=reg.id, ok=1),
                           ui.postback(T["btn_no"], "regs.keep", T["btn_no"]))]
    out = R.cancel(ctx.db, reg.id, now=ctx.now)
    if out.status == "already_cancelled":
        return [ui.text(T["cancel_already"], tail_quick(ui.postback(T["btn_regs"], "regs")))]
    if out.status != "cancelled":
        return [ui.text(T["cancel_not_found"], _quick())]
    return [ui.text(T["cancel_done"].format(title=d.title[:60]),
                    tail_quick(ui.postback(T["btn_regs"], "regs"), ui.postback(T["btn_events"], "events")))]


def keep(ctx: Ctx) -> list[dict]:
    return [ui.text(T["cancel_kept"], tail_quick(ui.postback(T["btn_regs"], "regs")))]


POSTBACKS = {"regs": show_regs, "regs.cancel": cancel_registration, "regs.keep": keep}
INTENTS = {"regs": show_regs}
