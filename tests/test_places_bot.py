"""こどもの居場所 on LINE, through signed webhooks against the emulator: the menu, its quick replies, the 地区
chooser, results as carousels paged with もっと見る, details, free text with filters, and 「近くの子ども食堂」
answered by the next location message. Every message is checked against LINE's limits."""
from __future__ import annotations

from datetime import datetime

import pytest

from bot.clock import TOKYO
from bot.geo import haversine_km, map_url
from bot.plan_loader import default_plan_path, load
from bot.postback import decode, encode
from models import plan as P
from tests.helpers import quick_labels
from tests.places_support import add_place, full_place
from tests.test_plan_bot import Chat, actions_in, assert_no_rejections, bubbles, texts

NOON = datetime(2026, 6, 3, 12, 0, tzinfo=TOKYO)  # a Wednesday
KOZU_STATION = (35.2775, 139.2020)
SEARCH_QUICK = ["位置情報を送る", "地区から探す", "今日開いている所", "無料の所", "メニュー"]


@pytest.fixture
def places_bot(bot):
    load(bot.rt.sessions, default_plan_path(bot.rt.config.city), bot.rt.now())
    bot.clock.set(NOON)
    with bot.rt.sessions() as db:
        full_place(db, NOON)  # こども食堂みかん: Wednesday 17:00-19:30, kozu, booking, phone
        add_place(db, NOON, "国府津まなび教室", district="kozu", kind="study", cost_kind="free", age_min=6, age_max=12,
                  lat=35.2800, lon=139.2050, rows=[(5, "10:00", "12:00")])
        add_place(db, NOON, "前羽こども食堂", district="maeba", kind="shokudo", cost_kind="amount", cost_yen=100,
                  age_min=0, age_max=15, lat=35.2835, lon=139.2290, rows=[(2, "16:00", "18:00")])
        add_place(db, NOON, "緑のひろば", district="midori", kind="hiroba", cost_kind="free", age_min=0, age_max=3,
                  lat=35.2590, lon=139.1570, rows=[(wd, "10:00", "15:00") for wd in range(5)],
                  phone="0465-11-2222")
        add_place(db, NOON, "土曜の遊び場", district="midori", kind="play", cost_kind="free",
                  rows=[(5, "09:00", "12:00")], address="小田原市城山1-1")
        db.commit()
    return bot


def cards(messages: list[dict]) -> list[dict]:
    return [b for m in messages if m["type"] == "flex" for b in bubbles(m)]


def card_names(messages: list[dict]) -> list[str]:
    """Place names of the carousel's place cards (the もっと見る card has no 詳細 button)."""
    out = []
    for b in cards(messages):
        acts = [decode(a["data"]) for a in actions_in(b.get("footer", {})) if a["type"] == "postback"]
        if any(a.action == "places.show" for a in acts):
            out.append(texts(b["body"])[1])
    return out


def card(messages: list[dict], name: str) -> dict:
    return next(b for b in cards(messages) if texts(b["body"])[1] == name)


def row(b: dict, label: str) -> str:
    t = texts(b["body"])
    return t[t.index(label) + 1]


def test_the_menu_offers_location_districts_today_free_and_kinds(places_bot, emulator, user_id):
    chat = Chat(places_bot, emulator, user_id)
    [msg] = chat.tap(encode("places"))
    assert msg["type"] == "text" and "位置情報を送って" in msg["text"]
    assert quick_labels(msg) == ["位置情報を送る", "地区から探す", "今日開いている所", "無料の所", "こども食堂",
                                 "学習支援", "子育てひろば", "放課後の居場所", "遊び場", "メニュー"]
    assert msg["quickReply"]["items"][0]["action"]["type"] == "location"
    # The rich menu's word and typing it lead to the same menu.
    [said] = chat.say("こどもの居場所")
    assert said["text"] == msg["text"]

    today = chat.tap(encode("places.find", r="td"))
    assert today[0]["text"] == "今日開いているこどもの居場所が3か所見つかりました。"
    assert card_names(today) == ["緑のひろば", "前羽こども食堂", "こども食堂みかん（テスト）"]
    assert quick_labels(today[-1]) == SEARCH_QUICK
    free = chat.tap(encode("places.find", f=1))
    assert card_names(free) == ["緑のひろば", "土曜の遊び場", "国府津まなび教室"]  # open now, Saturday 9:00, 10:00
    assert_no_rejections(emulator)


