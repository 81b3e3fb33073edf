"""bot/survey_answers.py, the database side of answering (no LINE): one response per resident (also when two
starts race on PostgreSQL), anonymous rows without user_id and with times to the hour, the path through skip
rules and 戻る, submission once (a double tap, editing), only the answers on the way submitted, and the 地区
snapshot."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot import survey_answers as A
from bot.clock import TOKYO, utc
from bot.survey_logic import respondent_key
from models.subscriptions import SubscribedDistrict
from models.surveys import CONFIRM, IN_PROGRESS, SUBMITTED, Survey, SurveyResponse
from models.users import User
from tests.conftest import BACKEND
from tests.fanout_support import residents
from tests.surveys_support import build_survey

NOW = datetime(2026, 11, 20, 10, 37, 12, tzinfo=TOKYO)


@pytest.fixture
def rt(bot):
    bot.clock.set(NOW)
    return bot.rt


def _survey(rt, **kw) -> int:
    with rt.sessions() as db:
        s = build_survey(db, utc(NOW), **kw)  # stored as UTC (SQLite keeps the wall time it is given)
        db.commit()
        return s.id


def _all(rt, sid):
    with rt.sessions() as db:
        return list(db.scalars(select(SurveyResponse).where(SurveyResponse.survey_id == sid)))


def _one_resident(rt, **kw) -> tuple[int, int, str]:
    """A new survey (build_survey's keywords) and one resident: (survey id, user id, LINE user id)."""
    sid = _survey(rt, **kw)
    (uid, line), = residents(rt, 1)
    return sid, uid, line


def _start(db, sid: int, uid: int):
    """The survey, the resident and the response they start at NOW."""
    s, user = db.get(Survey, sid), db.get(User, uid)
    return s, user, A.start(db, s, user, NOW)


def _answer(db, s, r, answers) -> None:
    for key, value in answers:
        A.record(db, s, r, key, value, NOW)


def test_start_once_anonymous_row_holds_no_user_and_hour_times(rt):
    sid, uid, line = _one_resident(rt)
    with rt.sessions() as db:
        s, user, r1 = _start(db, sid, uid)
        r2 = A.start(db, s, user, NOW + timedelta(minutes=5))
        assert r1.id == r2.id and r1.current == "q1" and r1.path == [] and r1.status == IN_PROGRESS
        db.commit()
    (row,) = _all(rt, sid)
    assert row.user_id is None and row.respondent == respondent_key(sid, line) and line not in row.respondent
    assert utc(row.started_at) == datetime(2026, 11, 20, 1, 0, tzinfo=utc(NOW).tzinfo)  # 10:37 Tokyo → 01:00 UTC


def test_named_survey_keeps_user_and_exact_time(rt):
    sid, uid, _ = _one_resident(rt, anonymous=False)
    with rt.sessions() as db:
        _start(db, sid, uid)
        db.commit()
    (row,) = _all(rt, sid)
    assert row.user_id == uid and utc(row.started_at) == utc(NOW)


def test_skip_rule_back_and_a_changed_branch_submits_only_the_way_taken(rt):
    sid, uid, _ = _one_resident(rt)
    with rt.sessions() as db:
        s, user, r = _start(db, sid, uid)
        assert A.record(db, s, r, "q1", 0, NOW) == "q2"      # はい: on to q2
        assert A.record(db, s, r, "q2", [0, 1], NOW) == "q3"
        assert A.record(db, s, r, "q3", 4, NOW) == "q4"
        assert r.path == ["q1", "q2", "q3"]
        assert A.back(db, s, r, NOW) == "q3" and A.back(db, s, r, NOW) == "q2" and A.back(db, s, r, NOW) == "q1"
        assert A.back(db, s, r, NOW) is None and r.current == "q1"  # nothing before the first
        assert A.record(db, s, r, "q1", 1, NOW) == "q4"      # いいえ skips q2 and q3
        assert r.path == ["q1"] and r.pending["q2"] == [0, 1]  # kept while answering, but off the way now
        _answer(db, s, r, (("q4", None), ("q5", "特になし"), ("q6", "2026-12-01")))
        assert A.record(db, s, r, "q7", "kozu", NOW) == CONFIRM
        assert A.submit(db, s, r, user, NOW) is True
        db.commit()
    (row,) = _all(rt, sid)
    assert row.status == SUBMITTED and row.current is None and row.pending == {} and row.path == []
    assert row.answers == {"q1": 1, "q4": None, "q5": "特になし", "q6": "2026-12-01", "q7": "kozu"}


def _to_confirm(db, s, r):
    _answer(db, s, r, (("q1", 1), ("q4", 30), ("q5", None), ("q6", "2026-12-01"), ("q7", "kozu")))
    assert r.current == CONFIRM


def test_double_submit_is_one_response_and_district_snapshot(rt):
    sid = _survey(rt)
    (one, _), (two, _) = residents(rt, 2)
    with rt.sessions() as db:
        db.add_all([SubscribedDistrict(user_id=one, district="kozu"), SubscribedDistrict(user_id=two, district="kozu"),
                    SubscribedDistrict(user_id=two, district="midori")])
        s = db.get(Survey, sid)
        for uid in (one, two):
            user = db.get(User, uid)
            r = A.start(db, s, user, NOW)
            _to_confirm(db, s, r)
            assert A.submit(db, s, r, user, NOW) is True
            assert A.submit(db, s, r, user, NOW) is False  # the double tap
        db.commit()
    rows = _all(rt, sid)
    assert len(rows) == 2 and {r.status for r in rows} == {SUBMITTED}
    assert sorted(r.district or "" for r in rows) == ["", "kozu"]  # two 地区 chosen: none recorded


def test_submit_refused_off_the_confirmation_screen(rt):
    sid, uid, _ = _one_resident(rt)
    with rt.sessions() as db:
        s, user, r = _start(db, sid, uid)
        A.record(db, s, r, "q1", 1, NOW)
        assert A.submit(db, s, r, user, NOW) is False
        db.commit()
    assert _all(rt, sid)[0].status == IN_PROGRESS


def test_editing_keeps_old_answers_until_resubmitted(rt):
    sid, uid, _ = _one_resident(rt, allow_edit=True)
    fixed = _survey(rt, title="修正できない調査")
    with rt.sessions() as db:
        user = db.get(User, uid)
        s, f = db.get(Survey, sid), db.get(Survey, fixed)
        for survey in (s, f):
            r = A.start(db, survey, user, NOW)
            _to_confirm(db, survey, r)
            A.submit(db, survey, r, user, NOW)
        rf = A.find(db, f, user.line_user_id)
        assert A.restart(db, f, rf, NOW) is False and rf.status == SUBMITTED and not rf.editing
        r = A.find(db, s, user.line_user_id)
        assert A.restart(db, s, r, NOW) is True
        assert r.editing and r.current == "q1" and r.pending["q4"] == 30 and r.answers["q4"] == 30
        assert A.is_answering(r)
        A.record(db, s, r, "q1", 1, NOW)
        A.record(db, s, r, "q4", 41, NOW)
        db.commit()
    with rt.sessions() as db:
        r = A.find(db, db.get(Survey, sid), db.get(User, uid).line_user_id)
        assert r.answers["q4"] == 30 and r.status == SUBMITTED  # still counted as it was
        s, user = db.get(Survey, sid), db.get(User, uid)
        _answer(db, s, r, (("q5", None), ("q6", "2026-12-01"), ("q7", "kozu")))
        assert A.submit(db, s, r, user, NOW) is True and A.submit(db, s, r, user, NOW) is False
        db.commit()
    row = next(r for r in _all(rt, sid))
    assert row.answers["q4"] == 41 and not row.editing and row.status == SUBMITTED


@pytest.mark.skipif(BACKEND != "postgresql", reason="concurrent transactions need PostgreSQL")
def test_two_starts_at_once_make_one_row(rt):
    sid = _survey(rt)
    people = residents(rt, 8)
    barrier = threading.Barrier(2)
    errors = []

    def go(uid):
        try:
            with rt.sessions() as db:
                s, user = db.get(Survey, sid), db.get(User, uid)
                assert A.find(db, s, user.line_user_id) is None
                barrier.wait(5)
                r = A.start(db, s, user, NOW)
                assert r is not None and r.survey_id == sid
                db.commit()
        except Exception as e:  # noqa: BLE001 (reported below)
            errors.append(e)

    for uid, _ in people[:4]:
        threads = [threading.Thread(target=go, args=(uid,)) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    with rt.sessions() as db:
        assert db.scalar(select(func.count()).select_from(SurveyResponse).where(SurveyResponse.survey_id == sid)) == 4
