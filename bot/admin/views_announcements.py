"""お知らせ: compose (text, image, link, 緊急, who receives it), preview in a phone frame, submit and approve,
test-send, send now or schedule, cancel, and the delivery report. The rules of each step are in
announce_flow.py (shared with `kyodo announce`); who may press which button is decided by policy.py."""
from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_wtf.file import FileField
from sqlalchemy import select
from wtforms import BooleanField, RadioField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import InputRequired, Optional, ValidationError

from bot import announcement_messages as am
from bot import media, quota, segments
from bot.admin import announce_flow as flow
from bot.admin import audit, staff_link
from bot.admin.blueprint import bp
from bot.admin.forms import REQUIRED, JaForm, choices, max_len
from bot.admin.policy import (ANNOUNCEMENTS_DRAFT, ANNOUNCEMENTS_SEND, CONTENT_ALL, has, requires, scope)
from models.accounts import Organisation
from models.announcements import CANCELLED, DRAFT, EDITABLE, SENT, SCHEDULED, Announcement

EVERYONE, CHOSEN = "everyone", "chosen"


class AnnouncementForm(JaForm):
    organisation_id = SelectField("差出人", coerce=int, default=0)
    title = StringField("題名（一覧・記録用。LINEには表示されません）", [InputRequired(REQUIRED), max_len(100)])
    # A browser sends a textarea's line breaks as CRLF; LINE (and the counter) take one character per break.
    body = TextAreaField("本文", [InputRequired(REQUIRED)], render_kw={"rows": 8, "data-counter": "body-count"},
                         filters=[lambda s: s.replace("\r\n", "\n") if s else s])
    urgent = BooleanField("緊急（夜間も通知をひかえる時間を待たずに届け、1日の上限にも数えません）")
    image = FileField("画像（JPEG・PNG、任意）")
    remove_image = BooleanField("画像を外す")
    link_url = StringField("リンク（https:// で始まるアドレス、任意）", [Optional()], render_kw={"inputmode": "url"})
    link_label = StringField("リンクのボタンの文字", [Optional(), max_len(am.LINK_LABEL_LIMIT)],
                             render_kw={"placeholder": am.DEFAULT_LINK_LABEL})
    target = RadioField("届ける相手", default=EVERYONE,
                        choices=choices([(EVERYONE, "友だち全員"), (CHOSEN, "条件を選んで届ける")]))
    districts = SelectMultipleField("地区", coerce=str)
    projects = SelectMultipleField("プロジェクト", coerce=int)
    topics = SelectMultipleField("関心のある分野", coerce=str,
                                 choices=choices(list(flow.TOPIC_LABELS.items())))
    match = RadioField("条件の組み合わせ方", default=segments.ANY, choices=choices([
        (segments.ANY, "選んだ条件のどれか一つに当てはまる方に届ける（または）"),
        (segments.ALL, "選んだ条件のすべてに当てはまる方だけに届ける（かつ）"),
    ]))

    def validate_body(self, field) -> None:
        limit = am.body_limit(bool(self.urgent.data))
        n = am.utf16_len(field.data or "")
        if n > limit:
            raise ValidationError(f"本文が長すぎます（{n:,}文字）。LINEで送れるのは{limit:,}文字までです。")

    def validate_link_url(self, field) -> None:
        if field.data and (problem := am.link_problem(field.data.strip())):
            raise ValidationError(problem)

    def validate_target(self, field) -> None:
        if field.data == CHOSEN and not (self.districts.data or self.projects.data or self.topics.data):
            raise ValidationError("地区・プロジェクト・関心のある分野から、条件を一つ以上選んでください。")

    def segment(self) -> segments.Segment:
        if self.target.data != CHOSEN:
            return segments.Segment()
        return segments.Segment(districts=tuple(self.districts.data or ()), projects=tuple(self.projects.data or ()),
                                topics=tuple(self.topics.data or ()), match=self.match.data or segments.ANY)


def _form(item: Announcement | None) -> AnnouncementForm:
    form = AnnouncementForm()
    form.districts.choices = choices(flow.districts(g.rt.config.city))
    form.projects.choices = choices(flow.projects(g.db))
    if has(g.account, CONTENT_ALL):
        organisations = g.db.scalars(select(Organisation).order_by(Organisation.name)).all()
        form.organisation_id.choices = choices([(0, "市（職員）")] + [(o.id, o.name) for o in organisations])
    else:
        del form.organisation_id  # an organisation writes for itself only: not offered, so it cannot be forged
    if request.method == "GET" and item is not None:
        seg = flow.segment_of(item)
        if "organisation_id" in form:
            form.organisation_id.data = item.organisation_id or 0
        form.title.data, form.body.data, form.urgent.data = item.title, item.body, item.urgent
        form.link_url.data, form.link_label.data = item.link_url or "", item.link_label or ""
        form.target.data = EVERYONE if seg.is_everyone() else CHOSEN
        form.districts.data, form.projects.data = list(seg.districts), list(seg.projects)
        form.topics.data, form.match.data = list(seg.topics), seg.match
    return form


