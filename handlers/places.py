"""こどもの居場所 on LINE: the menu (位置情報を送る, 地区から探す, 今日開いている所, 無料の所, kinds), search results
as a carousel paged with もっと見る, a place's details, and free text with filters (「今日 こども食堂 国府津」).
「近くの子ども食堂」 asks for a location and keeps the filter in the conversation state; handlers/location.py
answers the next location message with it (near_answer).

A search travels in its postback (Query: short keys), so every button repeats exactly what it showed; the keys
events read alike (ages, near) and the 地区 names are handlers/listing_common.py.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from bot.clock import to_tokyo
from bot.place_search import find_places
from handlers import listing_common as L
from handlers import places_flex as F
from handlers import ui
from handlers.context import Ctx
from handlers.flex import flex_message, pack, tail_quick
from handlers.listing_common import MAX_WORDS_CHARS, ShortParams, ages_param, district_names, near_param
from handlers.listing_query import ListingQuery, parse
from models import plan as P
from models.places import KINDS, PUBLISHED, Place

T = F.T
PAGE = 12                # LINE's carousel limit; with more to come, the last card is もっと見る
MAX_MESSAGES = 5         # per reply
NEAR_STATE = "places.near"
NEAR_TTL = timedelta(minutes=15)
FAR_KM = 10.0            # nearest places farther than this: the point is probably not in the city
MENU_KINDS = ("shokudo", "study", "hiroba", "afterschool", "play")


# -- the search a postback carries ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Query(ShortParams):
    """Filters with short postback keys (never "a" or "v": bot.postback's own); params() gives them."""

    d: str | None = None   # 地区 keys, comma-separated
    k: str | None = None   # kinds, comma-separated
    f: bool = False        # free
    r: str | None = None   # days: "td" (today, not over yet) or YYYYMMDD, several joined by "."
    ag: str | None = None  # ages "6-12"
    q: str | None = None   # words
    n: str | None = None   # near "lat,lon"
    o: int = 0             # offset

    @classmethod
    def from_params(cls, get) -> "Query":
        """`get(key) -> str | None` (a Postback's get, or a dict's). Anything malformed is dropped."""
        def s(key: str, pattern: str, n: int) -> str | None:
            v = get(key)
            return v if isinstance(v, str) and len(v) <= n and re.fullmatch(pattern, v) else None

        try:
            o = max(0, min(int(get("o") or 0), 10_000))
        except (TypeError, ValueError):
            o = 0
        q = get("q")
        return cls(d=s("d", r"[a-z0-9_-]+(,[a-z0-9_-]+){0,3}", 120), k=s("k", r"[a-z]+(,[a-z]+){0,5}", 80),
                   f=str(get("f")) == "1", r=s("r", r"td|20\d{6}(\.20\d{6}){0,6}", 70),
                   ag=s("ag", r"\d{1,2}-\d{1,2}", 5), q=q[:MAX_WORDS_CHARS] if isinstance(q, str) and q.strip() else None,
                   n=s("n", r"-?\d{1,3}\.\d{1,6},-?\d{1,3}\.\d{1,6}", 40), o=o)

    @classmethod
    def from_listing(cls, lq: ListingQuery, today: date) -> "Query":
        days = lq.dates(today)
        r = "td" if lq.today else ".".join(d.strftime("%Y%m%d") for d in days) or None
        kinds = [k for k in lq.kinds if k in KINDS]
        return cls(d=",".join(lq.districts[:4]) or None, k=",".join(kinds) or None, f=lq.free, r=r,
                   ag=ages_param(lq.age),
                   q=" ".join(lq.words)[:MAX_WORDS_CHARS] or None)

    # decoded values
    def districts(self) -> list[str]:
        return self.d.split(",") if self.d else []

    def kinds(self) -> list[str]:
        return [k for k in (self.k or "").split(",") if k in KINDS]

    def today(self) -> bool:
        return self.r == "td"

    def days(self) -> list[date]:
        if not self.r or self.r == "td":
            return []
        out = []
        for part in self.r.split("."):
            try:
                out.append(date(int(part[:4]), int(part[4:6]), int(part[6:8])))
            except ValueError:
                continue
        return out

    def ages(self) -> tuple[int, int] | None:
        return L.ages(self.ag)

    def near(self) -> tuple[float, float] | None:
        return L.near(self.n)


# -- wording of a search -------------------------------------------------------------------------------------------

def _what(q: Query, names: dict[str, str], now: datetime) -> str:
    """「近くの今日開いている無料のこども食堂」: the filters as one phrase."""
    parts = []
    if q.near():
        parts.append("近くの")
    ds = [names[k] for k in q.districts() if k in names]
    if ds:
        parts.append("・".join(ds) + "地区の")
    if q.today():
        parts.append("今日開いている")
    elif q.days():
        parts.append("・".join(F.day_text(d) for d in q.days()) + "に開いている")
    if q.f:
        parts.append("無料の")
    if (ages := q.ages()) is not None:
        parts.append((f"{ages[0]}歳" if ages[0] == ages[1] else f"{ages[0]}〜{ages[1]}歳") + "向けの")
    kinds = [F.KIND_LABELS[k] for k in q.kinds()]
    parts.append("・".join(kinds) if kinds else T["what_all"])
    what = "".join(parts)
    if q.q:
        what = f"「{q.q}」に合う" + what
    return what


# -- quick replies ----------------------------------------------------------------------------------------------------

def _search_quick(*first: dict) -> list[dict]:
    return tail_quick(*first, F.send_location_action(),
                      ui.postback(T["btn_districts"], "places.districts"),
                      ui.postback(T["btn_today"], "places.find", r="td"),
                      ui.postback(T["btn_free"], "places.find", f=1))


def menu_quick() -> list[dict]:
    kinds = [ui.postback(F.KIND_LABELS[k], "places.find", k=k) for k in MENU_KINDS]
    return tail_quick(F.send_location_action(), ui.postback(T["btn_districts"], "places.districts"),
                      ui.postback(T["btn_today"], "places.find", r="td"),
                      ui.postback(T["btn_free"], "places.find", f=1), *kinds)


# -- views --------------------------------------------------------------------------------------------------------

def show_menu(ctx: Ctx) -> list[dict]:
    return [ui.text(T["intro"], menu_quick())]


def search(ctx: Ctx, q: Query) -> list[dict]:
    """Run the search in `q` and answer with its page: a line saying what was found, then the carousel."""
    names = district_names(ctx.db)
    now = ctx.now
    days = q.days()
    kw = dict(now=now, districts=q.districts(), kinds=q.kinds(), free=q.f, age=q.ages(), open_today=q.today(),
              open_on=days or None, near=q.near())
    hits = find_places(ctx.db, text=q.q, limit=PAGE + 1, offset=q.o, **kw)
    notices = []
    if not hits and q.q and q.o == 0:
        # Left-over words matched nothing: say so, and show what the other filters find.
        notices.append(T["none_words"].format(words=q.q))
        q = replace(q, q=None)
        hits = find_places(ctx.db, limit=PAGE + 1, offset=0, **kw)
    what = _what(q, names, now)
    if hits and q.near() and q.o == 0 and hits[0].km is not None and hits[0].km > FAR_KM:
        notices.append(T["none_near"].format(km=f"{FAR_KM:.0f}"))  # the nearest are far: say so first
    if not hits:
        return [ui.text("\n".join(notices + [T["none"]]), _search_quick())]
    more = len(hits) > PAGE
    page = hits[:PAGE - 1] if more else hits
    bubbles = [F.place_bubble(h.place, now=now, opening=h.opening, km=h.km, district_name=names.get(h.place.district))
               for h in page]
    first, last = q.o + 1, q.o + len(page)
    more_action = None
    if more:
        more_action = ui.postback(T["btn_more"], "places.find", T["btn_more_display"], **replace(q, o=last).params())
        bubbles.append(F.more_bubble(last, more_action))
    if more:
        line = T["found_more"].format(what=what, start=first, end=last)
    elif q.o:
        line = T["found_page"].format(what=what, start=first, end=last)
    else:
        line = T["found"].format(what=what, n=len(page))
    if q.near():
        line += T["near_found"]
    alt = (T["alt_results_more"] if more else T["alt_results"]).format(n=len(page))
    messages = [ui.text("\n".join(notices + [line]))]
    messages += [flex_message(alt, group) for group in pack(bubbles)][:MAX_MESSAGES - 1]
    quick = _search_quick(*([more_action] if more_action else []))
    return ui.with_quick(messages, quick)


def on_find(ctx: Ctx) -> list[dict]:
    assert ctx.postback is not None
    return search(ctx, Query.from_params(ctx.postback.get))


def on_districts(ctx: Ctx) -> list[dict]:
    from handlers.settings import groups  # the kana groups 設定 uses: one way to pick a 地区 across the bot

    gs = groups(P.districts(ctx.db))
    if not gs:
        return [ui.text(T["not_ready"], menu_quick())]
    return ui.with_quick([F.districts_message(gs)], tail_quick(F.send_location_action(),
                                                                ui.postback(T["btn_places"], "places")))


def on_show(ctx: Ctx) -> list[dict]:
    assert ctx.postback is not None
    pid = ctx.postback.int("id")
    place = None
    if pid is not None and 0 < pid < 2**63:
        place = ctx.db.scalar(select(Place).options(selectinload(Place.hours))
                              .where(Place.id == pid, Place.status == PUBLISHED))
    if place is None:
        return [ui.text(T["gone"], menu_quick())]
    organisation = None
    if place.organisation_id is not None and not place.organiser_name:
        from models.accounts import Organisation

        org = ctx.db.get(Organisation, place.organisation_id)
        organisation = org.name if org else None
    msg = F.detail_message(place, now=ctx.now, district_name=district_names(ctx.db).get(place.district),
                           organisation=organisation)
    return ui.with_quick([msg], tail_quick(ui.postback(T["btn_places"], "places")))


# -- free text -------------------------------------------------------------------------------------------------------

def _listing(ctx: Ctx) -> ListingQuery:
    districts = P.districts(ctx.db)
    lq = parse(ctx.text, districts)
    target = getattr(ctx.intent, "target", None)
    if target and not lq.districts:  # the classifier found a 地区 the parser did not (a reading, say)
        key = next((d.key for d in districts if d.name == target), None)
        if key:
            lq = replace(lq, districts=(key,))
    return lq


def ask_location(ctx: Ctx, q: Query) -> list[dict]:
    """「近くの子ども食堂」: keep the filters until the resident sends where they are."""
    if ctx.user is not None:
        ctx.set_state(NEAR_STATE, data=replace(q, o=0, n=None).params(), ttl=NEAR_TTL)
    kinds = [F.KIND_LABELS[k] for k in q.kinds()]
    what = "・".join(kinds) if kinds else T["ask_location_what"]
    return [ui.text(T["ask_location"].format(what=what), tail_quick(F.send_location_action(),
                                                                    ui.postback(T["btn_districts"], "places.districts")))]


def on_intent(ctx: Ctx) -> list[dict]:
    lq = _listing(ctx)
    q = Query.from_listing(lq, to_tokyo(ctx.now).date())
    if lq.near_me and not lq.districts:
        return ask_location(ctx, q)
    if q.params():
        return search(ctx, q)
    return show_menu(ctx)


def near_answer(ctx: Ctx, lat: float, lon: float, data: dict | None) -> list[dict]:
    """The location a resident sent after 「近くの…」: the kept filters, nearest first."""
    kept = {k: str(int(v)) if isinstance(v, (bool, int)) else v for k, v in (data or {}).items()}
    q = Query.from_params(kept.get)
    return search(ctx, replace(q, n=near_param(lat, lon), o=0))


POSTBACKS = {"places": show_menu, "places.find": on_find, "places.districts": on_districts, "places.show": on_show}
INTENTS = {"places": on_intent}
EVENTS: dict = {}
FLOWS: dict = {}
COMMANDS: dict = {}
