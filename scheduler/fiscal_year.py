"""1 April (Asia/Tokyo): each project's subscribers hear what its 線表 has for the new fiscal year.

One publication per project and year (ref "fiscal:<year>:project:<n>", so a rerun creates nothing), to the
residents who follow the project and chose 計画の進み具合 (topic "progress"); quiet hours, the daily cap and
weekly residents (who get it in their digest) are the delivery's business. The year's view is the one the
bot shows under 今年度の予定 (handlers/plan_flex.py), so the push and the menu say the same thing.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.fiscal import fy_label, fy_of
from bot.publish import publish
from bot.segments import Segment
from handlers import plan_flex as F
from handlers import ui
from handlers.flex import flex_message, pack, tail_quick
from handlers.plan_text import Glossary, this_year_phrase
from models import plan as P
from models.publications import Publication
from scheduler.lease import CronJob

log = logging.getLogger("kyodo.jobs")

TOPIC = "progress"
# 9:00 rather than midnight: the push lands when people are up (quiet hours would hold a 0:00 one anyway).
TRIGGER = CronTrigger(month=4, day=1, hour=9, minute=0, timezone="Asia/Tokyo")
GRACE = timedelta(days=30)  # after a long outage, a new-year message later than this is stale: not sent
MAX_FLEX = 4                # LINE takes 5 messages per push: the intro and up to 4 carousels

T = {
    "intro": "{year}が始まりました。\nプロジェクト{no}「{name}」の線表（年度ごとの予定）から、今年度の取組をお知らせします。",
    "alt": "{year}のプロジェクト{no}の予定。{this_phrase}です",
    "title": "{year}の予定（プロジェクト{no}）",
}


def ref(fy: int, project: int) -> str:
    return f"fiscal:{fy}:project:{project}"


def has_work_in(p, fy: int) -> bool:
    return any(item.active_in(fy) for a in p.actions for item in a.roadmap)


def messages_for(p, fy: int, plan_start: int | None, glossary: Glossary) -> list[dict]:
    """The intro and the project's 今年度・来年度 bubbles, with taps to the project's other views."""
    label = fy_label(fy)
    bubbles = F.project_year_bubbles(p, fy, fy + 1, plan_start, glossary.tracker())
    alt = T["alt"].format(year=label, no=p.number, this_phrase=this_year_phrase(fy))
    messages = [ui.text(T["intro"].format(year=label, no=p.number, name=p.name))]
    messages += [flex_message(alt, group) for group in pack(bubbles)][:MAX_FLEX]
    return ui.with_quick(messages, tail_quick(
        ui.postback(F.T["btn_actions"], "plan.actions", f"プロジェクト{p.number}のアクション一覧", id=p.number),
        ui.postback(F.T["btn_list"], "plan.list")))


def run(rt, db: Session, slot: datetime) -> int:
    """Publish the year's message for every project with roadmap work in it; returns how many were new."""
    fy = fy_of(slot)
    years = P.plan_years(db)
    plan_start = years[0] if years else None
    glossary = Glossary(P.glossary_entries(db))
    done = set(db.scalars(select(Publication.ref).where(Publication.ref.like(ref(fy, 0)[:-1] + "%"))))
    made = 0
    for p in P.projects(db, with_roadmap=True):
        if not has_work_in(p, fy) or ref(fy, p.number) in done:
            continue  # nothing on the 線表 this year (nothing to say), or already queued
        publish(db, messages=messages_for(p, fy, plan_start, glossary), segment=Segment(projects=(p.number,)),
                      purpose="fiscal_year", ref=ref(fy, p.number), topic=TOPIC, now=rt.now(),
                      title=T["title"].format(year=fy_label(fy), no=p.number))
        made += 1
    if made:
        log.info("fiscal year %d: %d project messages queued", fy, made)
    return made


JOB = CronJob("fiscal_year", run, TRIGGER, GRACE)
