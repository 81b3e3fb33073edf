"""A resident deletes their data (models.privacy.delete_personal_data, 退会 on LINE, `kyodo privacy delete-user`):
their named responses go, submitted or not; their anonymous submitted answers stay exactly as they were (no user
id, the same respondent key, so nothing leads back to them and the counts do not change); an anonymous response
they had not finished goes (found by its keyed hash). Another resident's responses are untouched, and no log
line carries a LINE id or what was answered. Both databases."""
from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.survey_logic import respondent_key
from models.privacy import delete_personal_data
from models.surveys import IN_PROGRESS, SurveyResponse
from tests.sample_support import plain
from tests.surveys_support import add_response, build_survey
from tests.privacy_support import delete_on_line, two_followers, user_by_line

SECRET_OPINION = "隣の家の田中さんが回覧板を止めています"  # a free-text answer: must never reach a log
ANSWERS = {"q1": 1, "q5": SECRET_OPINION, "q6": "2026-12-20", "q7": "kozu"}


def _in_progress(db, survey, line_id: str, user_id: int, now):
    r = add_response(db, survey, {}, now, line_user_id=line_id, user_id=user_id)
    r.status, r.submitted_at, r.pending, r.path, r.current = IN_PROGRESS, None, {"q1": 0, "q2": [1]}, ["q1", "q2"], "q3"
    db.flush()
    return r


@pytest.fixture
def answered(bot, emulator):
    """Two following residents. Named survey 1: both submitted; named 2: the leaver half way; anonymous 3: both
    submitted; anonymous 4: the leaver half way, the other submitted."""
    leaver, other = two_followers(bot, emulator)
    now = bot.rt.now()
    with bot.rt.sessions() as db:
        uid, oid = user_by_line(db, leaver).id, user_by_line(db, other).id
        named1, named2 = build_survey(db, now, anonymous=False), build_survey(db, now, anonymous=False)
        anon3, anon4 = build_survey(db, now), build_survey(db, now)
        add_response(db, named1, ANSWERS, now, line_user_id=leaver, user_id=uid)
        add_response(db, named1, ANSWERS, now, line_user_id=other, user_id=oid)
        _in_progress(db, named2, leaver, uid, now)
        kept = add_response(db, anon3, ANSWERS, now - timedelta(hours=2), line_user_id=leaver)
        add_response(db, anon3, ANSWERS, now, line_user_id=other)
        _in_progress(db, anon4, leaver, uid, now)
        add_response(db, anon4, ANSWERS, now, line_user_id=other)
        db.commit()
        kept_row = {c: plain(getattr(kept, c))
                    for c in ("id", "survey_id", "respondent", "user_id", "status", "answers", "district", "submitted_at")}
        others = {(r.id, r.survey_id, r.respondent, r.user_id, r.status) for r in db.scalars(select(SurveyResponse))
                  if r.respondent in {respondent_key(s.id, other) for s in (named1, named2, anon3, anon4)}}
    assert kept_row["user_id"] is None
    return dict(leaver=leaver, other=other, uid=uid, oid=oid, kept=kept_row, others=others,
                surveys=(named1.id, named2.id, anon3.id, anon4.id))


def _delete_directly(bot, emulator, leaver) -> None:
    with bot.rt.sessions() as db:
        ran = delete_personal_data(db, user_by_line(db, leaver))
        db.commit()
    assert "surveys" in ran and ran.index("surveys") < ran.index("users")


def _delete_on_line(bot, emulator, leaver) -> None:
    delete_on_line(bot, emulator, leaver)


def _delete_by_cli(bot, emulator, leaver) -> None:
    from argparse import Namespace

    from bot import cli_core

    args = Namespace(line_user_id=leaver, database_url=bot.rt.config.database_url)
    assert cli_core.cmd_delete_user(args) == 0


@pytest.mark.parametrize("delete", [_delete_directly, _delete_on_line, _delete_by_cli],
                         ids=["delete_personal_data", "LINE", "cli"])
