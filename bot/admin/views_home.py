"""The dashboard: what needs my attention, a few figures, a chart."""
from __future__ import annotations

from flask import g, render_template

from bot.admin import dashboard
from bot.admin.blueprint import bp
from bot.admin.policy import SIGNED_IN, requires


@bp.get("/", endpoint="dashboard")
@requires(SIGNED_IN)
def dashboard_view():
    follows = dashboard.weekly_follows(g.db, g.now)
    return render_template(
        "admin/dashboard.html",
        attention=dashboard.attention(g.db, g.account, g.now),
        figures=dashboard.figures(g.db, g.now, g.account),
        bars=dashboard.bar_chart(follows),
        follows_total=sum(v for _, v in follows),
    )
