"""The rules of a survey (bot/survey_logic.py) on unsaved question objects: the path through skip rules, typed
answers, the builder's structure checks and the edits refused once a survey has responses."""
from __future__ import annotations

from datetime import date

import pytest

from bot import survey_logic as L
from models.surveys import END, SurveyQuestion
from tests.surveys_support import QUESTIONS


def questions(**changes) -> list[SurveyQuestion]:
    qs = []
    for i, q in enumerate(QUESTIONS, start=1):
        fields = {"required": True, "options": [], "scale_labels": [], "branches": {}, **q, **changes.get(q["key"], {})}
        qs.append(SurveyQuestion(position=i, **fields))
    return qs


def test_the_path_follows_the_skip_rule_and_drops_answers_off_it():
    qs = questions()
    assert L.walk(qs, {"q1": 1}) == (["q1"], "q4")  # いいえ skips q2 and q3
    assert L.walk(qs, {"q1": 0, "q2": [1]}) == (["q1", "q2"], "q3")
    # Answered q2 and q3 with はい, went back and chose いいえ: q2 and q3 are not submitted.
    raw = {"q1": 1, "q2": [0], "q3": 5, "q4": None, "q5": "x", "q6": "2026-12-01", "q7": "kozu"}
    assert L.kept_answers(qs, raw) == {"q1": 1, "q4": None, "q5": "x", "q6": "2026-12-01", "q7": "kozu"}
    assert L.walk(qs, raw)[1] == END
    assert L.position_label(qs, "q3") == "3/7"


@pytest.mark.parametrize("key,typed,expected", [
    ("q4", "３５", 35), ("q4", "35歳", 35), ("q4", "0", 0), ("q1", "いいえ", 1), ("q1", "1", 0), ("q3", "５", 5),
    ("q6", "2026/12/3", "2026-12-03"), ("q6", "12月3日", "2026-12-03"), ("q5", "  よい取り組みです  ", "よい取り組みです"),
    ("q7", "国府津", "kozu"), ("q7", "国府津地区", "kozu"),
])
def test_typed_answers_are_read(key, typed, expected):
    q = L.by_key(questions())[key]
    assert L.parse_typed(q, typed, [("kozu", "国府津地区")], today=date(2026, 11, 26)) == (expected, None)


@pytest.mark.parametrize("key,typed,says", [
    ("q4", "121", "0歳から120歳まで"), ("q4", "たくさん", "0歳から120歳まで"), ("q1", "たぶん", "ボタンから"),
    ("q3", "6", "1から5"), ("q6", "来週", "日付を選ぶ"), ("q6", "2026-02-30", "日付を選ぶ"), ("q5", "あ" * 101, "100文字以内"),
    ("q7", "東京", "地区"),
])
def test_typed_text_that_is_not_an_answer_gets_a_reason(key, typed, says):
    q = L.by_key(questions())[key]
    value, problem = L.parse_typed(q, typed, [("kozu", "国府津地区")], today=date(2026, 11, 26))
    assert value is None and says in problem


def test_tapped_values_are_checked():
    qs = L.by_key(questions())
    assert L.value_problem(qs["q2"], [0, 1]) is None
    assert "2つまで" in L.value_problem(qs["q2"], [0, 1, 2])
    assert L.value_problem(qs["q2"], [0, 0]) is not None and L.value_problem(qs["q1"], 2) is not None
    assert L.value_problem(qs["q4"], None) is None  # optional: skipped
    assert L.value_problem(qs["q1"], None) is not None  # required
    assert L.value_problem(qs["q7"], "nowhere", ["kozu"]) is not None and L.value_problem(qs["q7"], "kozu", ["kozu"]) is None


def test_the_standard_survey_is_sound():
    assert L.structure_problems(questions()) == []


def test_a_skip_backwards_is_refused():
    problems = L.structure_problems(questions(q3={"branches": {"1": "q2"}}))
    assert any("Q3" in p and "後ろの質問" in p for p in problems)


def test_a_question_no_answer_reaches_is_refused():
    # はい and いいえ both jump to q4: q2 and q3 can never be asked.
    problems = L.structure_problems(questions(q1={"branches": {"0": "q4", "1": "q4"}}))
    assert any(p.startswith("Q2") and "進めません" in p for p in problems)
    assert any(p.startswith("Q3") and "進めません" in p for p in problems)
    # Optional, so skipping it leads on by position: q2 stays reachable.
    assert not any(p.startswith("Q2") for p in L.structure_problems(
        questions(q1={"branches": {"0": "q4", "1": "q4"}, "required": False})))


@pytest.mark.parametrize("change,says", [
    ({"q1": {"branches": {"5": "q4"}}}, "条件にない回答"),
    ({"q1": {"branches": {"0": "q99"}}}, "移動先の質問がありません"),
    ({"q2": {"branches": {"0": "q4"}}}, "「ひとつ選ぶ」と「5段階」"),
    ({"q1": {"options": ["はい"]}}, "2つ以上"),
    ({"q2": {"options": ["広報紙", "広報紙", "LINE"]}}, "同じ選択肢"),
    ({"q2": {"max_choices": 9}}, "上限が選択肢の数より多く"),
    ({"q4": {"min_value": 10, "max_value": 5}}, "下限が上限より大きく"),
])
def test_structure_problems_are_named(change, says):
    assert any(says in p for p in L.structure_problems(questions(**change))), L.structure_problems(questions(**change))


def snaps(**changes):
    return [L.snapshot(q) for q in questions(**changes)]


def test_rewording_and_adding_options_are_allowed_after_responses():
    after = snaps(q1={"options": ["はい（知っている）", "いいえ"]}, q2={"options": ["広報紙", "LINE", "回覧板", "ホームページ", "その他"]})
    assert L.breaking_changes(snaps(), after) == []


@pytest.mark.parametrize("after,says", [
    (lambda: snaps()[1:], "削除"),
    (lambda: snaps(q3={"kind": "number"}), "種類"),
    (lambda: snaps(q2={"options": ["広報紙", "LINE"]}), "減らせません"),
    (lambda: snaps(q1={"options": ["いいえ", "はい"]}), "並べ替え"),
    (lambda: snaps(q4={"required": True}), "必須"),
    (lambda: snaps(q4={"min_value": 18}), "範囲"),
    (lambda: snaps(q5={"max_length": 50}), "文字数"),
    (lambda: snaps(q1={"branches": {}}), "移動"),
    (lambda: snaps() + [{**L.snapshot(questions()[0]), "key": "q8", "branches": {}}], "任意の質問だけ"),
])
def test_edits_that_would_break_responses_are_refused(after, says):
    problems = L.breaking_changes(snaps(), after())
    assert any(says in p for p in problems), problems


def test_the_respondent_key_is_per_survey_and_reveals_no_id():
    uid = "U" + "a" * 32
    k1, k2 = L.respondent_key(1, uid), L.respondent_key(2, uid)
    assert k1 != k2 and len(k1) == 64 and uid not in k1 and L.respondent_key(1, uid) == k1
