"""Find published children's places by district, kind, cost, age, the day they open, distance and words.

Two steps keep a search lean with thousands of places:
  1. SQL narrows the rows (status, district, kind, cost, age overlap, a place_hours row on the asked weekday,
     a bounding box around `near` (bot/geo.py: bbox), words) and reads only the columns the ordering needs,
     with the weekly rows in one more query;
  2. Python applies the exact rules (bot/opening_hours.py: holidays, 第N週, year end, dates off; distance on
     the sphere), orders the hits, and loads the page's places (with their hours: selectinload) by id.
Nearest first when `near` is given, else open soonest first (open now, then by the next opening).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Iterable

from sqlalchemy import String, and_, cast, func, or_, select
from sqlalchemy.orm import Session, aliased, selectinload

from bot import opening_hours as OH
from bot.clock import to_tokyo
from bot.geo import bbox, haversine_km
from bot.listing_search import age_range, contains, words as split_words
from models.places import FREE, PUBLISHED, Place, PlaceHours

# Bounding boxes tried in turn around `near` (km); past the last, every place with a point.
RADII_KM = (2.0, 5.0, 15.0, 50.0)
MAX_WORDS = 5  # words of `text` searched, the rest dropped
TEXT_COLUMNS = (Place.name, Place.name_kana, Place.name_common, Place.address, Place.description,
                Place.organiser_name)


@dataclass(frozen=True)
class PlaceHit:
    place: Place
    opening: OH.Opening | None
    km: float | None


class _Row:
    """The columns of a place the ordering needs, with its weekly rows (what opening_hours reads)."""

    __slots__ = ("id", "name", "lat", "lon", "holidays_off", "year_end_off", "closed", "extra", "hours", "km",
                 "opening")

    def __init__(self, r) -> None:
        (self.id, self.name, self.lat, self.lon, self.holidays_off, self.year_end_off, self.closed,
         self.extra) = r
        self.hours: list = []
        self.km: float | None = None
        self.opening: OH.Opening | None = None

    def schedule(self) -> OH.Schedule:
        # The JSON columns are read as text and decoded only when they hold something (most hold []).
        return OH.Schedule(self.hours, self.holidays_off, self.year_end_off, _json_list(self.closed),
                           _json_list(self.extra))


def _json_list(raw) -> list:
    if not raw or raw == "[]":
        return []
    if isinstance(raw, list):
        return raw
    try:
        value = json.loads(raw)
    except ValueError:
        return []
    return value if isinstance(value, list) else []


def _box(lat: float, lon: float, km: float):
    south, north, west, east = bbox(lat, lon, km)
    return and_(Place.lat.between(south, north), Place.lon.between(west, east))


def _weekdays(days: list[date], today: date) -> list[int]:
    """The weekdays whose rows can open on `days` (yesterday's too when today is asked: across midnight)."""
    wds = {d.weekday() for d in days}
    if today in days:
        wds.add((today.weekday() - 1) % 7)
    return sorted(wds)


def _conditions(*, districts, kinds, free, age, days: list[date], now: datetime, words) -> list:
    conds = [Place.status == PUBLISHED]
    if districts:
        conds.append(Place.district.in_(list(districts)))
    if kinds:
        conds.append(Place.kind.in_(list(kinds)))
    if free:
        conds.append(Place.cost_kind == FREE)
    if (rng := age_range(age)) is not None:
        lo, hi = rng
        conds.append(or_(Place.age_min.is_(None), Place.age_min <= hi))
        conds.append(or_(Place.age_max.is_(None), Place.age_max >= lo))
    if days:
        ph = aliased(PlaceHours)  # the hours query joins place_hours itself: keep this one apart
        today = now.date()
        others = sorted({d.weekday() for d in days if d != today})
        on_day = [ph.weekday.in_(others)] if others else []
        if today in days:
            # Today's rows not over yet, and yesterday's that run past midnight beyond now.
            minute = now.hour * 60 + now.minute
            wd = today.weekday()
            on_day += [and_(ph.weekday == wd, ph.closes > minute),
                       and_(ph.weekday == (wd - 1) % 7, ph.closes > 1440 + minute)]
        # Uncorrelated: read once and hashed, whatever the planner's statistics say (a correlated EXISTS ran
        # once per place on a table never analysed).
        weekly = Place.id.in_(select(ph.place_id).where(or_(*on_day)))
        extra = func.coalesce(cast(Place.extra_dates, String), "[]") != "[]"
        conds.append(or_(weekly, extra))
    for w in words:
        conds.append(or_(*(contains(col, w, ignore_case=True) for col in TEXT_COLUMNS)))
    return conds


_PLACE_COLUMNS = (Place.id, Place.name, Place.lat, Place.lon, Place.closed_on_holidays, Place.closed_year_end,
                  cast(Place.closed_dates, String), cast(Place.extra_dates, String))
_HOURS_COLUMNS = (PlaceHours.weekday, PlaceHours.opens, PlaceHours.closes, PlaceHours.weeks)


def _candidates(db: Session, conds: list, *, with_hours: bool, weekdays: list[int] | None = None) -> list[_Row]:
    """The matching places' columns, with their weekly rows when asked (one query: places LEFT JOIN hours),
    only those of `weekdays` when given (a day filter reads no other)."""
    conn = db.connection()  # Core rows: the ORM's row processing cost more than the query for plain columns
    if not with_hours:
        return [_Row(r) for r in conn.execute(select(*_PLACE_COLUMNS).where(*conds)).all()]
    on = PlaceHours.place_id == Place.id
    if weekdays is not None:
        on = and_(on, PlaceHours.weekday.in_(weekdays))
    q = select(*_PLACE_COLUMNS, *_HOURS_COLUMNS).outerjoin(PlaceHours, on).where(*conds)
    by_id: dict[int, _Row] = {}
    for r in conn.execute(q).all():
        row = by_id.get(r[0])
        if row is None:
            row = by_id[r[0]] = _Row(r[:8])
        if r[8] is not None:
            row.hours.append(r[8:])
    return list(by_id.values())


def find_places(db: Session, *, now: datetime, districts=(), kinds=(), free: bool = False, age=None,
                open_today: bool = False, open_on: date | Iterable[date] | None = None,
                near: tuple[float, float] | None = None, text=None, limit: int = 10, offset: int = 0) -> list[PlaceHit]:
    """Published places matching every filter given. `age`: years, or a (lo, hi) range that must overlap the
    place's ages. `open_today`: an opening today that has not ended; `open_on`: one starting on that date, or
    on any of several dates (週末), and not ended when it is today; past dates match nothing. `text`: words,
    each found in the name, reading, address, description or organisation. The hit's `opening` is the first
    matching day's opening with a day filter, else the next one."""
    now = to_tokyo(now)
    today = now.date()
    asked = [open_on] if isinstance(open_on, date) else list(open_on or ())
    days = sorted({d for d in asked if d >= today} | ({today} if open_today else set()))
    if (asked or open_today) and not days:
        return []  # only past days asked
    words = split_words(text, MAX_WORDS)
    conds = _conditions(districts=districts, kinds=kinds, free=free, age=age, days=days, now=now, words=words)
    weekdays = _weekdays(days, today) if days else None
    want = max(0, offset) + max(0, limit)
    if limit <= 0:
        return []
    day = days[0] if days else None  # "a day filter is on"

    def opening_of(r) -> OH.Opening | None:
        sched = r.schedule()
        if not days:
            return OH.next_opening(sched, now)
        for d in days:
            if d == today:  # running since yesterday, or later today
                o = OH.next_opening(sched, now, horizon_days=0, beyond=False)
            else:
                o = OH.next_opening_on(sched, d, now)
            if o is not None:
                return o
        return None

    if near is not None:
        lat, lon = near
        rows: list[_Row] = []
        for radius in (*RADII_KM, None):
            box = [_box(lat, lon, radius)] if radius is not None else [Place.lat.is_not(None), Place.lon.is_not(None)]
            rows = _candidates(db, conds + box, with_hours=day is not None, weekdays=weekdays)
            for r in rows:
                r.km = haversine_km(lat, lon, r.lat, r.lon)
            if day is not None:
                for r in rows:
                    r.opening = opening_of(r)
                rows = [r for r in rows if r.opening is not None]
            # Only points within the radius are sure to be nearer than anything outside the box.
            inside = [r for r in rows if radius is None or r.km <= radius]
            if radius is None or len(inside) >= want:
                rows = inside
                break
        rows.sort(key=lambda r: (r.km, r.name, r.id))
    else:
        rows = _candidates(db, conds, with_hours=True, weekdays=weekdays)
        if day is None:
            # Open-soonest needs every row's next opening, but a place open today sorts before any that is not:
            # when today fills the page, the others need no search through the coming weeks.
            for r in rows:
                r.opening = OH.next_opening(r.schedule(), now, horizon_days=0, beyond=False)
            if sum(1 for r in rows if r.opening is not None) < want:
                for r in rows:
                    if r.opening is None:
                        r.opening = opening_of(r)
        else:
            for r in rows:
                r.opening = opening_of(r)
            rows = [r for r in rows if r.opening is not None]
        far = datetime.max.replace(tzinfo=now.tzinfo)
        rows.sort(key=lambda r: (r.opening is None, max(r.opening.start, now) if r.opening else far,
                                 r.opening.end if r.opening else far, r.name, r.id))

    page = rows[offset:want]
    if not page:
        return []
    places = {p.id: p for p in db.scalars(select(Place).options(selectinload(Place.hours))
                                          .where(Place.id.in_([r.id for r in page])))}
    hits = []
    for r in page:
        p = places.get(r.id)
        if p is None:
            continue
        opening = r.opening if (day is not None or near is None) else OH.next_opening(p, now)
        hits.append(PlaceHit(p, opening, r.km))
    return hits
