"""Public event pages and calendars (no login): /events (upcoming, filterable, paged), /events/<id>, and the .ics
files /events.ics (a feed, ?district= & ?project=) and /events/<id>.ics (the カレンダーに追加 link on LINE).

Residents and the public see published events and cancelled ones (shown as 中止, models/events.py: VISIBLE);
a draft or an event waiting for approval is not found (404). The list uses the LINE search
(bot/event_search.py: find_events), so a filter means the same thing on the web as in the chat. Paging and the
plan links are bot/listing_pages.py, as for the place pages."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Response, abort, render_template, request, url_for
from sqlalchemy import exists, select

from bot import calendar_ics
from bot.clock import to_tokyo, utc
from bot.geo import map_url
from bot.listing_format import day_label
from bot.listing_pages import pager, plan_context, requested_page, runtime
from handlers.events_flex import ages_text, cost_text, day_text, hm, tel_uri, when_text
from models import plan as P
from models.events import CANCELLED, VISIBLE, Event, EventOccurrence

bp = Blueprint("event_pages", __name__)

PAGE_SIZE = 20
FEED_PAST_DAYS = 30  # the feed keeps events ended this recently, so a cancellation still reaches calendars
FEED_MAX = 1000
UPCOMING_DATES = 10  # dates listed on a repeating event's page


def register(app) -> None:
    app.register_blueprint(bp)


class Filters:
    """The list's and the feed's query string, checked against the city's 地区 and projects: an unknown
    value is ignored (and said so), never an error."""

    def __init__(self, db, args) -> None:
        self.districts = P.districts(db)
        self.projects = P.projects(db)
        names = {d.key: d.name for d in self.districts}
        numbers = {p.number: p for p in self.projects}
        self.ignored: list[str] = []
        raw = args.get("district", "").strip()
        self.district = raw if raw in names else None
        if raw and self.district is None:
            self.ignored.append("地区")
        raw = args.get("project", "").strip()
        self.project = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 4 and int(raw) in numbers else None
        if raw and self.project is None:
            self.ignored.append("プロジェクト")
        self.children = args.get("children") == "1"
        self.free = args.get("free") == "1"
        self.district_name = names.get(self.district or "")
        self.project_row = numbers.get(self.project or 0)

    def query(self, **extra) -> dict:
        q = {"district": self.district, "project": self.project, "children": "1" if self.children else None,
             "free": "1" if self.free else None}
        q.update(extra)
        return {k: v for k, v in q.items() if v is not None}

    @property
    def active(self) -> bool:
        return bool(self.district or self.project or self.children or self.free)


def occurrence_when(event: Event, occ: EventOccurrence | None) -> str:
    """The date and time as LINE words it, with the year (2026年12月5日（土）10:00〜12:00): the occurrence's,
    with no invented end for a start-only event."""
    if occ is None:
        return when_text(event.starts_at, event.ends_at, all_day=bool(event.all_day))
    return when_text(occ.starts_at, occ.ends_at if event.ends_at is not None or event.all_day else None,
                     all_day=bool(event.all_day))


@bp.get("/events/")
@bp.get("/events")  # registered first (decorators apply bottom-up): url_for builds /events
def index():
    from bot.event_search import find_events

    rt = runtime()
    now = rt.now()
    page = requested_page()
    with rt.sessions() as db:
        f = Filters(db, request.args)
        hits = find_events(db, now=now, districts=[f.district] if f.district else (),
                           projects=[f.project] if f.project else (), children=f.children, free=f.free,
                           limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
        more = len(hits) > PAGE_SIZE
        hits = hits[:PAGE_SIZE]
        district_names = {d.key: d.name for d in f.districts}
        rows = []
        for h in hits:
            day = to_tokyo(h.occurrence.starts_at).date()
            rows.append({"event": h.event, "when": occurrence_when(h.event, h.occurrence), "day": day,
                         "day_label": day_label(day), "district": district_names.get(h.event.district or ""),
                         "cancelled": h.event.status == CANCELLED, "cost": cost_text(h.event),
                         "ages": ages_text(h.event.age_min, h.event.age_max)})
        feed = url_for("event_pages.feed", **{k: v for k, v in f.query().items() if k in ("district", "project")})
        return render_template("events/index.html", rows=rows, f=f, page=page, feed_url=feed,
                               today=to_tokyo(now).date(), **pager("event_pages.index", f.query(), page, more))


def _visible_event(db, event_id: int) -> Event:
    event = db.get(Event, event_id)
    if event is None or event.status not in VISIBLE:
        abort(404)
    return event


@bp.get("/events/<int:event_id>")
def detail(event_id: int):
    rt = runtime()
    now = rt.now()
    with rt.sessions() as db:
        event = _visible_event(db, event_id)
        upcoming = list(db.scalars(
            select(EventOccurrence).where(EventOccurrence.event_id == event.id, EventOccurrence.ends_at > utc(now))
            .order_by(EventOccurrence.starts_at).limit(UPCOMING_DATES + 1)))
        return render_template(
            "events/detail.html", event=event, cancelled=event.status == CANCELLED,
            when=occurrence_when(event, upcoming[0] if upcoming else None), past=not upcoming,
            dates=[occurrence_when(event, o) for o in upcoming[:UPCOMING_DATES]],
            more_dates=len(upcoming) > UPCOMING_DATES, **plan_context(db, event),
            map_url=map_url(event.lat, event.lon, event.address), tel=tel_uri(event.phone),
            cost=calendar_ics.cost_with_note(event), ages=ages_text(event.age_min, event.age_max),
            signup=_signup(db, event, now))


def _signup(db, event: Event, now) -> dict | None:
    """What the page says about registration: needed or not, the deadline, places left (from the slot's
    counters, bot/registrations.py), full (the waitlist is still open), closed."""
    if not event.registration_required:
        return None
    from models.registrations import RegistrationSlot

    slot = db.scalar(select(RegistrationSlot).where(RegistrationSlot.kind == "event",
                                                    RegistrationSlot.ref_id == event.id))
    deadline = event.registration_deadline or (slot.closes_at if slot is not None else None)
    closed = (event.status == CANCELLED or (slot is not None and not slot.open)
              or utc(deadline or event.starts_at) <= utc(now))
    capacity = slot.capacity if slot is not None else event.capacity
    left = max(0, capacity - slot.confirmed) if slot is not None and capacity is not None else None
    return {"closed": closed, "deadline": f"{day_text(deadline)}{hm(deadline)}まで" if deadline else None,
            "capacity": capacity, "left": left, "full": left == 0}


@bp.get("/events/<int:event_id>.ics")
def event_ics(event_id: int):
    rt = runtime()
    with rt.sessions() as db:
        event = _visible_event(db, event_id)
        name = f"{P.city_name(db, default='')} {event.title}".strip()
        body = calendar_ics.calendar([event], name=name, base_url=rt.config.public_base_url, now=rt.now())
    return calendar_ics.response(body, f"event-{event_id}.ics")


@bp.get("/events.ics")
def feed():
    rt = runtime()
    now = utc(rt.now())
    with rt.sessions() as db:
        f = Filters(db, request.args)
        recent = exists().where(EventOccurrence.event_id == Event.id,
                                EventOccurrence.ends_at >= now - timedelta(days=FEED_PAST_DAYS))
        stmt = select(Event).where(Event.status.in_(VISIBLE), recent)
        if f.district:
            stmt = stmt.where(Event.district == f.district)
        if f.project:
            stmt = stmt.where(Event.project == f.project)
        events = list(db.scalars(stmt.order_by(Event.starts_at, Event.id).limit(FEED_MAX)))
        name = " ".join(x for x in (P.city_name(db, default=""), "協働プロジェクトのイベント", f.district_name,
                                    f.project_row.display_short if f.project_row else None) if x)
        body = calendar_ics.calendar(events, name=name, base_url=rt.config.public_base_url, now=now)
    return calendar_ics.response(body, "events.ics")
