"""Typed searches for イベント and こどもの居場所 read only content words as search words (handlers/listing_query.py):
a resident's sentence (なんかある, 開きたいんですが, 3人で参加したい, すみません…) is never echoed back as if it were
the words searched for; the kinds of place are read however they are written (ｺﾄﾞﾓｼｮｸﾄﾞｳ, kodomo shokudou, a wrong
kanji as in こども食道); and a real word that matches nothing is named, with what the other filters find instead."""
from __future__ import annotations

import pytest

from handlers.listing_query import ListingQuery, parse
from tests.test_events_bot import city, events, titles  # noqa: F401  (fixtures)
from tests.test_places_bot import card_names, places_bot  # noqa: F401  (fixtures)
from tests.test_plan_bot import Chat

EVENT_WORDS = ("イベント", "いべんと", "参加", "参加したい", "ある", "あります")
GRANDCHILD = "すみません、孫が遊びに行きたいと言ってるんですが、どこか連れて行ける所はありますか"


@pytest.mark.parametrize("text, drop, want", [
    ("今週末なんかある？", EVENT_WORDS, dict(weekend=True)),
    ("いべんと", EVENT_WORDS, dict()),
    ("お店でイベントを開きたいんですが、載せてもらえますか", EVENT_WORDS, dict()),
    ("家族3人で参加したい", EVENT_WORDS, dict(children=True)),
    ("家族3人で参加したい", (), dict(children=True)),  # 3人: a number and its counter; 参加し: a noun as a verb
    ("三人で行きたい", (), dict()),
    (GRANDCHILD, (), dict()),
    ("こども食堂で料理", (), dict(kinds=("shokudo",), words=("料理",))),
    ("こども食道", (), dict(kinds=("shokudo",))),
    ("ｺﾄﾞﾓｼｮｸﾄﾞｳ", (), dict(kinds=("shokudo",))),
    ("コドモショクドー", (), dict(kinds=("shokudo",))),
    ("kodomo shokudou", (), dict(kinds=("shokudo",))),
    ("Kodomo Shokudo", (), dict(kinds=("shokudo",))),
    ("がくしゅうしえん", (), dict(kinds=("study",))),
    ("国府津まなび教室", (), dict(words=("国府津まなび教室",))),  # a name: its nouns kept together
    ("陶芸のイベント", EVENT_WORDS, dict(words=("陶芸",))),
    ("料理教室に参加したい", (), dict(words=("料理教室",))),
])
def test_only_content_words_are_left_to_search(text, drop, want):
    assert parse(text, drop=drop) == ListingQuery(**want)


def test_a_sentence_is_not_echoed_as_event_search_words(events, city, emulator, user_id):
    chat = Chat(city, emulator, user_id)
    msgs = chat.say("今週末なんかある？")
    assert "「" not in msgs[0]["text"] and "見つかりませんでした" not in msgs[0]["text"]
    assert titles(msgs) == ["親子で味噌づくり", "夏祭り", "まちづくり講演会"]
    [menu] = chat.say("いべんと")
    assert menu["text"].startswith("どのイベントをお探しですか")
    for text in ("家族3人で参加したい", "お店でイベントを開きたいんですが、載せてもらえますか"):
        for m in chat.say(text):
            assert "見つかりませんでした" not in m.get("text", ""), (text, m)
    # A real word nothing matches is named, and the other filters still answer, said as such.
    msgs = chat.say("今週末の陶芸のイベント")
    assert msgs[0]["text"].startswith("「陶芸」を含むイベントは見つかりませんでした。\nかわりに、今週末のイベントをご案内します。")
    assert titles(msgs) == ["親子で味噌づくり", "夏祭り", "まちづくり講演会"]
    assert titles(chat.say("将棋のイベント")) == ["国府津こども将棋"]  # a title word still searches


SHOKUDO = ["前羽こども食堂", "こども食堂みかん（テスト）"]


@pytest.mark.parametrize("text", ["ｺﾄﾞﾓｼｮｸﾄﾞｳ", "こども食道", "kodomo shokudou", "こどもしょくどう"])
def test_kinds_of_place_however_written(places_bot, emulator, user_id, text):
    msgs = Chat(places_bot, emulator, user_id).say(text)
    assert msgs[0]["text"] == "こども食堂が2か所見つかりました。", text
    assert card_names(msgs) == SHOKUDO


def test_place_search_names_only_real_words(places_bot, emulator, user_id):
    chat = Chat(places_bot, emulator, user_id)
    msgs = chat.say("こども食堂で料理")
    assert msgs[0]["text"].startswith("「料理」に合う所は見つかりませんでした。")
    assert card_names(msgs) == SHOKUDO
    for m in chat.say(GRANDCHILD):
        assert "に合う所は" not in m.get("text", ""), m