def _owner_id(form: AnnouncementForm) -> int | None:
    if "organisation_id" in form:
        return form.organisation_id.data or None
    return g.account.organisation_id


def _context(form, item, content: am.Content, seg: segments.Segment) -> dict:
    audience = flow.count(g.db, seg, content.urgent)
    project_names = dict(flow.projects(g.db))
    return dict(form=form, item=item, messages=am.build(content), audience=audience, quota=quota.month_quota(g.rt),
                segment_text=flow.describe(seg, g.rt.config.city, project_names),
                district_groups=flow.district_groups(g.rt.config.city), project_choices=list(project_names.items()),
                topic_choices=list(flow.TOPIC_LABELS.items()),
                threshold=g.rt.config.approval_threshold, text_limit=am.TEXT_LIMIT,
                urgent_prefix_len=am.utf16_len(am.URGENT_PREFIX), body_len=am.utf16_len(content.body or ""))


def _save(form: AnnouncementForm, item: Announcement | None) -> Announcement | None:
    """Store the form in `item` (a new one when None); None (and the error beside the field) if the image fails."""
    upload = form.image.data
    image_id = item.image_id if item is not None else None
    if form.remove_image.data:
        image_id = None
    if upload is not None and getattr(upload, "filename", ""):
        try:
            image_id = media.save_upload(g.db, upload, g.account).id
        except media.MediaError as e:
            form.image.errors = [str(e)]
            return None
    new = item is None
    if new:
        item = Announcement(created_by_id=g.account.id, created_at=g.now, status=DRAFT)
        g.db.add(item)
    else:
        flow.touch_after_edit(item, g.now)
    item.organisation_id = _owner_id(form)
    item.title, item.body, item.urgent = form.title.data.strip(), form.body.data or "", bool(form.urgent.data)
    item.link_url = (form.link_url.data or "").strip() or None
    item.link_label = (form.link_label.data or "").strip() or None
    item.image_id, item.updated_at = image_id, g.now
    seg = form.segment()
    item.segment = {} if seg.is_everyone() else _plain(seg)
    item.audience = flow.count(g.db, seg, item.urgent)
    audit.record(g.db, "announcement.create" if new else "announcement.update", actor=g.account, obj=item,
                 summary=f"{item.title}（{item.audience:,}人）")
    return item


def _plain(seg: segments.Segment) -> dict:
    import json

    data = json.loads(seg.to_json())
    data.pop("user_ids", None)
    return data


def _compose(item: Announcement | None):
    if item is not None and item.status not in EDITABLE:
        flash(f"このお知らせは「{item.status_label}」のため、編集できません。", "warning")
        return redirect(url_for("admin.announcement", item_id=item.id))
    form = _form(item)
    previewing = request.form.get("action") == "preview"
    if request.method == "POST" and form.validate_on_submit() and not previewing:
        saved = _save(form, item)
        if saved is not None:
            g.db.commit()
            flash("お知らせを保存しました。内容と届く人数を確かめてから、配信してください。", "success")
            return redirect(url_for("admin.announcement", item_id=saved.id))
    if request.method == "POST":
        content = am.Content(body=form.body.data or "", urgent=bool(form.urgent.data),
                             image=None if item is None or form.remove_image.data
                             else flow.image_urls(g.rt.config, g.db, item.image_id),
                             link_url=(form.link_url.data or "").strip() or None,
                             link_label=(form.link_label.data or "").strip() or None)
        seg = form.segment()
        status = 200 if previewing and not form.errors else 422
    else:
        content = am.content_of(item, flow.image_urls(g.rt.config, g.db, item.image_id)) if item else am.Content("")
        seg, status = (flow.segment_of(item) if item else segments.Segment()), 200
    if content.link_url and am.link_problem(content.link_url):
        content = am.Content(content.body, content.urgent, content.image)  # never preview a refused link
    return render_template("admin/announcements_form.html", **_context(form, item, content, seg)), status


# --- pages ---------------------------------------------------------------------------------------------

@bp.get("/announcements")
@requires(ANNOUNCEMENTS_DRAFT)
def announcements():
    stmt = scope(select(Announcement), Announcement, g.account).order_by(Announcement.updated_at.desc(),
                                                                         Announcement.id.desc())
    return render_template("admin/announcements.html", items=g.db.scalars(stmt).all())


@bp.route("/announcements/new", methods=["GET", "POST"])
@requires(ANNOUNCEMENTS_DRAFT)
def announcement_new():
    return _compose(None)


