"""LINE views of こどもの居場所: a place's bubble (the carousel's card and the admin preview), the detail view,
the 地区 chooser and the もっと見る card. Pure functions from rows and values to message dicts; wording from
handlers/places_vocab.yaml, shared pieces from handlers/flex.py, opening times from bot/opening_hours.py."""
from __future__ import annotations

import re
from datetime import date, datetime

from bot import opening_hours as OH
from bot.clock import to_tokyo
from bot.geo import map_url
from handlers import ui
from handlers.flex import ACCENT, MUTED, NOW, box, bubble, button, flex_message, separator, text
from handlers.texts import vocab

V = vocab("places")
T: dict[str, str] = V["texts"]
KIND_LABELS: dict[str, str] = {k: spec["label"] for k, spec in V["kinds"].items()}
NAME_LINES = 2
WEEKDAYS = OH.WEEKDAYS


def clip(node: dict, lines: int) -> dict:
    return {**node, "maxLines": lines}


# -- values as residents read them -------------------------------------------------------------------------------

LONG_CHARS = 400   # one field's text in the detail view (the whole message must stay under LINE's 30 KB)


def excerpt(s: str | None, limit: int = LONG_CHARS) -> str:
    """A long text cut at a sentence end where one is near the limit, else with 「…」."""
    s = (s or "").strip()
    if len(s) <= limit:
        return s
    cut = s.rfind("。", 0, limit)
    return s[: cut + 1] if cut >= limit // 2 else s[: limit - 1] + "…"


def km_text(km: float) -> str:
    return T["km"].format(km=f"{km:.1f}" if km < 10 else f"{km:.0f}")


def ages_text(place) -> str:
    lo, hi = place.age_min, place.age_max
    if lo is None and hi is None:
        return T["ages_any"]
    if hi is None:
        return T["ages_from"].format(lo=lo)
    if lo is None:
        return T["ages_to"].format(hi=hi)
    return T["ages_range"].format(lo=lo, hi=hi)


def cost_text(place, *, with_note: bool = True) -> str:
    if place.cost_kind == "free":
        s = T["cost_free"]
    elif place.cost_yen is not None:
        s = (T["cost_per_meal"] if place.cost_kind == "per_meal" else T["cost_amount"]).format(yen=f"{place.cost_yen:,}")
    else:
        s = T["cost_paid"]
    if with_note and place.cost_note:
        s += f"（{place.cost_note}）"
    return s


def tel_uri(phone: str | None) -> str | None:
    digits = re.sub(r"[^0-9+]", "", phone or "")
    return f"tel:{digits}" if 6 <= len(digits.lstrip("+")) <= 15 else None


def web_uri(url: str | None) -> str | None:
    return url if url and re.match(r"https?://[^\s]+$", url) and len(url) <= 1000 else None


