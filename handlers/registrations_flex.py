"""LINE views of 申込状況: one bubble per registration (what, when, the resident's status, details and
cancel buttons), whatever kind of slot it is for. What a registration is *for* (its title, dates, details
button) comes from the kind's describer (handlers/registrations.py: DESCRIBERS); this module draws it.
"""
from __future__ import annotations

from dataclasses import dataclass

from handlers import ui
from handlers.events_flex import CANCELLED_FG, T, day_text, hm
from handlers.flex import ACCENT, MUTED, bubble, button, text

HOLDING = ("confirmed", "offered", "attended", "no_show")


@dataclass(frozen=True)
class Described:
    """A registration as its kind shows it: `title`, `when` (words), `kind_label` (イベント, ボランティア),
    `details` (a postback action to its details, or None), `cancelled` (the thing itself is off: 中止)."""

    title: str
    when: str
    kind_label: str = ""
    details: dict | None = None
    cancelled: bool = False


def fallback(slot, now) -> Described:
    """A kind without a describer still lists with its date, and can be cancelled."""
    return Described(T["regs_unknown_kind"], day_text(slot.starts_at, now) + hm(slot.starts_at))


def status_line(reg, position: int | None) -> tuple[str, str]:
    if reg.status in HOLDING:
        return T["your_confirmed"], ACCENT
    if position:
        return T["your_waitlisted"].format(n=position), MUTED
    return T["your_waitlisted_plain"], MUTED


def registration_bubble(reg, described: Described, position: int | None) -> dict:
    head = [text(described.kind_label, size="xs", color=MUTED)] if described.kind_label else []
    body = [*head, text(described.title, size="md", weight="bold"),
            text(described.when, size="sm", color=MUTED)]
    if described.cancelled:
        body.append(text(T["cancelled_note"], size="sm", weight="bold", color=CANCELLED_FG))
    else:
        line, color = status_line(reg, position)
        body.append(text(line, size="sm", weight="bold", color=color))
    footer = []
    if described.details is not None:
        footer.append(button(described.details))
    if not described.cancelled:
        footer.append(button(ui.postback(T["btn_cancel_reg"], "regs.cancel", T["btn_cancel_reg"], reg=reg.id)))
    return bubble(body, footer=footer or None, size="kilo")
