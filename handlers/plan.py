"""Browsing the city's plan on LINE: projects, their actions and roadmaps, this year's schedule, the vision.

Every view is reachable by tapping (buttons, tappable rows, quick replies); free text reaches the same
views through INTENTS, with the target (project or action number) in `ctx.intent.target`.
"""
from __future__ import annotations

from bot.fiscal import fy_label, next_fy, this_fy
from handlers import plan_flex as F
from handlers import ui
from handlers.context import Ctx
from handlers.flex import flex_message, pack, qlabel, tail_quick
from handlers.menu import main_menu_quick
from handlers.plan_text import Glossary, this_year_phrase
from models import plan as P

T = F.T
ACTIONS_PER_PAGE = 6
PROJECTS_PER_PAGE = 10


# -- helpers ----------------------------------------------------------------------------------------------------

def _base(ctx: Ctx) -> str:
    return (getattr(ctx.config, "public_base_url", "") or "http://127.0.0.1:5000").rstrip("/")


def _int(value) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _param(ctx: Ctx, key: str) -> int | None:
    """A number from the postback, else from the free-text intent's target."""
    if ctx.postback is not None:
        return ctx.postback.int(key)
    return _int(getattr(ctx.intent, "target", None))


def _page(ctx: Ctx) -> int:
    return max(1, (ctx.postback.int("p") if ctx.postback is not None else None) or 1)


def _projects_quick(projects: list) -> list[dict]:
    return [ui.postback(qlabel(p.number, p.display_short), "plan.project", f"プロジェクト{p.number}", id=p.number)
            for p in projects[:11]]


def _glossary(ctx: Ctx) -> Glossary:
    return Glossary(P.glossary_entries(ctx.db))


def _plan_start(ctx: Ctx) -> int | None:
    years = P.plan_years(ctx.db)
    return years[0] if years else None


def _not_loaded() -> list[dict]:
    return [ui.text(T["not_loaded"], main_menu_quick())]


def _no_project(ctx: Ctx, no) -> list[dict]:
    projects = P.projects(ctx.db)
    if not projects:
        return _not_loaded()
    return [ui.text(T["no_project"].format(no=no), tail_quick(*_projects_quick(projects)))]


# -- views --------------------------------------------------------------------------------------------------------

