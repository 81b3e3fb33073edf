"""A message from someone who may be in danger gets consultation lines with call buttons, before anything else:
also in the middle of a survey's free-text question, and never counted in the not-understood list."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.clock import utc
from handlers import crisis
from models.faq import NluMiss
from models.surveys import SurveyResponse
from tests.chat_support import Chat, actions_in
from tests.surveys_support import build_survey


@pytest.mark.parametrize("text", ["もう死にたい", "消えたいです…", "学校でいじめられています", "夫から暴力を振るわれています",
                                  "ＤＶを受けています", "生きるのがつらい😢"])
def test_crisis_messages_get_the_consultation_lines(bot, emulator, user_id, text):
    got = Chat(bot, emulator, user_id).say(text)
    assert len(got) == 1 and "0570-064-556" in got[0]["text"] and "119" in got[0]["text"]
    calls = [a["uri"] for a in actions_in(got) if a.get("type") == "uri"]
    assert "tel:0570064556" in calls and "tel:0120279338" in calls
    assert "tel:%238008" in calls  # DV相談ナビ #8008 has its call button like the other lines
    with bot.rt.sessions() as db:
        assert db.scalar(select(func.count()).select_from(NluMiss)) == 0


@pytest.mark.parametrize("text", ["死ね", "助けて", "使い方を助けてほしい", "死ぬほど疲れた", "自治会のDVD上映会"])
def test_ordinary_messages_are_not_taken_for_a_crisis(text):
    from handlers import nlu

    assert not crisis.is_crisis(nlu.normalise(text))


def test_a_crisis_message_inside_a_survey_is_not_recorded_as_an_answer(bot, emulator, user_id):
    now = bot.rt.now()
    with bot.rt.sessions() as db:
        sid = build_survey(db, utc(now), questions=[
            {"key": "q1", "kind": "text", "text": "ご意見をどうぞ。", "max_length": 100}]).id
        db.commit()
    chat = Chat(bot, emulator, user_id)
    chat.tap(f"v=1&a=survey.start&s={sid}")
    got = chat.say("もう死にたい")
    assert "0570-064-556" in got[0]["text"]
    with bot.rt.sessions() as db:
        r = db.scalar(select(SurveyResponse).where(SurveyResponse.survey_id == sid))
        assert r is not None and r.pending == {} and r.status == "in_progress"


def test_every_line_in_the_text_has_a_call_button_within_lines_limits():
    from handlers import ui

    lines = [ln for ln in crisis.V["text"].splitlines() if ln.startswith("・")]
    assert len(crisis.V["buttons"]) == len(lines)
    for (label, uri), line in zip(crisis.V["buttons"], lines):
        assert label in line and uri.startswith("tel:") and "#" not in uri, (label, uri)
        digits = "".join(ch for ch in line if ch.isdigit() or ch == "#").replace("#", "%23")
        assert digits.endswith(uri.removeprefix("tel:")), (line, uri)
        assert len(label) <= ui.LABEL_MAX
    assert len(crisis.V["buttons"]) + 1 <= ui.QUICK_REPLY_MAX  # and the menu button