def test_a_card_shows_next_opening_ages_cost_distance_and_its_buttons(places_bot, emulator, user_id):
    chat = Chat(places_bot, emulator, user_id)
    msgs = chat.tap(encode("places.find"))
    assert card_names(msgs) == ["緑のひろば", "前羽こども食堂", "こども食堂みかん（テスト）", "土曜の遊び場", "国府津まなび教室"]
    hiroba = card(msgs, "緑のひろば")
    assert texts(hiroba["body"])[0] == "子育てひろば"
    assert row(hiroba, "次に開く日") == "今日 10:00〜15:00" and row(hiroba, "場所") == "緑地区"
    assert row(hiroba, "対象") == "0〜3歳" and row(hiroba, "費用") == "無料"
    buttons = {a["label"]: a for a in actions_in(hiroba["footer"])}
    assert decode(buttons["詳細"]["data"]).action == "places.show"
    assert buttons["地図"]["uri"] == map_url(35.2590, 139.1570)
    assert buttons["電話"]["uri"] == "tel:0465112222"
    mikan = card(msgs, "こども食堂みかん（テスト）")
    assert row(mikan, "費用") == "1食300円" and "予約が必要です" in texts(mikan["body"])
    study = card(msgs, "国府津まなび教室")
    assert row(study, "次に開く日") == "次は 土曜 10:00" and row(study, "対象") == "6〜12歳"
    assert "電話" not in {a["label"] for a in actions_in(study["footer"])}  # no number, no call button
    play = card(msgs, "土曜の遊び場")
    assert row(play, "対象") == "どなたでも"
    assert {a["label"]: a["uri"] for a in actions_in(play["footer"]) if a["type"] == "uri"} == {
        "地図": map_url(None, None, "小田原市城山1-1")}  # no point: the map searches the address


def test_districts_are_all_tappable_and_lead_to_that_districts_places(places_bot, emulator, user_id):
    chat = Chat(places_bot, emulator, user_id)
    [chooser] = chat.tap(encode("places.districts"))
    found = [decode(a["data"]) for a in actions_in(chooser) if a["type"] == "postback"
             and decode(a["data"]).action == "places.find"]
    with places_bot.rt.sessions() as db:
        keys = [d.key for d in P.districts(db)]
    assert len(keys) == 26 and sorted(pb.params["d"] for pb in found) == sorted(keys)
    kozu = next(a for a in actions_in(chooser) if a["type"] == "postback" and a["label"] == "国府津")
    msgs = chat.tap(kozu["data"])
    assert msgs[0]["text"] == "国府津地区のこどもの居場所が2か所見つかりました。"
    assert card_names(msgs) == ["こども食堂みかん（テスト）", "国府津まなび教室"]
    empty = chat.tap(encode("places.find", d="kataura"))
    assert "見つかりませんでした" in empty[0]["text"] and quick_labels(empty[0]) == SEARCH_QUICK


def test_paging_with_more_shows_every_place_once(places_bot, emulator, user_id):
    with places_bot.rt.sessions() as db:
        for i in range(25):
            add_place(db, NOON, f"富士見の居場所{i:02d}", district="fujimi", kind="other", cost_kind="free",
                      rows=[(3, f"{9 + i // 4:02d}:{(i % 4) * 15:02d}", "20:00")])
        db.commit()
    chat = Chat(places_bot, emulator, user_id)
    seen, data, pages = [], encode("places.find", d="fujimi"), []
    while data:
        msgs = chat.tap(data)
        pages.append(msgs)
        seen += card_names(msgs)
        more = [a for a in actions_in(cards(msgs)) if a["type"] == "postback" and a["label"] == "もっと見る"]
        assert len(cards(msgs)) <= 12
        data = more[0]["data"] if more else None
        if more:  # the same もっと見る as a quick reply
            assert "もっと見る" in quick_labels(msgs[-1])
    assert seen == [f"富士見の居場所{i:02d}" for i in range(25)]  # Thursday, earliest opening first
    assert [len(card_names(p)) for p in pages] == [11, 11, 3]
    assert pages[0][0]["text"].endswith("（1〜11件目）。続きは「もっと見る」からどうぞ。")
    assert pages[1][0]["text"] == "富士見地区のこどもの居場所を表示しています（12〜22件目）。続きは「もっと見る」からどうぞ。"
    assert pages[2][0]["text"] == "富士見地区のこどもの居場所の続きです（23〜25件目）。"
    assert "もっと見る" not in quick_labels(pages[2][-1])


