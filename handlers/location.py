"""A location message, anywhere in the conversation, means "what is near me": the nearest children's places
(with their next opening) and the nearest upcoming events, nearest first with distances, then the nearest 地区
and what the plan does there, as one carousel.

After 「近くの子ども食堂」 (handlers/places.py: ask_location) the conversation state holds that search, and the
location answers it instead: places only, with the kept filters.

The plan has no per-district data, so "what the plan does there" is honest about its kind: the actions whose
text names this 地区 (e.g. 片浦 in 702), then the actions every 地区 takes part in (地域コミュニティ, 地域活動).
Only centres are known, not boundaries, so the answer says "nearest" and how it was chosen; far from every
centre it says the point seems to be outside the city.
"""
from __future__ import annotations

from bot.geo import nearest, valid_point
from bot.place_search import find_places
from handlers import location_flex as V
from handlers import places, ui
from handlers.context import Ctx
from handlers.flex import flex_message, tail_quick
from handlers.menu import main_menu_quick
from handlers.places_flex import place_bubble
from models import plan as P

T = V.T
# Distances from the nearest 地区 centre. Within NEAR_KM the point is in or near that 地区 (the centres are
# estimates, ±1-2 km); beyond it the point is near the city's edge or just outside (箱根湯本 is ~3 km from 大窪's
# centre); beyond OUTSIDE_KM the point is taken to be outside: the city's farthest corners (久野's western
# hills) are expected to lie about 4.5 km from a centre.
NEAR_KM = 2.5
OUTSIDE_KM = 6.0
# The border note is shown only when another 地区's centre is nearly as close: within this factor of the
# nearest distance, or this many km farther. Far from every other centre the answer needs no caveat.
CLOSE_RATIO = 1.3
CLOSE_KM = 1.0
# Words in an action's text that mark work every 地区 takes part in.
LOCAL_WORDS = ("各地区", "地域コミュニティ", "地域活動")
MAX_ROWS = 4  # actions per section: the bubble stays short on a phone
# What is near: at most this many of each in the carousel (with the 地区 card: 11 of LINE's 12), within this
# distance (a point just outside the city still finds what is near it; Tokyo finds nothing).
NEAR_PLACES = 5
NEAR_EVENTS = 5
NEAR_WITHIN_KM = 10.0


def _action_text(a) -> str:
    return "".join([a.name, *a.details, a.note or "", *(it.text for it in a.roadmap)])


def _mentions(body: str, district) -> bool:
    """The action's text names this 地区 as a 地区 (「片浦地区」): short names such as 緑 or 幸 appear in other words."""
    return any(f"{form}地区" in body for form in (district.name, *(district.aliases or [])))


def plan_for(db, district) -> tuple[list, list, bool]:
    """(actions naming the 地区, actions for every 地区, whether a plan is loaded)."""
    actions = [a for p in P.projects(db, with_roadmap=True) for a in p.actions if not a.merged_into]
    text = {id(a): _action_text(a) for a in actions}  # each action's whole text, joined once
    mentioned = [a for a in actions if _mentions(text[id(a)], district)][:MAX_ROWS]
    local = [a for a in actions if a not in mentioned and any(w in text[id(a)] for w in LOCAL_WORDS)]
    return mentioned, local[:MAX_ROWS], bool(actions)


def close_neighbour(districts, found, km: float, lat: float, lon: float):
    """The next-nearest 地区 when its centre is nearly as close as the nearest one's, else None."""
    others = [d for d in districts if d is not found]
    second = nearest(others, lat, lon)
    if second is None:
        return None
    other, km2 = second
    return other if km2 <= km * CLOSE_RATIO or km2 - km <= CLOSE_KM else None


def near_places(ctx: Ctx, lat: float, lon: float) -> tuple[list, bool]:
    """(the nearest published places within NEAR_WITHIN_KM, each with its next opening; whether more are near).
    The same order as 「近くの居場所をもっと見る」 (places.find near the point), so its page 2 starts where
    this ends."""
    hits = [h for h in find_places(ctx.db, now=ctx.now, near=(lat, lon), limit=NEAR_PLACES + 1)
            if h.km is not None and h.km <= NEAR_WITHIN_KM]
    return hits[:NEAR_PLACES], len(hits) > NEAR_PLACES


def near_events(ctx: Ctx, lat: float, lon: float) -> list:
    """The nearest upcoming events (bot/event_search.py), within NEAR_WITHIN_KM."""
    try:
        from bot.event_search import find_events
    except ImportError:  # the events feature is not in this build
        return []
    hits = find_events(ctx.db, now=ctx.now, near=(lat, lon), within_km=NEAR_WITHIN_KM, limit=NEAR_EVENTS)
    return [h for h in hits if h.km is None or h.km <= NEAR_WITHIN_KM]


def _event_bubbles(ctx: Ctx, hits: list, names: dict[str, str]) -> list[dict]:
    if not hits:
        return []
    from handlers.events_flex import event_bubble

    return [event_bubble(h.event, h.occurrence, now=ctx.now, km=h.km, district_name=names.get(h.event.district))
            for h in hits]


def on_location(ctx: Ctx) -> list[dict]:
    msg = ctx.event.get("message")
    msg = msg if isinstance(msg, dict) else {}
    point = valid_point(msg.get("latitude"), msg.get("longitude"))
    if point is None:
        return [ui.text(T["unreadable"], main_menu_quick())]
    if ctx.state is not None and ctx.state.flow == places.NEAR_STATE:  # 「近くの子ども食堂」 asked for this
        data = dict(ctx.state.data or {})
        ctx.clear_state()
        return places.near_answer(ctx, *point, data)
    districts = P.districts(ctx.db)
    names = {d.key: d.name for d in districts}
    found = nearest(districts, *point)
    city = P.city_name(ctx.db)
    if found is not None and found[1] > OUTSIDE_KM:
        district, km = found
        return [ui.text(T["outside"].format(city=city, name=district.name, km=V.km_text(km)),
                        [V.send_location_action(), *main_menu_quick()])]
    place_hits, more_places = near_places(ctx, *point)
    event_hits = near_events(ctx, *point)
    cards = [place_bubble(h.place, now=ctx.now, opening=h.opening, km=h.km, district_name=names.get(h.place.district))
             for h in place_hits] + _event_bubbles(ctx, event_hits, names)
    if found is None and not cards:
        return [ui.text(T["not_ready"], main_menu_quick())]
    here = places.near_param(*point)
    quick = []
    if more_places:
        quick.append(ui.postback(T["btn_more_places"], "places.find", T["btn_more_places"], n=here, o=len(place_hits)))
    if event_hits:
        quick.append(ui.postback(T["btn_events"], "events.find", T["btn_events"], n=here))
    quick.append(ui.postback(T["btn_list"], "plan.list"))
    if found is not None:
        district, km = found
        mentioned, local, loaded = plan_for(ctx.db, district)
        cards.append(V.district_bubble(district, city, edge=km > NEAR_KM, mentioned=mentioned, local=local,
                                       plan_loaded=loaded, neighbour=close_neighbour(districts, district, km, *point),
                                       nothing_near=not (place_hits or event_hits)))
        quick.append(ui.postback(T["btn_year"], "plan.year", "今年度の予定（全体）"))
        alt = T["alt"].format(name=district.name)
    else:
        alt = T["alt_near"]
    if place_hits or event_hits:
        alt = T["alt_near"] + (f"（{found[0].name}地区のあたり）" if found is not None else "")
    msg_out = flex_message(alt, cards)
    return ui.with_quick([msg_out], tail_quick(*quick, V.send_location_action()))


EVENTS = {"message:location": on_location}
