"""LINE views of events: the carousel bubble (also the admin preview's), the details bubble, the もっと見る
bubble and the choosers. Pure functions from rows and plain values to message dicts; wording from
events_vocab.yaml, generic pieces from handlers.flex.

A 中止 event keeps its place in every list, marked in red in its header, with no 参加する button.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from bot.clock import to_tokyo, utc
from bot.geo import map_url
from handlers import ui
from handlers.flex import ACCENT, ACCENT_SOFT, MUTED, box, bubble, button, separator, text
from handlers.texts import vocab

V = vocab("events")
T: dict[str, str] = V["texts"]
WEEKDAYS: list[str] = V["weekdays"]
CANCELLED_FG = "#B3261E"   # 中止: a red that keeps its contrast on white and on its soft background
CANCELLED_BG = "#FCE8E6"
TITLE_LINES = 3
DESCRIPTION_CHARS = 400    # the details bubble's description; the rest is on the web page
WAITLISTED = "waitlisted"  # models.registrations statuses shown to the resident
HOLDING = ("confirmed", "offered", "attended", "no_show")


# -- words ------------------------------------------------------------------------------------------------------

def day_text(dt: datetime, now: datetime | None = None) -> str:
    """6月14日（土）; the year is added when it is not the current one (Tokyo)."""
    t = to_tokyo(dt)
    year = "" if now is not None and to_tokyo(now).year == t.year else f"{t.year}年"
    return f"{year}{t.month}月{t.day}日（{WEEKDAYS[t.weekday()]}）"


def hm(dt: datetime) -> str:
    t = to_tokyo(dt)
    return f"{t.hour}:{t.minute:02d}"


def when_text(starts: datetime, ends: datetime | None, *, all_day: bool = False, now: datetime | None = None) -> str:
    """6月14日（土）10:00〜12:00; a multi-day event names both days; an all-day one only the days."""
    s = to_tokyo(starts)
    e = to_tokyo(ends) if ends is not None else None
    if all_day:
        # An all-day end is exclusive when it falls at midnight: 6/14 00:00 → 6/15 00:00 is one day.
        last = e - timedelta(seconds=1) if e is not None and (e.hour, e.minute, e.second) == (0, 0, 0) else e
        if last is None or last.date() <= s.date():
            return day_text(starts, now)
        return f"{day_text(starts, now)}〜{day_text(last, now)}"
    if e is None:
        return f"{day_text(starts, now)}{hm(starts)}〜"
    if e.date() == s.date():
        return f"{day_text(starts, now)}{hm(starts)}〜{hm(ends)}"
    return f"{day_text(starts, now)}{hm(starts)}〜{day_text(ends, now)}{hm(ends)}"


def occurrence_when(event, occurrence, now: datetime | None = None) -> str:
    return when_text(occurrence.starts_at, occurrence.ends_at, all_day=bool(event.all_day), now=now)


def cost_text(event) -> str:
    c = V["cost"]
    if event.cost_kind == "free":
        return c["free"]
    if event.cost_yen is None:
        return event.cost_note or c["unknown"]
    return c.get(event.cost_kind, c["amount"]).format(yen=f"{event.cost_yen:,}")


def ages_text(lo: int | None, hi: int | None) -> str:
    if lo is None and hi is None:
        return T["ages_any"]
    if lo is None or lo == 0 and hi is not None:
        return T["ages_to"].format(hi=hi)
    if hi is None:
        return T["ages_from"].format(lo=lo)
    if lo == hi:
        return T["ages_one"].format(lo=lo)
    return T["ages_range"].format(lo=lo, hi=hi)


def registration_text(event, *, left: int | None = None) -> str:
    """要申込（定員20名）・残り3名 / 申込不要."""
    if not event.registration_required:
        return T["reg_not_needed"]
    out = T["reg_needed_cap"].format(cap=event.capacity) if event.capacity else T["reg_needed"]
    if left is not None and event.capacity:
        out += "・" + (T["reg_left"].format(n=left) if left > 0 else T["reg_full"])
    return out


def status_text(registration, position: int | None) -> str | None:
    if registration is None:
        return None
    if registration.status in HOLDING:
        return T["your_confirmed"]
    if registration.status == WAITLISTED:
        return T["your_waitlisted"].format(n=position) if position else T["your_waitlisted_plain"]
    return None


def km_text(km: float) -> str:
    return f"{km:.1f}" if km < 10 else f"{km:.0f}"


def where_text(event, district_name: str | None = None) -> str:
    parts = [p for p in (event.place_name, T["district"].format(name=district_name) if district_name else None) if p]
    return "・".join(parts) if parts else (event.address or "")


# -- pieces ------------------------------------------------------------------------------------------------------

def _clip(node: dict, lines: int) -> dict:
    node["maxLines"] = lines
    return node


def _row(label: str, value: str, color: str | None = None) -> dict:
    return box([text(label, size="sm", color=MUTED, flex=2, wrap=True),
                text(value, size="sm", flex=5, **({"color": color} if color else {}))],
               "horizontal", spacing="md")


def _header(event, occurrence, now) -> list[dict]:
    cancelled = event.status == "cancelled"
    when = text(occurrence_when(event, occurrence, now), size="sm", weight="bold",
                color=CANCELLED_FG if cancelled else ACCENT)
    if not cancelled:
        return [when]
    return [text("【" + T["cancelled_badge"] + "】", size="md", weight="bold", color=CANCELLED_FG), when]


def _header_bg(event) -> str:
    return CANCELLED_BG if event.status == "cancelled" else ACCENT_SOFT


def _ended(occurrence, now) -> bool:
    return now is not None and utc(occurrence.ends_at) <= utc(now)


def can_join(event, occurrence, now, registration=None) -> bool:
    """参加する is offered: registration needed, not 中止, not started, not already registered."""
    if not event.registration_required or event.status != "published":
        return False
    if now is not None and utc(occurrence.starts_at) <= utc(now):
        return False
    if registration is not None and registration.status != "cancelled":
        return False
    return True


def calendar_url(base_url: str, event_id: int) -> str:
    return f"{base_url.rstrip('/')}/events/{event_id}.ics"


_TEL = re.compile(r"[^0-9+]")


def tel_uri(phone: str | None) -> str | None:
    digits = _TEL.sub("", phone or "")
    return f"tel:{digits}" if 6 <= len(digits) <= 15 else None


def web_uri(url: str | None) -> str | None:
    return url if url and re.match(r"^https?://[^\s]+$", url) and len(url) <= 1000 else None


# -- the carousel bubble (also the admin preview) ------------------------------------------------------------------

def event_bubble(event, occurrence, *, now: datetime | None, km: float | None = None, registration=None,
                 position: int | None = None, district_name: str | None = None,
                 base_url: str | None = None) -> dict:
    """One event in a carousel: when, what, where, cost, ages, how to sign up; the resident's own
    registration when given (`position`: their place on the waitlist). Buttons: くわしく, and 参加する where
    registration is needed and still possible; カレンダーに追加 when `base_url` is given."""
    body = [_clip(text(event.title, size="lg", weight="bold"), TITLE_LINES)]
    where = where_text(event, district_name)
    if where:
        body.append(_clip(text(where, size="sm", color=MUTED), 2))
    if km is not None:
        body.append(text(T["km"].format(km=km_text(km)), size="xs", color=MUTED))
    body.append(separator("sm"))
    body.append(_row(T["cost"], cost_text(event)))
    body.append(_row(T["ages"], ages_text(event.age_min, event.age_max)))
    body.append(_row(T["registration"], registration_text(event)))
    if event.status == "cancelled":
        body.append(text(T["cancelled_note"], size="sm", weight="bold", color=CANCELLED_FG, margin="md"))
    elif (mine := status_text(registration, position)) is not None:
        body.append(text(mine, size="sm", weight="bold", color=ACCENT, margin="md"))
    elif event.rrule:
        body.append(text(T["repeats"], size="xs", color=MUTED, margin="sm"))
    footer = [button(ui.postback(T["btn_details"], "events.show", f"{event.title[:40]}を見る",
                                 id=event.id, o=occurrence.id))]
    if can_join(event, occurrence, now, registration):
        footer.insert(0, button(ui.postback(T["btn_join"], "events.join", f"{event.title[:40]}に参加する",
                                            id=event.id), "primary"))
    if base_url and event.status != "cancelled":
        footer.append(button(ui.uri_action(T["btn_calendar"], calendar_url(base_url, event.id)), "link"))
    return bubble(body, header=_header(event, occurrence, now), footer=footer, header_bg=_header_bg(event))


def more_bubble(next_first: int, action: str, params: dict) -> dict:
    """The carousel's last card: もっと見る, carrying the search and the next offset."""
    return bubble([text(T["more_title"], size="lg", weight="bold"),
                   text(T["more_body"].format(n=next_first), size="sm", color=MUTED)],
                  footer=[button(ui.postback(T["btn_more"], action, T["btn_more"], **params), "primary")],
                  size="kilo")


