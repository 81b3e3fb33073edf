"""A date question reads dates as residents write them (12/6, １２月６日, 令和8年12月6日, あさって, 来週の日曜 ...)
and keeps a text that reads as a date in the survey: 「来週の日曜」 once left the survey for the events list, and the
「12月6日」 typed after it matched plan cards."""
from __future__ import annotations

from datetime import date

import pytest

from bot import survey_logic as L
from tests.chat_support import Chat, texts
from tests.test_events_bot import NOON, city  # noqa: F401  (NOON: Wednesday 2026-06-03)
from tests.test_survey_logic import questions
from tests.test_surveys_bot import make, responses, start

THURSDAY = date(2026, 11, 26)


@pytest.mark.parametrize("typed,expected", [
    ("12/6", "2026-12-06"), ("12月6日", "2026-12-06"), ("１２月６日", "2026-12-06"), ("十二月六日", "2026-12-06"),
    ("2026-12-06", "2026-12-06"), ("2026年12月6日", "2026-12-06"), ("令和8年12月6日", "2026-12-06"),
    ("令和八年十二月六日", "2026-12-06"), ("12/6でお願いします", "2026-12-06"),
    ("今日", "2026-11-26"), ("明日", "2026-11-27"), ("あさって", "2026-11-28"), ("明後日", "2026-11-28"),
    ("今週の土曜", "2026-11-28"), ("来週の日曜", "2026-12-06"), ("来週日曜日です", "2026-12-06"),
    ("来週の月曜", "2026-11-30"), ("再来週の月曜", "2026-12-07"), ("日曜", "2026-11-29"),
    ("1/10", "2027-01-10"),  # a day already past this year: the next one
])
def test_dates_as_residents_write_them(typed, expected):
    q = L.by_key(questions())["q6"]
    assert L.parse_typed(q, typed, today=THURSDAY) == (expected, None)


@pytest.mark.parametrize("typed", ["来週", "今週末", "2月30日", "2026-13-01"])
def test_a_date_that_names_no_single_day_is_asked_again_in_the_residents_style(typed):
    q = L.by_key(questions())["q6"]
    value, problem = L.parse_typed(q, typed, today=THURSDAY)
    assert value is None and "12/1 のように" in problem and "2026-12-01" not in problem
    assert L.typed_date(typed, THURSDAY)[1]  # reads as a date: the survey keeps it


@pytest.mark.parametrize("typed", ["こども食堂", "イベント", "20", "国府津"])
def test_other_text_does_not_read_as_a_date(typed):
    assert L.typed_date(typed, THURSDAY) == (None, False)


def _at_date_question(city, emulator, user_id) -> tuple[int, Chat, list[dict]]:
    sid = make(city)
    chat = Chat(city, emulator, user_id)
    chat.tap_label(start(chat, sid), "いいえ")  # いいえ skips to q4
    chat.say("20")
    q6 = chat.say("駅前にベンチがほしいです")
    assert "12/1 のように" in "\n".join(texts(q6)) and "2026-12-01" not in "\n".join(texts(q6))
    return sid, chat, q6


def test_a_weekday_phrase_answers_the_date_question_and_stays_in_the_survey(city, emulator, user_id):
    sid, chat, _ = _at_date_question(city, emulator, user_id)
    q7 = chat.say("来週の日曜")  # on Wednesday 6/3: the Sunday of the week from Monday 6/8
    assert any(t.startswith("【7/7】") for t in texts(q7)), texts(q7)
    (row,) = responses(city, sid)
    assert row.pending["q6"] == "2026-06-14" and row.current == "q7"


def test_a_date_that_is_not_a_day_is_asked_again_never_routed(city, emulator, user_id):
    sid, chat, _ = _at_date_question(city, emulator, user_id)
    for typed in ("今週末", "2月30日"):
        again = chat.say(typed)
        assert "12/1 のように" in again[0]["text"], texts(again)
        (row,) = responses(city, sid)
        assert row.current == "q6"
    chat.say("１２月６日")
    (row,) = responses(city, sid)
    assert row.pending["q6"] == "2026-12-06" and row.current == "q7"