def test_deleting_a_resident_removes_named_and_unfinished_answers_and_keeps_anonymous_ones(
        bot, emulator, answered, caplog, delete, monkeypatch):
    a = answered
    named1, named2, anon3, anon4 = a["surveys"]
    caplog.set_level(logging.DEBUG)
    if delete is _delete_by_cli:
        from bot import cli

        monkeypatch.setattr(cli, "config_for", lambda args, need_secrets=True: bot.rt.config)
    delete(bot, emulator, a["leaver"])

    with bot.rt.sessions() as db:
        assert user_by_line(db, a["leaver"]) is None
        rows = list(db.scalars(select(SurveyResponse).order_by(SurveyResponse.id)))
        # Nothing of theirs is linked to them any more, and nothing unfinished is left.
        assert all(r.user_id != a["uid"] for r in rows)
        mine = {r.survey_id: r for r in rows if r.respondent in {respondent_key(s, a["leaver"]) for s in a["surveys"]}}
        assert list(mine) == [anon3]  # named 1 and 2 gone, anonymous 4 (unfinished) gone
        kept = mine[anon3]
        assert {c: plain(getattr(kept, c)) for c in a["kept"]} == a["kept"]
        assert kept.answers["q5"] == SECRET_OPINION  # still counted in the results, by no one
        # The other resident's responses are exactly as they were.
        others = {(r.id, r.survey_id, r.respondent, r.user_id, r.status) for r in rows
                  if r.respondent in {respondent_key(s, a["other"]) for s in a["surveys"]}}
        assert others == a["others"] and len(others) == 3
        assert {r.user_id for r in rows if r.survey_id == named1} == {a["oid"]}
    assert a["leaver"] not in caplog.text and a["other"] not in caplog.text
    assert SECRET_OPINION not in caplog.text and "退会" not in caplog.text


def test_a_resident_with_no_responses_deletes_cleanly(bot, emulator, user_id):
    emulator.send_follow(user_id)
    bot.settle()
    with bot.rt.sessions() as db:
        build_survey(db, bot.rt.now())
        build_survey(db, bot.rt.now(), anonymous=False)
        db.commit()
        delete_personal_data(db, user_by_line(db, user_id))
        db.commit()
        assert user_by_line(db, user_id) is None
        assert db.scalars(select(SurveyResponse)).all() == []


def test_a_typed_answer_and_the_resident_leave_no_trace_in_logs_or_tables(bot, emulator, user_id, caplog):
    """Through LINE (handlers/surveys.py): a named survey answered by typing, then 退会. The typed words and the
    LINE id never reach a log line, and the response goes with the resident."""
    from tests.chat_support import Chat, action

    caplog.set_level(logging.DEBUG)
    emulator.send_follow(user_id)
    bot.settle()
    with bot.rt.sessions() as db:
        sid = build_survey(db, bot.rt.now(), anonymous=False, questions=[
            dict(key="q1", kind="text", text="ご意見をお聞かせください。", max_length=100)]).id
        db.commit()
    chat = Chat(bot, emulator, user_id)
    chat.tap(f"v=1&a=survey.start&s={sid}")
    confirm = chat.say(SECRET_OPINION)
    done = chat.tap(action(confirm, "送信する")["data"])
    assert any("回答を送信しました" in m.get("text", "") for m in done)
    with bot.rt.sessions() as db:
        [r] = db.scalars(select(SurveyResponse)).all()
        assert r.answers == {"q1": SECRET_OPINION} and r.user_id == user_by_line(db, user_id).id
    _delete_on_line(bot, emulator, user_id)
    with bot.rt.sessions() as db:
        assert db.scalars(select(SurveyResponse)).all() == []
    assert "POST /callback" in caplog.text  # the log was captured
    assert user_id not in caplog.text and SECRET_OPINION not in caplog.text