def show_list(ctx: Ctx) -> list[dict]:
    """The projects as a carousel (paged when a city has more than fit in one)."""
    info, projects = P.plan_info(ctx.db), P.projects(ctx.db)
    if info is None or not projects:
        return _not_loaded()
    pages = max(1, -(-len(projects) // PROJECTS_PER_PAGE))
    page = min(_page(ctx), pages)
    shown = projects[(page - 1) * PROJECTS_PER_PAGE: page * PROJECTS_PER_PAGE]
    bubbles = [F.project_bubble(p, _base(ctx)) for p in shown]
    messages = [ui.text(T["list_intro"].format(city=info.city_name, n=len(projects)))] if page == 1 else []
    for group in pack(bubbles):
        messages.append(flex_message(T["list_alt"].format(n=len(projects)), group))
    quick = []
    if page < pages:
        quick.append(ui.postback(T["btn_next"], "plan.list", p=page + 1))
    quick += [ui.postback(T["btn_year_all"], "plan.year"), ui.postback(T["btn_vision"], "plan.vision"),
              ui.uri_action(T["btn_web_all"], f"{_base(ctx)}/plan")]
    return ui.with_quick(messages[:5], tail_quick(*quick))


def show_project(ctx: Ctx) -> list[dict]:
    no = _param(ctx, "id")
    p = P.project(ctx.db, no)
    if p is None:
        return _no_project(ctx, no if no is not None else "")
    msg = flex_message(f"{T['project_label'].format(no=p.number)} {p.name}",
                       [F.project_bubble(p, _base(ctx), full_goal=True)])
    return ui.with_quick([msg], tail_quick(
        ui.postback(T["btn_actions"], "plan.actions", f"プロジェクト{p.number}のアクション一覧", id=p.number),
        ui.postback(T["btn_year"], "plan.year", f"プロジェクト{p.number}の今年度の予定", id=p.number),
        ui.postback(T["btn_list"], "plan.list")))


def show_actions(ctx: Ctx) -> list[dict]:
    no = _param(ctx, "id")
    p = P.project(ctx.db, no)
    if p is None:
        return _no_project(ctx, no if no is not None else "")
    actions = list(p.actions)
    pages = max(1, -(-len(actions) // ACTIONS_PER_PAGE))
    page = min(_page(ctx), pages)
    shown = actions[(page - 1) * ACTIONS_PER_PAGE: page * ACTIONS_PER_PAGE]
    msg = flex_message(f"{T['project_label'].format(no=p.number)}のアクション一覧",
                       [F.actions_bubble(p, shown, _base(ctx), page=page, pages=pages)])
    quick = [ui.postback(qlabel(a.number, a.name), "plan.action", T["action_label"].format(no=a.number),
                         no=a.number) for a in shown]
    if page < pages:
        quick.append(ui.postback(T["btn_next"], "plan.actions", id=p.number, p=page + 1))
    quick += [ui.postback(T["btn_year"], "plan.year", f"プロジェクト{p.number}の今年度の予定", id=p.number),
              ui.postback(T["btn_list"], "plan.list")]
    return ui.with_quick([msg], tail_quick(*quick[:12]))


def show_action(ctx: Ctx) -> list[dict]:
    no = _param(ctx, "no")
    a = P.action(ctx.db, no)
    if a is None:
        projects = P.projects(ctx.db)
        if not projects:
            return _not_loaded()
        return [ui.text(T["no_action"].format(no=no if no is not None else ""),
                        tail_quick(*_projects_quick(projects)))]
    base = _base(ctx)
    terms = _glossary(ctx).tracker()  # one reading order: 実施内容, then the 線表
    detail_pages = pack(F.detail_bubbles(a, base, terms), max_bubbles=10)
    page = min(_page(ctx), len(detail_pages))
    messages = [flex_message(f"{T['action_label'].format(no=a.number)} {a.name}", detail_pages[page - 1])]
    if page == 1:
        years = P.plan_years(ctx.db)
        if a.roadmap and years:
            now_fy = this_fy(ctx.now)
            bubbles = F.timeline_bubbles(a, list(range(years[0], years[1] + 1)), now_fy, P.periods(ctx.db), base,
                                         terms)
            alt = T["roadmap_alt"].format(no=a.number, this_phrase=this_year_phrase(now_fy))
            for group in pack(bubbles)[:3]:
                messages.append(flex_message(alt, group))
        else:
            messages.append(ui.text(T["roadmap_none"].format(no=a.number)))
    siblings = list(a.project.actions)
    i = next((k for k, s in enumerate(siblings) if s.number == a.number), 0)
    quick = []
    if page < len(detail_pages):
        quick.append(ui.postback(T["btn_more"], "plan.action", f"アクション{a.number}の続き", no=a.number, p=page + 1))
    if i > 0:
        prev = siblings[i - 1]
        quick.append(ui.postback(f"前 {prev.number}", "plan.action", T["action_label"].format(no=prev.number),
                                 no=prev.number))
    if i + 1 < len(siblings):
        nxt = siblings[i + 1]
        quick.append(ui.postback(f"次 {nxt.number}", "plan.action", T["action_label"].format(no=nxt.number),
                                 no=nxt.number))
    quick += [ui.postback(T["btn_actions"], "plan.actions", f"プロジェクト{a.project.number}のアクション一覧",
                          id=a.project.number),
              ui.postback(T["btn_year"], "plan.year", f"プロジェクト{a.project.number}の今年度の予定",
                          id=a.project.number),
              ui.postback(T["btn_list"], "plan.list")]
    return ui.with_quick(messages, tail_quick(*quick))


def show_year(ctx: Ctx) -> list[dict]:
    """今年度 and 来年度 from the roadmap: one project in full, or every project in brief."""
    this, nxt = this_fy(ctx.now), next_fy(ctx.now)
    no = _param(ctx, "id")
    if no is not None:
        p = P.project(ctx.db, no, with_roadmap=True)
        if p is None:
            return _no_project(ctx, no)
        bubbles = F.project_year_bubbles(p, this, nxt, _plan_start(ctx), _glossary(ctx).tracker())
        alt = T["project_year_alt"].format(no=p.number, this_phrase=this_year_phrase(this))
        messages = [flex_message(alt, g) for g in pack(bubbles)][:5]
        return ui.with_quick(messages, tail_quick(
            ui.postback(T["btn_actions"], "plan.actions", f"プロジェクト{p.number}のアクション一覧", id=p.number),
            ui.postback(T["btn_year_all"], "plan.year"),
            ui.postback(T["btn_list"], "plan.list")))
    projects = P.projects(ctx.db, with_roadmap=True)
    if not projects:
        return _not_loaded()
    start, glossary = _plan_start(ctx), _glossary(ctx)
    bubbles = [F.overview_year_bubble(p, this, nxt, start, glossary.tracker()) for p in projects]
    messages = [ui.text(T["year_intro"].format(this=fy_label(this), next=fy_label(nxt)))]
    alt = T["year_alt"].format(this_phrase=this_year_phrase(this))
    messages += [flex_message(alt, g) for g in pack(bubbles)]
    quick = [*_projects_quick(projects)[:9], ui.postback(T["btn_list"], "plan.list")]
    return ui.with_quick(messages[:5], tail_quick(*quick))


def show_vision(ctx: Ctx) -> list[dict]:
    info = P.plan_info(ctx.db)
    projects = P.projects(ctx.db)
    if info is None:
        return _not_loaded()
    msg = flex_message(T["vision_title"].format(city=info.city_name) + "：" + info.vision,
                       [F.vision_bubble(info, P.pillars(ctx.db), P.forces(ctx.db), len(projects), _base(ctx))])
    return ui.with_quick([msg], tail_quick(*_projects_quick(projects), ui.postback(T["btn_list"], "plan.list")))


POSTBACKS = {
    "plan.list": show_list,
    "plan.project": show_project,
    "plan.actions": show_actions,
    "plan.action": show_action,
    "plan.year": show_year,
    "plan.vision": show_vision,
}
# Typed text reaches the same views. The carousel's 通知を受け取る (plan.follow) is handled by handlers.settings.
INTENTS = dict(POSTBACKS)
