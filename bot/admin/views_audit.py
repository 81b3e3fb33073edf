"""The audit log page: filter by who, what and when; newest first; paginated."""
from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import g, render_template, request
from sqlalchemy import func, select

from bot.admin.audit import ACTIONS
from bot.admin.blueprint import bp
from bot.admin.forms import AuditFilterForm, choices
from bot.admin.policy import AUDIT_READ, requires
from bot.clock import TOKYO
from models.accounts import Account, AuditEntry

PER_PAGE = 50


def _tokyo_midnight(day) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=TOKYO)


@bp.get("/audit")
@requires(AUDIT_READ)
def audit_log():
    form = AuditFilterForm(request.args)
    people = g.db.scalars(select(Account).order_by(Account.email))
    form.actor.choices = choices([(0, "すべて")] + [(a.id, a.email) for a in people])
    form.action.choices = choices([("", "すべて")] + list(ACTIONS.items()))
    stmt = select(AuditEntry)
    if form.validate():
        if form.actor.data:
            stmt = stmt.where(AuditEntry.actor_id == form.actor.data)
        if form.action.data:
            stmt = stmt.where(AuditEntry.action == form.action.data)
        if form.since.data:
            stmt = stmt.where(AuditEntry.at >= _tokyo_midnight(form.since.data))
        if form.until.data:  # the whole "until" day, in Tokyo
            stmt = stmt.where(AuditEntry.at < _tokyo_midnight(form.until.data) + timedelta(days=1))
    total = g.db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    pages = max(1, -(-total // PER_PAGE))
    page = min(max(1, request.args.get("page", 1, type=int)), pages)
    rows = g.db.scalars(stmt.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
                        .limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("admin/audit.html", form=form, rows=rows, actions=ACTIONS, page=page, pages=pages,
                           total=total, args=args)
