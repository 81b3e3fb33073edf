"""Flex Message views and wording for the plan: pure functions from plan rows to message dicts.

The generic pieces (text, boxes, bubbles, carousels packed within LINE's limits) come from handlers.flex;
the text rules shared with the web pages (sentences, the short goal, "from this year", glossary notes) from
handlers.plan_text. Long text is split on sentence ends (。) only, so nothing is ever cut mid-sentence.
"""
from __future__ import annotations

from bot.fiscal import fy_label, fy_short, span_label
from handlers import ui
from handlers.flex import (ACCENT, ACCENT_SOFT, MUTED, NOW, NOW_SOFT, OFF, TEXT, WHITE, box, bubble, button, separator,
                           text)
from handlers.plan_text import GlossTracker, excerpt, pages_by_chars, paragraphs, starts_suffix, starts_year

# -- wording (one place for the resident-facing text of this feature) ------------------------------------------
T = {
    "list_intro": "{city}の協働プロジェクトは{n}つです。\n横にスライドしてご覧ください。",
    "list_alt": "協働プロジェクトの一覧（{n}件）",
    "project_label": "プロジェクト{no}",
    "goal": "目指す姿",
    "btn_actions": "アクション一覧",
    "btn_year": "今年度の予定",
    "btn_follow": "通知を受け取る",
    "btn_web": "くわしく（Webページ）",
    "btn_web_all": "Webページで見る",
    "btn_list": "プロジェクト一覧",
    "btn_vision": "将来都市像",
    "btn_year_all": "今年度の予定（全体）",
    "btn_prev": "前へ",
    "btn_next": "次へ",
    "btn_more": "続きを読む",
    "actions_title": "主なアクション（{n}件）",
    "actions_hint": "見たいアクションを押してください。",
    "action_label": "アクション{no}",
    "merged": "{targets}に統合",
    "details": "実施内容",
    "note": "備考",
    "continued": "（つづき {i}/{n}）",
    "see_action": "{no}を見る",
    "no_details": "実施内容の記載はありません。",
    "roadmap_title": "今後の予定（線表）",
    "roadmap_none": "アクション{no}の年度ごとの予定（線表）は、計画に示されていません。",
    "now_mark": "▶ 今年度",
    "now_line": "▶ 今年度は{label}です",
    "before_plan": "計画は{label}から始まります",
    "after_plan": "計画期間は{label}で終わりました",
    "year_key": "{short}＝{label}",
    "active_now": "▶ 今年度に実施",
    "year_title": "今年度と来年度の予定",
    "this_year": "▶ 今年度　{label}",
    "next_year": "来年度　{label}",
    "nothing_year": "予定されている取組はありません。",
    "no_roadmap_project": "このプロジェクトの年度ごとの予定（線表）は、計画に示されていません。",
    "year_intro": "今年度は{this}、来年度は{next}です。\n両年度の予定を、プロジェクトごとにスライドしてご覧ください。",
    "year_alt": "今年度と来年度の予定。{this_phrase}です",
    "project_year_alt": "プロジェクト{no}の今年度と来年度の予定。{this_phrase}です",
    "roadmap_alt": "アクション{no}の今後の予定（線表）。{this_phrase}です",
    "terms": "用語",
    "year_new_next": "{year}から新たに始まる予定",
    "year_continue": "今年度の取組のうち{n}件は来年度も続きます。",
    "year_more": "このプロジェクトの予定をくわしく",
    "vision_title": "{city}の将来都市像",
    "pillars": "施策体系の{n}つの柱",
    "forces": "まちづくりの原動力（{n}つの力）",
    "vision_projects": "{n}つの協働プロジェクトを見る",
    "not_loaded": "プロジェクトの情報を準備しています。\nお手数ですが、しばらくしてからもう一度お試しください。",
    "no_project": "プロジェクト{no}は見つかりませんでした。\n下の一覧からお選びください。",
    "no_action": "アクション{no}は見つかりませんでした。\nプロジェクトを選んで、アクション一覧からお探しください。",
}

TIMELINE_ITEMS = 8        # roadmap bars per timeline bubble
YEAR_ITEMS = 14           # roadmap lines per year bubble


def terms_block(glosses: list) -> list[dict]:
    """A 用語 note under the text where abbreviations first appear (see handlers.plan_text.GlossTracker)."""
    if not glosses:
        return []
    return [separator(), text(T["terms"], size="xs", color=MUTED, margin="md"),
            *[text(g.line, size="sm", color=MUTED) for g in glosses]]


# -- views ------------------------------------------------------------------------------------------------------

