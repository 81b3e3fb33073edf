"""お知らせ下書き: an organisation's own drafts (staff and admins see every organisation's)."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from bot.admin import audit
from bot.admin.blueprint import bp
from bot.admin.forms import NoticeForm, choices
from bot.admin.policy import CONTENT_ALL, NOTICES_WRITE, has, requires, scope
from models.accounts import NoticeDraft, Organisation


@bp.get("/notices")
@requires(NOTICES_WRITE)
def notices():
    stmt = scope(select(NoticeDraft), NoticeDraft, g.account).order_by(NoticeDraft.updated_at.desc(), NoticeDraft.id.desc())
    return render_template("admin/notices.html", notices=g.db.scalars(stmt).all())


def _form(item: NoticeDraft | None) -> NoticeForm:
    form = NoticeForm(obj=item if request.method == "GET" else None)
    if has(g.account, CONTENT_ALL):
        organisations = g.db.scalars(select(Organisation).order_by(Organisation.name)).all()
        form.organisation_id.choices = choices([(0, "（選んでください）")] + [(o.id, o.name) for o in organisations])
    else:
        # An organisation writes for itself only: the field is not even offered, so it cannot be forged.
        del form.organisation_id
    return form


def _owner_id(form: NoticeForm) -> int:
    return form.organisation_id.data if "organisation_id" in form else g.account.organisation_id


@bp.route("/notices/new", methods=["GET", "POST"])
@requires(NOTICES_WRITE)
def notice_new():
    form = _form(None)
    if form.validate_on_submit():
        item = NoticeDraft(organisation_id=_owner_id(form), title=form.title.data.strip(), body=form.body.data or "",
                           created_by_id=g.account.id, created_at=g.now, updated_at=g.now)
        g.db.add(item)
        audit.record(g.db, "notice.create", actor=g.account, obj=item, summary=item.title)
        g.db.commit()
        flash("下書きを保存しました。", "success")
        return redirect(url_for("admin.notices"))
    return render_template("admin/notice_form.html", form=form, item=None), 422 if request.method == "POST" else 200


@bp.route("/notices/<int:item_id>/edit", methods=["GET", "POST"])
@requires(NOTICES_WRITE, load=NoticeDraft)
def notice_edit(item: NoticeDraft):
    form = _form(item)
    if form.validate_on_submit():
        item.organisation_id = _owner_id(form)
        item.title, item.body, item.updated_at = form.title.data.strip(), form.body.data or "", g.now
        audit.record(g.db, "notice.update", actor=g.account, obj=item, summary=item.title)
        g.db.commit()
        flash("下書きを更新しました。", "success")
        return redirect(url_for("admin.notices"))
    return render_template("admin/notice_form.html", form=form, item=item), 422 if request.method == "POST" else 200


@bp.post("/notices/<int:item_id>/delete")
@requires(NOTICES_WRITE, load=NoticeDraft)
def notice_delete(item: NoticeDraft):
    audit.record(g.db, "notice.delete", actor=g.account, obj=item, summary=item.title)
    g.db.delete(item)
    g.db.commit()
    flash("下書きを削除しました。", "success")
    return redirect(url_for("admin.notices"))
