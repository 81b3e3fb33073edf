"""こどもの居場所 in the admin: an organisation writes its own places (staff: everyone's) with their weekly
opening hours and exceptions, previews them as the bot shows them, publishes them (or asks the city's staff to
approve first when KYODO_LISTING_APPROVAL is on) and withdraws them.

Who may open which place is decided by policy.py (`load=Place`); the checks are listing_forms.py's; the status
steps, the list page and the preview drawing are listing_flow.py's (shared with イベント).
"""
from __future__ import annotations

from flask import g, render_template, request

from bot import opening_hours
from bot.admin import audit
from bot.admin import listing_flow as flow
from bot.admin import listing_forms as lf
from bot.admin.blueprint import bp
from bot.admin.policy import LISTINGS_APPROVE, LISTINGS_EDIT, requires
from models.places import DRAFT, PENDING, PUBLISHED, WITHDRAWN, Place, PlaceHours

STATUS_LABELS = {DRAFT: "下書き", PENDING: "承認待ち", PUBLISHED: "公開中", WITHDRAWN: "掲載終了"}


def _bubble(place: Place) -> dict | None:
    try:
        from handlers.places_flex import place_bubble
    except ImportError:  # the places helper's view, landing in the same step
        return None
    opening = flow.safe_bubble(opening_hours.next_opening, place, g.now)
    return flow.safe_bubble(place_bubble, place, now=g.now, opening=opening,
                            district_name=flow.district_names().get(place.district))


def _transient(values: dict, item: Place | None) -> Place | None:
    """A place built from the form (not added to the session) for the preview."""
    if not values.get("name") or not values.get("kind"):
        return None
    place = Place(**{k: v for k, v in values.items() if k != "hours" and hasattr(Place, k)})
    place.id = item.id if item is not None else 0
    place.status = item.status if item is not None else DRAFT
    place.organisation_id = item.organisation_id if item is not None else g.account.organisation_id
    place.source, place.created_at, place.updated_at = "admin", g.now, g.now
    place.hours = [PlaceHours(**h) for h in values.get("hours") or ()]
    return place


def _render_form(item: Place | None, raw: dict, errors: dict, rows, bubble: dict | None, status: int = 200):
    return PLACES.render_form("admin/places_form.html", item, raw, errors, bubble, status,
                              rows=lf.with_blank_rows(rows), kinds=lf.KIND_LABELS, weekdays=lf.WEEKDAYS, weeks=lf.WEEKS)


def _compose(item: Place | None):
    if request.method == "GET":
        if item is None:
            return _render_form(None, lf.new_place_raw(), {}, [], None)
        return _render_form(item, flow.stored_raw(item, lf.place_raw(item)), {}, lf.hours_rows_of(item), _bubble(item))
    parsed = lf.parse_place(request.form, flow.form_context())
    owner_id = flow.owner_from_form(parsed, item)
    previewing = request.form.get("action") == "preview"
    if parsed.ok and not previewing:
        return PLACES.saved(_save(item, parsed.values, owner_id))
    place = _transient(parsed.values, item) if not parsed.errors.keys() - {"organisation_id"} else None
    bubble = _bubble(place) if place is not None else None
    return _render_form(item, parsed.raw, parsed.errors, parsed.hours, bubble, 200 if previewing and parsed.ok else 422)


def _save(item: Place | None, values: dict, owner_id: int | None) -> Place:
    new = item is None
    if new:
        item = Place(status=DRAFT, source="admin", created_at=g.now, updated_at=g.now)
        g.db.add(item)
    for key, value in values.items():
        if key != "hours":
            setattr(item, key, value)
    item.hours = [PlaceHours(**h) for h in values["hours"]]
    flow.assign_owner(item, owner_id, new=new)
    audit.record(g.db, "place.create" if new else "place.update", actor=g.account, obj=item, summary=item.name)
    return item


# --- pages ------------------------------------------------------------------------------------------------

PLACES = flow.Listing(
    model=Place, table="places", prefix="place", endpoint="admin.place", noun="居場所", full_noun="こどもの居場所",
    labels=STATUS_LABELS, shown_in="LINEとホームページのこどもの居場所", name_attr="name",
    page=lambda **kw: place.__wrapped__(**kw), publish_from=(DRAFT, WITHDRAWN), withdrawn=WITHDRAWN,
)


@bp.get("/places")
@requires(LISTINGS_EDIT)
def places():
    return render_template("admin/places.html", **PLACES.list_page(Place.name, Place.id),
                           districts=flow.district_names(), kinds=lf.KIND_LABELS)


@bp.route("/places/new", methods=["GET", "POST"])
@requires(LISTINGS_EDIT)
def place_new():
    return _compose(None)


@bp.route("/places/<int:item_id>/edit", methods=["GET", "POST"])
@requires(LISTINGS_EDIT, load=Place)
def place_edit(item: Place):
    return _compose(item)


@bp.get("/places/<int:item_id>")
@requires(LISTINGS_EDIT, load=Place)
def place(item: Place, error: str | None = None, status: int = 200):
    bubble = _bubble(item)
    nxt = flow.safe_bubble(opening_hours.next_opening, item, g.now)
    return render_template(
        "admin/places_detail.html", **PLACES.detail_facts(item, error), kinds=lf.KIND_LABELS,
        cost_labels=lf.COST_LABELS, district_name=flow.district_names().get(item.district, item.district),
        weekly=opening_hours.weekly_text(item), exceptions=opening_hours.exceptions_text(item),
        next_text=opening_hours.describe_next(nxt, g.now), bubble=bubble, preview=flow.flex_html(bubble),
    ), status


@bp.post("/places/<int:item_id>/publish")
@requires(LISTINGS_EDIT, load=Place)
def place_publish(item: Place):
    return PLACES.publish(item)


@bp.post("/places/<int:item_id>/approve")
@requires(LISTINGS_APPROVE, load=Place)
def place_approve(item: Place):
    return PLACES.approve(item)


@bp.post("/places/<int:item_id>/send_back")
@requires(LISTINGS_APPROVE, load=Place)
def place_send_back(item: Place):
    return PLACES.send_back(item)


@bp.post("/places/<int:item_id>/withdraw")
@requires(LISTINGS_EDIT, load=Place)
def place_withdraw(item: Place):
    return PLACES.withdraw(item)


@bp.post("/places/<int:item_id>/delete")
@requires(LISTINGS_EDIT, load=Place)
def place_delete(item: Place):
    if item.status == PUBLISHED:
        return PLACES.refuse(item, "公開中の居場所は削除できません。先に「掲載を終える」を押してください。")
    return PLACES.delete(item)
