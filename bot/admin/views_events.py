"""イベント in the admin: an organisation writes its own events (staff: everyone's), previews them as the bot
shows them, publishes them (or asks the city's staff to approve first when KYODO_LISTING_APPROVAL is on),
cancels them (registered residents are told), reads and exports who registered, and writes to them.

Who may open which event is decided by policy.py (`load=Event`: another organisation's id is a 403 on every
route); the form's checks are in listing_forms.py; the registrations are bot/registrations.py's.
"""
from __future__ import annotations

import csv
import io
import logging
import re
import secrets
from datetime import timedelta
from urllib.parse import quote

from flask import Response, current_app, flash, g, redirect, render_template, request, url_for
from markupsafe import Markup, escape
from sqlalchemy import func, select

from bot import event_notices
from bot import registrations as regs
from bot.admin import audit
from bot.admin import listing_forms as lf
from bot.admin.blueprint import bp
from bot.admin.policy import CONTENT_ALL, LISTINGS_APPROVE, LISTINGS_EDIT, has, requires, scope
from bot.clock import to_tokyo, utc
from bot.event_occurrences import materialise, validate_rrule
from handlers.events_flex import event_bubble
from models.accounts import AuditEntry, Organisation
from models.events import CANCELLED, DRAFT, EVENT_STATUSES, PENDING, PUBLISHED, Event, EventOccurrence
from models.registrations import CONFIRMED, HOLDING, WAITLISTED, RegistrationSlot

log = logging.getLogger("kyodo.admin")

STATUS_LABELS = {DRAFT: "下書き", PENDING: "承認待ち", PUBLISHED: "公開中", CANCELLED: "中止"}
REG_LABELS = {CONFIRMED: "参加確定", WAITLISTED: "キャンセル待ち", "offered": "繰り上げ確認中", "attended": "参加済み",
              "no_show": "欠席"}
PAGE_SIZE = 50
MESSAGE_LIMIT = 1000  # characters of an organiser's message to registrants (one short LINE text)
NONCE_RE = re.compile(r"[0-9a-f]{32}")
# What residents hear about when it changes (event.revision is bumped, registrants are told).
TIME_FIELDS = ("starts_at", "ends_at", "all_day", "rrule")
PLACE_FIELDS = ("place_name", "address", "lat", "lon", "district")
WHAT_KEYS = {"日時": "time", "場所": "place"}  # bot.event_notices.event_changed's words


# --- shared with views_places -----------------------------------------------------------------------------

def form_context() -> lf.Context:
    """What the listing checks need: the city's 地区 (with their centres), the plan's numbers, the clock."""
    from models.plan import Action

    has_actions = g.db.scalar(select(func.count()).select_from(Action)) or 0
    numbers = set(g.db.scalars(select(Action.number))) if has_actions else set()
    return lf.Context(districts=lf.districts(g.db, g.rt.config.city), now=g.now,
                      action_exists=(lambda n: n in numbers) if has_actions else (lambda n: True),
                      validate_rrule=validate_rrule)


def project_choices() -> list[tuple[int, str]]:
    from bot.admin.announce_flow import projects

    return projects(g.db)


def organisations() -> list[Organisation]:
    return list(g.db.scalars(select(Organisation).order_by(Organisation.name)))


def owner_from_form(parsed: lf.Parsed, item) -> int | None:
    """The owning organisation: staff choose it (0 = the city), an organisation always writes for itself (the
    field is not offered to it, and a forged one is ignored)."""
    if not has(g.account, CONTENT_ALL):
        return g.account.organisation_id
    raw = (request.form.get("organisation_id") or "0").strip()
    parsed.raw["organisation_id"] = raw
    if not raw.isdigit():
        parsed.errors["organisation_id"] = "主催の団体を一覧から選んでください。"
        return item.organisation_id if item is not None else None
    org_id = int(raw)
    if org_id and g.db.get(Organisation, org_id) is None:
        parsed.errors["organisation_id"] = "主催の団体を一覧から選んでください。"
        return None
    return org_id or None


