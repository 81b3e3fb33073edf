"""Finding events for residents: one SQL query over materialised occurrences joined to their events.

find_events() answers every LINE search (this week, this weekend, a day, by 地区, by project, for children,
free, an age, words, near a point). Each event appears once, as its first occurrence that matches (a weekly
event does not fill a carousel with itself); hits come soonest first, or nearest first when `near` is given.

Why it stays fast (bench/search.py, 20,000 events): the filters are one WHERE over event_occurrences (indexed
on starts_at and district) joined to events by primary key; "first matching occurrence of its event" is a
NOT EXISTS probe on the event_id index, so a soonest-first search walks the starts_at index and stops after
one page. Near: a bounding box and a flat-earth distance (plain arithmetic, same on SQLite and PostgreSQL)
order the rows in SQL (bot/geo.py: bbox, flat_km); the page's distances are then the haversine.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Iterable, Sequence

from sqlalchemy import String, and_, cast, exists, literal, not_, or_, select
from sqlalchemy.orm import Session, aliased, contains_eager

from bot.clock import TOKYO, to_tokyo, utc
from bot.geo import bbox, flat_km, haversine_km, lon_scale
from bot.listing_search import age_range, contains, words as split_words
from models.events import FREE, VISIBLE, Event, EventOccurrence

CHILD_AGE_MAX = 15  # an event whose upper age is at most this is for children (中学生まで)
# Words in a title or tag that mark an event for children and families (ages often left blank).
KIDS_WORDS = ("こども", "子ども", "子供", "キッズ", "親子", "小学生", "中学生", "児童", "乳幼児", "幼児",
              "赤ちゃん", "未就学", "ファミリー", "家族")
NEAR_KM = 10.0  # `near` without a radius: the whole city and a little beyond
WIDENING_KM = (1.0, 3.0)  # boxes tried first for `near` (see find_events)
MAX_WORDS = 8  # words of `text` searched, the rest dropped


@dataclass(frozen=True)
class EventHit:
    event: Event
    occurrence: EventOccurrence
    km: float | None = None


# -- date ranges (Asia/Tokyo) -------------------------------------------------------------------------------------

def _tokyo_midnight(d: date) -> datetime:
    return datetime.combine(d, time(0), TOKYO)


def day_range(d: date) -> tuple[datetime, datetime]:
    """One Tokyo calendar day: [00:00, next 00:00)."""
    return _tokyo_midnight(d), _tokyo_midnight(d + timedelta(days=1))


def this_week(now: datetime) -> tuple[datetime, datetime]:
    """From now to the end of Sunday (Tokyo): 今週."""
    today = to_tokyo(now).date()
    return utc(now), _tokyo_midnight(today + timedelta(days=7 - today.weekday()))


def this_weekend(now: datetime) -> tuple[datetime, datetime]:
    """Saturday and Sunday of this week (Tokyo), from now when the weekend has begun: 今週末."""
    today = to_tokyo(now).date()
    saturday = today + timedelta(days=5 - today.weekday())
    start = max(utc(now), _tokyo_midnight(saturday)) if today.weekday() < 5 else utc(now)
    return start, _tokyo_midnight(saturday + timedelta(days=2) if today.weekday() < 6 else today + timedelta(days=1))


def _bound(value: datetime | date | None, *, end: bool) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("start/end must be aware datetimes (or dates, taken as Tokyo days)")
        return utc(value)
    return utc(_tokyo_midnight(value + timedelta(days=1) if end else value))  # a date's whole day


# -- filters --------------------------------------------------------------------------------------------------------

def _occurrence_conds(o, now: datetime, start: datetime | None, end: datetime | None) -> list:
    """Conditions on one occurrence row (also the ones the first-of-its-event probe repeats)."""
    conds = [o.visible.is_(True), o.ends_at > now]
    if start is not None:
        conds.append(o.ends_at > start)
    if end is not None:
        conds.append(o.starts_at < end)
    return conds


def _narrowing(*, projects, words) -> list:
    """Event conditions that usually match few events (a project, words): checked against a list of event
    ids built once per query (see _soonest)."""
    conds = []
    if projects:
        conds.append(Event.project.in_([int(p) for p in projects]))
    for w in words:
        conds.append(or_(contains(Event.title, w), contains(Event.description, w)))
    return conds


def _broad(*, children, free, age, tag_form) -> list:
    """Event conditions that usually match many events (children, free, ages): checked on each joined row."""
    conds = []
    if free:
        conds.append(Event.cost_kind == FREE)
    if children:
        conds.append(or_(and_(Event.age_max.is_not(None), Event.age_max <= CHILD_AGE_MAX),
                         *(contains(Event.title, w) for w in KIDS_WORDS),
                         *(contains(cast(Event.tags, String), tag_form(w)) for w in KIDS_WORDS)))
    if (ages := age_range(age)) is not None:
        lo, hi = ages
        conds.append(or_(Event.age_min.is_(None), Event.age_min <= hi))
        conds.append(or_(Event.age_max.is_(None), Event.age_max >= lo))
    return conds


def _tag_form(db: Session):
    """How a word looks inside the stored JSON of `tags`: the engine's JSON serializer (json.dumps, which
    writes \\u escapes for Japanese unless told otherwise), so one LIKE per word finds it."""
    dumps = getattr(db.get_bind().dialect, "_json_serializer", None) or json.dumps
    return lambda w: dumps(w)[1:-1]


def find_events(db: Session, *, now: datetime, start: datetime | date | None = None,
                end: datetime | date | None = None, districts: Iterable[str] = (), projects: Iterable[int] = (),
                children: bool = False, free: bool = False, age: int | tuple[int, int] | None = None,
                near: tuple[float, float] | None = None, within_km: float = NEAR_KM,
                text: str | Sequence[str] | None = None, limit: int = 10, offset: int = 0) -> list[EventHit]:
    """Visible (published or 中止) events not yet ended, each once as its first occurrence matching the
    filters: soonest first, or nearest first within `within_km` of `near` (events without a point are left
    out then). `start`/`end`: aware datetimes, or dates taken as whole Tokyo days (end inclusive); an
    occurrence matches when it overlaps [start, end). `age`: an age or an (lo, hi) range, matched by overlap
    with the event's ages (blank = any). `text`: every word in the title or description."""
    now = utc(now)
    lo, hi = _bound(start, end=False), _bound(end, end=True)
    districts, projects = [str(d) for d in districts], [int(p) for p in projects]
    limit, offset = max(0, int(limit)), max(0, int(offset))
    if limit == 0 or (lo is not None and hi is not None and hi <= lo):
        return []
    O, O2 = EventOccurrence, aliased(EventOccurrence)
    occ = _occurrence_conds(O, now, lo, hi) + ([O.district.in_(districts)] if districts else [])
    narrow = _narrowing(projects=projects, words=split_words(text, MAX_WORDS))
    broad = _broad(children=children, free=free, age=age, tag_form=_tag_form(db))
    visible = Event.status.in_(VISIBLE)
    if near is None:
        stmt = _soonest(O, O2, now, lo, hi, occ, narrow, broad, visible).limit(limit).offset(offset)
        rows = db.scalars(stmt.options(contains_eager(O.event))).unique().all()
        return [EventHit(o.event, o, None) for o in rows]
    lat0, lon0 = float(near[0]), float(near[1])
    if not (math.isfinite(lat0) and math.isfinite(lon0)) or not within_km > 0:
        return []
    # A small box first: in a busy city the page is usually inside 1 km, and a box of the whole city costs
    # a distance and a probe for every event. A page is exact once its last hit is no farther than the box's
    # half-width (anything outside the box is farther); else the box widens.
    for km in [r for r in WIDENING_KM if r < within_km] + [within_km]:
        stmt = _nearest(O, O2, now, lo, hi, districts, narrow + broad, visible, lat0, lon0, km, limit, offset)
        rows = db.scalars(stmt.options(contains_eager(O.event))).unique().all()
        if len(rows) == limit and flat_km(lat0, lon0, rows[-1].event.lat, rows[-1].event.lon) <= km:
            break
    hits = [EventHit(o.event, o, haversine_km(lat0, lon0, o.event.lat, o.event.lon)) for o in rows]
    hits.sort(key=lambda h: h.km)  # the flat-earth order, refined (a few metres at most within a city)
    return hits


