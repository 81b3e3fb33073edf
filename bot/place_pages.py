"""Public pages for children's places (no login): /places (published places by 地区 and kind, each with
today's or its next opening) and /places/<id> (the weekly hours, exceptions, map and phone links).

Opening times come from bot/opening_hours.py, the same rules and wording (describe_next) as on LINE. A
draft, pending or withdrawn place is not found (404). Paging and the plan links are bot/listing_pages.py, as for
the event pages."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, render_template, request
from sqlalchemy import case, func, select
from sqlalchemy.orm import selectinload

from bot import opening_hours as OH
from bot.clock import to_tokyo
from bot.geo import map_url
from bot.listing_format import WEEKDAYS, day_label, minutes_label, weeks_label
from bot.listing_pages import pager, plan_context, requested_page, runtime
from handlers.places_flex import KIND_LABELS, ages_text, cost_text, tel_uri
from models import plan as P
from models.places import KINDS, PUBLISHED, Place
from models.plan import District

bp = Blueprint("place_pages", __name__)

PAGE_SIZE = 30
SOON_DAYS = 14  # the detail page lists the openings of the next two weeks


def register(app) -> None:
    app.register_blueprint(bp)


@bp.get("/places/")
@bp.get("/places")  # registered first (decorators apply bottom-up): url_for builds /places
def index():
    rt = runtime()
    now = rt.now()
    page = requested_page()
    with rt.sessions() as db:
        districts = P.districts(db)
        names = {d.key: d.name for d in districts}
        district = request.args.get("district", "").strip()
        kind = request.args.get("kind", "").strip()
        ignored = [label for label, raw, ok in (("地区", district, district in names), ("種類", kind, kind in KINDS))
                   if raw and not ok]
        district = district if district in names else None
        kind = kind if kind in KINDS else None
        stmt = select(Place).where(Place.status == PUBLISHED)
        if district:
            stmt = stmt.where(Place.district == district)
        if kind:
            stmt = stmt.where(Place.kind == kind)
        total = db.scalar(select(func.count()).select_from(stmt.subquery()))
        # Districts in the city's order (plan data), then kind, then name: the page reads as a directory.
        kind_order = case({k: i for i, k in enumerate(KINDS)}, value=Place.kind)
        stmt = (stmt.outerjoin(District, District.key == Place.district)
                .order_by(func.coalesce(District.position, 1_000_000), kind_order, Place.name, Place.id)
                .options(selectinload(Place.hours)).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE))
        shown = list(db.scalars(stmt))
        rows = []
        for p in shown:
            opening = OH.next_opening(p, now)
            rows.append({"place": p, "district": names.get(p.district, p.district), "kind": KIND_LABELS[p.kind],
                         "next": OH.describe_next(opening, now), "open_now": opening is not None and
                         opening.contains(to_tokyo(now)), "cost": cost_text(p, with_note=False),
                         "ages": ages_text(p)})
        query = {k: v for k, v in (("district", district), ("kind", kind)) if v}
        return render_template(
            "places/index.html", rows=rows, districts=districts, kinds=[(k, KIND_LABELS[k]) for k in KINDS],
            district=district, district_name=names.get(district or ""), kind=kind,
            kind_name=KIND_LABELS.get(kind or ""), ignored=ignored, page=page, total=total,
            **pager("place_pages.index", query, page, page * PAGE_SIZE < total))


def weekly_table(place) -> list[dict]:
    """Seven rows, 月 to 日: each weekday's openings as 「15:00〜18:00」 (「第2・第4 10:00〜12:00」 when only
    in some weeks of the month), or none (休み)."""
    rows = []
    for wd in range(7):
        times = [(f"{weeks_label(h.weeks)} " if h.weeks else "") + f"{minutes_label(h.opens)}〜{minutes_label(h.closes)}"
                 for h in sorted(place.hours, key=lambda h: (h.opens, h.weeks or 0)) if h.weekday == wd]
        rows.append({"day": WEEKDAYS[wd], "times": times})
    return rows


def exceptions(place, today) -> list[str]:
    """The exceptions a visitor should know, in words: holidays, year end, coming dates off and extra dates."""
    out = []
    if place.closed_on_holidays:
        out.append("祝日はお休みです。")
    if place.closed_year_end:
        out.append("年末年始（12月29日〜1月3日）はお休みです。")
    for d in sorted(_dates(place.closed_dates)):
        if d >= today:
            out.append(f"{day_label(d)}はお休みです。")
    for item in sorted((x for x in place.extra_dates or () if isinstance(x, dict)), key=lambda x: str(x.get("date"))):
        d = next(iter(_dates([item.get("date")])), None)
        if d is not None and d >= today:
            out.append(f"{day_label(d)}は{item.get('open', '')}〜{item.get('close', '')}に開きます。")
    return out


def _dates(values) -> set:
    from datetime import date

    out = set()
    for v in values or ():
        try:
            out.add(date.fromisoformat(str(v)[:10]))
        except ValueError:
            continue
    return out


@bp.get("/places/<int:place_id>")
def detail(place_id: int):
    rt = runtime()
    now = rt.now()
    with rt.sessions() as db:
        place = db.get(Place, place_id)
        if place is None or place.status != PUBLISHED:
            abort(404)
        today = to_tokyo(now).date()
        opening = OH.next_opening(place, now)
        soon = [(day_label(d, year=False), [f"{o.start.hour}:{o.start.minute:02d}〜{OH.clock_text(o.end, d)}"
                                            for o in OH.openings_on(place, d)])
                for d in (today + timedelta(days=i) for i in range(SOON_DAYS))]
        return render_template(
            "places/detail.html", place=place, kind=KIND_LABELS[place.kind], **plan_context(db, place),
            next=OH.describe_next(opening, now),
            open_now=opening is not None and opening.contains(to_tokyo(now)), week=weekly_table(place),
            exceptions=exceptions(place, today), soon=[(d, t) for d, t in soon if t],
            map_url=map_url(place.lat, place.lon, place.address), tel=tel_uri(place.phone),
            cost=cost_text(place), ages=ages_text(place))
