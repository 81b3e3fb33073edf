"""A location message, sent through the emulator to the live bot: the nearest children's places and events (nearest
first, with distances), then the nearest 地区, the plan's actions there, and buttons; far from every centre, a
plain "outside the city" with the menu. Every answer within LINE's limits."""
from __future__ import annotations

import pytest

from bot.geo import haversine_km, nearest
from bot.plan_loader import default_plan_path, load
from bot.postback import decode
from emulator.limits import check_messages
from models import plan as P
from tests.helpers import quick_labels
from tests.test_plan_bot import actions_in, bubbles, texts

CENTRAL = {"緑", "新玉", "万年", "幸", "十字", "足柄", "芦子", "二川", "山王網一色"}  # the old 旧市内 around the station
MENU = ["プロジェクト", "こどもの居場所", "イベント", "ボランティア", "アンケート", "設定"]


@pytest.fixture
def city_bot(bot):
    load(bot.rt.sessions, default_plan_path(bot.rt.config.city), bot.rt.now())
    return bot


def send(bot, emulator, user_id, lat, lon, **kw) -> list[dict]:
    n = len(emulator.sent(user=user_id))
    status, _ = emulator.send_location(user_id, lat, lon, **kw)
    assert status == 200
    bot.settle()
    records = emulator.sent(user=user_id)[n:]
    assert len(records) == 1, "one answer per location"
    assert check_messages(records[0]["messages"]) == [], records[0]["messages"]
    return records[0]["messages"]


def district_answer(messages: list[dict]) -> tuple[str, list[str], list[int], list[str]]:
    """(district heading, body texts, action numbers tapped into, postback actions of the buttons)."""
    [msg] = messages
    assert msg["type"] == "flex"
    [b] = bubbles(msg)
    heading = texts(b["header"])[1]
    actions = [decode(a["data"]) for a in actions_in(b["body"]) if a["type"] == "postback"]
    buttons = [decode(a["data"]).action for a in actions_in(b["footer"]) if a["type"] == "postback"]
    return heading, texts(b["body"]), [int(a.params["no"]) for a in actions if a.action == "plan.action"], buttons


def expected_nearest(bot, lat, lon):
    with bot.rt.sessions() as db:
        d, km = nearest(P.districts(db), lat, lon)
        return d.name, km


def test_the_city_centre_is_answered_with_its_district_and_the_plan_there(city_bot, emulator, user_id):
    lat, lon = 35.2564, 139.1553  # 小田原駅
    name, km = expected_nearest(city_bot, lat, lon)
    assert name in CENTRAL and km < 1.0
    messages = send(city_bot, emulator, user_id, lat, lon, title="小田原駅")
    heading, body, actions, buttons = district_answer(messages)
    assert heading == f"{name}地区"
    assert body[0] == f"送っていただいた地点は、{name}地区のあたりです。"
    # 幸's centre is nearly as close as 緑's: the answer says the point may lie near their border.
    assert "幸地区との境目" in body[1] and "中心からの距離" in body[1]
    assert "どの地区でも進める、地域の取組" in body
    assert actions == [104, 401, 402]  # the actions about 各地区 / 地域コミュニティ / 地域活動
    assert buttons == ["plan.list", "plan.year", "settings.district"]  # the last subscribes to this 地区
    assert quick_labels(messages[-1]) == ["プロジェクト一覧", "今年度の予定", "位置情報を送る", "メニュー"]
    assert body[-1] == "近くのこどもの居場所やイベントは、まだ登録されていません。"  # nothing near in this test


def test_kozu_and_maeba_points_get_their_own_districts(city_bot, emulator, user_id):
    for (lat, lon), want in {(35.2775, 139.2020): "国府津", (35.2835, 139.2290): "前羽"}.items():
        assert expected_nearest(city_bot, lat, lon)[0] == want
        heading, body, actions, _ = district_answer(send(city_bot, emulator, user_id, lat, lon))
        assert heading == f"{want}地区" and body[0].endswith(f"{want}地区のあたりです。")
        assert actions == [104, 401, 402]
        assert not any("境目" in t or "中心からの距離" in t for t in body)  # no other centre is nearly as close


