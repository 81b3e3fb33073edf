"""ボランティア in the admin: an organisation writes its own opportunities (staff: everyone's) and their shifts,
publishes them (or asks the city's staff to approve first when KYODO_LISTING_APPROVAL is on), keeps a roster per
shift at the door (出席 / 欠席, one tap per person, the hours follow), writes to a shift's volunteers and exports
the roster as Excel-friendly CSV.

Who may open which opportunity is policy.py's (`load=Opportunity` on every item route: another organisation's id
is a 403). A shift is reached only through its opportunity (/admin/volunteer/<item_id>/shifts/<shift_id>/...):
a shift of another opportunity is a 404, so the ownership check of the opportunity covers its shifts and rosters.
Sign-ups, capacity and the waitlist are bot/registrations.py's (slot kind "shift"); the residents' notices are
bot/volunteer_notices.py's (the LINE side) and bot/personal_push.py's.
"""
from __future__ import annotations

import importlib
import logging

from flask import abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import func, select

from bot import registrations as regs
from bot import volunteer_roster as roster_
from bot.admin import audit
from bot.admin import listing_flow as flow
from bot.admin import volunteer_forms as vf
from bot.admin.blueprint import bp
from bot.admin.policy import LISTINGS_APPROVE, VOLUNTEER_MANAGE, has, requires, scope
from bot.admin.views_events import csv_response
from bot.clock import to_tokyo, utc
from bot.admin.listing_forms import WEEKDAYS
from models.registrations import ATTENDED, CONFIRMED, NO_SHOW, OFFERED
from models.volunteer import CANCELLED, DRAFT, OPEN, PENDING, PUBLISHED, WITHDRAWN, Opportunity, Shift

log = logging.getLogger("kyodo.admin")

STATUS_LABELS = {DRAFT: "下書き", PENDING: "承認待ち", PUBLISHED: "公開中", WITHDRAWN: "掲載終了"}
REG_LABELS = {CONFIRMED: "参加確定", OFFERED: "繰り上げ確認中", ATTENDED: "出席", NO_SHOW: "欠席"}
ATTENDANCE_LABELS = {ATTENDED: "出席", NO_SHOW: "欠席"}
PAGE_SIZE = 50


# --- wording ------------------------------------------------------------------------------------------------

def shift_when(shift: Shift) -> str:
    start, end = to_tokyo(shift.starts_at), to_tokyo(shift.ends_at)
    text = f"{start.year}年{start.month}月{start.day}日（{WEEKDAYS[start.weekday()]}）{start:%H:%M}"
    if end.date() == start.date():
        return f"{text}〜{end:%H:%M}"
    return f"{text}〜{end.month}月{end.day}日 {end:%H:%M}"


def short_when(shift: Shift) -> str:
    start = to_tokyo(shift.starts_at)
    return f"{start.month}月{start.day}日（{WEEKDAYS[start.weekday()]}）{start:%H:%M}"


def _notices(name: str):
    """A function of bot/volunteer_notices.py (the LINE side), or None while it is not there yet."""
    try:
        module = importlib.import_module("bot.volunteer_notices")
    except Exception:  # noqa: BLE001 - the notices are the LINE helper's; the admin keeps working without
        log.exception("admin: bot.volunteer_notices could not be imported")
        return None
    return getattr(module, name, None)


# --- ownership of a shift -------------------------------------------------------------------------------------

def _shift_of(item: Opportunity, shift_id: int) -> Shift:
    """The shift named in the URL, only under its own opportunity (the policy checked the opportunity)."""
    shift = g.db.get(Shift, shift_id)
    if shift is None or shift.opportunity_id != item.id:
        abort(404)
    return shift


# --- opportunities ------------------------------------------------------------------------------------------------

