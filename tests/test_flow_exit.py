"""Stopping a step-by-step flow from typed text (handlers/flow_exit.py), the words shared by the volunteer name and
the survey questions: a resident who wants to stop is told so, an explicit 退会 never counts as stopping a flow."""
from __future__ import annotations

import pytest

from handlers import flow_exit


@pytest.mark.parametrize("text", ["やっぱりやめます", "もうやめたい", "やっぱりいいです", "キャンセル", "中止", "いらない",
                                  "申し込まない", "やめる", "中断", "終わる", "もういいです。", "ｷｬﾝｾﾙ", "すみません、やめておきます",
                                  "アンケートやめたい"])
def test_stop_words_stop_a_flow(text):
    assert flow_exit.wants_to_stop(text)


@pytest.mark.parametrize("text", ["山田 花子", "やまだ", "Smith", "李", "今週末のイベント", "はい", "いいえ", ""])
def test_names_and_requests_are_not_stop_words(text):
    assert not flow_exit.wants_to_stop(text)


@pytest.mark.parametrize("text", ["退会", "データを消して", "ブロックしたい", "もう使わないと思います", "退会をやめたい",
                                  "アカウントを削除してやめたい"])
def test_an_explicit_leave_is_never_stopping_a_flow(text):
    assert flow_exit.asks_to_leave(text) and not flow_exit.wants_to_stop(text)


def test_a_free_text_answer_stops_only_when_it_is_nothing_but_a_stop_word():
    assert flow_exit.wants_to_stop("もうやめたい", whole_only=True)
    assert not flow_exit.wants_to_stop("中止でいいと思う", whole_only=True)
    assert flow_exit.wants_to_stop("中止でいいと思う")
    assert not flow_exit.wants_to_stop("イベントを中止にしてほしいという意見が多いと思います")


def test_another_features_clear_words_leave_the_flow():
    assert flow_exit.other_request("今週末のイベント")
    assert not flow_exit.other_request("山田 花子") and not flow_exit.other_request("李")
