"""LINE views of volunteering: the shift bubble (also the admin's preview) and its words. Pure functions
from rows and plain values to message dicts; wording from volunteer_vocab.yaml, pieces from handlers.flex and
the event views' date words (12月5日（土）9:00〜12:00, Tokyo)."""
from __future__ import annotations

import re
from datetime import datetime

from bot.clock import utc
from bot.volunteer_search import places_left
from handlers import ui
from handlers.events_flex import CANCELLED_BG, CANCELLED_FG, more_bubble, when_text  # noqa: F401 (more_bubble)
from handlers.flex import ACCENT, ACCENT_SOFT, MUTED, box, bubble, button, separator, text
from handlers.texts import vocab

V = vocab("volunteer")
T: dict[str, str] = V["texts"]
HOLDING = ("confirmed", "offered", "attended", "no_show")


def shift_when(shift, now: datetime | None = None) -> str:
    return when_text(shift.starts_at, shift.ends_at, now=now)


_PLACE_LABEL = re.compile(r"^\s*(集合場所|集合|会場|場所)\s*[：:]\s*")


def place_parts(opportunity) -> tuple[str, str]:
    """(label, place): the organiser's own label taken off the place (集合：下曽我駅前 → 集合, 下曽我駅前), else 場所;
    the address when there is no place name; — when neither."""
    place = (opportunity.place_name or "").strip()
    m = _PLACE_LABEL.match(place)
    if m and place[m.end():].strip():
        return m.group(1), place[m.end():].strip()
    return T["place"], place or (opportunity.address or "").strip() or "—"


def where_text(opportunity) -> str:
    """The place as lines of a text message, one label each: 集合：下曽我駅前 / 住所：小田原市… (the templates'
    {where}; never 場所：集合：…, never the address in brackets after a place that has brackets of its own)."""
    label, place = place_parts(opportunity)
    lines = [f"{label}：{place}"]
    address = (opportunity.address or "").strip()
    if address and address != place:
        lines.append(f"{T['address']}：{address}")
    return "\n".join(lines)


def hours_text(minutes: int) -> str:
    h, m = divmod(int(minutes), 60)
    if not h:
        return T["minutes"].format(m=m)
    return T["hours_min"].format(h=h, m=m) if m else T["hours"].format(h=h)


def left_text(shift, slot) -> tuple[str, str]:
    left = places_left(shift, slot)
    return (T["left"].format(n=left), ACCENT) if left > 0 else (T["full"], CANCELLED_FG)


def status_text(registration, position: int | None = None) -> str | None:
    if registration is None or registration.status == "cancelled":
        return None
    if registration.status == "offered":
        return T["your_offered"]
    if registration.status == "attended":
        return T["your_attended"]
    if registration.status in HOLDING:
        return T["your_confirmed"]
    return T["your_waitlisted"].format(n=position or 1)


def _row(label: str, value: str, color: str | None = None, *, size: str = "sm") -> dict:
    return box([text(label, size=size, color=MUTED, flex=2), text(value, size=size, flex=5,
                                                                  **({"color": color} if color else {}))],
               "horizontal", spacing="md")


def can_join(shift, now, registration=None) -> bool:
    if shift.status != "open" or (now is not None and utc(shift.starts_at) <= utc(now)):
        return False
    return registration is None or registration.status == "cancelled"


def join_button(opportunity, shift) -> dict:
    """申し込む: the sign-up flow's first step (volunteer.join asks once, then the name once)."""
    return button(ui.postback(T["btn_join"], "volunteer.join", f"{opportunity.title[:40]}に申し込む", id=shift.id),
                  "primary")


def week_bubble(opportunity, shift, slot, *, now: datetime | None, registration=None,
                position: int | None = None) -> dict:
    """A small card of 今週の一覧: when (header), the title, the place, places left, 申し込む (or the resident's
    own sign-up instead)."""
    label, place = place_parts(opportunity)
    left, color = left_text(shift, slot)
    body = [{**text(opportunity.title, size="md", weight="bold"), "maxLines": 3},
            _row(label, place[:80], size="xs"), _row(T["places"], left, color, size="xs")]
    if (mine := status_text(registration, position)) is not None:
        body.append(text(mine, size="xs", weight="bold", color=ACCENT, margin="sm"))
    footer = [join_button(opportunity, shift)] if can_join(shift, now, registration) else \
        [button(ui.postback(T["btn_details"], "volunteer.show", f"{opportunity.title[:40]}を見る", id=shift.id))]
    return bubble(body, header=[text(shift_when(shift, now), size="sm", weight="bold", color=ACCENT)],
                  footer=footer, size="kilo")


def shift_bubble(opportunity, shift, slot, *, now: datetime | None, km: float | None = None, registration=None,
                 position: int | None = None, details: bool = False) -> dict:
    """One shift: when (header), the opportunity, where, places left or 満員（キャンセル待ちできます）, the
    resident's own sign-up; 申し込む while possible. `details`: description, 持ち物, 条件 too."""
    cancelled = shift.status != "open"
    header = [text(shift_when(shift, now), size="sm", weight="bold", color=CANCELLED_FG if cancelled else ACCENT)]
    if cancelled:
        header.insert(0, text("【" + T["cancelled_badge"] + "】", size="md", weight="bold", color=CANCELLED_FG))
    body = [{**text(opportunity.title, size="lg", weight="bold"), "maxLines": 3}]
    if details and opportunity.description:
        body.append(text(opportunity.description[:400], size="sm", color=MUTED))
    body.append(separator("sm"))
    label, place = place_parts(opportunity)
    body.append(_row(label, place))
    if details and opportunity.address and opportunity.address.strip() != place:
        body.append(_row(T["address"], opportunity.address.strip()[:200]))
    if km is not None:
        body.append(_row("", f"約{km:.1f}km"))
    left, color = left_text(shift, slot)
    body.append(_row(T["places"], left, color))
    if details:
        for key, value in (("bring", opportunity.bring), ("conditions", opportunity.conditions),
                           ("accessibility", opportunity.accessibility)):
            if value:
                body.append(_row(T[key], value[:200]))
        if opportunity.min_age:
            body.append(_row(T["min_age"], T["min_age_value"].format(n=opportunity.min_age)))
    if (mine := status_text(registration, position)) is not None:
        body.append(text(mine, size="sm", weight="bold", color=ACCENT, margin="md"))
    footer = []
    if not cancelled and can_join(shift, now, registration):
        footer.append(join_button(opportunity, shift))
    if not details:
        footer.append(button(ui.postback(T["btn_details"], "volunteer.show", f"{opportunity.title[:40]}を見る",
                                         id=shift.id)))
    return bubble(body, header=header, footer=footer or None,
                  header_bg=CANCELLED_BG if cancelled else ACCENT_SOFT)
