"""A volunteer shift's calendar file, /volunteer/shifts/<id>.ics (no login): the カレンダーに追加 button of a
sign-up on LINE. Only shifts of published opportunities; nothing about who signed up."""
from __future__ import annotations

from flask import Blueprint, abort, current_app

from bot import calendar_ics
from models import plan as P
from models.volunteer import PUBLISHED, Opportunity, Shift

bp = Blueprint("volunteer_pages", __name__)


@bp.get("/volunteer/shifts/<int:shift_id>.ics")
def shift_ics(shift_id: int):
    rt = current_app.extensions["kyodo"]
    with rt.sessions() as db:
        shift = db.get(Shift, shift_id)
        opportunity = db.get(Opportunity, shift.opportunity_id) if shift is not None else None
        if opportunity is None or opportunity.status != PUBLISHED:
            abort(404)
        name = f"{P.city_name(db, default='')} ボランティア".strip()
        component = calendar_ics.shift_vevent(opportunity, shift, base_url=rt.config.public_base_url, now=rt.now())
        body = calendar_ics.calendar([], name=name, base_url=rt.config.public_base_url, now=rt.now(),
                                     components=[component])
    return calendar_ics.response(body, f"shift-{shift_id}.ics")


def register(app) -> None:
    app.register_blueprint(bp)
