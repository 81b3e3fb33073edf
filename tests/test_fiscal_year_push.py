"""1 April: each resident who follows projects gets ONE message about the 線表 of the new fiscal year, one
bubble per followed project with work that year, once per resident and year, built from the plan in the
database (the city's real plan file, loaded as `kyodo plan load` does). Residents with the same set of
projects share one publication. Frozen clock; run on both databases."""
from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select

from bot.clock import TOKYO
from bot.fiscal import fy_label
from bot.plan_loader import default_plan_path, load
from bot.segments import Segment
from emulator import new_user_id
from models import plan as P
from models.publications import Publication
from models.subscriptions import Preference, SubscribedDistrict, SubscribedProject, SubscribedTopic
from models.users import User
from scheduler import fiscal_year
from scheduler.lease import run_slot
from tests.fanout_support import audience, bubbles_of


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


def addressed(pub: Publication) -> list[int]:
    return list(Segment.from_json(pub.segment).user_ids)


def header_project(bubble: dict) -> str:
    return bubble["header"]["contents"][0]["text"]


def by_resident(db, fy: int = 2026) -> dict[int, list[str]]:
    """Resident id -> the refs of the year's messages addressed to them."""
    out: dict[int, list[str]] = {}
    for ref, pub in fiscal_pubs(db).items():
        if ref.startswith(f"fiscal:{fy}:"):
            for uid in addressed(pub):
                out.setdefault(uid, []).append(ref)
    return out


ALL_WITH_WORK = (1, 3, 4, 5, 6, 7)  # project 2 has no 線表 in the city's plan


def test_on_1_april_each_resident_gets_one_message_for_all_their_projects_grouped_by_the_set(bot):
    rt = bot.rt
    bot.clock.set(datetime(2026, 4, 1, 9, 0, 3, tzinfo=TOKYO))
    load_plan(rt)
    with rt.sessions() as db:
        follows_3 = resident(db, projects=(3,), topics=("progress", "events"))
        follows_3_no_progress = resident(db, projects=(3,), topics=("events",))
        follows_1_and_3 = resident(db, projects=(1, 3), topics=("progress",))
        follows_3_and_1 = resident(db, projects=(3, 1), topics=("progress", "city"))
        weekly_1_and_3 = resident(db, projects=(1, 3), topics=("progress",), frequency="weekly")
        follows_all = resident(db, projects=(1, 2, 3, 4, 5, 6, 7), topics=("progress",))
        follows_2_and_3 = resident(db, projects=(2, 3), topics=("progress",))  # 2 has nothing this year
        follows_2 = resident(db, projects=(2,), topics=("progress",))
        follows_nothing = resident(db, topics=("progress",))
        stopped = resident(db, projects=(1, 3), topics=("progress",), frequency="off")
        gone = resident(db, projects=(1, 3), topics=("progress",), active=False)
        db.commit()

    assert run_slot(rt, fiscal_year.JOB, "test")
    assert not run_slot(rt, fiscal_year.JOB, "test")  # the slot ran: a second fire that day does nothing

    with rt.sessions() as db:
        assert not any(a.roadmap for a in P.project(db, 2, with_roadmap=True).actions)
        pubs = fiscal_pubs(db)
        # Three sets of projects, three publications (not one per project, not one per resident).
        assert sorted(pubs) == sorted(fiscal_year.ref(2026, k) for k in ((3,), (1, 3), ALL_WITH_WORK))
        only_3, one_three, every = (pubs[fiscal_year.ref(2026, k)] for k in ((3,), (1, 3), ALL_WITH_WORK))
        assert addressed(only_3) == [follows_3.id, follows_2_and_3.id]
        assert addressed(one_three) == [follows_1_and_3.id, follows_3_and_1.id, weekly_1_and_3.id]
        assert addressed(every) == [follows_all.id]
        # Each resident is in exactly one message; those without a followed project with work, or without
        # 計画の進み具合, or who stopped notifications or left, in none.
        got = by_resident(db)
        assert all(len(refs) == 1 for refs in got.values())
        for nobody in (follows_3_no_progress, follows_2, follows_nothing, stopped, gone):
            assert nobody.id not in got
        # The push goes to those who hear pushes at once; the weekly resident hears it in the digest.
        assert audience(db, one_three) == [follows_1_and_3.id, follows_3_and_1.id]
        for p in (only_3, one_three, every):
            assert (p.topic, p.frequencies, p.purpose) == ("progress", ["now"], "fiscal_year")
            assert p.ref.startswith("fiscal:2026:") and len(p.messages) <= 5

        # What a message says: the year by name, the resident's projects, one bubble per project with the
        # 線表's items for that year (as the bot's 今年度の予定（全体） shows them).
        intro, carousel = one_three.messages
        assert intro["text"].startswith("令和8年度（2026年度）が始まりました。")
        assert "通知を受け取っているプロジェクト1・3について" in intro["text"]
        assert carousel["type"] == "flex" and carousel["contents"]["type"] == "carousel"
        assert carousel["altText"] == one_three.title == "令和8年度（2026年度）の予定（プロジェクト1・3）"
        assert [header_project(b) for b in bubbles_of(one_three)] == \
            [f"プロジェクト{n}　{P.project(db, n).name}" for n in (1, 3)]
        project = P.project(db, 3, with_roadmap=True)
        shown = json.dumps(bubbles_of(one_three)[1], ensure_ascii=False)
        this_year = [it.text for a in project.actions for it in a.roadmap if it.active_in(2026)]
        later_only = [it.text for a in project.actions for it in a.roadmap if it.from_fy > 2027]
        assert this_year and this_year[0] in shown
        assert later_only and not any(t in shown for t in later_only if t not in this_year)
        assert "令和8年度（2026年度）" in shown
        footer = bubbles_of(one_three)[1]["footer"]["contents"][0]["action"]
        assert footer["label"] == "このプロジェクトの予定をくわしく" and "plan.year" in footer["data"]
        labels = [i["action"]["label"] for i in carousel["quickReply"]["items"]]
        assert labels == ["今年度の予定（全体）", "プロジェクト一覧", "メニュー"]

        (single,) = only_3.messages[1:]
        assert f"プロジェクト3「{project.name}」について" in only_3.messages[0]["text"]
        assert "スライド" not in only_3.messages[0]["text"]
        assert single["contents"]["type"] == "bubble"  # one project: one bubble, not a carousel of one
        assert [header_project(b) for b in bubbles_of(every)] == \
            [f"プロジェクト{n}　{P.project(db, n).name}" for n in ALL_WITH_WORK]
        assert every.title == "令和8年度（2026年度）の予定（プロジェクト1・3・4・5・6・7）"

    # A year later: the next year's messages, once.
    bot.clock.set(datetime(2027, 4, 1, 9, 0, 1, tzinfo=TOKYO))
    assert run_slot(rt, fiscal_year.JOB, "test")
    assert not run_slot(rt, fiscal_year.JOB, "test")
    with rt.sessions() as db:
        assert len(fiscal_pubs(db)) == 6
        later = by_resident(db, 2027)
        assert later[follows_1_and_3.id] == [fiscal_year.ref(2027, (1, 3))]
        first = fiscal_pubs(db)[fiscal_year.ref(2027, (1, 3))].messages[0]["text"]
        assert first.startswith(f"{fy_label(2027)}が始まりました。") and fy_label(2027) == "令和9年度（2027年度）"