# -- the details bubble ------------------------------------------------------------------------------------------

def _excerpt(s: str | None, limit: int = DESCRIPTION_CHARS) -> str | None:
    if not s:
        return None
    s = s.strip()
    if len(s) <= limit:
        return s
    cut = s.rfind("。", 0, limit)
    return s[: cut + 1] if cut >= limit // 2 else s[: limit - 1] + "…"


def detail_bubble(event, occurrence, *, now: datetime, base_url: str, registration=None,
                  position: int | None = None, left: int | None = None, district_name: str | None = None,
                  km: float | None = None) -> dict:
    """Everything a resident needs to decide and go: the description, the place with a map, cost, ages,
    how to sign up (places left), the organiser and a call button; their own registration and the way to
    cancel it; カレンダーに追加."""
    cancelled = event.status == "cancelled"
    body = [text(event.title, size="lg", weight="bold")]
    if cancelled:
        body.append(text(T["cancelled_note"], size="md", weight="bold", color=CANCELLED_FG))
        if event.cancel_reason:
            body.append(text(T["cancelled_reason"].format(reason=event.cancel_reason), size="sm", color=CANCELLED_FG))
    if (mine := status_text(registration, position)) is not None and not cancelled:
        body.append(text(mine, size="md", weight="bold", color=ACCENT))
    if (desc := _excerpt(event.description)) is not None:
        body.append(text(desc, size="sm", margin="md"))
    body.append(separator())
    body.append(_row(T["when"], occurrence_when(event, occurrence, now)))
    if event.time_note:
        body.append(_row("", event.time_note))
    where = " ".join(p for p in (where_text(event, district_name), event.address, event.address_note) if p)
    if where:
        body.append(_row(T["where"], where))
    if km is not None:
        body.append(_row("", T["km"].format(km=km_text(km))))
    body.append(_row(T["cost"], cost_text(event) + (f"（{event.cost_note}）" if event.cost_note and
                                                      event.cost_yen is not None else "")))
    body.append(_row(T["ages"], ages_text(event.age_min, event.age_max)))
    body.append(_row(T["registration"], registration_text(event, left=left)))
    if event.registration_required and event.registration_deadline is not None:
        body.append(_row("", T["reg_deadline"].format(
            when=day_text(event.registration_deadline, now) + hm(event.registration_deadline))))
    if event.registration_required and event.registration_method:
        body.append(_row(T["reg_method"], _excerpt(event.registration_method, 120) or ""))
    for key, value in (("organiser", event.organiser_name), ("access", event.access), ("parking", event.parking),
                       ("note", event.note)):
        if value:
            body.append(_row(T[key], _excerpt(value, 160) or ""))
    contact = " ".join(p for p in (event.contact_name, event.phone,
                                   f"（内線{event.phone_ext}）" if event.phone_ext else None) if p)
    if contact:
        body.append(_row(T["contact"], contact))
    footer = []
    if can_join(event, occurrence, now, registration):
        footer.append(button(ui.postback(T["btn_join"], "events.join", f"{event.title[:40]}に参加する",
                                         id=event.id), "primary"))
    if registration is not None and registration.status in (*HOLDING, WAITLISTED) and not cancelled \
            and not _ended(occurrence, now):
        footer.append(button(ui.postback(T["btn_cancel_reg"], "regs.cancel", T["btn_cancel_reg"],
                                         reg=registration.id)))
    if not cancelled:
        footer.append(button(ui.uri_action(T["btn_calendar"], calendar_url(base_url, event.id))))
    if (m := map_url(event.lat, event.lon, event.address)) is not None:
        footer.append(button(ui.uri_action(T["btn_map"], m), "link"))
    if (tel := tel_uri(event.phone)) is not None:
        footer.append(button(ui.uri_action(T["btn_call"], tel), "link"))
    if (web := web_uri(event.url)) is not None:
        footer.append(button(ui.uri_action(T["btn_web"], web), "link"))
    return bubble(body, header=_header(event, occurrence, now), footer=footer[:6], header_bg=_header_bg(event),
                  size="giga")


# -- choosers ---------------------------------------------------------------------------------------------------

def chooser_bubble(title: str, items: list[tuple[str, dict]], *, columns: int = 2) -> dict:
    """Tappable cells in rows (地区 with their counts): `items` are (label, postback action dict)."""
    rows = []
    for i in range(0, len(items), columns):
        cells = [box([text(lbl, size="sm", align="center", wrap=True)], action=act, flex=1,
                     backgroundColor=ACCENT_SOFT, cornerRadius="6px", paddingAll="8px")
                 for lbl, act in items[i:i + columns]]
        cells += [box([text(" ", size="sm")], flex=1) for _ in range(columns - len(cells))]
        rows.append(box(cells, "horizontal", spacing="sm"))
    return bubble([text(title, size="sm", wrap=True), *rows])