def project_bubble(p, base_url: str, *, full_goal: bool = False) -> dict:
    body = [
        text(T["project_label"].format(no=p.number), size="sm", color=ACCENT, weight="bold"),
        text(p.name, size="lg", weight="bold"),
        separator(),
        text(T["goal"], size="xs", color=MUTED, margin="md"),
    ]
    if full_goal:
        body += [text(para, size="md") for para in p.goal.splitlines() if para.strip()]
    else:
        body.append(text(excerpt(p.goal), size="md"))
    footer = [
        button(ui.postback(T["btn_actions"], "plan.actions", f"プロジェクト{p.number}のアクション一覧", id=p.number),
               "primary"),
        button(ui.postback(T["btn_year"], "plan.year", f"プロジェクト{p.number}の今年度の予定", id=p.number)),
        button(ui.postback(T["btn_follow"], "plan.follow", f"プロジェクト{p.number}の通知を受け取る", id=p.number)),
        button(ui.uri_action(T["btn_web"], f"{base_url}/plan/{p.number}"), "link"),
    ]
    return bubble(body, footer=footer)


def actions_bubble(p, actions: list, base_url: str, *, page: int, pages: int) -> dict:
    rows: list[dict] = [text(T["actions_hint"], size="sm", color=MUTED)]
    for a in actions:
        inner = [text(a.name, size="md", weight="bold")]
        if a.merged_into:
            inner.append(text(T["merged"].format(targets="・".join(str(n) for n in a.merged_into)),
                              size="sm", color=MUTED))
        rows.append(separator())
        rows.append(box([
            text(str(a.number), size="md", color=ACCENT, weight="bold", flex=0),
            box(inner, flex=1, spacing="xs"),
            text("›", size="xl", color=MUTED, flex=0),
        ], "horizontal", spacing="md", paddingTop="8px", paddingBottom="8px",
            action=ui.postback(T["action_label"].format(no=a.number), "plan.action", no=a.number)))
    footer = []
    nav = []
    if page > 1:
        nav.append(button(ui.postback(T["btn_prev"], "plan.actions", id=p.number, p=page - 1)))
    if page < pages:
        nav.append(button(ui.postback(T["btn_next"], "plan.actions", id=p.number, p=page + 1)))
    if nav:
        footer.append(box(nav, "horizontal", spacing="sm"))
    footer.append(button(ui.uri_action(T["btn_web_all"], f"{base_url}/plan/{p.number}"), "link"))
    header = [text(f"{T['project_label'].format(no=p.number)}　{p.name}", size="sm", color=ACCENT, weight="bold"),
              text(T["actions_title"].format(n=len(p.actions)), size="lg", weight="bold")]
    return bubble(rows, header=header, footer=footer)


def detail_bubbles(a, base_url: str, terms: GlossTracker | None = None) -> list[dict]:
    """実施内容 (and the note) as bubbles of readable length; the last one links to the web page.

    `terms` follows the action's reading order: an abbreviation's 用語 note goes under the bubble where it
    first appears unexplained.
    """
    paras = paragraphs(a.details)
    groups = pages_by_chars(paras) if paras else [[]]
    n = len(groups)
    out = []
    for i, group in enumerate(groups, 1):
        head = T["action_label"].format(no=a.number) + (T["continued"].format(i=i, n=n) if i > 1 else "")
        header = [text(head, size="sm", color=ACCENT, weight="bold"),
                  text(a.name, size="md" if i > 1 else "lg", weight="bold")]
        if i == 1:
            header.append(text(f"{T['project_label'].format(no=a.project.number)}　{a.project.name}",
                               size="xs", color=MUTED))
        body: list[dict] = []
        if i == 1 and a.details:
            body.append(text(T["details"], size="xs", color=MUTED))
        for starts, para in group:
            body.append(box([text("・" if starts else "　", size="md", flex=0), text(para, size="md", flex=1)],
                            "horizontal", margin="md"))
        if not a.details and i == 1 and not a.note:
            body.append(text(T["no_details"], size="md", color=MUTED))
        footer = []
        if i == n:
            if a.note:
                body += [separator()] if body else []
                body += [text(T["note"], size="xs", color=MUTED, margin="md"), text(a.note, size="md")]
            for target in a.merged_into:
                footer.append(button(ui.postback(T["see_action"].format(no=target), "plan.action",
                                                 T["action_label"].format(no=target), no=target)))
            footer.append(button(ui.uri_action(T["btn_web_all"], f"{base_url}/plan/actions/{a.number}"), "link"))
        if terms is not None:
            body += terms_block(terms.notes([para for _, para in group] + ([a.note] if i == n and a.note else [])))
        out.append(bubble(body, header=header, footer=footer or None))
    return out