def organisation_name(org_id: int | None) -> str:
    if org_id is None:
        return "市"
    org = g.db.get(Organisation, org_id)
    return org.name if org is not None else "市"


def status_filter(allowed) -> str:
    value = request.args.get("status", "")
    return value if value in allowed else ""


def page_number() -> int:
    raw = request.args.get("page", "1")
    return max(1, min(int(raw), 10_000)) if raw.isdigit() else 1


def needs_approval() -> bool:
    return bool(g.rt.config.listing_approval) and not has(g.account, LISTINGS_APPROVE)


def send_back_reason(table: str, item_id: int) -> str | None:
    """The reason the last 差し戻し gave, shown to the organisation on the item's page."""
    entry = g.db.scalar(select(AuditEntry).where(AuditEntry.object_type == table, AuditEntry.object_id == str(item_id),
                                                 AuditEntry.action.like("%.send_back"))
                        .order_by(AuditEntry.id.desc()).limit(1))
    return entry.summary if entry is not None else None


def flex_html(node, *, inline: bool = False) -> Markup:
    """A LINE-like drawing of a Flex bubble dict (the same dict the bot sends): boxes, texts, buttons, images as a
    placeholder (the admin's CSP allows this site's images only). Rendered on the server: no script needed."""
    if not isinstance(node, dict):
        return Markup("")
    kind = node.get("type")
    if kind == "flex":
        return flex_html(node.get("contents"))
    if kind == "carousel":
        return Markup("").join(Markup('<div class="flex-bubble">{}</div>').format(flex_html(b))
                               for b in node.get("contents") or ())
    if kind == "bubble":
        parts = [Markup('<div class="flex-{}">{}</div>').format(part, flex_html(node[part]))
                 for part in ("header", "hero", "body", "footer") if isinstance(node.get(part), dict)]
        return Markup("").join(parts)
    if kind == "box":
        row = node.get("layout") in ("horizontal", "baseline")
        children = [flex_html(c, inline=row) for c in node.get("contents") or ()]
        inner = Markup(" ").join(c for c in children if c) if row else Markup("").join(children)
        tag = "span" if inline else "div"
        return Markup('<{0} class="flex-box flex-{1}">{2}</{0}>').format(Markup(tag), node.get("layout", ""), inner)
    if kind == "text":
        spans = node.get("contents")
        words = "".join(str(s.get("text", "")) for s in spans if isinstance(s, dict)) if spans else str(node.get("text", ""))
        body = Markup("<strong>{}</strong>").format(words) if node.get("weight") == "bold" else escape(words)
        tag = "span" if inline else "div"
        return Markup('<{0} class="flex-text">{1}</{0}>').format(Markup(tag), body)
    if kind == "button":
        action = node.get("action") or {}
        title = action.get("uri") or action.get("data") or action.get("text") or ""
        return Markup('<span class="link-button" title="{}">{}</span>').format(title, action.get("label", ""))
    if kind == "image":
        return Markup('<span class="flex-image">［画像］</span>')
    if kind == "separator":
        return Markup("<hr>")
    return Markup("")


def safe_bubble(build, *args, **kw) -> dict | None:
    """The bot's own bubble for the preview; None (and the page says so) when the view is missing or fails on
    unsaved values: a preview must never cost the organiser their form."""
    try:
        return build(*args, **kw)
    except Exception:  # noqa: BLE001 - a preview is a courtesy; the form stays usable
        log.exception("admin: listing preview failed")
        return None


