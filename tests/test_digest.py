"""The weekly digest: residents who chose 週1回のまとめ hear, once a week, what the week's pushes would have
told them (by each push's segment and topic), grouped so residents with the same items share one
publication; nothing goes to a resident with nothing new, nor to a resident who hears pushes at once."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from bot.clock import TOKYO, utc
from bot.publish import cancel, publish
from bot.segments import Segment
from models.publications import Publication
from models.scheduling import JobRun
from scheduler import digest
from scheduler.lease import run_slot
from tests.test_fiscal_year_push import resident

SLOT = datetime(2026, 5, 22, 18, 0, tzinfo=TOKYO)   # a Friday, 18:00
IN_WEEK = datetime(2026, 5, 19, 12, 0, tzinfo=TOKYO)


def text(body: str) -> list[dict]:
    return [{"type": "text", "text": body}]


def push(db, title: str, *, when=IN_WEEK, **kw) -> Publication:
    return publish(db, messages=text(title + "です。"), when=when, now=utc(when), title=title, **kw)


def digests(db) -> list[Publication]:
    return list(db.scalars(select(Publication).where(Publication.purpose == "digest").order_by(Publication.id)))


def by_resident(db) -> dict[int, str]:
    """Resident id -> the digest text they are to get."""
    out = {}
    for p in digests(db):
        for uid in Segment.from_json(p.segment).user_ids:
            assert uid not in out, "a resident is in two digests"
            out[uid] = p.messages[0]["text"]
    return out


def run(rt, slot=SLOT) -> int:
    with rt.sessions() as db:
        n = digest.run(rt, db, slot)
        db.commit()
    return n


def test_a_week_with_nothing_for_weekly_residents_sends_nothing(bot):
    rt = bot.rt
    bot.clock.set(SLOT + timedelta(minutes=1))
    with rt.sessions() as db:
        resident(db, districts=("kozu",), frequency="weekly")
        resident(db, districts=("kozu",), projects=(3,), topics=("progress",), frequency="weekly")
        db.commit()
    assert run(rt) == 0  # nothing published at all

    with rt.sessions() as db:
        push(db, "曽我地区のお祭り", segment=Segment(districts=("soga",)), topic="city")        # not their district
        push(db, "国府津の講座", segment=Segment(districts=("kozu",)), topic="events")          # a topic they did not choose
        push(db, "先月のお知らせ", segment=Segment(districts=("kozu",)), topic="city",
             when=SLOT - timedelta(days=8))                                                  # before this week
        push(db, "来週のお知らせ", segment=Segment(districts=("kozu",)), topic="city",
             when=SLOT + timedelta(hours=1))                                                 # after the digest time
        cancelled = push(db, "取り消したお知らせ", segment=Segment(districts=("kozu",)), topic="city")
        assert cancel(db, cancelled.id)
        push(db, "テスト配信", segment=Segment(districts=("kozu",)), topic="city", purpose="test")
        push(db, "すでに全員に届いた緊急のお知らせ", topic="city", urgent=True, frequencies=("now", "weekly"))
        db.commit()
    assert run(rt) == 0
    with rt.sessions() as db:
        assert digests(db) == []


def test_residents_in_different_districts_get_different_digests_and_now_residents_none(bot):
    rt = bot.rt
    bot.clock.set(SLOT + timedelta(minutes=1))
    with rt.sessions() as db:
        kozu = resident(db, districts=("kozu",), frequency="weekly")
        kozu_too = resident(db, districts=("kozu",), frequency="weekly")
        soga = resident(db, districts=("soga",), frequency="weekly")
        both = resident(db, districts=("kozu", "soga"), projects=(3,), topics=("city", "progress"), frequency="weekly")
        now_kozu = resident(db, districts=("kozu",))                      # hears pushes at once
        off_kozu = resident(db, districts=("kozu",), frequency="off")
        gone_kozu = resident(db, districts=("kozu",), frequency="weekly", active=False)
        nothing = resident(db, districts=("midori",), frequency="weekly")  # nothing this week for them
        push(db, "国府津地区の清掃活動", segment=Segment(districts=("kozu",)), topic="city",
             when=IN_WEEK - timedelta(days=1))
        push(db, "曽我地区の防災訓練", segment=Segment(districts=("soga",)), topic="city")
        push(db, "プロジェクト3の進み具合", segment=Segment(projects=(3,)), topic="progress",
             when=IN_WEEK + timedelta(days=1))
        db.commit()

    assert run(rt) == 3  # {kozu, kozu_too}, {soga}, {both}: three groups, not one message per resident
    with rt.sessions() as db:
        got = by_resident(db)
        assert sorted(got) == sorted([kozu.id, kozu_too.id, soga.id, both.id])
        assert now_kozu.id not in got and off_kozu.id not in got and gone_kozu.id not in got
        assert nothing.id not in got
        assert got[kozu.id] == got[kozu_too.id] != got[soga.id]
        assert "国府津地区の清掃活動" in got[kozu.id] and "曽我" not in got[kozu.id]
        assert "曽我地区の防災訓練" in got[soga.id] and "国府津" not in got[soga.id]
        assert got[kozu.id].startswith("5月15日〜5月22日のお知らせのまとめです（1件）。")
        assert "・5月18日　国府津地区の清掃活動" in got[kozu.id]
        lines = got[both.id].splitlines()
        assert lines[0] == "5月15日〜5月22日のお知らせのまとめです（3件）。"
        assert lines[2:5] == ["・5月18日　国府津地区の清掃活動", "・5月19日　曽我地区の防災訓練",
                              "・5月20日　プロジェクト3の進み具合"]
        for p in digests(db):
            assert p.frequencies == ["weekly"] and p.topic is None
            assert p.ref.startswith("digest:2026-W21:")
            assert p.messages[0]["quickReply"]["items"][-1]["action"]["label"] == "メニュー"

    # The same week again (a second scheduler, a retry): the refs make it create nothing.
    assert run(rt) == 3
    with rt.sessions() as db:
        assert len(digests(db)) == 3


def test_down_for_three_weeks_one_digest_covering_the_missed_weeks_is_sent(bot):
    rt = bot.rt
    with rt.sessions() as db:
        weekly = resident(db, districts=("kozu",), frequency="weekly")
        db.add(JobRun(job="weekly_digest", slot_at=SLOT - timedelta(days=21), started_at=SLOT - timedelta(days=21),
                      finished_at=SLOT - timedelta(days=21), holder="before the outage"))
        for weeks_ago in range(3):
            push(db, f"国府津のお知らせ{weeks_ago}", segment=Segment(districts=("kozu",)), topic="city",
                 when=IN_WEEK - timedelta(days=7 * weeks_ago))
        db.commit()
    bot.clock.set(SLOT + timedelta(days=3))  # back on Monday 25 May: 8, 15 and 22 May were missed
    job = digest.job("fri 18:00")
    assert run_slot(rt, job, "test")
    assert not run_slot(rt, job, "test")
    with rt.sessions() as db:
        (only,) = digests(db)
        assert only.ref.startswith("digest:2026-W21:")
        assert Segment.from_json(only.segment).user_ids == (weekly.id,)
        # One digest, not three, and it starts where the last one ended: nothing of the missed weeks is lost.
        assert all(f"国府津のお知らせ{n}" in only.messages[0]["text"] for n in range(3))
        assert utc(db.get(JobRun, "weekly_digest").slot_at) == SLOT


def test_a_long_week_lists_the_first_items_and_counts_the_rest(bot):
    rt = bot.rt
    bot.clock.set(SLOT + timedelta(minutes=1))
    with rt.sessions() as db:
        weekly = resident(db, frequency="weekly")  # never chose topics: hears the city's own (city)
        for i in range(digest.MAX_LINES + 4):
            push(db, f"市からのお知らせ{i:02d}", topic="city", when=IN_WEEK + timedelta(minutes=i))
        db.commit()
    assert run(rt) == 1
    with rt.sessions() as db:
        body = by_resident(db)[weekly.id]
    assert f"（{digest.MAX_LINES + 4}件）" in body and "ほか4件" in body
    assert f"市からのお知らせ{digest.MAX_LINES - 1:02d}" in body and f"お知らせ{digest.MAX_LINES:02d}" not in body


def test_delivered_through_kyodo_deliver_each_resident_hears_each_thing_once_in_their_own_way(bot, emulator):
    """The week's pushes, the fiscal-year message and the digest, sent by the real fan-out through the
    emulator: the resident who hears pushes at once gets the push and no digest; the weekly one gets the
    one digest and not the push; the emulator's record counts each."""
    from bot.fanout import Fanout
    from scheduler import fiscal_year
    from tests.fanout_support import received
    from tests.test_fiscal_year_push import load_plan

    rt = bot.rt
    load_plan(rt)
    bot.clock.set(datetime(2026, 4, 1, 9, 0, 2, tzinfo=TOKYO))
    with rt.sessions() as db:
        at_once = resident(db, districts=("kozu",), projects=(3,), topics=("city", "progress"))
        weekly = resident(db, districts=("kozu",), projects=(3,), topics=("city", "progress"), frequency="weekly")
        db.commit()
    assert run_slot(rt, fiscal_year.JOB, "test")
    with rt.sessions() as db:
        push(db, "国府津地区の清掃活動", segment=Segment(districts=("kozu",)), topic="city",
             when=datetime(2026, 4, 2, 12, tzinfo=TOKYO))
        db.commit()

    fan = Fanout(rt, threads=2, rate=0).start()
    try:
        fan.drain(timeout=30)                               # 1 April: the fiscal-year message
        bot.clock.set(datetime(2026, 4, 2, 12, 0, 1, tzinfo=TOKYO))
        fan.drain(timeout=30)                               # 2 April: the announcement
        bot.clock.set(datetime(2026, 4, 3, 18, 0, 1, tzinfo=TOKYO))  # Friday evening
        assert run_slot(rt, digest.job("fri 18:00"), "test")
        fan.drain(timeout=30)
    finally:
        fan.shutdown()

    assert received(emulator) == {at_once.line_user_id: 2, weekly.line_user_id: 1}
    now_texts = [m.get("text") or m.get("altText") for m in emulator.messages_for(at_once.line_user_id)]
    assert now_texts[0].startswith("令和8年度（2026年度）が始まりました。") and now_texts[-1] == "国府津地区の清掃活動です。"
    (weekly_text,) = [m["text"] for m in emulator.messages_for(weekly.line_user_id)]
    assert weekly_text.startswith("3月27日〜4月3日のお知らせのまとめです（2件）。")
    assert "・4月1日　令和8年度（2026年度）の予定（プロジェクト3）" in weekly_text
    assert "・4月2日　国府津地区の清掃活動" in weekly_text
