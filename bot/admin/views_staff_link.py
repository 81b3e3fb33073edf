"""LINE連携: a staff member links their own LINE account (for テスト配信) with a one-time code, or unlinks it."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, url_for

from bot.admin import staff_link
from bot.admin.blueprint import bp
from bot.admin.policy import LINE_LINK_SELF, requires


def _page(code: str | None = None, status: int = 200):
    user = staff_link.linked_user(g.db, g.account)
    return render_template("admin/staff_link.html", code=code, link=staff_link.link_of(g.db, g.account), user=user,
                           pending=staff_link.pending_code(g.db, g.account, g.now),
                           command=staff_link.COMMAND_WORD, ttl_minutes=int(staff_link.CODE_TTL.total_seconds() // 60)), status


@bp.get("/line-link", endpoint="staff_link")
@requires(LINE_LINK_SELF)
def staff_link_view():
    return _page()


@bp.post("/line-link/code", endpoint="staff_link_code")
@requires(LINE_LINK_SELF)
def staff_link_code():
    # Shown once, in this response only (the database keeps a keyed hash); admin pages are never cached.
    code = staff_link.issue_code(g.db, g.account, g.now, g.rt.config.secret_key)
    g.db.commit()
    return _page(code)


@bp.post("/line-link/unlink", endpoint="staff_link_unlink")
@requires(LINE_LINK_SELF)
def staff_link_unlink():
    if staff_link.unlink(g.db, g.account):
        g.db.commit()
        flash("LINEとの連携を解除しました。", "success")
    else:
        flash("連携しているLINEはありません。", "info")
    return redirect(url_for("admin.staff_link"))
