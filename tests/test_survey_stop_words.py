"""A resident who says they want to stop in the middle of a survey (「もうやめたい」) pauses the survey with the paused
message, never reaches the 退会 screen; only an explicit 退会 does. A free-text answer that mentions 中止 is an
answer; an estimate typed for a number question (約三十五歳くらい) is read."""
from __future__ import annotations

from tests.chat_support import Chat, action
from tests.test_events_bot import NOON, city  # noqa: F401
from tests.test_surveys_bot import make, responses, start


def test_wanting_to_stop_pauses_the_survey_not_the_account(city, emulator, user_id):
    sid = make(city)
    chat = Chat(city, emulator, user_id)
    start(chat, sid)
    out = chat.say("もうやめたい")
    assert out[0]["type"] == "text" and out[0]["text"].startswith("アンケートを中断しました。")
    assert "締切" in out[0]["text"] and action(out, "続きから")["data"] == f"v=1&a=survey.start&s={sid}"
    (row,) = responses(city, sid)
    assert row.current == "q1"
    # The survey is paused: an explicit 退会 now reaches the leave screen.
    leave = chat.say("退会")
    assert leave[-1]["type"] == "template" and leave[-1]["template"]["type"] == "confirm"


def test_an_explicit_leave_in_a_survey_reaches_the_leave_screen(city, emulator, user_id):
    sid = make(city)
    chat = Chat(city, emulator, user_id)
    start(chat, sid)
    leave = chat.say("データを消してください")
    assert leave[-1]["type"] == "template" and "退会" in leave[-1]["altText"]


def test_estimates_and_opinions_are_answers(city, emulator, user_id):
    sid = make(city)
    chat = Chat(city, emulator, user_id)
    q4 = chat.tap_label(start(chat, sid), "いいえ")  # いいえ skips to q4 (年齢, 0-120歳)
    assert "年齢" in " ".join(m.get("text", "") or m.get("altText", "") for m in q4)
    assert "0歳から120歳まで" in chat.say("200歳くらい")[0]["text"]
    chat.say("約三十五歳くらい")
    chat.say("中止してほしいと思います")  # q5, free text: an opinion, not a stop word
    (row,) = responses(city, sid)
    assert row.pending["q4"] == 35 and row.pending["q5"] == "中止してほしいと思います"
    assert row.current == "q6"
