"""A location message: the nearest 地区, and what the plan does there, with buttons into the plan.

The plan has no per-district data, so "what the plan does there" is honest about its kind: the actions whose
text names this 地区 (e.g. 片浦 in 702), then the actions every 地区 takes part in (地域コミュニティ, 地域活動).
Places and events near the point come with step 7. Only centres are known, not boundaries, so the answer says
"nearest" and how it was chosen; far from every centre it says the point seems to be outside the city.
"""
from __future__ import annotations

from bot.geo import nearest, valid_point
from handlers import location_flex as V
from handlers import ui
from handlers.context import Ctx
from handlers.flex import flex_message, tail_quick
from handlers.menu import main_menu_quick
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


def on_location(ctx: Ctx) -> list[dict]:
    msg = ctx.event.get("message")
    msg = msg if isinstance(msg, dict) else {}
    point = valid_point(msg.get("latitude"), msg.get("longitude"))
    if point is None:
        return [ui.text(T["unreadable"], main_menu_quick())]
    districts = P.districts(ctx.db)
    found = nearest(districts, *point)
    if found is None:
        return [ui.text(T["not_ready"], main_menu_quick())]
    district, km = found
    city = P.city_name(ctx.db)
    if km > OUTSIDE_KM:
        return [ui.text(T["outside"].format(city=city, name=district.name, km=V.km_text(km)),
                        [V.send_location_action(), *main_menu_quick()])]
    mentioned, local, loaded = plan_for(ctx.db, district)
    bubble = V.district_bubble(district, city, edge=km > NEAR_KM, mentioned=mentioned, local=local,
                               plan_loaded=loaded, neighbour=close_neighbour(districts, district, km, *point))
    msg_out = flex_message(T["alt"].format(name=district.name), [bubble])
    return ui.with_quick([msg_out], tail_quick(ui.postback(T["btn_list"], "plan.list"),
                                               ui.postback(T["btn_year"], "plan.year", "今年度の予定（全体）"),
                                               V.send_location_action()))


EVENTS = {"message:location": on_location}
