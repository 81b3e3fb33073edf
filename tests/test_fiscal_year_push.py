"""1 April: each project's subscribers get one message about its 線表 for the new fiscal year, once per
project and year, built from the plan in the database (the city's real plan file, loaded as `kyodo plan
load` does). Frozen clock; run on both databases."""
from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select

from bot.clock import TOKYO
from bot.fiscal import fy_label
from bot.plan_loader import default_plan_path, load
from bot.segments import Segment, recipients
from emulator import new_user_id
from models import plan as P
from models.publications import Publication
from models.subscriptions import Preference, SubscribedDistrict, SubscribedProject, SubscribedTopic
from models.users import User
from scheduler import fiscal_year
from scheduler.lease import run_slot


def load_plan(rt) -> None:
    load(rt.sessions, default_plan_path(rt.config.city), rt.now())


def resident(db, *, districts=(), projects=(), topics=None, frequency="now", active=True) -> User:
    """A follower with these choices (topics None: never chose, so the defaults apply)."""
    now = datetime(2026, 1, 1, tzinfo=TOKYO)
    user = User(line_user_id=new_user_id(), active=active, created_at=now, followed_at=now)
    db.add(user)
    db.flush()
    db.add(Preference(user_id=user.id, frequency=frequency, topics_chosen=topics is not None, updated_at=now))
    db.add_all([SubscribedDistrict(user_id=user.id, district=d) for d in districts])
    db.add_all([SubscribedProject(user_id=user.id, project=n) for n in projects])
    db.add_all([SubscribedTopic(user_id=user.id, topic=t) for t in topics or ()])
    db.flush()
    return user


def fiscal_pubs(db) -> dict[str, Publication]:
    return {p.ref: p for p in db.scalars(select(Publication).where(Publication.purpose == "fiscal_year"))}


def audience(db, pub: Publication) -> list[int]:
    seg = Segment.from_json(pub.segment)
    return [row[0] for row in db.execute(recipients(seg, topic=pub.topic, frequencies=tuple(pub.frequencies)))]


def test_on_1_april_each_project_with_work_that_year_is_published_once_to_its_progress_subscribers(bot):
    rt = bot.rt
    bot.clock.set(datetime(2026, 4, 1, 9, 0, 3, tzinfo=TOKYO))
    load_plan(rt)
    with rt.sessions() as db:
        follows_3 = resident(db, projects=(3,), topics=("progress", "events"))
        follows_3_no_progress = resident(db, projects=(3,), topics=("events",))
        follows_1_and_3 = resident(db, projects=(1, 3), topics=("progress",))
        follows_nothing = resident(db, topics=("progress",))
        db.commit()

    assert run_slot(rt, fiscal_year.JOB, "test")
    assert not run_slot(rt, fiscal_year.JOB, "test")  # the slot ran: a second fire that day does nothing

    with rt.sessions() as db:
        pubs = fiscal_pubs(db)
        # Project 2 has no 線表 in the city's plan: nothing to say, no message.
        assert not any(a.roadmap for a in P.project(db, 2, with_roadmap=True).actions)
        assert sorted(pubs) == [f"fiscal:2026:project:{n}" for n in (1, 3, 4, 5, 6, 7)]
        p3 = pubs["fiscal:2026:project:3"]
        assert (p3.topic, Segment.from_json(p3.segment).projects, p3.frequencies) == ("progress", (3,), ["now"])
        assert audience(db, p3) == [follows_3.id, follows_1_and_3.id]
        assert audience(db, pubs["fiscal:2026:project:1"]) == [follows_1_and_3.id]
        assert follows_3_no_progress.id not in audience(db, p3) and follows_nothing.id not in audience(db, p3)

        # What the message says: the year by name, the project, and the 線表's items for that year.
        project = P.project(db, 3, with_roadmap=True)
        intro, *flex = p3.messages
        assert intro["text"].startswith("令和8年度（2026年度）が始まりました。")
        assert f"プロジェクト3「{project.name}」" in intro["text"]
        assert flex and all(m["type"] == "flex" for m in flex) and len(p3.messages) <= 5
        assert flex[0]["altText"].startswith("令和8年度（2026年度）のプロジェクト3の予定")
        shown = json.dumps(flex, ensure_ascii=False)
        this_year = [it.text for a in project.actions for it in a.roadmap if it.active_in(2026)]
        later_only = [it.text for a in project.actions for it in a.roadmap if it.from_fy > 2027]
        assert this_year and all(t in shown for t in this_year)
        assert later_only and not any(t in shown for t in later_only if t not in this_year)
        assert "▶ 今年度　令和8年度（2026年度）" in shown
        labels = [i["action"]["label"] for i in flex[-1]["quickReply"]["items"]]
        assert labels[-1] == "メニュー" and "アクション一覧" in labels
        assert p3.title == "令和8年度（2026年度）の予定（プロジェクト3）"

    # Run again by hand (as a second scheduler that got past the slot would): the refs make it a no-op.
    with rt.sessions() as db:
        assert fiscal_year.run(rt, db, datetime(2026, 4, 1, 9, tzinfo=TOKYO)) == 0
        db.commit()
        assert len(fiscal_pubs(db)) == 6

    # A year later: the next year's messages, once.
    bot.clock.set(datetime(2027, 4, 1, 9, 0, 1, tzinfo=TOKYO))
    assert run_slot(rt, fiscal_year.JOB, "test")
    assert not run_slot(rt, fiscal_year.JOB, "test")
    with rt.sessions() as db:
        pubs = fiscal_pubs(db)
        assert len(pubs) == 12
        assert pubs["fiscal:2027:project:3"].messages[0]["text"].startswith(f"{fy_label(2027)}が始まりました。")
        assert fy_label(2027) == "令和9年度（2027年度）"


def test_a_scheduler_down_on_1_april_sends_once_when_back_within_a_month_and_not_after(bot):
    rt = bot.rt
    load_plan(rt)
    bot.clock.set(datetime(2026, 3, 31, 23, 0, tzinfo=TOKYO))
    assert not run_slot(rt, fiscal_year.JOB, "test")  # FY2025's start is long gone: stale, not sent
    bot.clock.set(datetime(2026, 4, 20, 13, 0, tzinfo=TOKYO))  # back after an outage over 1 April
    assert run_slot(rt, fiscal_year.JOB, "test")
    with rt.sessions() as db:
        assert len(fiscal_pubs(db)) == 6
    bot.clock.set(datetime(2027, 5, 10, 13, 0, tzinfo=TOKYO))  # down over the whole of April 2027
    assert not run_slot(rt, fiscal_year.JOB, "test")
    with rt.sessions() as db:
        assert not any(ref.startswith("fiscal:2027:") for ref in fiscal_pubs(db))


def test_a_project_whose_roadmap_has_nothing_that_year_gets_no_message(bot):
    rt = bot.rt
    load_plan(rt)
    with rt.sessions() as db:
        project = P.project(db, 4, with_roadmap=True)
        for a in project.actions:
            for it in a.roadmap:
                it.from_fy, it.to_fy = max(it.from_fy, 2027), max(it.to_fy, 2027)
        db.commit()
        assert not fiscal_year.has_work_in(project, 2026)
    bot.clock.set(datetime(2026, 4, 1, 9, 0, tzinfo=TOKYO))
    assert run_slot(rt, fiscal_year.JOB, "test")
    with rt.sessions() as db:
        assert sorted(fiscal_pubs(db)) == [f"fiscal:2026:project:{n}" for n in (1, 3, 5, 6, 7)]