def _soonest(O, O2, now, lo, hi, occ, narrow, broad, visible):
    """Walk occurrences in start order (the starts_at index) and stop after the page. An occurrence counts
    when no earlier one of its event matches too (a NOT EXISTS probe on the event_id index). Broad event
    filters are checked on the joined event. Narrowing ones (a project, words) would make that walk long
    (SQLite: 60 ms through 27,000 occurrences for words nobody wrote), so they are one uncorrelated IN list of
    event ids, built by one pass over events; written `event_id + 0` so that SQLite checks each walked row
    against the list instead of driving the query from it (which sorts every match)."""
    earlier = exists().where(O2.event_id == O.event_id, *_occurrence_conds(O2, now, lo, hi),
                             or_(O2.starts_at < O.starts_at, and_(O2.starts_at == O.starts_at, O2.id < O.id)))
    conds = [*occ, visible, *broad]
    if narrow:
        conds.append((O.event_id + 0).in_(select(Event.id).where(visible, *narrow)))
    conds.append(not_(earlier))
    return select(O).join(O.event).where(*conds).order_by(O.starts_at, O.id)


def _nearest(O, O2, now, lo, hi, districts, filters, visible, lat0, lon0, within_km, limit, offset):
    """Events in a bounding box, nearest first by bot/geo.py's flat-earth distance (in SQL its square, in
    degrees, which orders alike), those with a matching occurrence (EXISTS), one page of them; then each one's
    first matching occurrence, for that page only."""
    south, north, west, east = bbox(lat0, lon0, within_km)
    dy, dx = Event.lat - literal(lat0), (Event.lon - literal(lon0)) * literal(lon_scale(lat0))
    dist = (dy * dy + dx * dx).label("d")
    O3 = aliased(EventOccurrence)
    has_occ = exists().where(O3.event_id == Event.id, *_occurrence_conds(O3, now, lo, hi),
                             *([O3.district.in_(districts)] if districts else []))
    page = (select(Event.id.label("eid"), dist)
            .where(visible, *filters, Event.lat.between(south, north), Event.lon.between(west, east), has_occ)
            .order_by(dist, Event.id).limit(limit).offset(offset).subquery())
    first = (select(O2.id).where(O2.event_id == page.c.eid, *_occurrence_conds(O2, now, lo, hi))
             .order_by(O2.starts_at, O2.id).limit(1).scalar_subquery())
    return (select(O).join(O.event).join(page, page.c.eid == Event.id).where(O.id == first)
            .order_by(page.c.d, page.c.eid))


__all__ = ["CHILD_AGE_MAX", "EventHit", "KIDS_WORDS", "day_range", "find_events", "this_week", "this_weekend"]
