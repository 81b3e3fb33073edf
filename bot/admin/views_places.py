"""こどもの居場所 in the admin: an organisation writes its own places (staff: everyone's) with their weekly
opening hours and exceptions, previews them as the bot shows them, publishes them (or asks the city's staff to
approve first when KYODO_LISTING_APPROVAL is on) and withdraws them.

Who may open which place is decided by policy.py (`load=Place`); the checks are listing_forms.py's.
"""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from sqlalchemy import func, select

from bot import event_notices, opening_hours
from bot.admin import audit
from bot.admin import listing_forms as lf
from bot.admin.blueprint import bp
from bot.admin.policy import CONTENT_ALL, LISTINGS_APPROVE, LISTINGS_EDIT, has, requires, scope
from bot.admin.views_events import (PAGE_SIZE, flex_html, form_context, needs_approval, organisation_name,
                                    organisations, owner_from_form, page_number, project_choices, safe_bubble,
                                    send_back_reason, status_filter)
from models.places import DRAFT, PENDING, PLACE_STATUSES, PUBLISHED, WITHDRAWN, Place, PlaceHours

STATUS_LABELS = {DRAFT: "下書き", PENDING: "承認待ち", PUBLISHED: "公開中", WITHDRAWN: "掲載終了"}


def _bubble(place: Place) -> dict | None:
    try:
        from handlers.places_flex import place_bubble
    except ImportError:  # the places helper's view, landing in the same step
        return None
    names = {d.key: d.name for d in lf.districts(g.db, g.rt.config.city)}
    opening = safe_bubble(opening_hours.next_opening, place, g.now)
    return safe_bubble(place_bubble, place, now=g.now, opening=opening, district_name=names.get(place.district))


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
    ctx = form_context()
    return render_template(
        "admin/places_form.html", item=item, f=raw, errors=errors, rows=lf.with_blank_rows(rows), bubble=bubble,
        preview=flex_html(bubble), districts=ctx.districts, projects=project_choices(), organisations=organisations(),
        choose_owner=has(g.account, CONTENT_ALL), kinds=lf.KIND_LABELS, cost_labels=lf.COST_LABELS,
        weekdays=lf.WEEKDAYS, weeks=lf.WEEKS,
    ), status


def _compose(item: Place | None):
    if request.method == "GET":
        raw = lf.place_raw(item) if item is not None else lf.new_place_raw()
        if item is not None:
            raw["organisation_id"] = str(item.organisation_id or 0)
        rows = lf.hours_rows_of(item) if item is not None else []
        return _render_form(item, raw, {}, rows, _bubble(item) if item is not None else None)
    parsed = lf.parse_place(request.form, form_context())
    owner_id = owner_from_form(parsed, item)
    previewing = request.form.get("action") == "preview"
    if parsed.ok and not previewing:
        saved = _save(item, parsed.values, owner_id)
        g.db.commit()
        flash("こどもの居場所を保存しました。" + ("公開するには「公開する」を押してください。" if saved.status == DRAFT else ""),
              "success")
        return redirect(url_for("admin.place", item_id=saved.id))
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
    if not new and owner_id != item.organisation_id and item.organiser_name == organisation_name(item.organisation_id):
        item.organiser_name = None  # staff moved it to another organisation: its name follows
    item.organisation_id = owner_id
    if not item.organiser_name and owner_id is not None:
        item.organiser_name = organisation_name(owner_id)
    item.source, item.updated_at = "admin", g.now
    audit.record(g.db, "place.create" if new else "place.update", actor=g.account, obj=item, summary=item.name)
    return item


# --- pages ------------------------------------------------------------------------------------------------