@bp.get("/volunteer")
@requires(VOLUNTEER_MANAGE)
def volunteer():
    status = flow.status_filter(STATUS_LABELS)
    page = flow.page_number()
    stmt = scope(select(Opportunity), Opportunity, g.account)
    if status:
        stmt = stmt.where(Opportunity.status == status)
    total = g.db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    items = g.db.scalars(stmt.order_by(Opportunity.updated_at.desc(), Opportunity.id.desc())
                         .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    ids = [o.id for o in items]
    upcoming = dict(g.db.execute(select(Shift.opportunity_id, func.count()).where(
        Shift.opportunity_id.in_(ids), Shift.starts_at >= g.now, Shift.status == OPEN)
        .group_by(Shift.opportunity_id)).all()) if ids else {}
    return render_template("admin/volunteer.html", items=items, status=status, labels=STATUS_LABELS, page=page,
                           pages=max(1, -(-total // PAGE_SIZE)), upcoming=upcoming,
                           org_names={o.id: o.name for o in flow.organisations()})


def _render_form(item: Opportunity | None, raw: dict, errors: dict, status: int = 200):
    ctx = flow.form_context()
    return render_template("admin/volunteer_form.html", item=item, f=raw, errors=errors, districts=ctx.districts,
                           projects=flow.project_choices(), organisations=flow.organisations(),
                           choose_owner=has(g.account, "content:all")), status


def _compose(item: Opportunity | None):
    if request.method == "GET":
        raw = {} if item is None else flow.stored_raw(item, vf.opportunity_raw(item))
        return _render_form(item, raw, {})
    parsed = vf.parse_opportunity(request.form, flow.form_context())
    owner_id = flow.owner_from_form(parsed, item)
    if not parsed.ok:
        return _render_form(item, parsed.raw, parsed.errors, 422)
    new = item is None
    if new:
        item = Opportunity(status=DRAFT, source="admin", created_at=g.now, updated_at=g.now)
        g.db.add(item)
    for key, value in parsed.values.items():
        setattr(item, key, value)
    item.organisation_id, item.updated_at = owner_id, g.now
    audit.record(g.db, "volunteer.create" if new else "volunteer.update", actor=g.account, obj=item,
                 summary=item.title)
    g.db.commit()
    flash("ボランティア活動を保存しました。" + ("シフトを追加して「公開する」を押すと、LINEに表示されます。"
                                              if item.status == DRAFT else ""), "success")
    return redirect(url_for("admin.volunteer_item", item_id=item.id))


@bp.route("/volunteer/new", methods=["GET", "POST"])
@requires(VOLUNTEER_MANAGE)
def volunteer_new():
    return _compose(None)


@bp.route("/volunteer/<int:item_id>/edit", methods=["GET", "POST"])
@requires(VOLUNTEER_MANAGE, load=Opportunity)
def volunteer_edit(item: Opportunity):
    return _compose(item)


def _shift_rows(item: Opportunity) -> list[dict]:
    out = []
    for shift in item.shifts:
        slot = regs.find_slot(g.db, "shift", shift.id)
        out.append({"shift": shift, "slot": slot, "when": shift_when(shift), "past": utc(shift.ends_at) <= g.now})
    return out


def _detail(item: Opportunity, error: str | None = None, status: int = 200):
    return render_template(
        "admin/volunteer_detail.html", item=item, labels=STATUS_LABELS, error=error, shifts=_shift_rows(item),
        owner=flow.organisation_name(item.organisation_id), approval=flow.needs_approval(),
        can_approve=has(g.account, LISTINGS_APPROVE),
        district_name=flow.district_names().get(item.district or "", "市全域・地区を決めない"),
        sent_back=flow.send_back_reason("volunteer_opportunities", item.id) if item.status == DRAFT else None,
    ), status


@bp.get("/volunteer/<int:item_id>")
@requires(VOLUNTEER_MANAGE, load=Opportunity)
def volunteer_item(item: Opportunity):
    return _detail(item)


def _refuse(item: Opportunity, message: str, status: int = 409):
    g.db.rollback()
    return _detail(g.db.get(Opportunity, item.id), message, status)


def _done(item_id: int, message: str, endpoint: str = "admin.volunteer_item", **kw):
    g.db.commit()
    flash(message, "success")
    return redirect(url_for(endpoint, item_id=item_id, **kw))


def _go_live(item: Opportunity, step: str):
    item.status, item.updated_at = PUBLISHED, g.now
    item.published_at = item.published_at or g.now
    audit.record(g.db, f"volunteer.{step}", actor=g.account, obj=item, summary=item.title)


@bp.post("/volunteer/<int:item_id>/publish")
@requires(VOLUNTEER_MANAGE, load=Opportunity)
def volunteer_publish(item: Opportunity):
    if item.status not in (DRAFT, WITHDRAWN):
        return _refuse(item, f"この活動は「{STATUS_LABELS[item.status]}」のため、公開の操作はできません。")
    if flow.needs_approval():
        item.status, item.updated_at = PENDING, g.now
        audit.record(g.db, "volunteer.submit", actor=g.account, obj=item, summary=item.title)
        return _done(item.id, "承認を依頼しました。市の職員が確認すると公開されます。")
    _go_live(item, "publish")
    return _done(item.id, "公開しました。LINEの「ボランティア」に表示されます。")


@bp.post("/volunteer/<int:item_id>/approve")
@requires(LISTINGS_APPROVE, load=Opportunity)
def volunteer_approve(item: Opportunity):
    if item.status != PENDING:
        return _refuse(item, "承認待ちの活動ではありません。")
    _go_live(item, "approve")
    return _done(item.id, "承認して公開しました。")


@bp.post("/volunteer/<int:item_id>/send_back")
@requires(LISTINGS_APPROVE, load=Opportunity)
def volunteer_send_back(item: Opportunity):
    if item.status != PENDING:
        return _refuse(item, "承認待ちの活動ではありません。")
    reason = (request.form.get("reason") or "").strip()[:flow.REASON_LIMIT]
    item.status, item.updated_at = DRAFT, g.now
    audit.record(g.db, "volunteer.send_back", actor=g.account, obj=item, summary=reason or "（理由の記入なし）")
    return _done(item.id, "差し戻しました。団体が直して、もう一度承認を依頼できます。")


@bp.post("/volunteer/<int:item_id>/withdraw")
@requires(VOLUNTEER_MANAGE, load=Opportunity)
def volunteer_withdraw(item: Opportunity):
    if item.status not in (PUBLISHED, PENDING):
        return _refuse(item, "掲載を終えられるのは、公開中か承認待ちの活動です。")
    item.status, item.updated_at = WITHDRAWN, g.now
    audit.record(g.db, "volunteer.withdraw", actor=g.account, obj=item, summary=item.title)
    return _done(item.id, "掲載を終えました。LINEには表示されなくなります（申し込み済みのシフトはそのままです）。")


# --- shifts ---------------------------------------------------------------------------------------------------

def _render_shift_form(item, shift, raw, errors, status=200, *, slot=None, below=None):
    return render_template("admin/volunteer_shift_form.html", item=item, shift=shift, f=raw, errors=errors,
                           slot=slot, below=below, when=shift_when(shift) if shift is not None else None), status


def _shift_compose(item: Opportunity, shift: Shift | None):
    if shift is not None and shift.status == CANCELLED:
        flash("中止したシフトは編集できません。", "warning")
        return redirect(url_for("admin.volunteer_item", item_id=item.id))
    slot = regs.find_slot(g.db, "shift", shift.id) if shift is not None else None
    if request.method == "GET":
        raw = vf.shift_raw(shift) if shift is not None else {}
        return _render_shift_form(item, shift, raw, {}, slot=slot)
    parsed = vf.parse_shift(request.form, now=g.now, existing=shift)
    if not parsed.ok:
        return _render_shift_form(item, shift, parsed.raw, parsed.errors, 422, slot=slot)
    v = parsed.values
    new = shift is None
    moved: list = []
    if slot is not None and v["capacity"] < slot.confirmed:
        if not parsed.raw.get("move_to_waitlist"):
            parsed.errors["capacity"] = (
                f"参加が確定している方が{slot.confirmed}人いるため、定員を{v['capacity']}人には減らせません。"
                f"{slot.confirmed}人以上にするか、下の「最後に申し込んだ方をキャンセル待ちに移す」に印を付けてください。")
            return _render_shift_form(item, shift, parsed.raw, parsed.errors, 409, slot=slot,
                                      below=slot.confirmed - v["capacity"])
        out = regs.set_capacity(g.db, slot.id, v["capacity"], now=g.now, overflow="waitlist")
        if out.status == "below_confirmed":
            g.db.rollback()
            item = g.db.get(Opportunity, item.id)
            shift = g.db.get(Shift, shift.id)
            slot = regs.find_slot(g.db, "shift", shift.id)
            parsed.errors["capacity"] = ("出席・欠席を記録した方や繰り上げ確認中の方は、キャンセル待ちに移せません。"
                                         f"定員を{out.position}人より少なくするには、その方たちの記録を確かめてください。")
            return _render_shift_form(item, shift, parsed.raw, parsed.errors, 409, slot=slot)
        moved = out.moved
    before = None if new else (utc(shift.starts_at), utc(shift.ends_at))
    if new:
        shift = Shift(opportunity_id=item.id, status=OPEN, created_at=g.now, updated_at=g.now)
        g.db.add(shift)
    for key, value in v.items():
        setattr(shift, key, value)
    shift.updated_at = g.now
    g.db.flush()
    try:
        regs.slot_for(g.db, "shift", shift.id, capacity=shift.capacity, starts_at=shift.starts_at,
                      ends_at=shift.ends_at, closes_at=shift.signup_deadline, now=g.now)
    except regs.SlotError:  # someone signed up between the check and the lock
        g.db.rollback()
        parsed.errors["capacity"] = "参加が確定している方より少ない定員にはできません。もう一度確かめてください。"
        shift = g.db.get(Shift, shift.id) if not new else None
        return _render_shift_form(g.db.get(Opportunity, item.id), shift, parsed.raw, parsed.errors, 409,
                                  slot=regs.find_slot(g.db, "shift", shift.id) if shift is not None else None)
    time_changed = before is not None and before != (utc(shift.starts_at), utc(shift.ends_at))
    told = ""
    if time_changed and (changed := _notices("shift_changed")) is not None:
        changed(g.db, shift, now=g.now)
        told = "申し込んだ方には、日時の変更をLINEでお知らせします。"
    summary = f"{item.title}（{short_when(shift)}・定員{shift.capacity}人）"
    if moved:
        summary += f" キャンセル待ちへ{len(moved)}人"
    if time_changed:
        summary += " 変更: 日時"
    audit.record(g.db, "volunteer.shift_create" if new else "volunteer.shift_update", actor=g.account, obj=item,
                 summary=summary)
    message = "シフトを追加しました。" if new else "シフトを保存しました。"
    if moved:
        message += f"最後に申し込んだ{len(moved)}人をキャンセル待ちの先頭に移しました。"
    return _done(item.id, message + told)


@bp.route("/volunteer/<int:item_id>/shifts/new", methods=["GET", "POST"])
@requires(VOLUNTEER_MANAGE, load=Opportunity)
def volunteer_shift_new(item: Opportunity):
    return _shift_compose(item, None)


@bp.route("/volunteer/<int:item_id>/shifts/<int:shift_id>/edit", methods=["GET", "POST"])
@requires(VOLUNTEER_MANAGE, load=Opportunity)
def volunteer_shift_edit(item: Opportunity, shift_id: int):
    return _shift_compose(item, _shift_of(item, shift_id))


@bp.post("/volunteer/<int:item_id>/shifts/<int:shift_id>/cancel")
@requires(VOLUNTEER_MANAGE, load=Opportunity)
def volunteer_shift_cancel(item: Opportunity, shift_id: int):
    shift = _shift_of(item, shift_id)
    if shift.status == CANCELLED:
        return _refuse(item, "このシフトはすでに中止しています。")
    if utc(shift.ends_at) <= g.now:
        return _refuse(item, "終わったシフトは中止できません。")
    shift.status, shift.updated_at = CANCELLED, g.now
    regs.close_slot(g.db, "shift", shift.id, now=g.now)
    told = ""
    if (cancelled := _notices("shift_cancelled")) is not None:
        cancelled(g.db, shift, now=g.now)
        told = "申し込んだ方にはLINEでお知らせします。"
    audit.record(g.db, "volunteer.shift_cancel", actor=g.account, obj=item, summary=f"{item.title}（{short_when(shift)}）")
    return _done(item.id, "シフトを中止にしました。" + told)


# --- roster ---------------------------------------------------------------------------------------------------

def _roster_page(item: Opportunity, shift: Shift, error: str | None = None, status: int = 200):
    held, waiting = roster_.rows(g.db, shift)
    attended = [r for r in held if r.status == ATTENDED]
    return render_template(
        "admin/volunteer_roster.html", item=item, shift=shift, when=shift_when(shift), held=held, waiting=waiting,
        slot=regs.find_slot(g.db, "shift", shift.id), labels=REG_LABELS, error=error,
        attended=len(attended), no_show=sum(r.status == NO_SHOW for r in held),
        hours=roster_.hours_text(sum(r.minutes for r in attended)), shift_hours=roster_.hours_text(shift.minutes),
        may_mark=_may_mark(shift), markable=roster_.MARKABLE,
    ), status


def _may_mark(shift: Shift) -> bool:
    """出欠は当日から: the door opens on the shift's day (Tokyo), and a late record after it is still allowed."""
    return to_tokyo(g.now).date() >= to_tokyo(shift.starts_at).date() and shift.status != CANCELLED


@bp.get("/volunteer/<int:item_id>/shifts/<int:shift_id>/roster")
@requires(VOLUNTEER_MANAGE, load=Opportunity)
def volunteer_roster(item: Opportunity, shift_id: int):
    return _roster_page(item, _shift_of(item, shift_id))


@bp.post("/volunteer/<int:item_id>/shifts/<int:shift_id>/roster/<int:reg_id>")
@requires(VOLUNTEER_MANAGE, load=Opportunity)
def volunteer_attendance(item: Opportunity, shift_id: int, reg_id: int):
    shift = _shift_of(item, shift_id)
    slot = regs.find_slot(g.db, "shift", shift.id)
    from models.registrations import Registration

    reg = g.db.get(Registration, reg_id)
    if slot is None or reg is None or reg.slot_id != slot.id:
        abort(404)
    choice = request.form.get("attendance", "")
    if choice not in ATTENDANCE_LABELS:
        return _roster_page(item, shift, "出席か欠席のボタンを押してください。", 422)
    if not _may_mark(shift):
        return _roster_page(item, shift, "出欠はシフトの当日から記録できます。", 409)
    out = roster_.mark_attendance(g.db, reg.id, choice == ATTENDED, now=g.now)
    if out == "not_holding":
        g.db.rollback()
        return _roster_page(item, shift, "この方は参加が確定していないため、出欠を記録できません（キャンセルされた可能性があります）。", 409)
    if out in (ATTENDED, NO_SHOW):
        # The summary names the sign-up by number only: no resident's name in the audit log.
        audit.record(g.db, "volunteer.attendance", actor=g.account, obj=item,
                     summary=f"{item.title}（{short_when(shift)}）申込#{reg.id}: {ATTENDANCE_LABELS[out]}")
    g.db.commit()
    return redirect(url_for("admin.volunteer_roster", item_id=item.id, shift_id=shift.id) + f"#reg-{reg.id}")


@bp.get("/volunteer/<int:item_id>/shifts/<int:shift_id>/roster.csv")
@requires(VOLUNTEER_MANAGE, load=Opportunity)
def volunteer_roster_csv(item: Opportunity, shift_id: int):
    shift = _shift_of(item, shift_id)
    held, waiting = roster_.rows(g.db, shift)
    body = []
    for r in held:
        body.append([r.name, REG_LABELS.get(r.status, r.status) if r.status not in ATTENDANCE_LABELS else "参加確定",
                     f"{r.requested_at:%Y/%m/%d %H:%M:%S}", ATTENDANCE_LABELS.get(r.status, "未記録"),
                     _hours(r.minutes) if r.status == ATTENDED else ""])
    for r in waiting:
        body.append([r.name, f"キャンセル待ち{r.number}番目", f"{r.requested_at:%Y/%m/%d %H:%M:%S}", "", ""])
    audit.record(g.db, "volunteer.roster_export", actor=g.account, obj=item,
                 summary=f"{item.title}（{short_when(shift)}・{len(body)}件）")
    g.db.commit()
    start = to_tokyo(shift.starts_at)
    return csv_response(f"名簿_{start:%Y%m%d_%H%M}_{shift.id}.csv", ["名前", "状態", "申込日時", "出欠", "時間"], body)


def _hours(minutes: int) -> str:
    """Hours as a number Excel adds up: 2.5, 3."""
    return f"{minutes / 60:.2f}".rstrip("0").rstrip(".")


# --- message ----------------------------------------------------------------------------------------------------

def _recipients(shift: Shift) -> list[int]:
    slot = regs.find_slot(g.db, "shift", shift.id)
    if slot is None:
        return []
    # Those holding a place who have not yet been checked in (as bot.volunteer_notices.message_volunteers).
    return [r.user_id for r in regs.roster(g.db, slot.id) if r.status in (CONFIRMED, OFFERED)]


@bp.route("/volunteer/<int:item_id>/shifts/<int:shift_id>/message", methods=["GET", "POST"])
@requires(VOLUNTEER_MANAGE, load=Opportunity)
def volunteer_message(item: Opportunity, shift_id: int):
    shift = _shift_of(item, shift_id)
    ids = _recipients(shift)
    nonce, text = flow.message_form()
    text = text.replace("\x00", "").strip()  # a NUL would stop the push on PostgreSQL
    error = None
    if request.method == "POST":
        if not (error := flow.message_problem(text, ids)):
            # The form's nonce is the ref: a double click or a resubmitted page sends once.
            ref = f"shift:{shift.id}:msg:{nonce}"
            if (send := _notices("message_volunteers")) is not None:  # the LINE side's wording and buttons
                send(g.db, shift, text, now=g.now, ref=ref)
            else:
                from bot.personal_push import notify

                sender = flow.organisation_name(item.organisation_id)
                message = f"ボランティア「{item.title}」（{short_when(shift)}）に参加予定の方へ、{sender}からのお知らせです。\n\n{text}"
                notify(g.db, user_ids=ids, messages=[{"type": "text", "text": message[:5000]}], ref=ref, now=g.now,
                       title=f"ボランティア「{item.title[:60]}」参加者へのお知らせ")
            audit.record(g.db, "volunteer.message", actor=g.account, obj=item,
                         summary=f"{item.title}（{short_when(shift)}）: {len(ids)}人へ（{len(text)}文字）")
            return _done(item.id, f"参加予定の方{len(ids)}人に送りました。夜間（通知をひかえる時間）は、朝になってから届きます。",
                         "admin.volunteer_roster", shift_id=shift.id)
    return render_template("admin/volunteer_message.html", item=item, shift=shift, when=shift_when(shift),
                           count=len(ids), nonce=nonce, text=text, error=error,
                           limit=flow.MESSAGE_LIMIT), 422 if error else 200