def test_the_border_note_appears_only_when_another_centre_is_nearly_as_close(city_bot, emulator, user_id):
    with city_bot.rt.sessions() as db:
        a, b = (d for d in P.districts(db) if d.name in ("国府津", "下府中"))
        a, b = (a.lat, a.lon, a.name), (b.lat, b.lon, b.name)
    # 0.1 km from 国府津's centre: nothing to explain.
    _, body, _, _ = district_answer(send(city_bot, emulator, user_id, a[0] + 0.0009, a[1]))
    assert body[0].endswith("国府津地区のあたりです。") and len([t for t in body if "距離" in t]) == 0
    # Between the two centres, a little nearer 国府津: the note names 下府中.
    lat, lon = a[0] + (b[0] - a[0]) * 0.45, a[1] + (b[1] - a[1]) * 0.45
    name, km = expected_nearest(city_bot, lat, lon)
    assert name == "国府津"
    _, body, _, _ = district_answer(send(city_bot, emulator, user_id, lat, lon))
    [note] = [t for t in body if "境目" in t]
    assert "下府中地区" in note and len(note) < 60


def test_a_district_the_plan_names_lists_that_action_first(city_bot, emulator, user_id):
    # 702 says おだタク moves to full operation 「片浦地区で」: shown to a resident near 根府川.
    heading, body, actions, _ = district_answer(send(city_bot, emulator, user_id, 35.1960, 139.1390))
    assert heading == "片浦地区"
    assert "計画の中で片浦地区が出てくる取組" in body and actions[0] == 702


def test_near_the_edge_the_answer_says_so_and_far_away_it_says_outside(city_bot, emulator, user_id):
    lat, lon = 35.2327, 139.1067  # 箱根湯本, just over the city's western border
    name, km = expected_nearest(city_bot, lat, lon)
    assert 2.5 < km < 6
    heading, body, _, _ = district_answer(send(city_bot, emulator, user_id, lat, lon))
    assert "境目に近いか、小田原市の外のようです" in body[0] and heading == f"{name}地区"

    lat, lon = 35.6812, 139.7671  # 東京駅
    assert haversine_km(lat, lon, 35.2564, 139.1553) > 60
    [msg] = send(city_bot, emulator, user_id, lat, lon, title="東京駅")
    assert msg["type"] == "text" and msg["text"].startswith("送っていただいた地点は、小田原市の外のようです")
    assert quick_labels(msg)[1:7] == MENU and quick_labels(msg)[0] == "位置情報を送る"


def test_without_districts_or_with_an_odd_point_the_answer_is_polite(bot, emulator, user_id):
    [msg] = send(bot, emulator, user_id, 35.2564, 139.1553)  # nothing loaded yet
    assert "地区の情報を準備しています" in msg["text"] and quick_labels(msg)[:6] == MENU
    # The webhook already skips a location that is not a position; the handler still answers one politely
    # (an event stored before that check, or a future shape), whatever the numbers are.
    from handlers.context import Ctx
    from handlers.location import on_location

    load(bot.rt.sessions, default_plan_path(bot.rt.config.city), bot.rt.now())
    with bot.rt.sessions() as db:
        for lat, lon in ((135.0, 139.0), (float("nan"), 139.0), ("35.2", "139.1"), (True, 139.0), (10**400, 1)):
            ctx = Ctx(event={"message": {"type": "location", "latitude": lat, "longitude": lon}}, user=None, db=db,
                      now=bot.rt.now(), config=bot.rt.config)
            [msg] = on_location(ctx)
            assert "位置情報を読み取れませんでした" in msg["text"] and check_messages([msg]) == []


# -- what is near: children's places and events before the 地区 ------------------------------------------------------

KOZU_STATION = (35.2775, 139.2020)