def _year_status(now_fy: int, years: list[int]) -> str:
    if now_fy < years[0]:
        return T["before_plan"].format(label=fy_label(years[0]))
    if now_fy > years[-1]:
        return T["after_plan"].format(label=fy_label(years[-1]))
    return T["now_line"].format(label=fy_label(now_fy))


def _cell(active: bool, current: bool) -> dict:
    color = (NOW if current else ACCENT) if active else (NOW_SOFT if current else OFF)
    return box([{"type": "filler"}], flex=1, height="10px", backgroundColor=color)


def timeline_bubbles(a, years: list[int], now_fy: int, periods: list, base_url: str,
                     terms: GlossTracker | None = None) -> list[dict]:
    """The 線表 as bars over the plan's years, the current year's column in orange."""
    items = list(a.roadmap)
    chunks = [items[i:i + TIMELINE_ITEMS] for i in range(0, len(items), TIMELINE_ITEMS)] or [[]]
    heading: list[dict] = []
    if periods:
        heading.append(box([box([text(pe.name, size="xxs", color=MUTED, align="center")], flex=max(1, len(
            [y for y in years if pe.from_fy <= y <= pe.to_fy])), backgroundColor=ACCENT_SOFT if k % 2 == 0 else WHITE)
            for k, pe in enumerate(periods)], "horizontal"))
    heading.append(box([
        box([text(fy_short(y), size="xxs", align="center", color=WHITE if y == now_fy else TEXT,
                  weight="bold" if y == now_fy else None)], flex=1,
            backgroundColor=NOW if y == now_fy else WHITE)
        for y in years], "horizontal", margin="xs"))
    heading.append(text(T["year_key"].format(short=fy_short(years[0]), label=fy_label(years[0])),
                        size="xxs", color=MUTED, margin="xs"))
    out = []
    for i, chunk in enumerate(chunks, 1):
        body: list[dict] = list(heading)
        for item in chunk:
            span = span_label(item.from_fy, item.to_fy)
            if item.active_in(now_fy):
                span += "　" + T["active_now"]
            body += [
                text(item.text, size="sm", weight="bold", margin="lg"),
                text(span, size="xs", color=NOW if item.active_in(now_fy) else MUTED),
                box([_cell(item.active_in(y), y == now_fy) for y in years], "horizontal", spacing="xs",
                    margin="xs"),
            ]
        if terms is not None:
            body += terms_block(terms.notes([item.text for item in chunk]))
        header = [text(T["action_label"].format(no=a.number) + (T["continued"].format(i=i, n=len(chunks))
                                                                 if i > 1 else ""), size="sm", color=ACCENT,
                       weight="bold"),
                  text(T["roadmap_title"], size="lg", weight="bold"),
                  text(_year_status(now_fy, years), size="sm", color=NOW, weight="bold")]
        footer = [button(ui.uri_action(T["btn_web_all"], f"{base_url}/plan/actions/{a.number}"), "link")]
        out.append(bubble(body, header=header, footer=footer if i == len(chunks) else None, header_bg=NOW_SOFT))
    return out


def _year_lines(p, fy: int) -> list[tuple[object, list]]:
    """[(action, [items active in fy])] for the actions that have any."""
    out = []
    for a in p.actions:
        items = [it for it in a.roadmap if it.active_in(fy)]
        if items:
            out.append((a, items))
    return out


def _year_section(title: str, groups: list[tuple[object, list]], fy: int, *, highlight: bool,
                  plan_start: int | None, terms: GlossTracker | None = None) -> list[dict]:
    body = [text(title, size="md", weight="bold", color=NOW if highlight else ACCENT, margin="lg")]
    if not groups:
        body.append(text(T["nothing_year"], size="sm", color=MUTED))
    for a, items in groups:
        body.append(text(f"{a.number} {a.name}", size="sm", weight="bold", margin="md"))
        for it in items:
            body.append(text("・" + it.text + starts_suffix(it, fy, plan_start), size="sm"))
    if terms is not None:
        body += terms_block(terms.notes([it.text for _, items in groups for it in items]))
    return body


def _split_groups(groups: list[tuple[object, list]], limit: int = YEAR_ITEMS) -> list[list[tuple[object, list]]]:
    """Year lists cut into bubble-sized parts between items (an action's heading repeats when continued)."""
    parts: list[list[tuple[object, list]]] = [[]]
    count = 0
    for a, items in groups:
        rest = list(items)
        while rest:
            room = limit - count
            if room <= 0:
                parts.append([])
                count, room = 0, limit
            take, rest = rest[:room], rest[room:]
            parts[-1].append((a, take))
            count += len(take)
    return parts


