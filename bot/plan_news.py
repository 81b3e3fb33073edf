"""Something new in the plan: after `kyodo plan load` adds an action, or a roadmap item for the current or next
fiscal year, to an already-loaded plan, the residents who follow that project (and those of a 地区 the new
item names) hear about it through bot.publish, topic 計画の進み具合 ("progress").

What counts as new is decided by comparing the plan before the load (snapshot(), taken in the load's
transaction) with the plan after it:
- an action whose number was not in the plan before;
- a roadmap item of an existing action that is an addition, not a rewording: the action's items before and
  after are aligned as sequences (difflib), so an item inserted in the middle is one addition, and an item
  whose wording or years changed in place is an edit. Only items running in this or next fiscal year are news.
Nothing is new on a first load into an empty database, nor when another city's plan replaces the loaded one;
edits and deletions are not news.

One publication per project and load: a short text and one bubble per new item. Its ref is
"plan:<project>:<hash of the new items' keys>", so the same additions never go out twice (a file loaded again,
or an item removed and added back). Frequencies ("now",): residents who chose 週1回のまとめ find it in their
weekly digest (scheduler/digest.py lists segment publications not sent to weekly residents).

The plan model holds no 地区 for an action; a new item's own text naming one as 「片浦地区」 (name, part of a
two-name 地区, or alias, followed by 地区) adds that 地区's subscribers. Bare names are not matched: short ones
(緑, 幸) and rivers (早川) hide inside ordinary words of the plan.
"""
from __future__ import annotations

import difflib
import hashlib
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.fiscal import fy_of, span_label
from bot.publish import MAX_MESSAGES, publish
from bot.segments import ANY, Segment
from handlers import plan_flex as F
from handlers import ui
from handlers.flex import ACCENT, MUTED, NOW, bubble, button, flex_message, pack, separator, tail_quick, text
from handlers.plan_text import Glossary, GlossTracker, excerpt
from models import plan as P
from models.publications import Publication

log = logging.getLogger("kyodo.plan")

PURPOSE = "plan_news"
TOPIC = "progress"
MAX_FLEX = MAX_MESSAGES - 1     # the intro text, then carousels of at most 12 bubbles (handlers.flex.pack)

T = {
    "intro": "プロジェクト{no}「{name}」の計画に、新しい取組が加わりました（{n}件）。",
    "slide": "\n横にスライドしてご覧ください。",
    "more": "\nほか{n}件は、アクション一覧からご覧ください。",
    "title": "プロジェクト{no}「{name}」に新しい取組（{n}件）",
    "new_action": "新しいアクション",
    "new_item": "線表（年度ごとの予定）に追加",
    "when": "予定",
    "btn_more": "くわしく見る",
}

Item = tuple[int, int, str]   # (from_fy, to_fy, text): a roadmap item as its content


@dataclass(frozen=True)
class Snapshot:
    """The plan as it was: its city, action numbers and each action's roadmap items, in order."""
    city: str | None
    actions: frozenset[int]
    roadmap: dict[int, list[Item]]

    @property
    def empty(self) -> bool:
        return not self.actions


def snapshot(db: Session) -> Snapshot:
    actions = frozenset(db.scalars(select(P.Action.number)))
    roadmap: dict[int, list[Item]] = {}
    rows = db.execute(select(P.Action.number, P.RoadmapItem.from_fy, P.RoadmapItem.to_fy, P.RoadmapItem.text)
                      .join(P.Action, P.Action.id == P.RoadmapItem.action_id)
                      .order_by(P.Action.number, P.RoadmapItem.position))
    for no, a, b, t in rows:
        roadmap.setdefault(no, []).append((a, b, t))
    info = db.get(P.PlanInfo, 1)
    return Snapshot(info.city_name if info else None, actions, roadmap)


def added_positions(old: list[Item], new: list[Item]) -> list[int]:
    """Positions in `new` that are additions: inserted runs, and the surplus of a replaced run (its first
    items are taken as the rewordings of the old ones, the rest as added)."""
    out: list[int] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if tag == "insert":
            out += range(j1, j2)
        elif tag == "replace" and j2 - j1 > i2 - i1:
            out += range(j1 + (i2 - i1), j2)
    return out


@dataclass
class News:
    """One project's additions in this load."""
    project: P.Project
    actions: list[P.Action] = field(default_factory=list)
    items: list[tuple[P.Action, P.RoadmapItem]] = field(default_factory=list)

    def keys(self) -> list[str]:
        return sorted([f"a:{a.number}" for a in self.actions]
                      + [f"r:{a.number}:{it.from_fy}:{it.to_fy}:{it.text}" for a, it in self.items])

    def texts(self) -> list[str]:
        out: list[str] = []
        for a in self.actions:
            out += [a.name, *a.details, *([a.note] if a.note else []), *(it.text for it in a.roadmap)]
        out += [it.text for _, it in self.items]
        return out

    def __len__(self) -> int:
        return len(self.actions) + len(self.items)


def find_news(db: Session, before: Snapshot, fy: int) -> list[News]:
    """The additions since `before`, by project in the plan's order. Nothing after an empty plan (a first
    load), nor when another city's plan replaced it: neither is something new in the residents' plan."""
    info = db.get(P.PlanInfo, 1)
    if before.empty or info is None or info.city_name != before.city:
        return []
    out = []
    for p in P.projects(db, with_roadmap=True):
        news = News(p)
        for a in p.actions:
            if a.number not in before.actions:
                news.actions.append(a)
                continue
            items = list(a.roadmap)
            old = before.roadmap.get(a.number, [])
            for i in added_positions(old, [(it.from_fy, it.to_fy, it.text) for it in items]):
                if items[i].to_fy >= fy and items[i].from_fy <= fy + 1:
                    news.items.append((a, items[i]))
        if len(news):
            out.append(news)
    return out