@bp.get("/places")
@requires(LISTINGS_EDIT)
def places():
    status = status_filter(PLACE_STATUSES)
    page = page_number()
    stmt = scope(select(Place), Place, g.account)
    if status:
        stmt = stmt.where(Place.status == status)
    total = g.db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = g.db.scalars(stmt.order_by(Place.name, Place.id).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    pending = g.db.scalar(select(func.count()).select_from(Place).where(Place.status == PENDING)) \
        if has(g.account, LISTINGS_APPROVE) else 0
    districts = {d.key: d.name for d in lf.districts(g.db, g.rt.config.city)}
    return render_template("admin/places.html", items=rows, status=status, labels=STATUS_LABELS, page=page,
                           pages=max(1, -(-total // PAGE_SIZE)), total=total, pending=pending,
                           org_names={o.id: o.name for o in organisations()}, districts=districts,
                           kinds=lf.KIND_LABELS)


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
    districts = {d.key: d.name for d in lf.districts(g.db, g.rt.config.city)}
    bubble = _bubble(item)
    nxt = safe_bubble(opening_hours.next_opening, item, g.now)
    return render_template(
        "admin/places_detail.html", item=item, labels=STATUS_LABELS, kinds=lf.KIND_LABELS, cost_labels=lf.COST_LABELS,
        district_name=districts.get(item.district, item.district), owner=organisation_name(item.organisation_id),
        weekly=opening_hours.weekly_text(item), exceptions=opening_hours.exceptions_text(item),
        next_text=opening_hours.describe_next(nxt, g.now), bubble=bubble, preview=flex_html(bubble),
        approval=needs_approval(), can_approve=has(g.account, LISTINGS_APPROVE), error=error,
        sent_back=send_back_reason("places", item.id) if item.status == DRAFT else None,
    ), status


def _refuse(item: Place, message: str, status: int = 409):
    g.db.rollback()
    return place.__wrapped__(item=g.db.get(Place, item.id), error=message, status=status)


def _go_live(item: Place, action: str) -> None:
    item.status, item.updated_at = PUBLISHED, g.now
    item.published_at = item.published_at or g.now
    event_notices.announce_listing(g.db, item, now=g.now, base_url=g.rt.config.public_base_url)
    audit.record(g.db, action, actor=g.account, obj=item, summary=item.name)


@bp.post("/places/<int:item_id>/publish")
@requires(LISTINGS_EDIT, load=Place)
def place_publish(item: Place):
    if item.status not in (DRAFT, WITHDRAWN):
        return _refuse(item, f"この居場所は「{STATUS_LABELS[item.status]}」のため、公開の操作はできません。")
    if needs_approval():
        item.status, item.updated_at = PENDING, g.now
        audit.record(g.db, "place.submit", actor=g.account, obj=item, summary=item.name)
        g.db.commit()
        flash("承認を依頼しました。市の職員が確認すると公開されます。", "success")
    else:
        _go_live(item, "place.publish")
        g.db.commit()
        flash("公開しました。LINEとホームページのこどもの居場所に表示されます。", "success")
    return redirect(url_for("admin.place", item_id=item.id))


@bp.post("/places/<int:item_id>/approve")
@requires(LISTINGS_APPROVE, load=Place)
def place_approve(item: Place):
    if item.status != PENDING:
        return _refuse(item, "承認待ちの居場所ではありません。")
    _go_live(item, "place.approve")
    g.db.commit()
    flash("承認して公開しました。", "success")
    return redirect(url_for("admin.place", item_id=item.id))


@bp.post("/places/<int:item_id>/send_back")
@requires(LISTINGS_APPROVE, load=Place)
def place_send_back(item: Place):
    if item.status != PENDING:
        return _refuse(item, "承認待ちの居場所ではありません。")
    reason = (request.form.get("reason") or "").strip()[:300]
    item.status, item.updated_at = DRAFT, g.now
    audit.record(g.db, "place.send_back", actor=g.account, obj=item, summary=reason or "（理由の記入なし）")
    g.db.commit()
    flash("差し戻しました。団体が直して、もう一度承認を依頼できます。", "success")
    return redirect(url_for("admin.place", item_id=item.id))


@bp.post("/places/<int:item_id>/withdraw")
@requires(LISTINGS_EDIT, load=Place)
def place_withdraw(item: Place):
    if item.status not in (PUBLISHED, PENDING):
        return _refuse(item, "掲載を終えられるのは、公開中か承認待ちの居場所です。")
    item.status, item.updated_at = WITHDRAWN, g.now
    audit.record(g.db, "place.withdraw", actor=g.account, obj=item, summary=item.name)
    g.db.commit()
    flash("掲載を終えました。LINEとホームページには表示されなくなります。", "success")
    return redirect(url_for("admin.place", item_id=item.id))


@bp.post("/places/<int:item_id>/delete")
@requires(LISTINGS_EDIT, load=Place)
def place_delete(item: Place):
    if item.status == PUBLISHED:
        return _refuse(item, "公開中の居場所は削除できません。先に「掲載を終える」を押してください。")
    audit.record(g.db, "place.delete", actor=g.account, obj=item, summary=item.name)
    g.db.delete(item)
    g.db.commit()
    flash("こどもの居場所を削除しました。", "success")
    return redirect(url_for("admin.places"))
