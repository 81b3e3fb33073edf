"""Accounts (invite, edit, disable, new one-time password) and the groups they belong to. Admins only."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from sqlalchemy import func, select

from bot.admin import audit, auth
from bot.admin.accounts import AccountError, create_account
from bot.admin.blueprint import bp
from bot.admin.forms import AccountCreateForm, GroupForm, MembershipForm
from bot.admin.policy import ACCOUNTS_MANAGE, requires
from models.accounts import Account, Organisation, SurveyTeam


def _groups():
    organisations = g.db.scalars(select(Organisation).order_by(Organisation.name)).all()
    teams = g.db.scalars(select(SurveyTeam).order_by(SurveyTeam.name)).all()
    return organisations, teams


@bp.get("/accounts")
@requires(ACCOUNTS_MANAGE)
def accounts():
    rows = g.db.scalars(select(Account).order_by(Account.role, Account.email)).all()
    return render_template("admin/accounts.html", accounts=rows)


@bp.route("/accounts/new", methods=["GET", "POST"])
@requires(ACCOUNTS_MANAGE)
def account_new():
    form = AccountCreateForm()
    form.set_groups(*_groups())
    if form.validate_on_submit():
        try:
            account, secret = create_account(
                g.db, email=form.email.data, role=form.role.data, display_name=form.display_name.data or "",
                organisation_id=form.organisation_id.data, survey_team_id=form.survey_team_id.data, now=g.now,
                testing=g.rt.config.testing, actor=g.account)
        except AccountError as e:
            getattr(form, e.field).errors.append(e.message)
        else:
            g.db.commit()
            return render_template("admin/one_time_password.html", account=account, secret=secret, created=True), 201
    return render_template("admin/account_form.html", form=form, account=None), 422 if request.method == "POST" else 200


@bp.route("/accounts/<int:item_id>/edit", methods=["GET", "POST"])
@requires(ACCOUNTS_MANAGE, load=Account)
def account_edit(item: Account):
    form = MembershipForm(obj=item if request.method == "GET" else None)
    form.organisation_id.data = form.organisation_id.data or 0
    form.survey_team_id.data = form.survey_team_id.data or 0
    form.set_groups(*_groups())
    if form.validate_on_submit():
        if item.id == g.account.id and form.role.data != item.role:
            form.role.errors.append("自分の役割は変更できません（管理者がいなくなるのを防ぐため）。")
        else:
            before = f"{item.role_label}{'・' + item.group_name if item.group_name else ''}"
            item.display_name = (form.display_name.data or "").strip()
            item.role = form.role.data
            item.organisation_id = form.organisation_id.data or None
            item.survey_team_id = form.survey_team_id.data or None
            g.db.flush()
            g.db.refresh(item)
            after = f"{item.role_label}{'・' + item.group_name if item.group_name else ''}"
            audit.record(g.db, "account.update", actor=g.account, obj=item,
                         summary=f"{item.email}: {before} → {after}" if before != after else f"{item.email}: 表示名")
            g.db.commit()
            flash("アカウントを更新しました。", "success")
            return redirect(url_for("admin.accounts"))
    return render_template("admin/account_form.html", form=form, account=item), 422 if request.method == "POST" else 200


@bp.post("/accounts/<int:item_id>/disable")
@requires(ACCOUNTS_MANAGE, load=Account)
def account_disable(item: Account):
    if item.id == g.account.id:
        flash("自分のアカウントは停止できません。", "error")
        return redirect(url_for("admin.accounts"))
    item.active = False
    item.session_version += 1  # signs it out everywhere at its next request
    audit.record(g.db, "account.disable", actor=g.account, obj=item, summary=item.email)
    g.db.commit()
    flash(f"{item.email} を停止しました。", "success")
    return redirect(url_for("admin.accounts"))


@bp.post("/accounts/<int:item_id>/enable")
@requires(ACCOUNTS_MANAGE, load=Account)
def account_enable(item: Account):
    item.active = True
    item.failed_logins = 0
    item.locked_until = None
    audit.record(g.db, "account.enable", actor=g.account, obj=item, summary=item.email)
    g.db.commit()
    flash(f"{item.email} を再開しました。", "success")
    return redirect(url_for("admin.accounts"))


@bp.post("/accounts/<int:item_id>/reset-password")
@requires(ACCOUNTS_MANAGE, load=Account)
def account_reset_password(item: Account):
    secret = auth.one_time_password()
    auth.set_password(item, secret, g.now, testing=g.rt.config.testing, temporary=True)
    audit.record(g.db, "account.reset_password", actor=g.account, obj=item, summary=item.email)
    g.db.commit()
    return render_template("admin/one_time_password.html", account=item, secret=secret, created=False)


@bp.get("/groups")
@requires(ACCOUNTS_MANAGE)
def groups():
    return _groups_page(GroupForm(prefix="org"), GroupForm(prefix="team"))


def _groups_page(org_form: GroupForm, team_form: GroupForm, status: int = 200):
    organisations, teams = _groups()
    counts = dict(g.db.execute(select(Account.organisation_id, func.count()).group_by(Account.organisation_id)).all())
    team_counts = dict(g.db.execute(select(Account.survey_team_id, func.count()).group_by(Account.survey_team_id)).all())
    return render_template("admin/groups.html", organisations=organisations, teams=teams, counts=counts,
                           team_counts=team_counts, org_form=org_form, team_form=team_form), status


def _save_group(model, name: str, form: GroupForm, kind_label: str, action: str, item=None) -> bool:
    clash = g.db.scalar(select(model.id).where(model.name == name.strip()))
    if clash is not None and (item is None or clash != item.id):
        form.name.errors.append(f"同じ名前の{kind_label}がすでにあります。")
        return False
    if item is None:
        item = model(name=name.strip(), created_at=g.now)
        g.db.add(item)
        audit.record(g.db, f"{action}.create", actor=g.account, obj=item, summary=item.name)
    else:
        old, item.name = item.name, name.strip()
        audit.record(g.db, f"{action}.update", actor=g.account, obj=item, summary=f"{old} → {item.name}")
    g.db.commit()
    flash(f"{kind_label}「{item.name}」を保存しました。", "success")
    return True


@bp.post("/organisations/new")
@requires(ACCOUNTS_MANAGE)
def organisation_new():
    form = GroupForm(prefix="org")
    if form.validate_on_submit() and _save_group(Organisation, form.name.data, form, "団体", "organisation"):
        return redirect(url_for("admin.groups"))
    return _groups_page(form, GroupForm(prefix="team", formdata=None), 422)


@bp.post("/survey-teams/new")
@requires(ACCOUNTS_MANAGE)
def survey_team_new():
    form = GroupForm(prefix="team")
    if form.validate_on_submit() and _save_group(SurveyTeam, form.name.data, form, "調査チーム", "survey_team"):
        return redirect(url_for("admin.groups"))
    return _groups_page(GroupForm(prefix="org", formdata=None), form, 422)


def _group_edit(item, model, kind_label: str, action: str):
    form = GroupForm(obj=item if request.method == "GET" else None)
    if form.validate_on_submit() and _save_group(model, form.name.data, form, kind_label, action, item):
        return redirect(url_for("admin.groups"))
    return render_template("admin/group_form.html", form=form, item=item, kind_label=kind_label), \
        422 if request.method == "POST" else 200


@bp.route("/organisations/<int:item_id>/edit", methods=["GET", "POST"])
@requires(ACCOUNTS_MANAGE, load=Organisation)
def organisation_edit(item: Organisation):
    return _group_edit(item, Organisation, "団体", "organisation")


@bp.route("/survey-teams/<int:item_id>/edit", methods=["GET", "POST"])
@requires(ACCOUNTS_MANAGE, load=SurveyTeam)
def survey_team_edit(item: SurveyTeam):
    return _group_edit(item, SurveyTeam, "調査チーム", "survey_team")

