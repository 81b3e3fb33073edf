"""イベント on LINE through signed webhooks against the emulator: the menu, each filter, paging past LINE's
12-bubble limit, details, 中止, 参加する (asked once) → confirmed / waitlisted / already / closed, a double tap,
申込状況 and cancel, and the promoted resident told by push (kyodo deliver's loop, to the emulator)."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.clock import TOKYO
from bot.fanout import Fanout
from bot.plan_loader import default_plan_path, load
from bot.postback import decode
from emulator import new_user_id
from models.events import Event
from models.publications import Publication
from models.registrations import Registration
from tests.events_support import add_event
from tests.chat_support import Chat, action, actions_in, texts, walk  # noqa: F401  (re-exported for other tests)
from tests.helpers import quick_labels

NOON = datetime(2026, 6, 3, 12, 0, tzinfo=TOKYO)  # a Wednesday


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 6, day, hour, minute, tzinfo=TOKYO)


def bubbles(messages) -> list[dict]:
    out = []
    for m in messages:
        if m["type"] == "flex":
            c = m["contents"]
            out += c["contents"] if c["type"] == "carousel" else [c]
    return out


def titles(messages) -> list[str]:
    """The event title of each event bubble (its body's first text), leaving out the もっと見る card."""
    return [b["body"]["contents"][0]["text"] for b in bubbles(messages) if "header" in b]


@pytest.fixture
def city(bot):
    load(bot.rt.sessions, default_plan_path(bot.rt.config.city), bot.rt.now())
    bot.clock.set(NOON)
    return bot


@pytest.fixture
def events(city):
    now = NOON
    with city.rt.sessions() as db:
        ids = {
            "将棋": add_event(db, now, "国府津こども将棋", starts=at(3, 15), district="kozu", project=3, cost_kind="free",
                            age_min=6, age_max=12, lat=35.2780, lon=139.2030,
                            description="はじめての人も歓迎です。駒の動かし方から教えます。", phone="0465-00-0000",
                            address="小田原市国府津4丁目").id,
            "味噌": add_event(db, now, "親子で味噌づくり", starts=at(6, 10), district="midori", project=5,
                            cost_kind="amount", cost_yen=500, registration_required=True, capacity=2).id,
            "祭り": add_event(db, now, "夏祭り", starts=at(6, 17), district="midori", status="cancelled",
                            cancel_reason="雨天のため").id,
            "講演": add_event(db, now, "まちづくり講演会", starts=at(7, 14), district="aratama", project=7, age_min=18).id,
            "締切": add_event(db, now, "締切済みの講座", starts=at(9, 10), district="kozu", registration_required=True,
                            capacity=10, registration_deadline=at(2, 17)).id,
            "科学": add_event(db, now, "中学生の科学教室", starts=at(13, 10), district="fujimi", project=3,
                            age_min=12, age_max=15).id,
        }
        db.commit()
    return ids


def test_menu_by_button_and_by_word(city, emulator, user_id):
    chat = Chat(city, emulator, user_id)
    for msgs in (chat.tap("v=1&a=events"), chat.say("イベント")):
        assert "どのイベント" in msgs[-1]["text"]
        assert quick_labels(msgs[-1]) == ["今週", "今週末", "地区から", "プロジェクトから", "こども向け", "申込状況", "メニュー"]


def test_filters_from_the_quick_replies(events, city, emulator, user_id):
    chat = Chat(city, emulator, user_id)
    menu = chat.tap("v=1&a=events")
    week = chat.tap_label(menu, "今週")
    assert "今週のイベント" in week[0]["text"]
    assert titles(week) == ["国府津こども将棋", "親子で味噌づくり", "夏祭り", "まちづくり講演会"]  # 締切済み: the 9th
    weekend = chat.tap_label(menu, "今週末")
    assert titles(weekend) == ["親子で味噌づくり", "夏祭り", "まちづくり講演会"]
    kids = chat.tap_label(menu, "こども向け")
    assert titles(kids) == ["国府津こども将棋", "親子で味噌づくり", "中学生の科学教室"]
    # 地区から: only 地区 with events to come, with their counts; 国府津 has two.
    by_district = chat.tap_label(menu, "地区から")
    labels = quick_labels(by_district[-1])
    assert "国府津（2）" in labels and "緑（2）" in labels and not any(lbl.startswith("早川") for lbl in labels)
    assert titles(chat.tap_label(by_district, "国府津（2）")) == ["国府津こども将棋", "締切済みの講座"]
    by_project = chat.tap_label(menu, "プロジェクトから")
    [p3] = [lbl for lbl in quick_labels(by_project[-1]) if lbl.startswith("3 ")]
    assert titles(chat.tap_label(by_project, p3)) == ["国府津こども将棋", "中学生の科学教室"]


def test_typed_filters(events, city, emulator, user_id):
    chat = Chat(city, emulator, user_id)
    assert titles(chat.say("国府津のイベント")) == ["国府津こども将棋", "締切済みの講座"]
    assert titles(chat.say("今週末のイベント")) == ["親子で味噌づくり", "夏祭り", "まちづくり講演会"]
    assert titles(chat.say("土曜 緑 こども向けのイベント")) == ["親子で味噌づくり"]
    assert titles(chat.say("将棋のイベント")) == ["国府津こども将棋"]
    assert titles(chat.say("来週のイベント")) == ["締切済みの講座", "中学生の科学教室"]
    # 来週 with a day is next week's (Monday to Sunday), not this week's: 土曜 alone is the 6th, 来週の土曜 the 13th.
    assert titles(chat.say("来週末のイベント")) == ["中学生の科学教室"]
    assert titles(chat.say("来週の土曜のイベント")) == ["中学生の科学教室"]
    kids = chat.say("小学生向けのイベント")
    # For children, ages overlapping 6-12 (blank ages: any): 科学 is 12-15, 味噌 has 親子 in its title.
    assert "6〜12歳向けのイベント" in kids[0]["text"]
    assert titles(kids) == ["国府津こども将棋", "親子で味噌づくり", "中学生の科学教室"]
    assert titles(chat.say("夏祭りイベント")) == ["夏祭り"]
    near = chat.say("近くのイベント")
    assert "位置情報を送って" in near[0]["text"]
    assert near[0]["quickReply"]["items"][0]["action"]["type"] == "location"
    # Words nothing matches: said, and what is coming shown instead.
    msgs = chat.say("けん玉のイベント")
    assert "「けん玉」を含むイベントは見つかりませんでした" in msgs[0]["text"] and titles(msgs)


def test_cancelled_event_is_marked_and_cannot_be_joined(events, city, emulator, user_id):
    chat = Chat(city, emulator, user_id)
    weekend = chat.tap("v=1&a=events.find&r=we")
    [festival] = [b for b in bubbles(weekend) if "header" in b and b["body"]["contents"][0]["text"] == "夏祭り"]
    assert "【中止】" in texts(festival["header"])
    assert "参加する" not in [a.get("label") for a in actions_in(festival)]
    assert "このイベントは中止になりました。" in texts(festival)
    detail = chat.tap_label([festival], "くわしく")
    assert "理由：雨天のため" in texts(detail)
    assert "カレンダーに追加" not in [a.get("label") for a in actions_in(detail)]
    out = chat.tap(f"v=1&a=events.join&id={events['祭り']}&ok=1")
    assert "中止" in out[0]["text"]


def test_details_calendar_map_and_call(events, city, emulator, user_id):
    chat = Chat(city, emulator, user_id)
    detail = chat.tap(f"v=1&a=events.show&id={events['将棋']}")
    body = texts(detail)
    assert "国府津こども将棋" in body and any("駒の動かし方" in t for t in body)
    assert "6〜12歳" in body and "無料" in body and "申込不要" in body
    assert any("6月3日（水）15:00〜17:00" in t for t in body)
    base = city.rt.config.public_base_url
    assert action(detail, "カレンダーに追加")["uri"] == f"{base}/events/{events['将棋']}.ics"
    assert action(detail, "地図")["uri"].startswith("https://www.google.com/maps/search/?api=1&query=35.278")
    assert action(detail, "電話する")["uri"] == "tel:0465000000"
    assert "参加する" not in [a.get("label") for a in actions_in(detail)]  # no registration needed
    # An id that is not an event, or not shown to residents: said plainly.
    assert "見つかりませんでした" in chat.tap("v=1&a=events.show&id=999999")[0]["text"]
    assert "見つかりませんでした" in chat.tap("v=1&a=events.show&id=abc")[0]["text"]


def test_paging_past_the_carousel_limit(city, emulator, user_id):
    with city.rt.sessions() as db:
        for i in range(25):
            add_event(db, NOON, f"連続講座 第{i + 1:02d}回", starts=at(4, 9) + timedelta(hours=i), district="kozu")
        db.commit()
    chat = Chat(city, emulator, user_id)
    seen = []
    page = chat.tap("v=1&a=events.find&d=kozu")
    for expected_first in (1, 11, 21):
        assert f"{expected_first}〜" in page[0]["text"]
        got = titles(page)
        seen += got
        if expected_first < 21:
            assert len(got) == 10 and len(bubbles(page)) == 11  # and the もっと見る card
            assert "もっと見る" in quick_labels(page[-1])
            nxt = decode(action(page, "もっと見る")["data"])
            assert nxt.params["d"] == "kozu" and nxt.params["o"] == str(expected_first + 9)
            page = chat.tap_label(page, "もっと見る")
        else:
            assert len(got) == 5 and "もっと見る" not in quick_labels(page[-1])
    assert seen == [f"連続講座 第{i + 1:02d}回" for i in range(25)]
    assert "これ以上" in chat.tap("v=1&a=events.find&d=kozu&o=30")[0]["text"]


def _join(chat, event_id) -> list[dict]:
    ask = chat.tap(f"v=1&a=events.join&id={event_id}")
    assert ask[0]["type"] == "template" and ask[0]["template"]["type"] == "confirm"
    return chat.tap_label(ask, "申し込む")


def test_join_confirm_waitlist_double_tap_regs_and_cancel_promotes(events, city, emulator):
    a, b, c = (Chat(city, emulator, new_user_id()) for _ in range(3))
    miso = events["味噌"]
    # The carousel offers 参加する where registration is needed.
    assert "参加する" in [x.get("label") for x in actions_in(a.tap("v=1&a=events.find&r=we"))]
    assert "申込みました" in _join(a, miso)[0]["text"]
    # A double tap: the confirm's button tapped again, and 参加する again, give no second registration.
    assert "すでに申込済み" in a.tap(f"v=1&a=events.join&id={miso}&ok=1")[0]["text"]
    assert "すでに申込済み" in a.tap(f"v=1&a=events.join&id={miso}")[0]["text"]
    assert "申込みました" in _join(b, miso)[0]["text"]
    ask = c.tap(f"v=1&a=events.join&id={miso}")
    assert "満員" in ask[0]["template"]["text"]
    assert "キャンセル待ち（1番目）" in c.tap_label(ask, "申し込む")[0]["text"]
    assert "キャンセル待ち（1番目）" in c.tap(f"v=1&a=events.join&id={miso}&ok=1")[0]["text"]
    with city.rt.sessions() as db:
        assert db.scalar(select(func.count()).select_from(Registration)) == 3
    # やめる on the question: nothing registered.
    d = Chat(city, emulator, new_user_id())
    assert "やめました" in d.tap_label(d.tap(f"v=1&a=events.join&id={miso}"), "やめる")[0]["text"]

    # 申込状況, typed and tapped.
    regs = c.say("申込状況")
    assert "お申込み中のものです（1件）" in regs[0]["text"]
    assert "キャンセル待ち（1番目）です" in texts(regs) and "親子で味噌づくり" in texts(regs)
    regs_a = a.tap("v=1&a=regs")
    assert "申込済みです" in texts(regs_a)
    # The details show A's registration and the way to cancel it.
    assert "申込済みです" in texts(a.tap(f"v=1&a=events.show&id={miso}"))

    # A cancels (asked once); C is promoted and told by push.
    ask = a.tap_label(regs_a, "申込をキャンセル")
    assert ask[0]["template"]["type"] == "confirm" and "親子で味噌づくり" in ask[0]["template"]["text"]
    yes = action(ask, "キャンセルする")["data"]
    assert "キャンセルしました" in a.tap(yes)[0]["text"]
    assert "すでにキャンセル" in a.tap(yes)[0]["text"]  # the button tapped twice
    assert "いまお申込み中のものはありません" in a.tap("v=1&a=regs")[0]["text"]
    with city.rt.sessions() as db:
        statuses = dict(db.execute(select(Registration.user_id, Registration.status)).all())
        assert sorted(statuses.values()) == ["cancelled", "confirmed", "confirmed"]
        [pub] = db.scalars(select(Publication).where(Publication.ref.like("event:promoted:%"))).all()
        assert "参加が確定" in pub.messages[0]["text"]
    fan = Fanout(city.rt, threads=2, rate=0).start()
    try:
        fan.drain()
    finally:
        fan.shutdown()
    pushes = [r for r in emulator.sent(user=c.user) if r["kind"] == "push"]
    assert len(pushes) == 1 and "参加が確定しました" in pushes[0]["messages"][0]["text"]
    assert not [r for r in emulator.sent(user=b.user) if r["kind"] == "push"]
    assert "申込済みです" in texts(c.say("申込状況"))


def test_someone_elses_registration_cannot_be_cancelled(events, city, emulator):
    a, b = Chat(city, emulator, new_user_id()), Chat(city, emulator, new_user_id())
    _join(a, events["味噌"])
    with city.rt.sessions() as db:
        reg_id = db.scalar(select(Registration.id))
    assert "見つかりませんでした" in b.tap(f"v=1&a=regs.cancel&reg={reg_id}&ok=1")[0]["text"]
    with city.rt.sessions() as db:
        assert db.scalar(select(Registration.status)) == "confirmed"


def test_closed_and_not_needed(events, city, emulator, user_id):
    chat = Chat(city, emulator, user_id)
    assert "締め切りました" in _join(chat, events["締切"])[0]["text"]
    assert "申込不要" in chat.tap(f"v=1&a=events.join&id={events['将棋']}")[0]["text"]
    with city.rt.sessions() as db:
        ev = db.get(Event, events["締切"])
        assert ev is not None and db.scalar(select(func.count()).select_from(Registration)) == 0


def test_odd_postbacks_are_answered(events, city, emulator, user_id):
    chat = Chat(city, emulator, user_id)
    for data in ("v=1&a=events.find&o=-5&r=zz&ag=xx&n=abc", "v=1&a=events.find&r=20260230",
                 "v=1&a=events.join&id=-1", "v=1&a=events.join", "v=1&a=regs.cancel&reg=x",
                 "v=1&a=events.pick&k=zz", "v=1&a=events.show&id=99999999999999999999999"):
        assert chat.tap(data)
