"""The step-2 お知らせ下書き pages grew into お知らせ (views_announcements.py; migration 0009 moved the drafts):
an old bookmark of the list lands on the new one."""
from __future__ import annotations

from flask import redirect, url_for

from bot.admin.blueprint import bp
from bot.admin.policy import ANNOUNCEMENTS_DRAFT, requires


@bp.get("/notices")
@requires(ANNOUNCEMENTS_DRAFT)
def notices():
    return redirect(url_for("admin.announcements"), 301)
