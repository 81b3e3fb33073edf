"""Number answers typed as estimates (bot/survey_logic.py: typed_number), for questions such as 「1週間に何時間くらい
活動できますか（だいたいで結構です）」: 約3時間, 3時間くらい, 二、三時間 (the first of a range), full-width and kanji
numerals are read; the question's min / max still apply and unreadable text is refused."""
from __future__ import annotations

import pytest

from bot import survey_logic as L
from models.surveys import NUMBER, SurveyQuestion


def hours_question() -> SurveyQuestion:
    return SurveyQuestion(key="h", kind=NUMBER, position=1, required=True, options=[], scale_labels=[], branches={},
                          text="1週間に何時間くらい活動できますか（だいたいで結構です）。", unit="時間", min_value=0, max_value=40)


@pytest.mark.parametrize("typed,value", [
    ("3", 3), ("3時間", 3), ("3時間くらい", 3), ("約3時間", 3), ("3時間ほど", 3), ("二、三時間くらい", 2), ("二三時間", 2),
    ("３時間", 3), ("３時間ぐらい", 3), ("三時間", 3), ("十時間程度", 10), ("だいたい２０時間です", 20), ("0", 0),
    ("2〜3時間", 2),
])
def test_estimates_are_read(typed, value):
    assert L.parse_typed(hours_question(), typed) == (value, None)


@pytest.mark.parametrize("typed", ["50時間くらい", "たくさん", "2.5時間", "わかりません", "-1"])
def test_out_of_range_or_unreadable_is_refused(typed):
    value, problem = L.parse_typed(hours_question(), typed)
    assert value is None and problem == "0時間から40時間までの数字で入力してください。"


def test_plain_numbers_keep_working():
    assert L.typed_number("3時間", "時間") == 3 and L.typed_number("35歳", "歳") == 35
    assert L.typed_number("+5", None) == 5 and L.typed_number("-3", None) == -3 and L.typed_number("1,200", "円") == 1200
