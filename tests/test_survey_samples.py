"""`kyodo sample load`, surveys (bot/survey_samples.py, cities/odawara/sample_survey.yaml): one open sample survey
marked （サンプル） with a question of every kind and a skip rule that passes the builder's checks; loading twice
gives the same rows, loading later moves its window and keeps its ids; once answered, its questions and the
residents' answers stay; it belongs to the demo survey team when that exists; nothing reaches residents; a
broken file loads nothing and names every problem; `remove` takes out exactly the sample surveys with their
responses. Both databases."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot import sample_data as S
from bot import survey_samples as V
from bot.admin.demo import DEMO_SURVEY_TEAM
from bot.clock import utc
from bot.survey_logic import is_live, ordered, structure_problems
from models.surveys import KINDS, Survey, SurveyQuestion, SurveyResponse
from tests.sample_support import NOW, assert_nothing_published, assert_refused_as_a_whole, rewritten
from tests.sample_support import snapshot as rows_of
from tests.surveys_support import add_response, build_survey, team

SURVEYS = [ld for ld in S.LOADERS if ld.name == "surveys"]
SURVEY_FILE = V.survey_path("odawara")
LINE = "surveys: 1 open surveys, 7 questions (7 kinds, 1 skip rules)"


def load(bot, now=NOW, loaders=SURVEYS) -> list[str]:
    return S.load(bot.rt.sessions, city="odawara", now=now, loaders=loaders)


def snapshot(bot) -> dict:
    return rows_of(bot, (Survey, SurveyQuestion, SurveyResponse))


def the_sample(db) -> Survey:
    return db.scalar(select(Survey).where(Survey.source == "sample"))


def test_one_open_sample_with_every_kind_and_a_skip_rule(bot):
    assert load(bot) == [LINE]
    with bot.rt.sessions() as db:
        s = the_sample(db)
        assert s.title.endswith("（サンプル）") and s.external_key == "sample:survey:community-activities"
        assert s.status == "open" and utc(s.opens_at) == utc(NOW) and utc(s.closes_at) == utc(NOW) + timedelta(days=30)
        assert is_live(s, NOW) and is_live(s, NOW + timedelta(days=29, hours=23))
        assert not is_live(s, NOW + timedelta(days=30))
        assert s.segment == {} and s.anonymous and s.survey_team_id is None and s.invite_publication_id is None
        qs = ordered(s.questions)
        assert {q.kind for q in qs} == set(KINDS) and [q.key for q in qs] == [f"q{i}" for i in range(1, 8)]
        assert structure_problems(qs) == []
        assert qs[0].options == ["はい", "いいえ"] and qs[0].branches == {"1": "q4"}  # いいえ skips q2, q3
        assert qs[1].max_choices == 3 and qs[3].unit == "時間" and not qs[3].required


def test_load_twice_gives_the_same_rows_and_later_moves_the_window(bot):
    load(bot)
    before = snapshot(bot)
    assert load(bot) == [LINE]
    assert snapshot(bot) == before
    later = NOW + timedelta(days=3)
    load(bot, later)
    with bot.rt.sessions() as db:
        s = the_sample(db)
        ids = sorted(q.id for q in s.questions)
        assert utc(s.opens_at) == utc(later) and utc(s.closes_at) == utc(later) + timedelta(days=30)
        assert ids == sorted(r[0] for r in before["survey_questions"]) and s.id == before["surveys"][0][0]


def test_owned_by_the_demo_survey_team_when_it_exists(bot):
    with bot.rt.sessions() as db:
        team(db, "別の調査チーム")
        demo = team(db, DEMO_SURVEY_TEAM).id
        db.commit()
    load(bot)
    with bot.rt.sessions() as db:
        assert the_sample(db).survey_team_id == demo


def test_an_answered_sample_keeps_its_questions_and_answers(bot, tmp_path, monkeypatch):
    load(bot)
    with bot.rt.sessions() as db:
        s = the_sample(db)
        add_response(db, s, {"q1": 1, "q4": 3, "q5": "2026-12-20", "q6": "kozu", "q7": "楽しみです"}, NOW,
                     line_user_id="U" + "1" * 32)
        db.commit()
    before = snapshot(bot)

    def breaking(data):  # drops q7 and makes q4 required: refused under answers
        qs = data["surveys"][0]["questions"]
        qs.pop()
        qs[3]["required"] = True
        data["surveys"][0]["anonymous"] = False

    changed = rewritten(tmp_path, SURVEY_FILE, breaking)
    monkeypatch.setattr(V, "survey_path", lambda city: changed)
    (line,) = load(bot, NOW + timedelta(days=1))
    assert line == LINE + "; questions of 1 answered surveys kept"
    after = snapshot(bot)
    assert after["survey_questions"] == before["survey_questions"]
    assert after["survey_responses"] == before["survey_responses"]
    with bot.rt.sessions() as db:
        s = the_sample(db)
        assert s.anonymous and utc(s.opens_at) == utc(NOW + timedelta(days=1))  # the window still moves


def test_other_surveys_are_never_touched_and_remove_takes_only_samples(bot):
    with bot.rt.sessions() as db:
        mine = build_survey(db, NOW, title="市の本物のアンケート")
        add_response(db, mine, {"q1": 1, "q6": "2026-12-20", "q7": "kozu"}, NOW, line_user_id="U" + "2" * 32)
        stale = build_survey(db, NOW, title="もう載っていないアンケート（サンプル）")
        stale.source, stale.external_key = "sample", "sample:survey:gone"
        add_response(db, stale, {"q1": 1, "q6": "2026-12-20", "q7": "kozu"}, NOW, line_user_id="U" + "3" * 32)
        db.commit()
        mine_id = mine.id

    assert load(bot) == [LINE + "; removed 1 surveys (1 responses) no longer listed"]
    with bot.rt.sessions() as db:
        assert db.scalar(select(func.count()).select_from(Survey)) == 2
        assert db.get(Survey, mine_id).title == "市の本物のアンケート"
        assert db.scalar(select(func.count()).select_from(SurveyResponse)) == 1
        s = the_sample(db)
        add_response(db, s, {"q1": 1, "q5": "2026-12-20", "q6": "kozu"}, NOW, line_user_id="U" + "4" * 32)
        db.commit()
    assert S.remove(bot.rt.sessions, loaders=SURVEYS) == ["surveys: removed 1 surveys, 1 responses"]
    with bot.rt.sessions() as db:
        assert [s.id for s in db.scalars(select(Survey))] == [mine_id]
        assert len(db.get(Survey, mine_id).questions) == 7
        assert [r.survey_id for r in db.scalars(select(SurveyResponse))] == [mine_id]


def test_a_key_held_by_a_survey_that_is_not_sample_data_refuses_the_load(bot):
    with bot.rt.sessions() as db:
        mine = build_survey(db, NOW, title="市のアンケート")
        mine.external_key = "sample:survey:community-activities"
        db.commit()
    assert_refused_as_a_whole(bot, lambda: load(bot), snapshot, "survey:community-activities")


def test_nothing_is_published_to_residents(bot, emulator):
    def load_twice():
        load(bot, loaders=S.LOADERS)
        load(bot, NOW + timedelta(days=1), loaders=S.LOADERS)

    assert_nothing_published(bot, emulator, load_twice)


def test_a_broken_file_loads_nothing_and_says_every_problem(bot, tmp_path, monkeypatch):
    def breaking(data):
        s = data["surveys"][0]
        s["title"] = "印のないアンケート"
        s["open_days"] = 0
        qs = s["questions"]
        qs[0]["branches"] = {"たぶん": "q4"}  # not an option
        qs[1]["kind"] = "ranking"
        qs[2]["branches"] = {3: "q2"}  # backwards: a loop

    broken = rewritten(tmp_path, SURVEY_FILE, breaking)
    monkeypatch.setattr(V, "survey_path", lambda city: broken)
    with pytest.raises(S.SampleDataError) as e:
        load(bot)
    text = "\n".join(e.value.problems)
    assert len(e.value.problems) == 4, text
    for part in ("title must end with （サンプル）", "open_days 0", "'たぶん', which is not one of the options",
                 "kind 'ranking'"):
        assert part in text
    assert all(rows == [] for rows in snapshot(bot).values())
    # With only the loop left, the builder's own check names it.
    looping = rewritten(tmp_path, SURVEY_FILE,
                        lambda data: data["surveys"][0]["questions"][2].update(branches={3: "q2"}))
    monkeypatch.setattr(V, "survey_path", lambda city: looping)
    with pytest.raises(S.SampleDataError, match="Q3: 移動先は後ろの質問か「終了」にしてください"):
        load(bot)
