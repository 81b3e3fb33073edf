"""イベント in the admin: an organisation writes its own events (staff: everyone's), previews them as the bot
shows them, publishes them (or asks the city's staff to approve first when KYODO_LISTING_APPROVAL is on),
cancels them (registered residents are told), reads and exports who registered, and writes to them.

Who may open which event is decided by policy.py (`load=Event`: another organisation's id is a 403 on every
route); the form's checks are in listing_forms.py; the status steps, the list page and the preview drawing are
listing_flow.py's (shared with こどもの居場所); the registrations are bot/registrations.py's.
"""
from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from urllib.parse import quote

from flask import Response, current_app, flash, g, redirect, render_template, request, url_for
from sqlalchemy import func, select

from bot import event_notices
from bot import registrations as regs
from bot.admin import audit
from bot.admin import listing_flow as flow
from bot.admin import listing_forms as lf
from bot.admin.blueprint import bp
from bot.admin.policy import LISTINGS_APPROVE, LISTINGS_EDIT, requires
from bot.clock import to_tokyo, utc
from bot.event_occurrences import materialise
from handlers.events_flex import event_bubble
from models.events import CANCELLED, DRAFT, PENDING, PUBLISHED, Event, EventOccurrence
from models.registrations import CONFIRMED, HOLDING, WAITLISTED, RegistrationSlot

STATUS_LABELS = {DRAFT: "下書き", PENDING: "承認待ち", PUBLISHED: "公開中", CANCELLED: "中止"}
REG_LABELS = {CONFIRMED: "参加確定", WAITLISTED: "キャンセル待ち", "offered": "繰り上げ確認中", "attended": "参加済み",
              "no_show": "欠席"}
# What residents hear about when it changes (event.revision is bumped, registrants are told).
TIME_FIELDS = ("starts_at", "ends_at", "all_day", "rrule")
PLACE_FIELDS = ("place_name", "address", "lat", "lon", "district")
WHAT_KEYS = {"日時": "time", "場所": "place"}  # bot.event_notices.event_changed's words


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
    return flow.safe_bubble(event_bubble, ev, occ, now=g.now, **_bubble_extras(ev))


def _bubble_extras(ev: Event) -> dict:
    return {"district_name": flow.district_names().get(ev.district or ""), "base_url": g.rt.config.public_base_url}


def _preview_stored(item: Event) -> dict | None:
    occ = g.db.scalar(select(EventOccurrence).where(EventOccurrence.event_id == item.id,
                                                    EventOccurrence.ends_at >= g.now)
                      .order_by(EventOccurrence.starts_at).limit(1)) or \
        g.db.scalar(select(EventOccurrence).where(EventOccurrence.event_id == item.id)
                    .order_by(EventOccurrence.starts_at.desc()).limit(1))
    if occ is None:
        return None
    return flow.safe_bubble(event_bubble, item, occ, now=g.now, **_bubble_extras(item))


def _render_form(item: Event | None, raw: dict, errors: dict, bubble: dict | None, status: int = 200):
    return EVENTS.render_form("admin/events_form.html", item, raw, errors, bubble, status,
                              slot=regs.find_slot(g.db, "event", item.id) if item is not None else None)


def _compose(item: Event | None):
    if item is not None and item.status == CANCELLED:
        flash("中止したイベントは編集できません。", "warning")
        return redirect(url_for("admin.event", item_id=item.id))
    if request.method == "GET":
        if item is None:
            return _render_form(None, {"cost_kind": lf.FREE}, {}, None)
        return _render_form(item, flow.stored_raw(item, lf.event_raw(item)), {}, _preview_stored(item))
    parsed = lf.parse_event(request.form, flow.form_context(), existing=item)
    owner_id = flow.owner_from_form(parsed, item)
    previewing = request.form.get("action") == "preview"
    if parsed.ok and not previewing:
        saved = _save(item, parsed, owner_id)
        if saved is not None:
            return EVENTS.saved(saved)
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
    flow.assign_owner(item, owner_id, new=new)
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

def _is_over(item: Event) -> bool:
    last = g.db.scalar(select(func.max(EventOccurrence.ends_at)).where(EventOccurrence.event_id == item.id))
    return last is not None and utc(last) < g.now


