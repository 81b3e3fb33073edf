"""A survey with one question of every kind and a skip rule, and submitted responses written directly: shared
by the survey tests (LINE, admin, results, jobs, privacy)."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot.clock import utc
from bot.survey_logic import respondent_key, stamp
from models.accounts import SurveyTeam
from models.surveys import (DATE, DISTRICT, MULTI, NUMBER, OPEN, SCALE, SINGLE, SUBMITTED, TEXT, Survey,
                            SurveyQuestion, SurveyResponse)

# q1 いいえ skips q2 and q3. q4 and q5 are optional.
QUESTIONS = [
    dict(key="q1", kind=SINGLE, text="市の協働の取り組みを知っていますか。", options=["はい", "いいえ"], branches={"1": "q4"}),
    dict(key="q2", kind=MULTI, text="どこで知りましたか（2つまで）。", options=["広報紙", "LINE", "回覧板", "ホームページ"],
         max_choices=2),
    dict(key="q3", kind=SCALE, text="取り組みに満足していますか。", scale_labels=["不満", "満足"]),
    dict(key="q4", kind=NUMBER, text="年齢を教えてください。", min_value=0, max_value=120, unit="歳", required=False),
    dict(key="q5", kind=TEXT, text="ご意見があればどうぞ。", max_length=100, required=False),
    dict(key="q6", kind=DATE, text="参加しやすい日はいつですか。"),
    dict(key="q7", kind=DISTRICT, text="お住まいの地区を選んでください。"),
]


def team(db: Session, name: str = "調査チームA", now: datetime | None = None) -> SurveyTeam:
    t = SurveyTeam(name=name, created_at=now or datetime(2026, 11, 1))
    db.add(t)
    db.flush()
    return t


def build_survey(db: Session, now: datetime, *, team_id: int | None = None, anonymous: bool = True,
                 status: str = OPEN, allow_edit: bool = False, segment: dict | None = None,
                 title: str = "協働についてのアンケート", questions: list[dict] | None = None,
                 opens_at: datetime | None = None, closes_at: datetime | None = None) -> Survey:
    """Open from an hour ago for a week by default (`now` aware; stored as UTC, which SQLite needs)."""
    now = utc(now)
    s = Survey(survey_team_id=team_id, title=title, intro="5分ほどで終わります。", status=status,
               opens_at=utc(opens_at) if opens_at else now - timedelta(hours=1),
               closes_at=utc(closes_at) if closes_at else now + timedelta(days=7),
               anonymous=anonymous, allow_edit=allow_edit, segment=segment or {}, created_at=now, updated_at=now,
               opened_at=now if status == OPEN else None)
    for i, q in enumerate(questions or QUESTIONS, start=1):
        fields = {"required": True, "options": [], "scale_labels": [], "branches": {}, **q}
        s.questions.append(SurveyQuestion(position=i, **fields))
    db.add(s)
    db.flush()
    return s


def add_response(db: Session, survey: Survey, answers: dict, now: datetime, *, line_user_id: str,
                 user_id: int | None = None, district: str | None = None) -> SurveyResponse:
    """A submitted response as if a resident had answered on LINE."""
    now = utc(now)
    r = SurveyResponse(survey_id=survey.id, respondent=respondent_key(survey.id, line_user_id),
                       user_id=None if survey.anonymous else user_id, status=SUBMITTED, current=None,
                       path=list(answers), pending={}, answers=dict(answers), district=district,
                       started_at=stamp(survey, now), updated_at=stamp(survey, now), submitted_at=stamp(survey, now))
    db.add(r)
    db.flush()
    return r