_BEFORE = r"(?<![\u3005\u30a0-\u30ff\u4e00-\u9fff])"  # not inside a longer name (周辺地区, 各地区)


def districts_named(texts: list[str], districts: list[P.District]) -> list[str]:
    """Keys of the 地区 the texts name as 「<name>地区」, in the city's order."""
    joined = "\n".join(texts)
    found = []
    for d in districts:
        forms = {d.name, *d.name.split("・"), *(d.aliases or [])}
        if any(re.search(_BEFORE + re.escape(f) + "地区", joined) for f in forms if f):
            found.append(d.key)
    return found


# -- the message -------------------------------------------------------------------------------------------------

def _more(no: int) -> dict:
    return button(ui.postback(T["btn_more"], "plan.action", F.T["action_label"].format(no=no), no=no), "primary")


def _span(item, fy: int) -> str:
    return span_label(item.from_fy, item.to_fy) + ("　" + F.T["active_now"] if item.active_in(fy) else "")


def action_bubble(a: P.Action, fy: int, terms: GlossTracker) -> dict:
    """A new action: its name, the start of 実施内容, and its roadmap items for this and next year."""
    header = [text(T["new_action"], size="sm", color=NOW, weight="bold"),
              text(F.T["action_label"].format(no=a.number), size="sm", color=ACCENT, weight="bold"),
              text(a.name, size="lg", weight="bold")]
    body: list[dict] = []
    if a.details:
        body += [text(F.T["details"], size="xs", color=MUTED), text(excerpt("".join(a.details)), size="md")]
    soon = [it for it in a.roadmap if it.to_fy >= fy and it.from_fy <= fy + 1]
    if soon:
        body += [separator(), text(T["when"], size="xs", color=MUTED, margin="md")]
        for it in soon:
            body += [text("・" + it.text, size="sm"), text(_span(it, fy), size="xs", color=NOW if it.active_in(fy)
                                                           else MUTED)]
    if not body:
        body.append(text(F.T["no_details"], size="md", color=MUTED))
    body += F.terms_block(terms.notes([a.name, *a.details, *(it.text for it in soon)]))
    return bubble(body, header=header, footer=[_more(a.number)])


def item_bubble(a: P.Action, item: P.RoadmapItem, fy: int, terms: GlossTracker) -> dict:
    """A new roadmap item of an existing action: what, when, and which action it belongs to."""
    header = [text(T["new_item"], size="sm", color=NOW, weight="bold"),
              text(f"{F.T['action_label'].format(no=a.number)}　{a.name}", size="sm", color=ACCENT, weight="bold")]
    body = [text(item.text, size="lg", weight="bold"),
            text(_span(item, fy), size="sm", color=NOW if item.active_in(fy) else MUTED)]
    body += F.terms_block(terms.notes([item.text]))
    return bubble(body, header=header, footer=[_more(a.number)])


def title_for(news: News) -> str:
    p = news.project
    return T["title"].format(no=p.number, name=p.display_short, n=len(news))


def messages_for(news: News, fy: int, glossary: Glossary) -> list[dict]:
    p = news.project
    terms = glossary.tracker()
    bubbles = [action_bubble(a, fy, terms) for a in news.actions]
    bubbles += [item_bubble(a, it, fy, terms) for a, it in news.items]
    groups = pack(bubbles)
    shown = sum(len(g) for g in groups[:MAX_FLEX])
    intro = T["intro"].format(no=p.number, name=p.name, n=len(news))
    intro += T["slide"] if shown > 1 else ""
    intro += T["more"].format(n=len(bubbles) - shown) if shown < len(bubbles) else ""
    messages = [ui.text(intro)] + [flex_message(title_for(news), g) for g in groups[:MAX_FLEX]]
    return ui.with_quick(messages, tail_quick(
        ui.postback(F.T["btn_actions"], "plan.actions", f"プロジェクト{p.number}のアクション一覧", id=p.number),
        ui.postback(F.T["btn_year"], "plan.year", f"プロジェクト{p.number}の今年度の予定", id=p.number)))


def ref(project_no: int, keys: list[str]) -> str:
    digest = hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:16]
    return f"plan:{project_no}:{digest}"


def segment_for(news: News, districts: list[P.District]) -> Segment:
    return Segment(projects=(news.project.number,), districts=tuple(districts_named(news.texts(), districts)),
                   match=ANY)


def publish_news(db: Session, before: Snapshot, now: datetime) -> list[Publication]:
    """Publish each project's additions since `before`, inside the caller's (the load's) transaction.
    Returns the publications (an already-published ref returns the first one and sends nothing again)."""
    db.flush()
    db.expire_all()  # read the plan as written, not the rows and collections the loader held
    fy = fy_of(now)
    all_news = find_news(db, before, fy)
    if not all_news:
        return []
    districts = P.districts(db)
    glossary = Glossary(P.glossary_entries(db))
    out = []
    for news in all_news:
        r = ref(news.project.number, news.keys())
        existing = db.scalar(select(Publication).where(Publication.ref == r))
        if existing is not None:
            continue  # these very additions were announced before (removed and added back)
        out.append(publish(db, messages=messages_for(news, fy, glossary), segment=segment_for(news, districts),
                           purpose=PURPOSE, ref=r, topic=TOPIC, frequencies=("now",), now=now,
                           title=title_for(news), created_by="kyodo plan load"))
    if out:
        log.info("plan news: %d publications (%s)", len(out), ", ".join(p.ref for p in out))
    return out


__all__ = ["PURPOSE", "Snapshot", "find_news", "publish_news", "snapshot"]