def csv_response(filename: str, header: list[str], rows: list[list]) -> Response:
    """UTF-8 with BOM and CRLF: Excel on Windows opens it with the Japanese intact."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    data = "\ufeff" + buf.getvalue()
    ascii_name = re.sub(r"[^A-Za-z0-9._-]", "_", filename)
    return Response(data.encode("utf-8"), mimetype="text/csv", headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"})


@bp.context_processor
def _listing_helpers():
    return {"has_endpoint": lambda name: name in current_app.view_functions}


# --- wording ------------------------------------------------------------------------------------------------

def when_text(event: Event) -> str:
    start = to_tokyo(event.starts_at)
    day = f"{start.year}年{start.month}月{start.day}日（{lf.WEEKDAYS[start.weekday()]}）"
    if event.all_day:
        if event.ends_at and to_tokyo(event.ends_at).date() != start.date():
            end = to_tokyo(event.ends_at)
            return f"{day}〜{end.month}月{end.day}日（{lf.WEEKDAYS[end.weekday()]}）終日"
        return f"{day} 終日"
    text = f"{day} {start:%H:%M}"
    if event.ends_at:
        end = to_tokyo(event.ends_at)
        text += f"〜{end:%H:%M}" if end.date() == start.date() else f"〜{end.month}月{end.day}日 {end:%H:%M}"
    return text


def short_when(event: Event) -> str:
    start = to_tokyo(event.starts_at)
    text = f"{start.month}月{start.day}日（{lf.WEEKDAYS[start.weekday()]}）"
    return text if event.all_day else f"{text}{start:%H:%M}"


# --- the form ---------------------------------------------------------------------------------------------

def _preview_event(values: dict, item: Event | None) -> dict | None:
    """The bot's bubble for what the form holds now (a transient event: nothing is written)."""
    if not values.get("title") or values.get("starts_at") is None:
        return None
    ev = Event(**{k: v for k, v in values.items() if hasattr(Event, k)})
    ev.id = item.id if item is not None else 0
    ev.status = item.status if item is not None else DRAFT
    ev.organisation_id = item.organisation_id if item is not None else g.account.organisation_id
    ev.revision = item.revision if item is not None else 1
    ev.created_at = ev.updated_at = g.now
    length = (utc(ev.ends_at) - utc(ev.starts_at)) if ev.ends_at else timedelta(hours=2)
    occ = EventOccurrence(id=0, event_id=ev.id, starts_at=utc(ev.starts_at), ends_at=utc(ev.starts_at) + length,
                          district=ev.district, visible=True)
    return safe_bubble(event_bubble, ev, occ, now=g.now, **_bubble_extras(ev))


def _bubble_extras(ev: Event) -> dict:
    names = {d.key: d.name for d in lf.districts(g.db, g.rt.config.city)}
    return {"district_name": names.get(ev.district or ""), "base_url": g.rt.config.public_base_url}


def _preview_stored(item: Event) -> dict | None:
    occ = g.db.scalar(select(EventOccurrence).where(EventOccurrence.event_id == item.id,
                                                    EventOccurrence.ends_at >= g.now)
                      .order_by(EventOccurrence.starts_at).limit(1)) or \
        g.db.scalar(select(EventOccurrence).where(EventOccurrence.event_id == item.id)
                    .order_by(EventOccurrence.starts_at.desc()).limit(1))
    if occ is None:
        return None
    return safe_bubble(event_bubble, item, occ, now=g.now, **_bubble_extras(item))


def _render_form(item: Event | None, raw: dict, errors: dict, bubble: dict | None, status: int = 200):
    ctx = form_context()
    return render_template(
        "admin/events_form.html", item=item, f=raw, errors=errors, bubble=bubble, preview=flex_html(bubble),
        districts=ctx.districts, projects=project_choices(), organisations=organisations(),
        choose_owner=has(g.account, CONTENT_ALL), cost_labels=lf.COST_LABELS,
        slot=regs.find_slot(g.db, "event", item.id) if item is not None else None,
    ), status