@bp.route("/announcements/<int:item_id>/edit", methods=["GET", "POST"])
@requires(ANNOUNCEMENTS_DRAFT, load=Announcement)
def announcement_edit(item: Announcement):
    return _compose(item)


@bp.get("/announcements/<int:item_id>")
@requires(ANNOUNCEMENTS_DRAFT, load=Announcement)
def announcement(item: Announcement, error: str | None = None, status: int = 200, at: str = ""):
    seg = flow.segment_of(item)
    audience = flow.count(g.db, seg, item.urgent)
    threshold = g.rt.config.approval_threshold
    project_names = dict(flow.projects(g.db))
    return render_template(
        "admin/announcements_detail.html", item=item, messages=flow.messages(g.rt.config, g.db, item),
        audience=audience, threshold=threshold, quota=quota.month_quota(g.rt), error=error, at=at,
        segment_text=flow.describe(seg, g.rt.config.city, project_names),
        needs_approval=flow.needs_approval(item, audience, threshold),
        send_problem=flow.send_problem(item, audience, threshold),
        can_send=has(g.account, ANNOUNCEMENTS_SEND), linked=staff_link.linked_user(g.db, g.account),
    ), status


def _step(item: Announcement, do, done: str):
    """Run one step of announce_flow; its refusal is shown on the announcement's page with its status code."""
    try:
        do()
    except flow.FlowError as e:
        g.db.rollback()
        if e.status == 403:  # refused on who is asking (approving one's own): recorded like any refusal
            audit.record(g.db, "access.denied", actor=g.account, obj=item, summary=e.message)
            g.db.commit()
        item = g.db.get(Announcement, item.id)
        return announcement.__wrapped__(item=item, error=e.message, status=e.status, at=request.form.get("at", ""))
    g.db.commit()
    flash(done, "success")
    return redirect(url_for("admin.announcement", item_id=item.id))


@bp.post("/announcements/<int:item_id>/submit")
@requires(ANNOUNCEMENTS_DRAFT, load=Announcement)
def announcement_submit(item: Announcement):
    audience = flow.count(g.db, flow.segment_of(item), item.urgent)
    return _step(item, lambda: flow.submit(g.db, item, g.account, g.now, audience),
                 "承認を依頼しました。職員が承認すると配信できるようになります。")


@bp.post("/announcements/<int:item_id>/approve")
@requires(ANNOUNCEMENTS_SEND, load=Announcement)
def announcement_approve(item: Announcement):
    return _step(item, lambda: flow.approve(g.db, item, g.account, g.now), "承認しました。")


@bp.post("/announcements/<int:item_id>/send")
@requires(ANNOUNCEMENTS_SEND, load=Announcement)
def announcement_send(item: Announcement):
    return _step(item, lambda: flow.publish(g.db, g.rt.config, item, g.account, g.now),
                 "配信を始めました。配信の結果は、このページの「配信結果」で確かめられます。")


@bp.post("/announcements/<int:item_id>/schedule")
@requires(ANNOUNCEMENTS_SEND, load=Announcement)
def announcement_schedule(item: Announcement):
    def do():
        when = flow.parse_when(request.form.get("at"))
        flow.publish(g.db, g.rt.config, item, g.account, g.now, when=when)

    return _step(item, do, "配信を予約しました。予約した日時になると配信が始まります。")


@bp.post("/announcements/<int:item_id>/cancel")
@requires(ANNOUNCEMENTS_SEND, load=Announcement)
def announcement_cancel(item: Announcement):
    return _step(item, lambda: flow.cancel(g.db, item, g.account, g.now), "配信の予約を取り消しました。")


@bp.post("/announcements/<int:item_id>/test")
@requires(ANNOUNCEMENTS_SEND, load=Announcement)
def announcement_test(item: Announcement):
    return _step(item, lambda: flow.test_send(g.db, g.rt.config, item, g.account, g.now),
                 "テスト配信しました。ご自分のLINEで表示を確かめてください。")


@bp.post("/announcements/<int:item_id>/delete")
@requires(ANNOUNCEMENTS_DRAFT, load=Announcement)
def announcement_delete(item: Announcement):
    if item.status in (SENT, SCHEDULED):
        return announcement.__wrapped__(item=item, status=409,
                                        error="配信済み・配信予約中のお知らせは削除できません（予約は先に取り消してください）。")
    audit.record(g.db, "announcement.delete", actor=g.account, obj=item, summary=item.title)
    g.db.delete(item)
    g.db.commit()
    flash("お知らせを削除しました。", "success")
    return redirect(url_for("admin.announcements"))


@bp.get("/announcements/<int:item_id>/report")
@requires(ANNOUNCEMENTS_DRAFT, load=Announcement)
def announcement_report(item: Announcement):
    if item.publication_id is None:
        abort(404)
    return render_template("admin/announcements_report.html", item=item, report=flow.report(g.db, item),
                           cancelled=item.status == CANCELLED)
