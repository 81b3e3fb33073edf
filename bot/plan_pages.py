"""Public plan pages (no login): /plan, /plan/<project>, /plan/actions/<no>. The bot links here for the long version."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, url_for

from bot.fiscal import fy_label, fy_short, next_fy, span_label, this_fy
from handlers.plan_text import Glossary, starts_suffix
from models import plan as P

bp = Blueprint("plan_pages", __name__)


def register(app) -> None:
    app.register_blueprint(bp)


def _rt():
    return current_app.extensions["kyodo"]


def _common(db) -> dict:
    rt = _rt()
    now = rt.now()
    years = P.plan_years(db)
    return {
        "info": P.plan_info(db),
        "this_fy": this_fy(now),
        "next_fy": next_fy(now),
        "years": list(range(years[0], years[1] + 1)) if years else [],
        "periods": P.periods(db),
        "fy_label": fy_label,
        "fy_short": fy_short,
        "span_label": span_label,
        # The text rules the LINE views use too (handlers.plan_text): one wording for both.
        "plan_start": years[0] if years else None,
        "starts_suffix": starts_suffix,
    }


def _glossary(db) -> Glossary:
    """Only the project and action pages show glossary notes: read and compiled for those alone."""
    return Glossary(P.glossary_entries(db))


def _year_groups(project, fy: int) -> list[tuple]:
    return [(a, [it for it in a.roadmap if it.active_in(fy)]) for a in project.actions
            if any(it.active_in(fy) for it in a.roadmap)]


@bp.get("/plan")
@bp.get("/plan/")
def index():
    with _rt().sessions() as db:
        ctx = _common(db)
        if ctx["info"] is None:
            return render_template("plan/empty.html", **ctx), 503
        from handlers.plan_text import excerpt

        return render_template("plan/index.html", projects=P.projects(db), pillars=P.pillars(db),
                               forces=P.forces(db), excerpt=excerpt, **ctx)


@bp.get("/plan/<ref>")
def project(ref: str):
    with _rt().sessions() as db:
        p = P.project(db, _url_number(ref), with_roadmap=True)
        if p is None and not ref.isdigit():
            found = P.project_by_key(db, ref)
            if found is not None:
                return redirect(url_for("plan_pages.project", ref=str(found.number)))
        if p is None:
            abort(404)
        ctx = _common(db)
        return render_template("plan/project.html", project=p, this_groups=_year_groups(p, ctx["this_fy"]),
                               next_groups=_year_groups(p, ctx["next_fy"]),
                               has_roadmap=any(a.roadmap for a in p.actions), glossary=_glossary(db), **ctx)


def _url_number(ref: str) -> int | None:
    """A project number from the URL: ASCII digits ("²" is a digit to str.isdigit) within the range an <int:>
    URL argument allows (bot/app.py), else None (not found)."""
    from bot.app import MAX_URL_INT

    if not (ref.isascii() and ref.isdigit() and len(ref) <= 10):
        return None
    return int(ref) if int(ref) <= MAX_URL_INT else None


@bp.get("/plan/actions/<int:no>")
def action(no: int):
    with _rt().sessions() as db:
        a = P.action(db, no)
        if a is None:
            abort(404)
        siblings = list(P.project(db, a.project.number).actions)
        i = next(k for k, s in enumerate(siblings) if s.number == a.number)
        prev = siblings[i - 1] if i > 0 else None
        nxt = siblings[i + 1] if i + 1 < len(siblings) else None
        return render_template("plan/action.html", action=a, project=a.project, prev=prev, next=nxt,
                               glossary=_glossary(db), **_common(db))