def test_details_tell_a_parent_everything(places_bot, emulator, user_id):
    chat = Chat(places_bot, emulator, user_id)
    msgs = chat.tap(encode("places.find", d="kozu", k="shokudo"))
    [detail] = [a for a in actions_in(card(msgs, "こども食堂みかん（テスト）")["footer"]) if a["label"] == "詳細"]
    [msg] = chat.tap(detail["data"])
    [b] = bubbles(msg)
    shown = "\n".join(texts(b))
    for expected in ("こども食堂みかん（テスト）", "今日 17:00〜19:30", "0〜18歳", "1食300円（こどもは無料、大人は1食300円）",
                     "予約が必要です", "小田原市国府津1-2-3 国府津公民館 2階", "国府津地区", "水曜 17:00〜19:30",
                     "祝日は休み・年末年始（12/29〜1/3）は休み", "材料がなくなり次第終了します", "毎週水曜の夕ごはん",
                     "山田", "0465-00-0000（内線12）", "https://example.org/mikan", "車いすで入れます",
                     "みかんの会", "雨天でも開きます", "情報の確認日：2026年5月20日"):
        assert expected in shown, expected
    links = {a["label"]: a["uri"] for a in actions_in(b["footer"]) if a["type"] == "uri"}
    assert links == {"地図": map_url(35.2781, 139.2030), "電話": "tel:0465000000",
                     "ホームページ": "https://example.org/mikan"}
    assert quick_labels(msg) == ["こどもの居場所", "メニュー"]
    # A place no longer published, or an id that never was: a polite answer, never a 500.
    for pid in (999_999, 0, -1, "x", 2**70):
        [gone] = chat.tap(f"v=1&a=places.show&id={pid}")
        assert gone["text"] == "この居場所の情報は、ただいま公開していません。"


def test_free_text_filters(places_bot, emulator, user_id):
    chat = Chat(places_bot, emulator, user_id)
    msgs = chat.say("今日 こども食堂 国府津")
    assert msgs[0]["text"] == "国府津地区の今日開いているこども食堂が1か所見つかりました。"
    assert card_names(msgs) == ["こども食堂みかん（テスト）"]
    msgs = chat.say("土曜 無料 小学生")
    assert msgs[0]["text"].startswith("6/6（土）に開いている無料の6〜12歳向けのこどもの居場所が2か所")
    assert card_names(msgs) == ["土曜の遊び場", "国府津まなび教室"]
    assert row(card(msgs, "国府津まなび教室"), "次に開く日") == "次は 土曜 10:00"
    # Left-over words search names and addresses; when they match nothing, the other filters still answer.
    msgs = chat.say("城山の遊び場")
    assert card_names(msgs) == ["土曜の遊び場"]
    msgs = chat.say("ひまわりのこども食堂")
    assert msgs[0]["text"].startswith("「ひまわり」に合う所は見つかりませんでした。")
    assert card_names(msgs) == ["前羽こども食堂", "こども食堂みかん（テスト）"]


def test_near_me_asks_for_a_location_and_answers_it_with_the_kept_filter(places_bot, emulator, user_id):
    chat = Chat(places_bot, emulator, user_id)
    [ask] = chat.say("近くの子ども食堂")
    assert "近くのこども食堂を探します" in ask["text"]
    assert ask["quickReply"]["items"][0]["action"]["type"] == "location"
    # Something else in between does not lose it.
    chat.tap(encode("places.districts"))
    msgs = chat._collect(lambda: emulator.send_location(user_id, *KOZU_STATION))
    assert msgs[0]["text"] == "近くのこども食堂が2か所見つかりました。近い順にご案内します。"
    names = card_names(msgs)
    assert names == ["こども食堂みかん（テスト）", "前羽こども食堂"]
    kms = [row(card(msgs, n), "場所").split("・")[1] for n in names]
    assert kms == [f"約{haversine_km(*KOZU_STATION, 35.2781, 139.2030):.1f}km",
                   f"約{haversine_km(*KOZU_STATION, 35.2835, 139.2290):.1f}km"]
    # Far from the city (Tokyo) the list says nothing is near before showing the nearest anyway.
    chat.say("近くの子育てひろば")
    far = chat._collect(lambda: emulator.send_location(user_id, 35.6812, 139.7671))
    assert far[0]["text"] == ("送っていただいた地点から10km以内には見つかりませんでした。\n"
                              "近くの子育てひろばが1か所見つかりました。近い順にご案内します。")
    # The kept filter is used once: the next location is the general "what is near me".
    msgs = chat._collect(lambda: emulator.send_location(user_id, *KOZU_STATION))
    assert card_names(msgs)[:2] == ["こども食堂みかん（テスト）", "国府津まなび教室"]
    assert texts(cards(msgs)[-1]["header"])[1] == "国府津地区"


def test_odd_postbacks_and_nothing_found_are_answered(places_bot, emulator, user_id):
    chat = Chat(places_bot, emulator, user_id)
    for data in ("v=1&a=places.find&o=-5&r=zzz&ag=99-1&n=abc&k=../&d=%00", "v=1&a=places.find&r=19990101",
                 "v=1&a=places.find&n=91.00000,200.00000", "v=1&a=places.find&q=" + "あ" * 200):
        msgs = chat.tap(data)
        assert msgs and msgs[0]["type"] == "text"
    [none] = chat.tap(encode("places.find", r="20200101"))  # a day gone by (an old button)
    assert none["text"].endswith("条件を変えて探してみてください。")
    assert_no_rejections(emulator)