def _event(db, now, title, lat, lon, *, days=1, status="published", district="kozu"):
    from datetime import timedelta

    from bot.event_occurrences import materialise
    from models.events import Event

    e = Event(title=title, district=district, place_name=f"{title}の会場", lat=lat, lon=lon,
              starts_at=now + timedelta(days=days), ends_at=now + timedelta(days=days, hours=2), status=status,
              created_at=now, updated_at=now, published_at=now)
    db.add(e)
    db.flush()
    materialise(db, e, now=now)
    return e


def test_a_location_answers_with_the_nearest_places_and_events_then_the_district(city_bot, emulator, user_id):
    from datetime import datetime

    from bot.clock import TOKYO
    from bot.postback import encode
    from tests.places_support import add_place
    from tests.test_plan_bot import Chat

    now = datetime(2026, 6, 3, 12, 0, tzinfo=TOKYO)  # a Wednesday
    city_bot.clock.set(now)
    lat0, lon0 = KOZU_STATION
    with city_bot.rt.sessions() as db:
        # Seven places 0.1 ... 0.7 km north of the station (居場所3 with no opening planned), one 20 km away.
        for i in range(7):
            add_place(db, now, f"居場所{i + 1}", lat=lat0 + 0.0009 * (i + 1), lon=lon0,
                      rows=[(2, "15:00", "18:00")] if i != 2 else [])
        add_place(db, now, "遠くの居場所", lat=lat0 + 0.18, lon=lon0, rows=[(2, "15:00", "18:00")])
        _event(db, now, "近くの夏まつり", lat0 - 0.002, lon0)
        _event(db, now, "もっと近い工作教室", lat0 - 0.001, lon0, days=3)
        _event(db, now, "下書きの行事", lat0, lon0, status="draft")
        _event(db, now, "遠くの講座", lat0 + 0.3, lon0)
        db.commit()

    [msg] = send(city_bot, emulator, user_id, *KOZU_STATION)
    cards = bubbles(msg)
    place_names = [texts(b["body"])[1] for b in cards[:5]]
    assert place_names == ["居場所1", "居場所2", "居場所3", "居場所4", "居場所5"]
    kms = [texts(b["body"])[texts(b["body"]).index("場所") + 1] for b in cards[:5]]
    assert kms == [f"国府津地区・約0.{i}km" for i in range(1, 6)]
    whens = [texts(b["body"])[texts(b["body"]).index("次に開く日") + 1] for b in cards[:5]]
    assert whens == ["今日 15:00〜18:00"] * 2 + ["次に開く日は未定です"] + ["今日 15:00〜18:00"] * 2
    event_titles = [texts(b["body"])[0] for b in cards[5:-1]]
    assert event_titles == ["もっと近い工作教室", "近くの夏まつり"]  # nearest first; drafts and far ones left out
    assert texts(cards[-1]["header"])[1] == "国府津地区"  # the 地区 stays, as the last card
    assert not any("まだ登録されていません" in t for t in texts(cards[-1]))
    assert quick_labels(msg) == ["近くの居場所をもっと見る", "近くのイベント", "プロジェクト一覧", "今年度の予定",
                                 "位置情報を送る", "メニュー"]
    assert msg["altText"] == "近くのこどもの居場所とイベント（国府津地区のあたり）"

    # もっと見る continues with the next nearest places.
    chat = Chat(city_bot, emulator, user_id)
    more = next(i["action"] for i in msg["quickReply"]["items"] if i["action"]["label"] == "近くの居場所をもっと見る")
    assert decode(more["data"]).params["o"] == "5"
    msgs = chat.tap(more["data"])
    assert msgs[0]["text"] == "近くのこどもの居場所の続きです（6〜8件目）。近い順にご案内します。"
    names = [texts(b["body"])[1] for m in msgs if m["type"] == "flex" for b in bubbles(m)]
    assert names == ["居場所6", "居場所7", "遠くの居場所"]
    events = next(i["action"] for i in msg["quickReply"]["items"] if i["action"]["label"] == "近くのイベント")
    assert decode(events["data"]).action == "events.find" and "n" in decode(events["data"]).params
    assert encode("places.find", n="35.27750,139.20200", o=5) == more["data"]
