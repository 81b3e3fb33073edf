"""友だち・ブロック: follows and blocks per day (30 days) and blocks within 24 h of each push."""
from __future__ import annotations

from flask import g, render_template

from bot.admin import follows
from bot.admin.blueprint import bp
from bot.admin.policy import FOLLOWS_READ, requires


@bp.get("/follows", endpoint="follows")
@requires(FOLLOWS_READ)
def follows_view():
    days = follows.daily(g.db, g.now)
    follow_bars, block_bars = follows.charts(days)
    return render_template("admin/follows.html", days=days, pushes=follows.pushes(g.db),
                           follow_bars=follow_bars, block_bars=block_bars,
                           total_follows=sum(d.follows for d in days), total_blocks=sum(d.unfollows for d in days))
