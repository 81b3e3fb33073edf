"""1 April (Asia/Tokyo): each resident hears, in ONE message, what the 線表 has for the new fiscal year in
every project they follow.

A resident following four projects used to get four pushes that morning (and the daily cap dropped the
fourth). Now residents are grouped by the set of followed projects that have work on the 線表 that year
(pairs streamed from SQL and grouped by scheduler/digest.py's group_by_set), and each set gets one
publication to exactly its residents: a short intro and a carousel with one bubble per project, the same
bubble the bot shows under 今年度の予定（全体） (handlers/plan_flex.overview_year_bubble), so the push and the
menu say the same thing.

Who: residents following the project who chose 計画の進み具合 (topic "progress"), at once or weekly. The
publication is for "now" residents; weekly ones are in its list so that their digest lists it
(digest.LISTED_WHEN_EXPLICIT) and the delivery skips them. Quiet hours and the daily cap are the delivery's.

Once per resident and year: the slot claim (scheduler/lease.py) runs the job once even with two schedulers,
and a rerun by hand creates nothing for a set already published (ref "fiscal:<fy>:<hash of the set>") and
leaves out every resident already in one of the year's messages, even if their set changed meanwhile.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.fiscal import fy_label, fy_of
from bot.publish import MAX_MESSAGES, publish
from bot.segments import Segment, eligible
from handlers import plan_flex as F
from handlers import ui
from handlers.flex import flex_message, pack, tail_quick
from handlers.plan_text import Glossary
from models import plan as P
from models.publications import Publication
from models.subscriptions import NOW, WEEKLY, SubscribedProject
from models.users import User
from scheduler.digest import group_by_set, key_hash
from scheduler.lease import CronJob

log = logging.getLogger("kyodo.jobs")

PURPOSE = "fiscal_year"
TOPIC = "progress"
# 9:00 rather than midnight: the push lands when people are up (quiet hours would hold a 0:00 one anyway).
TRIGGER = CronTrigger(month=4, day=1, hour=9, minute=0, timezone="Asia/Tokyo")
GRACE = timedelta(days=30)      # after a long outage, a new-year message later than this is stale: not sent
MAX_FLEX = MAX_MESSAGES - 1     # the intro, then carousels of at most 12 bubbles (handlers.flex.pack)

T = {
    "intro": "{year}が始まりました。\n通知を受け取っている{projects}について、線表（年度ごとの予定）から今年度の取組をお知らせします。",
    "slide": "\nプロジェクトごとにスライドしてご覧ください。",
    "one": "プロジェクト{no}「{name}」",
    "many": "プロジェクト{nos}",
    "title": "{year}の予定（プロジェクト{nos}）",
}


def ref(fy: int, key: tuple[int, ...]) -> str:
    return f"fiscal:{fy}:{key_hash(tuple(sorted(key)))}"


def has_work_in(p, fy: int) -> bool:
    return any(item.active_in(fy) for a in p.actions for item in a.roadmap)


def _nos(projects) -> str:
    return "・".join(str(p.number) for p in projects)


def title_for(projects, fy: int) -> str:
    return T["title"].format(year=fy_label(fy), nos=_nos(projects))


def messages_for(projects: list, fy: int, plan_start: int | None, glossary: Glossary) -> list[dict]:
    """The intro and one bubble per project (in carousels of at most 12), with taps to the year's views."""
    label = fy_label(fy)
    named = T["one"].format(no=projects[0].number, name=projects[0].name) if len(projects) == 1 \
        else T["many"].format(nos=_nos(projects))
    intro = T["intro"].format(year=label, projects=named) + (T["slide"] if len(projects) > 1 else "")
    bubbles = [F.overview_year_bubble(p, fy, fy + 1, plan_start, glossary.tracker()) for p in projects]
    alt = title_for(projects, fy)
    messages = [ui.text(intro)] + [flex_message(alt, group) for group in pack(bubbles)][:MAX_FLEX]
    return ui.with_quick(messages, tail_quick(ui.postback(F.T["btn_year_all"], "plan.year"),
                                              ui.postback(F.T["btn_list"], "plan.list")))


def pairs(numbers: list[int]):
    """SELECT (user id, project) for every resident who is to hear about these projects, by user id."""
    sp = SubscribedProject
    return (select(sp.user_id, sp.project).join(User, User.id == sp.user_id)
            .where(sp.project.in_(numbers), eligible(topic=TOPIC, frequencies=(NOW, WEEKLY)))
            .order_by(sp.user_id, sp.project))


def already_sent(db: Session, fy: int) -> tuple[set[str], set[int]]:
    """The year's refs already written, and the residents they were addressed to."""
    refs, users = set(), set()
    for r, seg in db.execute(select(Publication.ref, Publication.segment)
                             .where(Publication.ref.like(f"fiscal:{fy}:%"))):
        refs.add(r)
        users.update(Segment.from_json(seg).user_ids)
    return refs, users


def run(rt, db: Session, slot: datetime, previous: datetime | None = None) -> int:
    """Publish the year's message for each set of followed projects; returns how many were new."""
    fy = fy_of(slot)
    with_work = {p.number: p for p in P.projects(db, with_roadmap=True) if has_work_in(p, fy)}
    if not with_work:
        return 0  # nothing on the 線表 this year: nothing to say
    years = P.plan_years(db)
    plan_start = years[0] if years else None
    glossary = Glossary(P.glossary_entries(db))
    done, covered = already_sent(db, fy)
    made = 0
    for key, users in group_by_set(db, pairs(sorted(with_work))).items():
        users = [u for u in users if u not in covered]
        if not users or ref(fy, key) in done:
            continue  # everyone heard already, or this set's message is queued (a rerun)
        projects = [with_work[n] for n in key]
        publish(db, messages=messages_for(projects, fy, plan_start, glossary), segment=Segment(projects=key),
                user_ids=users, purpose=PURPOSE, ref=ref(fy, key), topic=TOPIC, now=rt.now(),
                title=title_for(projects, fy))
        made += 1
    if made:
        log.info("fiscal year %d: %d messages queued (one per set of followed projects)", fy, made)
    return made


JOB = CronJob("fiscal_year", run, TRIGGER, GRACE)
