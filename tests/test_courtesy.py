"""Small talk over signed webhooks: each courtesy kind gets one short polite sentence and the main menu."""
from __future__ import annotations

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
    chat = Chat(courtesy_bot, emulator, user_id)
    menu = {label for label, _ in MAIN_MENU}
    for kind, texts in SAID.items():
        [msg] = chat.say(texts[0])
        assert msg["type"] == "text"
        assert msg["text"] == courtesy.ANSWERS[kind], (kind, msg["text"])
        assert "読み取れません" not in msg["text"]
        assert menu <= set(quick_labels(msg)), kind
