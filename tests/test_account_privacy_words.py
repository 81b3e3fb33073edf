"""What the 退会 confirmation and a survey's card say about survey answers matches what leaving does
(models/surveys.py, delete_survey_responses; behaviour in tests/test_survey_privacy.py): named answers are deleted,
answers sent to an anonymous survey stay because nothing links them to the resident. The confirmation once said it
deleted 「回答など」 while the anonymous card said 無記名, and neither said what happens to anonymous answers."""
from __future__ import annotations

from tests.chat_support import Chat, texts
from tests.test_events_bot import city  # noqa: F401
from tests.test_surveys_bot import make


def test_leave_confirmation_says_named_answers_go_and_anonymous_ones_stay(city, emulator, user_id):
    confirm = Chat(city, emulator, user_id).say("退会")[-1]
    text = confirm["template"]["text"]
    assert "記名式アンケートの回答" in text and "無記名アンケートに送信した回答" in text and "残ります" in text
    assert "回答など）" in text and len(text) <= 240 and "通知だけ止める" in text  # nothing cut off


def test_anonymous_and_named_survey_cards_say_what_leaving_does(city, emulator, user_id):
    chat = Chat(city, emulator, user_id)
    anonymous = "\n".join(texts(chat.tap(f"v=1&a=survey.open&s={make(city)}")))
    assert "無記名です" in anonymous and "退会しても送信した回答は残ります" in anonymous
    named = "\n".join(texts(chat.tap(f"v=1&a=survey.open&s={make(city, anonymous=False)}")))
    assert "退会すると回答も削除されます" in named