def date_text(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def day_text(d: date) -> str:
    return f"{d.month}/{d.day}（{WEEKDAYS[d.weekday()]}）"


def _row(label: str, value: str, *, color: str | None = None, bold: bool = False) -> dict:
    return box([text(label, size="sm", color=MUTED, flex=2),
                text(value, size="sm", flex=5, weight="bold" if bold else None, **({"color": color} if color else {}))],
               "horizontal", spacing="md")


def _link_buttons(place) -> list[dict]:
    out = []
    if (url := map_url(place.lat, place.lon, place.address)) is not None:
        out.append(button(ui.uri_action(T["btn_map"], url)))
    if (tel := tel_uri(place.phone)) is not None:
        out.append(button(ui.uri_action(T["btn_call"], tel)))
    return out


def _when(place, opening, now: datetime) -> tuple[str, bool]:
    """(「今日 15:00〜18:00」, whether it is today or now: drawn in the "here" colour)."""
    desc = OH.describe_next(opening, now)
    soon = opening is not None and to_tokyo(opening.start).date() <= to_tokyo(now).date()
    return desc, soon


# -- the carousel's card ---------------------------------------------------------------------------------------------

def place_bubble(place, *, now: datetime, opening=None, km: float | None = None,
                 district_name: str | None = None) -> dict:
    """One place as a card: kind, name, next opening, where (and how far), ages, cost, booking; buttons 詳細,
    地図 and 電話 (when there is a number). `opening`: from a search (that day's with a day filter); computed
    when not given. Also the admin preview."""
    if opening is None:
        opening = OH.next_opening(place, now)
    when, soon = _when(place, opening, now)
    where = [f"{district_name}地区" if district_name else (place.address or "")]
    if km is not None:
        where.append(km_text(km))
    body = [text(KIND_LABELS.get(place.kind, KIND_LABELS["other"]), size="xs", color=ACCENT, weight="bold"),
            clip(text(excerpt(place.name, 80), size="lg", weight="bold"), NAME_LINES),
            _row(T["label_when"], when, color=NOW if soon else None, bold=soon)]
    if any(where):
        body.append(_row(T["label_place"], "・".join(w for w in where if w)))
    body += [_row(T["label_ages"], ages_text(place)), _row(T["label_cost"], cost_text(place, with_note=False))]
    if place.booking_required:
        body.append(text(T["booking"], size="xs", color=NOW, margin="sm"))
    footer = [button(ui.postback(T["btn_detail"], "places.show", f"{place.name}の詳細"[:300], id=place.id),
                     "primary")]
    links = _link_buttons(place)
    if links:
        footer.append(box(links, "horizontal", spacing="sm"))
    return bubble(body, footer=footer)


def more_bubble(next_offset: int, action: dict) -> dict:
    """The last card when more results follow: もっと見る."""
    body = [text(T["more_title"], size="lg", weight="bold"),
            text(T["more_body"].format(start=next_offset + 1), size="sm", color=MUTED)]
    return bubble(body, footer=[button(action, "primary")])


# -- the detail view ----------------------------------------------------------------------------------------------------

def _section(label: str, lines: list[str]) -> list[dict]:
    lines = [excerpt(x) for x in lines if x]
    if not lines:
        return []
    return [separator("md"), text(label, size="xs", color=MUTED, weight="bold", margin="md"),
            *[text(x, size="sm") for x in lines]]


def upcoming_dates(place, today: date, *, limit: int = 3) -> tuple[list[date], list[tuple[date, str]]]:
    """(dates off from today on, extra dates from today on with their hours), a few of each."""
    off = sorted(d for d in (OH._iso(x) for x in place.closed_dates or ()) if d and d >= today)[:limit]
    extra = []
    for item in place.extra_dates or ():
        if isinstance(item, dict) and (d := OH._iso(item.get("date"))) and d >= today:
            extra.append((d, f"{item.get('open', '')}〜{item.get('close', '')}"))
    return off, sorted(extra)[:limit]


def detail_bubble(place, *, now: datetime, district_name: str | None = None, organisation: str | None = None) -> dict:
    """Everything a parent needs before going: where, when, for whom, cost, booking, contact, accessibility,
    who runs it, and when the facts were last checked."""
    opening = OH.next_opening(place, now)
    when, soon = _when(place, opening, now)
    header = [text(KIND_LABELS.get(place.kind, KIND_LABELS["other"]), size="sm", color=ACCENT, weight="bold"),
              text(excerpt(place.name, 120), size="xl", weight="bold")]
    if place.name_kana:
        header.append(text(place.name_kana, size="xs", color=MUTED))
    body = [_row(T["label_when"], when, color=NOW if soon else None, bold=soon),
            _row(T["label_ages"], ages_text(place)),
            _row(T["label_cost"], excerpt(cost_text(place), 200)),
            _row(T["label_booking"], T["booking"] if place.booking_required else T["no_booking"],
                 color=NOW if place.booking_required else None)]
    address = " ".join(x for x in (place.address, place.address_note) if x)
    area = f"{district_name}地区" if district_name else ""
    body += _section(T["label_address"], [address, area])
    today = to_tokyo(now).date()
    off, extra = upcoming_dates(place, today)
    hours = OH.weekly_text(place) or [T["hours_none"]]
    hours += ["・".join(OH.exceptions_text(place))] if OH.exceptions_text(place) else []
    if off:
        hours.append("お休み：" + "、".join(day_text(d) for d in off))
    if extra:
        hours.append("臨時：" + "、".join(f"{day_text(d)} {h}" for d, h in extra))
    body += _section(T["label_hours"], hours)
    body += _section(T["label_hours_note"], [place.hours_note or ""])
    body += _section(T["label_about"], [place.description or ""])
    phone = (place.phone or "") + (T["phone_ext"].format(ext=place.phone_ext) if place.phone and place.phone_ext else "")
    body += _section(T["label_contact"], [place.contact_name or "", phone, web_uri(place.url) or ""])
    body += _section(T["label_access"], [place.accessibility or ""])
    body += _section(T["label_org"], [organisation or place.organiser_name or ""])
    body += _section(T["label_note"], [place.note or ""])
    verified = T["label_verified"].format(date=date_text(place.verified_on)) if place.verified_on \
        else T["label_unverified"]
    body += [separator("md"), text(verified, size="xs", color=MUTED, margin="md")]
    footer = _link_buttons(place)
    if (web := web_uri(place.url)) is not None:
        footer.append(button(ui.uri_action(T["btn_web"], web)))
    return bubble(body, header=header, footer=footer or None, size="giga")


def detail_message(place, *, now: datetime, district_name: str | None = None, organisation: str | None = None) -> dict:
    return flex_message(T["detail_alt"].format(name=place.name),
                        [detail_bubble(place, now=now, district_name=district_name, organisation=organisation)])


# -- the 地区 chooser ---------------------------------------------------------------------------------------------------

def districts_message(groups) -> dict:
    """One card per kana group (handlers/settings.groups), each 地区 a button into the search."""
    bubbles = []
    for g in groups:
        body = [text(T["districts_hint"], size="sm", color=MUTED)]
        body += [button(ui.postback(name, "places.find", T["district_display"].format(name=name), d=key))
                 for key, name in g.districts]
        header = [text(T["districts_title"], size="sm", color=ACCENT, weight="bold"),
                  text(g.label, size="xl", weight="bold")]
        bubbles.append(bubble(body, header=header))
    label = "・".join(g.label for g in groups)
    return flex_message(T["districts_alt"].format(label=label), bubbles)


def send_location_action() -> dict:
    return {"type": "location", "label": ui.label(T["btn_location"])}