def _compose(item: Event | None):
    if item is not None and item.status == CANCELLED:
        flash("中止したイベントは編集できません。", "warning")
        return redirect(url_for("admin.event", item_id=item.id))
    if request.method == "GET":
        raw = lf.event_raw(item) if item is not None else {"cost_kind": lf.FREE}
        if item is not None:
            raw["organisation_id"] = str(item.organisation_id or 0)
        return _render_form(item, raw, {}, _preview_stored(item) if item is not None else None)
    parsed = lf.parse_event(request.form, form_context(), existing=item)
    owner_id = owner_from_form(parsed, item)
    previewing = request.form.get("action") == "preview"
    if parsed.ok and not previewing:
        saved = _save(item, parsed, owner_id)
        if saved is not None:
            g.db.commit()
            flash("イベントを保存しました。" + ("公開するには「公開する」を押してください。" if saved.status == DRAFT else ""),
                  "success")
            return redirect(url_for("admin.event", item_id=saved.id))
        g.db.rollback()
        item = g.db.get(Event, item.id) if item is not None else None
    bubble = _preview_event(parsed.values, item)
    return _render_form(item, parsed.raw, parsed.errors, bubble, 200 if previewing and parsed.ok else 422)


def _save(item: Event | None, parsed: lf.Parsed, owner_id: int | None) -> Event | None:
    """Write the form into the event (a new one when None), its dates and its registration slot. None, with the
    problem beside its field, when the registrations already taken forbid the change."""
    v = parsed.values
    slot = regs.find_slot(g.db, "event", item.id) if item is not None else None
    if slot is not None:
        taken = slot.confirmed + slot.waiting
        if not v["registration_required"] and taken:
            parsed.errors["registration_required"] = (
                f"すでに{taken}人が申し込んでいるため、「参加申込が必要」を外せません。取りやめるときは「中止する」を使ってください。")
            return None
        if v["registration_required"] and v["capacity"] is not None and v["capacity"] < slot.confirmed:
            parsed.errors["capacity"] = (f"参加が確定している方が{slot.confirmed}人いるため、定員を{v['capacity']}人には"
                                         f"減らせません（{slot.confirmed}人以上にしてください）。")
            return None
    new = item is None
    before = {} if new else {k: getattr(item, k) for k in TIME_FIELDS + PLACE_FIELDS}
    if new:
        item = Event(status=DRAFT, source="admin", revision=1, created_at=g.now, updated_at=g.now, tags=[])
        g.db.add(item)
    for key, value in v.items():
        setattr(item, key, value)
    if not new and owner_id != item.organisation_id and item.organiser_name == organisation_name(item.organisation_id):
        item.organiser_name = None  # staff moved it to another organisation: its name follows
    item.organisation_id = owner_id
    if not item.organiser_name and owner_id is not None:
        item.organiser_name = organisation_name(owner_id)
    item.source, item.updated_at = "admin", g.now
    g.db.flush()
    materialise(g.db, item, now=g.now)
    if item.registration_required:
        try:
            slot = regs.slot_for(g.db, "event", item.id, capacity=item.capacity, starts_at=item.starts_at,
                                 ends_at=item.ends_at, closes_at=item.registration_deadline, now=g.now)
        except regs.SlotError:  # someone registered between the check and the lock
            parsed.errors["capacity"] = "参加が確定している方より少ない定員にはできません。"
            return None
        if not slot.open and item.status != CANCELLED:
            slot.open = True
    elif slot is not None and slot.open:
        regs.close_slot(g.db, "event", item.id, now=g.now)
    changed = [] if new else _what_changed(before, item)
    if item.status == PUBLISHED and changed:
        item.revision = (item.revision or 1) + 1
        event_notices.event_changed(g.db, item, now=g.now, what=[WHAT_KEYS[c] for c in changed],
                                     base_url=g.rt.config.public_base_url)
    audit.record(g.db, "event.create" if new else "event.update", actor=g.account, obj=item,
                 summary=f"{item.title}（{short_when(item)}）" + (f" 変更: {'・'.join(changed)}" if changed else ""))
    return item


def _what_changed(before: dict, item: Event) -> list[str]:
    def differs(key):
        a, b = before.get(key), getattr(item, key)
        if hasattr(a, "tzinfo") and hasattr(b, "tzinfo") and a is not None and b is not None:
            return utc(a) != utc(b)
        return a != b

    out = []
    if any(differs(k) for k in TIME_FIELDS):
        out.append("日時")
    if any(differs(k) for k in PLACE_FIELDS):
        out.append("場所")
    return out


