"""Small talk over signed webhooks: each courtesy kind gets one short polite sentence and the main menu."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from handlers import courtesy, nlu, router
from handlers.menu import MAIN_MENU
from tests.chat_support import Chat
from tests.helpers import quick_labels

SAID = {
    "greeting": ["こんにちは", "おはようございます😊", "はじめまして、よろしくお願いします"],
    "thanks": ["ありがとう", "助かりました！", "ご丁寧にありがとうございます"],
    "ack": ["了解です", "わかりました", "OK"],
    "bye": ["さようなら", "またね〜", "おやすみなさい"],
    "complaint": ["全然わからない", "役に立たないね", "答えになってない"],
    "insult": ["バカ", "ポンコツ", "うざい"],
}


@pytest.fixture
def courtesy_bot(bot):
    # The router's own table answers courtesy (handlers/router.py FEATURES): no stand-in, so unwiring it fails.
    assert router.TABLES["INTENTS"].get("courtesy") is courtesy.answer
    return bot


@pytest.mark.parametrize("kind", list(SAID))
def test_the_classifier_reads_each_kind(kind):
    for text in SAID[kind]:
        got = nlu.classify(text)
        assert (got.name, got.target) == ("courtesy", kind), (text, got)


def test_a_request_beats_courtesy():
    assert nlu.classify("こんにちは、今週末のイベントを教えてください").name == "events"
    assert nlu.classify("ありがとう。ボランティアもしてみたい").name == "volunteer"
    assert nlu.classify("役に立ちたいです").name == "volunteer"  # not 役に立たない


def test_every_kind_has_one_short_polite_answer():
    assert set(courtesy.ANSWERS) == set(courtesy.KINDS)
    for kind, text in courtesy.ANSWERS.items():
        assert text.endswith(("。", "い")) and len(text) <= 60, kind
        assert "読み取れません" not in text
        assert text.count("。") <= 2, kind


def test_each_answer_over_signed_webhooks(courtesy_bot, emulator, user_id):
    courtesy_bot.clock.set(datetime(2026, 5, 1, 3, 0, tzinfo=timezone.utc))  # 12:00 in Tokyo
    chat = Chat(courtesy_bot, emulator, user_id)
    menu = {label for label, _ in MAIN_MENU}
    for kind, texts in SAID.items():
        [msg] = chat.say(texts[0])
        assert msg["type"] == "text"
        assert msg["text"] == courtesy.ANSWERS[kind].format(greeting="こんにちは"), (kind, msg["text"])
        assert "読み取れません" not in msg["text"]
        assert menu <= set(quick_labels(msg)), kind


# (message, hour in Tokyo, the greeting sent back): the resident's own word first, else the hour's.
IN_KIND = [("おはようございます", 15, "おはようございます"), ("おはよう！", 21, "おはようございます"),
           ("こんばんは", 9, "こんばんは"), ("コンバンワ", 9, "こんばんは"), ("こんにちは", 20, "こんにちは"),
           ("はじめまして、よろしくお願いします", 7, "おはようございます"), ("よろしくお願いします", 13, "こんにちは"),
           ("はじめまして", 19, "こんばんは"), ("もしもし", 2, "こんばんは"), ("お疲れさまです", 4, "おはようございます")]


@pytest.mark.parametrize("text,hour,greeting", IN_KIND)
def test_a_greeting_is_answered_in_kind(text, hour, greeting):
    now = datetime(2026, 5, 1, hour, 30, tzinfo=timezone.utc) - timedelta(hours=9)  # that hour in Tokyo
    assert courtesy.greeting_word(text, now) == greeting


def test_good_morning_over_signed_webhooks(courtesy_bot, emulator, user_id):
    chat = Chat(courtesy_bot, emulator, user_id)
    courtesy_bot.clock.set(datetime(2026, 5, 1, 6, 0, tzinfo=timezone.utc))  # 15:00 in Tokyo
    [msg] = chat.say("おはようございます")
    assert msg["text"].startswith("おはようございます。") and MAIN_MENU[0][0] in quick_labels(msg)
    courtesy_bot.clock.set(datetime(2026, 5, 1, 11, 0, tzinfo=timezone.utc))  # 20:00 in Tokyo
    [msg] = chat.say("はじめまして")
    assert msg["text"].startswith("こんばんは。")