def test_run_again_it_sends_nobody_a_second_message_even_after_they_changed_projects(bot):
    rt = bot.rt
    bot.clock.set(datetime(2026, 4, 1, 9, 0, 3, tzinfo=TOKYO))
    load_plan(rt)
    with rt.sessions() as db:
        follows_3 = resident(db, projects=(3,), topics=("progress",))
        follows_1_and_3 = resident(db, projects=(1, 3), topics=("progress",))
        db.commit()
    assert run_slot(rt, fiscal_year.JOB, "test")

    # Between the first run and a second one (a scheduler that got past the slot, a run by hand):
    # one resident follows one more project, a new one follows a set nobody had, another a set already sent.
    with rt.sessions() as db:
        db.add(SubscribedProject(user_id=follows_3.id, project=5))
        new_set = resident(db, projects=(5, 6), topics=("progress",))
        new_old_set = resident(db, projects=(1, 3), topics=("progress",))
        db.commit()
    with rt.sessions() as db:
        assert fiscal_year.run(rt, db, datetime(2026, 4, 1, 9, tzinfo=TOKYO)) == 1
        db.commit()
    with rt.sessions() as db:
        got = by_resident(db)
        assert got == {follows_3.id: [fiscal_year.ref(2026, (3,))],
                       follows_1_and_3.id: [fiscal_year.ref(2026, (1, 3))],
                       new_set.id: [fiscal_year.ref(2026, (5, 6))]}
        # A set already published is not published again: its ref returns the first publication, so a
        # resident who joined that set later is not added (the new-year message is for those there on 1 April).
        assert new_old_set.id not in got
    with rt.sessions() as db:
        assert fiscal_year.run(rt, db, datetime(2026, 4, 1, 9, tzinfo=TOKYO)) == 0
        db.commit()
        assert len(fiscal_pubs(db)) == 3


