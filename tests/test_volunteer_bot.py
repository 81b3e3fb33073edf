"""ボランティア on LINE through signed webhooks against the emulator: the list (the resident's 地区 first, dates
in Tokyo, places left / 満員), paging, this week's cards, sign-up asked once with the organiser's name asked
once (and again after it is deleted), full → waitlist, cancel from 申込状況 promotes the next who is told by
push, an offered place accepted or passed on after its time, and 活動記録's hours by fiscal year."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from bot.clock import TOKYO, utc
from models.registrations import Registration
from models.subscriptions import SubscribedDistrict
from models.users import User
from models.volunteer import VolunteerProfile
from scheduler import volunteer_jobs
from tests.events_support import deliver
from tests.helpers import quick_labels
# city: the events' fixture (the plan loaded, the clock at NOON), used here by name
from tests.test_events_bot import NOON, Chat, action, actions_in, bubbles, city, texts, titles  # noqa: F401
from tests.volunteer_support import add_opportunity, add_shift, pushes, reg_of, residents, sign_up



def at(day: int, hour: int, minute: int = 0, month: int = 6) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TOKYO)


@pytest.fixture
def shifts(city):
    with city.rt.sessions() as db:
        beach = add_opportunity(db, NOON, "海岸清掃", district="kozu", project=3, place_name="国府津海岸")
        kitchen = add_opportunity(db, NOON, "子ども食堂の手伝い", district="midori", project=5, place_name="緑公民館")
        flowers = add_opportunity(db, NOON, "花壇の手入れ", district="fujimi")
        ids = {"beach": add_shift(db, beach, NOON, at(6, 9), hours=3, capacity=2).id,
               "kitchen": add_shift(db, kitchen, NOON, at(4, 17), hours=2, capacity=1).id,
               "kitchen2": add_shift(db, kitchen, NOON, at(20, 17), hours=2, capacity=3).id}
        for i in range(12):
            add_shift(db, flowers, NOON, at(8, 9) + timedelta(days=i), hours=1, capacity=4)
        add_opportunity(db, NOON, "下書きの募集", status="draft")
        db.commit()
    return ids


def subscribe(bot, line_id: str, district: str) -> None:
    with bot.rt.sessions() as db:
        uid = db.scalar(select(User.id).where(User.line_user_id == line_id))
        db.add(SubscribedDistrict(user_id=uid, district=district))
        db.commit()


def test_list_resident_district_first_paging_and_this_week(shifts, city, emulator, user_id):
    chat = Chat(city, emulator, user_id)
    chat.say("こんにちは")  # the resident exists
    subscribe(city, user_id, "midori")
    first = chat.say("ボランティアしたい")
    # 緑 first (the resident's 地区), then by date; 10 a page and もっと見る.
    assert titles(first)[:3] == ["子ども食堂の手伝い", "子ども食堂の手伝い", "海岸清掃"]
    assert len(titles(first)) == 10 and "1〜10件目" in first[0]["text"]
    kitchen = bubbles(first)[0]
    assert texts(kitchen["header"]) == ["6月4日（木）17:00〜19:00"]
    assert "残り1名" in texts(kitchen) and "緑公民館" in texts(kitchen)
    assert action([kitchen], "申し込む")["data"].endswith(f"id={shifts['kitchen']}")  # one tap from a shift
    second = chat.tap_label(first, "もっと見る")
    assert len(titles(second)) == 5 and "11〜15件目" in second[0]["text"]
    assert "下書きの募集" not in titles(first) + titles(second)
    by_date = chat.tap_label(first, "日付順")
    assert titles(by_date)[:2] == ["子ども食堂の手伝い", "海岸清掃"]
    week = chat.tap_label(first, "今週の一覧")  # cards with 申し込む (tests/test_volunteer_week.py: the details)
    assert titles(week) == ["子ども食堂の手伝い", "海岸清掃"]  # 花壇: from Monday
    assert [texts(b["header"]) for b in bubbles(week)] == [["6月4日（木）17:00〜19:00"], ["6月6日（土）9:00〜12:00"]]
    assert action(week[1:], "申し込む")["data"].endswith(f"id={shifts['kitchen']}")


def test_sign_up_asks_once_and_the_name_once(shifts, city, emulator, user_id):
    chat = Chat(city, emulator, user_id)
    ask = chat.tap(f"v=1&a=volunteer.join&id={shifts['beach']}")
    assert ask[0]["type"] == "template" and "申し込みますか" in ask[0]["template"]["text"]
    name_q = chat.tap_label(ask, "申し込む")
    assert "主催者にお伝えするお名前" in name_q[0]["text"] and "主催者にだけ表示" in name_q[0]["text"]
    assert quick_labels(name_q[0]) == ["やめる"]  # no way round giving a name
    assert "20文字まで" in chat.say("あ" * 21)[0]["text"]
    done = chat.say("山田\u0007 花子\u200b")
    said = " ".join(m["text"] for m in done)
    assert "お名前を「山田 花子」にしました" in said and "「海岸清掃」に申し込みました" in said
    assert "6月6日（土）9:00〜12:00" in said and "国府津海岸" in said
    cal = [a for a in actions_in(done) if a.get("label") == "カレンダーに追加"]
    assert [a["uri"] for a in cal] == [f"{city.rt.config.public_base_url}/volunteer/shifts/{shifts['beach']}.ics"]
    with city.rt.sessions() as db:
        uid = db.scalar(select(User.id).where(User.line_user_id == user_id))
        assert db.get(VolunteerProfile, uid).display_name == "山田 花子"
        reg = reg_of(db, shifts["beach"], uid)
        # The tap's time, never later than the bot's clock (frozen here; the race test checks the milliseconds).
        assert reg.status == "confirmed" and utc(reg.requested_at) == utc(NOON)
    # The next sign-up does not ask the name again.
    ask = chat.tap(f"v=1&a=volunteer.join&id={shifts['kitchen2']}")
    assert "申し込みました" in chat.tap_label(ask, "申し込む")[0]["text"]
    assert "すでに申込済み" in chat.tap(f"v=1&a=volunteer.join&id={shifts['kitchen2']}")[0]["text"]
    # 活動記録 → 名前を削除 (asked once) → the next sign-up asks again.
    rec = chat.say("活動記録")
    assert "主催者にお伝えするお名前：山田 花子" in rec[0]["text"]
    q = chat.tap_label(rec, "名前を削除")
    assert "削除しますか" in q[0]["template"]["text"]
    assert "削除しました" in chat.tap_label(q, "削除する")[0]["text"]
    ask = chat.tap(f"v=1&a=volunteer.join&id={shifts['kitchen']}")
    assert "主催者にお伝えするお名前" in chat.tap_label(ask, "申し込む")[0]["text"]
    assert "申し込みはしていません" in chat.say("やめる")[0]["text"]
    # 名前を変更 from 活動記録.
    rec = chat.say("活動記録")
    assert "未登録" in rec[0]["text"]
    assert "新しいお名前" in chat.tap_label(rec, "名前を変更")[0]["text"]
    assert "「たろう」にしました" in chat.say("たろう")[0]["text"]


def test_full_shift_offers_the_waitlist(shifts, city, emulator):
    (a, la), (b, lb) = residents(city.rt, 2)
    with city.rt.sessions() as db:
        from models.volunteer import Shift
        assert sign_up(db, db.get(Shift, shifts["kitchen"]), a, NOON).status == "confirmed"
        db.commit()
    chat = Chat(city, emulator, lb)
    listing = chat.tap("v=1&a=volunteer.find&m=dt")
    assert "満員（キャンセル待ちできます）" in texts(bubbles(listing)[0])
    ask = chat.tap(f"v=1&a=volunteer.join&id={shifts['kitchen']}")
    assert "満員です。キャンセル待ちに登録しますか" in ask[0]["template"]["text"]
    out = chat.tap_label(ask, "キャンセル待ちに登録")
    assert "キャンセル待ち（1番目）" in out[0]["text"]


def test_cancel_from_regs_promotes_the_next_told_by_push(shifts, city, emulator):
    (a, la), (b, lb) = residents(city.rt, 2)
    with city.rt.sessions() as db:
        from models.volunteer import Shift
        sh = db.get(Shift, shifts["kitchen2"])  # 17 days away: promoted straight to confirmed
        sh.capacity = 1
        from bot import registrations as R
        R.set_capacity(db, R.find_slot(db, "shift", sh.id).id, 1, now=NOON)
        assert sign_up(db, sh, a, NOON).status == "confirmed"
        assert sign_up(db, sh, b, NOON).status == "waitlisted"
        db.commit()
    chat = Chat(city, emulator, la)
    regs = chat.tap("v=1&a=regs")
    [bub] = bubbles(regs)
    assert "ボランティア" in texts(bub) and "子ども食堂の手伝い" in texts(bub)
    q = chat.tap_label(regs, "申込をキャンセル")
    done = chat.tap_label(q, "キャンセルする")
    assert "キャンセル" in done[0]["text"]
    deliver(city.rt)
    told = pushes(emulator, lb, "繰り上がりました")
    assert len(told) == 1 and "子ども食堂の手伝い" in told[0]["messages"][0]["text"]
    with city.rt.sessions() as db:
        assert reg_of(db, shifts["kitchen2"], b).status == "confirmed"


def test_offer_close_to_start_accepted_or_passed_on(shifts, city, emulator):
    (a, la), (b, lb), (c, lc) = residents(city.rt, 3)
    with city.rt.sessions() as db:
        from models.volunteer import Shift
        sh = db.get(Shift, shifts["kitchen"])
        sh = add_shift(db, sh.opportunity, NOON, at(4, 10), hours=2, capacity=1)  # 22 hours after the cancellation
        for u in (a, b, c):
            sign_up(db, sh, u, NOON)
        shifts["kitchen"] = sh.id
        db.commit()
    chat_a = Chat(city, emulator, la)
    chat_a.tap_label(chat_a.tap(f"v=1&a=regs.cancel&reg={_reg_id(city, a)}"), "キャンセルする")
    deliver(city.rt)
    [offer] = pushes(emulator, lb, "空きが出ました")
    assert "6月3日（水）15:00までに" in offer["messages"][0]["text"]
    labels = [x.get("label") for x in actions_in(offer["messages"])]
    assert "参加する" in labels and "辞退する" in labels
    # B does not answer in 3 hours: the place passes to C.
    city.clock.set(at(3, 15, 1))
    volunteer_jobs.run(city.rt)
    deliver(city.rt)
    assert len(pushes(emulator, lc, "空きが出ました")) == 1
    chat_b = Chat(city, emulator, lb)
    late = chat_b.tap_label(offer["messages"], "参加する")
    assert "期限が過ぎた" in late[0]["text"]
    # C accepts in time, from 申込状況's button too.
    chat_c = Chat(city, emulator, lc)
    regs = chat_c.tap("v=1&a=regs")
    ok = chat_c.tap_label(regs, "参加する")
    assert "参加が決まりました" in ok[0]["text"]
    with city.rt.sessions() as db:
        assert reg_of(db, shifts["kitchen"], c).status == "confirmed"
        assert reg_of(db, shifts["kitchen"], b).status == "cancelled"


def _reg_id(bot, user_id: int) -> int:
    with bot.rt.sessions() as db:
        return db.scalar(select(Registration.id).where(Registration.user_id == user_id))


def test_record_hours_by_fiscal_year(city, emulator):
    [(a, la)] = residents(city.rt, 1)
    with city.rt.sessions() as db:
        opp = add_opportunity(db, NOON, "図書館の整理", place_name="図書館")
        march = add_shift(db, opp, at(1, 9, month=3), at(20, 9, month=3), hours=2.5)   # 令和7年度
        may = add_shift(db, opp, at(1, 9, month=5), at(10, 9, month=5), hours=3)       # 令和8年度
        june = add_shift(db, opp, NOON, at(10, 9), hours=2)                            # upcoming
        for sh, when in ((march, at(1, 9, month=3)), (may, at(1, 9, month=5))):
            reg = sign_up(db, sh, a, when).registration
            reg.status = "attended"
        sign_up(db, june, a, NOON)
        db.commit()
    rec = Chat(city, emulator, la).say("活動記録")[0]["text"]
    assert "令和8年度（2026年度）：1回・合計3時間" in rec
    assert "令和7年度（2025年度）：1回・合計2時間30分" in rec
    assert rec.index("令和8年度") < rec.index("令和7年度")
    assert "これからの予定" in rec and "6月10日（水）9:00〜11:00 図書館の整理" in rec