def project_year_bubbles(p, this: int, nxt: int, plan_start: int | None = None,
                         terms: GlossTracker | None = None) -> list[dict]:
    """One project's 今年度 and 来年度, each as full lists of the roadmap items that run in that year.

    `plan_start` is the plan's first year (see handlers.plan_text.starts_in).
    """
    head = [text(f"{T['project_label'].format(no=p.number)}　{p.name}", size="sm", color=ACCENT, weight="bold"),
            text(T["year_title"], size="lg", weight="bold")]
    if not any(a.roadmap for a in p.actions):
        return [bubble([text(T["no_roadmap_project"], size="md")], header=head)]
    out = []
    for fy, title, hl in ((this, T["this_year"], True), (nxt, T["next_year"], False)):
        parts = _split_groups(_year_lines(p, fy))
        for k, part in enumerate(parts):
            label = title.format(label=fy_label(fy)) + (T["continued"].format(i=k + 1, n=len(parts)) if k else "")
            out.append(bubble(_year_section(label, part, fy, highlight=hl, plan_start=plan_start, terms=terms),
                              header=head, header_bg=NOW_SOFT if hl else ACCENT_SOFT))
    return out


def overview_year_bubble(p, this: int, nxt: int, plan_start: int | None = None,
                         terms: GlossTracker | None = None) -> dict:
    """One project in the all-projects view: this year in full, next year as what is new."""
    head = [text(f"{T['project_label'].format(no=p.number)}　{p.name}", size="sm", color=ACCENT, weight="bold")]
    footer = [button(ui.postback(T["year_more"], "plan.year", f"プロジェクト{p.number}の今年度の予定", id=p.number))]
    if not any(a.roadmap for a in p.actions):
        return bubble([text(T["no_roadmap_project"], size="md")], header=head, footer=footer)
    now_groups = _year_lines(p, this)
    shown = sum(len(items) for _, items in now_groups)
    now_shown = _split_groups(now_groups)[0]
    body = _year_section(T["this_year"].format(label=fy_label(this)), now_shown, this,
                         highlight=True, plan_start=plan_start)
    if shown > YEAR_ITEMS:
        body.append(text(f"ほか{shown - YEAR_ITEMS}件", size="sm", color=MUTED))
    new_next = [(a, [it for it in items if it.from_fy == nxt]) for a, items in _year_lines(p, nxt)]
    new_next = [(a, items) for a, items in new_next if items]
    continuing = sum(1 for a in p.actions for it in a.roadmap if it.active_in(this) and it.active_in(nxt))
    body.append(separator("lg"))
    body.append(text(T["next_year"].format(label=fy_label(nxt)), size="md", weight="bold", color=ACCENT, margin="lg"))
    if continuing:
        body.append(text(T["year_continue"].format(n=continuing), size="sm"))
    if new_next:
        body.append(text(T["year_new_next"].format(year=starts_year(nxt)), size="sm", weight="bold", margin="md"))
        for a, items in new_next:
            for it in items:
                body.append(text(f"・{it.text}（{a.number}）", size="sm"))
    elif not continuing:
        body.append(text(T["nothing_year"], size="sm", color=MUTED))
    if terms is not None:
        shown_texts = [it.text for _, items in now_shown for it in items]
        body += terms_block(terms.notes(shown_texts + [it.text for _, items in new_next for it in items]))
    return bubble(body, header=head, footer=footer)


def vision_bubble(info, pillars: list, forces: list, n_projects: int, base_url: str) -> dict:
    body = [text(info.vision, size="xl", weight="bold", color=ACCENT)]
    if pillars:
        body += [separator("lg"), text(T["pillars"].format(n=len(pillars)), size="sm", color=MUTED, margin="lg")]
        body += [box([text(f"{i}.", size="md", flex=0), text(p.name, size="md", flex=1)], "horizontal", spacing="sm")
                 for i, p in enumerate(pillars, 1)]
    if forces:
        body += [separator("lg"), text(T["forces"].format(n=len(forces)), size="sm", color=MUTED, margin="lg"),
                 text("・".join(f.name for f in forces), size="md")]
    footer = [button(ui.postback(T["vision_projects"].format(n=n_projects)[:20], "plan.list", "プロジェクト一覧"),
                     "primary"),
              button(ui.uri_action(T["btn_web_all"], f"{base_url}/plan"), "link")]
    header = [text(T["vision_title"].format(city=info.city_name), size="sm", color=ACCENT, weight="bold")]
    return bubble(body, header=header, footer=footer)