def test_two_schedulers_firing_at_once_write_the_messages_once(bot):
    import threading

    rt = bot.rt
    bot.clock.set(datetime(2026, 4, 1, 9, 0, 3, tzinfo=TOKYO))
    load_plan(rt)
    with rt.sessions() as db:
        ids = [resident(db, projects=projects, topics=("progress",)).id
               for projects in ((3,), (1, 3), (1, 3), (4, 5, 6), (7,))]
        db.commit()
    start, results = threading.Barrier(2), []

    def fire(name: str) -> None:
        start.wait()
        results.append(run_slot(rt, fiscal_year.JOB, name))

    threads = [threading.Thread(target=fire, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results) == [False, True]
    with rt.sessions() as db:
        assert len(fiscal_pubs(db)) == 4
        got = by_resident(db)
        assert sorted(got) == sorted(ids) and all(len(refs) == 1 for refs in got.values())


def test_a_scheduler_down_on_1_april_sends_once_when_back_within_a_month_and_not_after(bot):
    rt = bot.rt
    load_plan(rt)
    with rt.sessions() as db:
        follower = resident(db, projects=(1, 3), topics=("progress",))
        db.commit()
    bot.clock.set(datetime(2026, 3, 31, 23, 0, tzinfo=TOKYO))
    assert not run_slot(rt, fiscal_year.JOB, "test")  # FY2025's start is long gone: stale, not sent
    bot.clock.set(datetime(2026, 4, 20, 13, 0, tzinfo=TOKYO))  # back after an outage over 1 April
    assert run_slot(rt, fiscal_year.JOB, "test")
    assert not run_slot(rt, fiscal_year.JOB, "test")
    with rt.sessions() as db:
        assert by_resident(db) == {follower.id: [fiscal_year.ref(2026, (1, 3))]}
    bot.clock.set(datetime(2027, 5, 10, 13, 0, tzinfo=TOKYO))  # down over the whole of April 2027
    assert not run_slot(rt, fiscal_year.JOB, "test")
    with rt.sessions() as db:
        assert not any(ref.startswith("fiscal:2027:") for ref in fiscal_pubs(db))


def test_a_project_whose_roadmap_has_nothing_that_year_is_left_out_of_the_message(bot):
    rt = bot.rt
    load_plan(rt)
    with rt.sessions() as db:
        project = P.project(db, 4, with_roadmap=True)
        for a in project.actions:
            for it in a.roadmap:
                it.from_fy, it.to_fy = max(it.from_fy, 2027), max(it.to_fy, 2027)
        follows_3_and_4 = resident(db, projects=(3, 4), topics=("progress",))
        follows_4 = resident(db, projects=(4,), topics=("progress",))
        db.commit()
        assert not fiscal_year.has_work_in(project, 2026)
    bot.clock.set(datetime(2026, 4, 1, 9, 0, tzinfo=TOKYO))
    assert run_slot(rt, fiscal_year.JOB, "test")
    with rt.sessions() as db:
        assert by_resident(db) == {follows_3_and_4.id: [fiscal_year.ref(2026, (3,))]}
        (pub,) = fiscal_pubs(db).values()
        assert [header_project(b) for b in bubbles_of(pub)] == [f"プロジェクト3　{P.project(db, 3).name}"]
        assert follows_4.id not in by_resident(db)


def test_many_projects_fill_carousels_of_at_most_12_and_never_more_than_5_messages(bot):
    rt = bot.rt
    load_plan(rt)
    with rt.sessions() as db:
        projects = P.projects(db, with_roadmap=True)
        glossary = fiscal_year.Glossary(P.glossary_entries(db))
        for n in (1, 12, 13, 30, 60):
            many = [projects[i % len(projects)] for i in range(n)]
            msgs = fiscal_year.messages_for(many, 2026, 2024, glossary)
            assert 2 <= len(msgs) <= 5 and msgs[0]["type"] == "text"
            sizes = [len(m["contents"]["contents"]) if m["contents"]["type"] == "carousel" else 1 for m in msgs[1:]]
            assert all(s <= 12 for s in sizes)
            # Up to 30 projects all fit (the city has 7); beyond, the first ones, as many as 4 Flex messages hold.
            assert sum(sizes) == n if n <= 30 else (len(msgs) == 5 and sum(sizes) < n)
            assert all(len(json.dumps(m, ensure_ascii=False).encode()) < 30_000 for m in msgs[1:])


def test_delivered_by_kyodo_deliver_a_resident_following_six_projects_gets_one_push_not_six(bot, emulator):
    """The daily cap is 3: with one push per project the fourth and later were dropped. Now one push holds
    every project; the weekly resident gets nothing that morning."""
    from bot.fanout import Fanout
    from tests.fanout_support import received

    rt = bot.rt
    load_plan(rt)
    bot.clock.set(datetime(2026, 4, 1, 9, 0, 2, tzinfo=TOKYO))
    with rt.sessions() as db:
        everything = resident(db, projects=ALL_WITH_WORK, topics=("progress",))
        two = resident(db, projects=(1, 3), topics=("progress",))
        weekly = resident(db, projects=ALL_WITH_WORK, topics=("progress",), frequency="weekly")
        db.commit()
    assert rt.config.daily_push_cap == 3
    assert run_slot(rt, fiscal_year.JOB, "test")
    fan = Fanout(rt, threads=2, rate=0).start()
    try:
        fan.drain(timeout=30)
    finally:
        fan.shutdown()
    assert received(emulator) == {everything.line_user_id: 1, two.line_user_id: 1}
    intro, carousel = emulator.messages_for(everything.line_user_id)
    assert intro["text"].startswith("令和8年度（2026年度）が始まりました。")
    assert [header_project(b) for b in carousel["contents"]["contents"]] == \
        [f"プロジェクト{n}　{name}" for n, name in project_names(rt, ALL_WITH_WORK)]
    assert emulator.messages_for(weekly.line_user_id) == []


def project_names(rt, numbers) -> list[tuple[int, str]]:
    with rt.sessions() as db:
        return [(n, P.project(db, n).name) for n in numbers]