def test_long_texts_stay_within_lines_limits(places_bot, emulator, user_id):
    long = "とても長い説明です。" * 600
    with places_bot.rt.sessions() as db:
        p = full_place(db, NOON, "長い" * 100, description=long, accessibility=long, note=long, hours_note=long,
                       cost_note="あ" * 300, address="住所" * 150, organiser_name="会" * 200, url="https://example.org/" + "a" * 400,
                       district="fujimi")
        db.commit()
        pid = p.id
    chat = Chat(places_bot, emulator, user_id)  # Chat checks every message against LINE's limits
    [msg] = chat.tap(encode("places.show", id=pid))
    shown = texts(msg)
    assert "とても長い説明です。" * 40 in shown and long not in shown
    for _ in range(12):
        with places_bot.rt.sessions() as db:
            full_place(db, NOON, "長い" * 100, description=long, district="fujimi")
            db.commit()
    msgs = chat.tap(encode("places.find", d="fujimi"))
    assert len(card_names(msgs)) == 11 and "もっと見る" in quick_labels(msgs[-1])


@pytest.mark.parametrize("text, want", [
    ("今日 こども食堂 国府津", dict(today=True, kinds=("shokudo",), districts=("kozu",))),
    ("土曜 無料 小学生", dict(day=5, free=True, age=(6, 12), children=True)),
    ("近くの子ども食堂", dict(near_me=True, kinds=("shokudo",))),
    ("今日開いてる所を教えて", dict(today=True)),
    ("緑地区の学習支援", dict(districts=("midori",), kinds=("study",))),
    ("新緑の公園", dict(kinds=("play",), words=("新緑",))),  # 緑 inside a word is not the 地区
    ("3歳 遊び場", dict(age=(3, 3), kinds=("play",))),
    ("8/15に開いてるところ", dict(month_day=(8, 15))),
    ("城山のこども食堂", dict(kinds=("shokudo",), words=("城山",))),
    ("ひまわりの食堂", dict(kinds=("shokudo",), words=("ひまわり",))),
    ("週末 親子で行ける場所", dict(weekend=True, children=True)),
    ("探しています", dict()),
    ("東富水の子育てひろば", dict(districts=("higashitomizu",), kinds=("hiroba",))),
    ("前羽 乳幼児 無料", dict(districts=("maeba",), age=(0, 6), free=True, children=True)),
    ("国府津地区で今週末", dict(districts=("kozu",), weekend=True)),
])
def test_listing_words_are_read_from_free_text(places_bot, text, want):
    from handlers.listing_query import ListingQuery, parse

    with places_bot.rt.sessions() as db:
        got = parse(text, P.districts(db))
    assert got == ListingQuery(**want)


def test_listing_days_resolve_from_today():
    from datetime import date

    from handlers.listing_query import parse

    wed = date(2026, 6, 3)
    assert parse("土曜").dates(wed) == (date(2026, 6, 6),)
    assert parse("水曜").dates(wed) == (wed,)  # today is Wednesday
    assert parse("明日").dates(wed) == (date(2026, 6, 4),)
    assert parse("週末").dates(wed) == (date(2026, 6, 6), date(2026, 6, 7))
    assert parse("週末").dates(date(2026, 6, 7)) == (date(2026, 6, 7),)  # on Sunday: what is left of it
    assert parse("今週").span(wed) == (wed, date(2026, 6, 7))
    assert parse("8/15").dates(wed) == (date(2026, 8, 15),)
    assert parse("5月1日").dates(wed) == (date(2027, 5, 1),)  # passed this year: next year's
    assert parse("2/30").dates(wed) == ()
    assert parse("").has_filters is False and parse("無料").has_filters
    # 来週 is the week after this one, Monday to Sunday, as the survey's date questions read it too.
    thu = date(2026, 11, 26)
    assert parse("来週の日曜").dates(thu) == (date(2026, 12, 6),) and parse("日曜").dates(thu) == (date(2026, 11, 29),)
    assert parse("再来週の月曜").dates(thu) == (date(2026, 12, 7),)
    assert parse("来週末").dates(thu) == (date(2026, 12, 5), date(2026, 12, 6))
    assert parse("来週").span(thu) == (date(2026, 11, 30), date(2026, 12, 6)) and parse("来週").words == ()
    assert parse("あさって").dates(thu) == (date(2026, 11, 28),)
    assert parse("しあさって").dates(thu) == (date(2026, 11, 29),)