# --- pages ------------------------------------------------------------------------------------------------

@bp.get("/events")
@requires(LISTINGS_EDIT)
def events():
    status = status_filter(EVENT_STATUSES)
    page = page_number()
    stmt = scope(select(Event), Event, g.account)
    if status:
        stmt = stmt.where(Event.status == status)
    total = g.db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = g.db.scalars(stmt.order_by(Event.starts_at.desc(), Event.id.desc())
                        .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    pending = g.db.scalar(select(func.count()).select_from(Event).where(Event.status == PENDING)) \
        if has(g.account, LISTINGS_APPROVE) else 0
    org_names = {o.id: o.name for o in organisations()}
    return render_template("admin/events.html", items=rows, status=status, labels=STATUS_LABELS, page=page,
                           pages=max(1, -(-total // PAGE_SIZE)), total=total, pending=pending, org_names=org_names,
                           when=short_when, now=g.now)


@bp.route("/events/new", methods=["GET", "POST"])
@requires(LISTINGS_EDIT)
def event_new():
    return _compose(None)


@bp.route("/events/<int:item_id>/edit", methods=["GET", "POST"])
@requires(LISTINGS_EDIT, load=Event)
def event_edit(item: Event):
    return _compose(item)


@bp.get("/events/<int:item_id>")
@requires(LISTINGS_EDIT, load=Event)
def event(item: Event, error: str | None = None, status: int = 200):
    slot = regs.find_slot(g.db, "event", item.id)
    districts = {d.key: d.name for d in lf.districts(g.db, g.rt.config.city)}
    bubble = _preview_stored(item)
    return render_template(
        "admin/events_detail.html", item=item, labels=STATUS_LABELS, slot=slot, when=when_text(item),
        district_name=districts.get(item.district or "", "市全域・地区を決めない"), owner=organisation_name(item.organisation_id),
        bubble=bubble, preview=flex_html(bubble), approval=needs_approval(), can_approve=has(g.account, LISTINGS_APPROVE),
        sent_back=send_back_reason("events", item.id) if item.status == DRAFT else None, error=error,
        occurrences=g.db.scalar(select(func.count()).select_from(EventOccurrence)
                                .where(EventOccurrence.event_id == item.id)) or 0,
        cost_labels=lf.COST_LABELS,
    ), status


def _refuse(item: Event, message: str, status: int = 409):
    g.db.rollback()
    return event.__wrapped__(item=g.db.get(Event, item.id), error=message, status=status)


def _go_live(item: Event, action: str) -> None:
    item.status, item.updated_at = PUBLISHED, g.now
    item.published_at = item.published_at or g.now
    materialise(g.db, item, now=g.now)
    event_notices.announce_listing(g.db, item, now=g.now, base_url=g.rt.config.public_base_url)
    audit.record(g.db, action, actor=g.account, obj=item, summary=f"{item.title}（{short_when(item)}）")


def _is_over(item: Event) -> bool:
    last = g.db.scalar(select(func.max(EventOccurrence.ends_at)).where(EventOccurrence.event_id == item.id))
    return last is not None and utc(last) < g.now


@bp.post("/events/<int:item_id>/publish")
@requires(LISTINGS_EDIT, load=Event)
def event_publish(item: Event):
    if item.status != DRAFT:
        return _refuse(item, f"このイベントは「{STATUS_LABELS[item.status]}」のため、公開の操作はできません。")
    if _is_over(item):
        return _refuse(item, "終わったイベントは公開できません。日時を直してから公開してください。", 422)
    if needs_approval():
        item.status, item.updated_at = PENDING, g.now
        audit.record(g.db, "event.submit", actor=g.account, obj=item, summary=item.title)
        g.db.commit()
        flash("承認を依頼しました。市の職員が確認すると公開されます。", "success")
    else:
        _go_live(item, "event.publish")
        g.db.commit()
        flash("公開しました。LINEとホームページのイベント一覧に表示されます。", "success")
    return redirect(url_for("admin.event", item_id=item.id))


@bp.post("/events/<int:item_id>/approve")
@requires(LISTINGS_APPROVE, load=Event)
def event_approve(item: Event):
    if item.status != PENDING:
        return _refuse(item, "承認待ちのイベントではありません。")
    if _is_over(item):
        return _refuse(item, "終わったイベントは公開できません。差し戻して日時を直してもらってください。", 422)
    _go_live(item, "event.approve")
    g.db.commit()
    flash("承認して公開しました。", "success")
    return redirect(url_for("admin.event", item_id=item.id))


@bp.post("/events/<int:item_id>/send_back")
@requires(LISTINGS_APPROVE, load=Event)
def event_send_back(item: Event):
    if item.status != PENDING:
        return _refuse(item, "承認待ちのイベントではありません。")
    reason = (request.form.get("reason") or "").strip()[:300]
    item.status, item.updated_at = DRAFT, g.now
    audit.record(g.db, "event.send_back", actor=g.account, obj=item, summary=reason or "（理由の記入なし）")
    g.db.commit()
    flash("差し戻しました。団体が直して、もう一度承認を依頼できます。", "success")
    return redirect(url_for("admin.event", item_id=item.id))


@bp.post("/events/<int:item_id>/cancel")
@requires(LISTINGS_EDIT, load=Event)
def event_cancel(item: Event):
    if item.status != PUBLISHED:
        return _refuse(item, "中止できるのは公開中のイベントです（下書きは削除できます）。")
    reason = (request.form.get("reason") or "").strip().replace("\r\n", "\n")
    if not reason:
        return _refuse(item, "中止の理由を入力してください（申し込んだ方へのお知らせに載ります）。", 422)
    if len(reason) > 300:
        return _refuse(item, "中止の理由は300文字以内で入力してください。", 422)
    item.status, item.cancel_reason, item.updated_at = CANCELLED, reason, g.now
    item.revision = (item.revision or 1) + 1
    materialise(g.db, item, now=g.now)  # stays visible as 中止
    regs.close_slot(g.db, "event", item.id, now=g.now)
    event_notices.event_cancelled(g.db, item, now=g.now)
    audit.record(g.db, "event.cancel", actor=g.account, obj=item, summary=f"{item.title}: {reason}")
    g.db.commit()
    flash("中止にしました。申し込んだ方にはLINEでお知らせします。", "success")
    return redirect(url_for("admin.event", item_id=item.id))


@bp.post("/events/<int:item_id>/delete")
@requires(LISTINGS_EDIT, load=Event)
def event_delete(item: Event):
    if item.status not in (DRAFT, PENDING):
        return _refuse(item, "公開したイベントは削除できません。取りやめるときは「中止する」を使ってください。")
    slot = regs.find_slot(g.db, "event", item.id)
    if slot is not None and (slot.confirmed or slot.waiting):
        return _refuse(item, "申し込んだ方がいるイベントは削除できません。")
    audit.record(g.db, "event.delete", actor=g.account, obj=item, summary=item.title)
    if slot is not None:
        g.db.delete(slot)
    g.db.delete(item)
    g.db.commit()
    flash("イベントを削除しました。", "success")
    return redirect(url_for("admin.events"))


# --- registrations --------------------------------------------------------------------------------------------

def _roster_rows(slot: RegistrationSlot | None) -> list[dict]:
    """The roster as the page and the CSV show it: an order number per list, the status, the time. Residents have
    no names here (step 7 asks for none)."""
    if slot is None:
        return []
    rows, held, waiting = [], 0, 0
    for reg in regs.roster(g.db, slot.id):
        if reg.status in HOLDING:
            held += 1
            number, label = held, REG_LABELS.get(reg.status, reg.status)
        else:
            waiting += 1
            number, label = waiting, f"キャンセル待ち{waiting}番目"
        rows.append({"number": number, "status": reg.status, "label": label,
                     "at": to_tokyo(reg.requested_at), "user_id": reg.user_id})
    return rows


@bp.get("/events/<int:item_id>/registrations")
@requires(LISTINGS_EDIT, load=Event)
def event_registrations(item: Event):
    slot = regs.find_slot(g.db, "event", item.id)
    return render_template("admin/events_registrations.html", item=item, slot=slot, rows=_roster_rows(slot),
                           when=when_text(item), labels=STATUS_LABELS)


@bp.get("/events/<int:item_id>/registrations.csv")
@requires(LISTINGS_EDIT, load=Event)
def event_registrations_csv(item: Event):
    slot = regs.find_slot(g.db, "event", item.id)
    rows = _roster_rows(slot)
    audit.record(g.db, "event.registrations_export", actor=g.account, obj=item, summary=f"{item.title}（{len(rows)}件）")
    g.db.commit()
    start = to_tokyo(item.starts_at)
    body = [[r["number"], "参加確定" if r["status"] in HOLDING else "キャンセル待ち", r["label"],
             f"{r['at']:%Y/%m/%d %H:%M:%S}"] for r in rows]
    return csv_response(f"申込者一覧_{start:%Y%m%d}_{item.id}.csv", ["番号", "状態", "詳しい状態", "申込日時"], body)


def _recipients(slot: RegistrationSlot | None, with_waitlist: bool) -> list[int]:
    if slot is None:
        return []
    wanted = {CONFIRMED} | ({WAITLISTED} if with_waitlist else set())
    return [r.user_id for r in regs.roster(g.db, slot.id) if r.status in wanted]


@bp.route("/events/<int:item_id>/message", methods=["GET", "POST"])
@requires(LISTINGS_EDIT, load=Event)
def event_message(item: Event):
    slot = regs.find_slot(g.db, "event", item.id)
    confirmed, waiting = len(_recipients(slot, False)), len(_recipients(slot, True))
    nonce = request.form.get("nonce", "")
    if not NONCE_RE.fullmatch(nonce):
        nonce = secrets.token_hex(16)
    text = (request.form.get("text") or "").replace("\r\n", "\n").strip()
    with_waitlist = bool(request.form.get("with_waitlist"))
    error = None
    if request.method == "POST":
        ids = _recipients(slot, with_waitlist)
        if item.status not in (PUBLISHED, CANCELLED):
            error = "公開していないイベントには、申し込んだ方がいません。"
        elif not text:
            error = "送る文を入力してください。"
        elif len(text) > MESSAGE_LIMIT:
            error = f"送る文は{MESSAGE_LIMIT:,}文字以内にしてください（いま{len(text):,}文字）。"
        elif not ids:
            error = "送る相手（参加が確定している方）がいません。"
        else:
            from bot.personal_push import notify

            sender = item.organiser_name or organisation_name(item.organisation_id)
            message = (f"「{item.title}」（{short_when(item)}）にお申し込みの方へ、{sender}からのお知らせです。\n\n{text}")
            # The form's nonce is the ref: a double click or a resubmitted page sends once.
            ref = f"event:{item.id}:msg:{nonce}"
            notify(g.db, user_ids=ids, messages=[{"type": "text", "text": message[:5000]}], ref=ref, now=g.now,
                   title=f"イベント「{item.title[:60]}」申込者へのお知らせ")
            audit.record(g.db, "event.message", actor=g.account, obj=item,
                         summary=f"{item.title}: 申込者{len(ids)}人へ（{len(text)}文字）")
            g.db.commit()
            flash(f"申し込んだ方{len(ids)}人に送りました。夜間（通知をひかえる時間）は、朝になってから届きます。", "success")
            return redirect(url_for("admin.event_registrations", item_id=item.id))
    return render_template("admin/events_message.html", item=item, slot=slot, confirmed=confirmed,
                           waiting=waiting - confirmed, nonce=nonce, text=text, with_waitlist=with_waitlist,
                           error=error, limit=MESSAGE_LIMIT, when=when_text(item)), 422 if error else 200