def _over_problem(item: Event, step: str) -> str | None:
    """An event whose dates have all passed is not published (nobody could go, and nobody should be told)."""
    if not _is_over(item):
        return None
    fix = "日時を直してから公開してください。" if step == "publish" else "差し戻して日時を直してもらってください。"
    return f"終わったイベントは公開できません。{fix}"


EVENTS = flow.Listing(
    model=Event, table="events", prefix="event", endpoint="admin.event", noun="イベント", full_noun="イベント",
    labels=STATUS_LABELS, shown_in="LINEとホームページのイベント一覧",
    page=lambda **kw: event.__wrapped__(**kw),
    summary=lambda item: f"{item.title}（{short_when(item)}）",
    going_live=lambda item: materialise(g.db, item, now=g.now),
    live_problem=_over_problem,
)


@bp.get("/events")
@requires(LISTINGS_EDIT)
def events():
    return render_template("admin/events.html", **EVENTS.list_page(Event.starts_at.desc(), Event.id.desc()),
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
    bubble = _preview_stored(item)
    return render_template(
        "admin/events_detail.html", **EVENTS.detail_facts(item, error), slot=regs.find_slot(g.db, "event", item.id),
        when=when_text(item), district_name=flow.district_names().get(item.district or "", "市全域・地区を決めない"),
        bubble=bubble, preview=flow.flex_html(bubble), cost_labels=lf.COST_LABELS,
        occurrences=g.db.scalar(select(func.count()).select_from(EventOccurrence)
                                .where(EventOccurrence.event_id == item.id)) or 0,
    ), status


@bp.post("/events/<int:item_id>/publish")
@requires(LISTINGS_EDIT, load=Event)
def event_publish(item: Event):
    return EVENTS.publish(item)


@bp.post("/events/<int:item_id>/approve")
@requires(LISTINGS_APPROVE, load=Event)
def event_approve(item: Event):
    return EVENTS.approve(item)


@bp.post("/events/<int:item_id>/send_back")
@requires(LISTINGS_APPROVE, load=Event)
def event_send_back(item: Event):
    return EVENTS.send_back(item)


@bp.post("/events/<int:item_id>/cancel")
@requires(LISTINGS_EDIT, load=Event)
def event_cancel(item: Event):
    if item.status != PUBLISHED:
        return EVENTS.refuse(item, "中止できるのは公開中のイベントです（下書きは削除できます）。")
    reason = (request.form.get("reason") or "").strip().replace("\r\n", "\n")
    if not reason:
        return EVENTS.refuse(item, "中止の理由を入力してください（申し込んだ方へのお知らせに載ります）。", 422)
    if len(reason) > 300:
        return EVENTS.refuse(item, "中止の理由は300文字以内で入力してください。", 422)
    item.status, item.cancel_reason, item.updated_at = CANCELLED, reason, g.now
    item.revision = (item.revision or 1) + 1
    materialise(g.db, item, now=g.now)  # stays visible as 中止
    regs.close_slot(g.db, "event", item.id, now=g.now)
    event_notices.event_cancelled(g.db, item, now=g.now)
    audit.record(g.db, "event.cancel", actor=g.account, obj=item, summary=f"{item.title}: {reason}")
    return EVENTS.done(item, "中止にしました。申し込んだ方にはLINEでお知らせします。")


@bp.post("/events/<int:item_id>/delete")
@requires(LISTINGS_EDIT, load=Event)
def event_delete(item: Event):
    if item.status not in (DRAFT, PENDING):
        return EVENTS.refuse(item, "公開したイベントは削除できません。取りやめるときは「中止する」を使ってください。")
    slot = regs.find_slot(g.db, "event", item.id)
    if slot is not None and (slot.confirmed or slot.waiting):
        return EVENTS.refuse(item, "申し込んだ方がいるイベントは削除できません。")
    return EVENTS.delete(item, with_rows=[slot] if slot is not None else [])


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
    nonce, text = flow.message_form()
    with_waitlist = bool(request.form.get("with_waitlist"))
    error = None
    if request.method == "POST":
        ids = _recipients(slot, with_waitlist)
        if item.status not in (PUBLISHED, CANCELLED):
            error = "公開していないイベントには、申し込んだ方がいません。"
        elif not (error := flow.message_problem(text, ids)):
            from bot.personal_push import notify

            sender = item.organiser_name or flow.organisation_name(item.organisation_id)
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
                           error=error, limit=flow.MESSAGE_LIMIT, when=when_text(item)), 422 if error else 200
