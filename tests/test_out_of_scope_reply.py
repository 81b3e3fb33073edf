"""A question this LINE account does not handle (weather, garbage days, tax, 「職員と話したい」) gets a polite
"not here" with where to ask: the city's contact from cities/<city>/contact.yaml, call and website buttons, and
the menu. Not 「うまく読み取れませんでした」, which stays for messages that ask nothing the bot can read."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from bot import city_contact as cc
from handlers import fallback, nlu
from handlers.menu import MAIN_MENU
from tests.chat_support import Chat, actions_in
from tests.helpers import quick_labels

OUT_OF_SCOPE = ["明日の天気は？", "ゴミの日を教えて", "住民税の支払い方法", "マイナンバーカードの更新",
                "地震のときの避難所はどこですか", "電話番号を教えて"]
STAFF = ["人間と話させろ", "担当者と話したい", "職員さんと話したい"]
MENU = {label for label, _ in MAIN_MENU}


def _uris(messages) -> list[str]:
    return [a["uri"] for a in actions_in(messages) if a.get("type") == "uri"]


@pytest.mark.parametrize("text", OUT_OF_SCOPE + STAFF)
def test_out_of_scope_questions_get_where_to_ask(bot, emulator, user_id, text):
    [msg] = Chat(bot, emulator, user_id).say(text)
    assert msg["type"] == "text" and "読み取れません" not in msg["text"]
    assert "お答えできません" in msg["text"]
    assert "小田原市役所" in msg["text"] and "0465-33-1300" in msg["text"]
    assert "https://www.city.odawara.kanagawa.jp/" in msg["text"]
    assert {"tel:0465331300", "https://www.city.odawara.kanagawa.jp/"} <= set(_uris([msg]))
    assert MENU <= set(quick_labels(msg))


@pytest.mark.parametrize("text", STAFF)
def test_asking_for_a_person_is_out_of_scope_not_a_volunteer_shift(text):
    got = nlu.classify(text)
    assert (got.name, got.target) == ("unknown", nlu.OUT_OF_SCOPE), got


@pytest.mark.parametrize("text", ["asdfgh", "ｱｓｄｆｇｈ", "👍", "テスト"])
def test_a_message_that_asks_nothing_still_gets_not_understood(bot, emulator, user_id, text):
    [msg] = Chat(bot, emulator, user_id).say(text)
    assert "読み取れません" in msg["text"] and "0465-33-1300" not in msg["text"]
    assert not _uris([msg]) and MENU <= set(quick_labels(msg))


def _ctx(city: str) -> SimpleNamespace:
    return SimpleNamespace(config=SimpleNamespace(city=city))


def test_a_guess_of_the_learned_layer_gets_the_contact_without_buttons():
    [msg] = fallback.out_of_scope(_ctx("odawara"), sure=False)
    assert "0465-33-1300" in msg["text"] and not _uris([msg]) and MENU <= set(quick_labels(msg))


def test_a_city_without_a_contact_file_still_answers(tmp_path):
    assert cc.city_contact("no-such-city") is None
    [msg] = fallback.out_of_scope(_ctx("no-such-city"), sure=True)
    assert "お答えできません" in msg["text"] and "読み取れません" not in msg["text"]
    assert "0465" not in msg["text"] and not _uris([msg]) and MENU <= set(quick_labels(msg))


def test_the_contact_file_is_read_and_checked(tmp_path):
    c = cc.city_contact("odawara")
    assert (c.name, c.phone, c.tel_uri) == ("小田原市役所", "0465-33-1300", "tel:0465331300")
    bad = tmp_path / "contact.yaml"
    bad.write_text("contact:\n  name: 市役所\n  phone: call us\n  website: http://example.org/\n", encoding="utf-8")
    assert cc._parse(bad) is None
    bad.write_text("contact: [", encoding="utf-8")
    assert cc._parse(bad) is None
