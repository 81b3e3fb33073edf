"""The database side of answering a survey (handlers/surveys.py is the LINE side): start or resume, record an
answer, toggle a multiple choice, go back, submit, reopen for editing. No LINE here; the rules of the path and of
answers are bot/survey_logic.py's.

One response per resident and survey: the row is found by its keyed `respondent` (never by user id, which an
anonymous survey does not store), created once (the unique (survey_id, respondent) decides a race), and
submitted by one conditional UPDATE, so a double tap or two workers can never submit twice.

`path` holds the keys answered before the current one, in order (戻る pops it); `pending` the working answers,
including those of a branch the resident left by going back (kept_answers drops them at submission).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.survey_logic import first_key, kept_answers, next_key, respondent_key, stamp
from models.subscriptions import SubscribedDistrict
from models.surveys import CONFIRM, END, IN_PROGRESS, SUBMITTED, Survey, SurveyResponse


def find(db: Session, survey: Survey, line_user_id: str) -> SurveyResponse | None:
    return db.scalar(select(SurveyResponse).where(SurveyResponse.survey_id == survey.id,
                                                  SurveyResponse.respondent == respondent_key(survey.id, line_user_id)))


def find_many(db: Session, surveys: list[Survey], line_user_id: str) -> dict[int, SurveyResponse]:
    """The resident's responses to these surveys, by survey id (one query)."""
    keys = [respondent_key(s.id, line_user_id) for s in surveys]
    if not keys:
        return {}
    rows = db.scalars(select(SurveyResponse).where(SurveyResponse.survey_id.in_([s.id for s in surveys]),
                                                   SurveyResponse.respondent.in_(keys)))
    return {r.survey_id: r for r in rows}


def start(db: Session, survey: Survey, user, now: datetime) -> SurveyResponse:
    """The resident's response, created at the first question when there is none (a submitted one is returned
    as it is: the caller says 回答済み)."""
    r = find(db, survey, user.line_user_id)
    if r is not None:
        if r.status == IN_PROGRESS and r.current is None:
            r.current = first_key(survey.questions)
        return r
    at = stamp(survey, now)
    r = SurveyResponse(survey_id=survey.id, respondent=respondent_key(survey.id, user.line_user_id),
                       user_id=None if survey.anonymous else user.id, status=IN_PROGRESS, editing=False,
                       current=first_key(survey.questions), path=[], pending={}, answers={},
                       started_at=at, updated_at=at)
    if db.get_bind().dialect.name != "postgresql":
        db.add(r)  # SQLite: one writer, and one resident's events run one at a time
        db.flush()
        return r
    try:
        with db.begin_nested():  # the same resident through two processes at once: the second re-reads
            db.add(r)
            db.flush()
    except IntegrityError:
        r = find(db, survey, user.line_user_id)
    return r


def _touch(survey: Survey, r: SurveyResponse, now: datetime) -> None:
    r.updated_at = stamp(survey, now)


def record(db: Session, survey: Survey, r: SurveyResponse, key: str, value, now: datetime) -> str:
    """Answer `key` with `value` (None: skipped): the path is cut back to before `key` (an answer changed after
    戻る starts its branch afresh), and the next question follows the skip rules. Returns the new current key
    (CONFIRM at the end)."""
    pending = dict(r.pending or {})
    pending[key] = value
    path = list(r.path or [])
    if key in path:
        path = path[:path.index(key)]
    path.append(key)
    nxt = next_key(survey.questions, key, value)
    r.pending, r.path, r.current = pending, path, CONFIRM if nxt == END else nxt
    _touch(survey, r, now)
    db.flush()
    return r.current


def set_selection(db: Session, survey: Survey, r: SurveyResponse, key: str, chosen: list[int], now: datetime) -> None:
    """A multiple choice's toggled options, kept in `pending` until 次へ (so a pause keeps them too)."""
    pending = dict(r.pending or {})
    pending[key] = sorted(set(chosen))
    r.pending = pending
    _touch(survey, r, now)
    db.flush()


def selection(r: SurveyResponse, key: str) -> list[int]:
    value = (r.pending or {}).get(key)
    return [v for v in value if isinstance(v, int)] if isinstance(value, list) else []


def back(db: Session, survey: Survey, r: SurveyResponse, now: datetime) -> str | None:
    """戻る: the previous question on the way becomes current (its answer kept to show). None at the first."""
    path = list(r.path or [])
    if not path:
        return None
    r.current, r.path = path[-1], path[:-1]
    _touch(survey, r, now)
    db.flush()
    return r.current


def restart(db: Session, survey: Survey, r: SurveyResponse, now: datetime) -> bool:
    """最初から直す / 回答を修正する: back to Q1 with the answers given shown. A submitted response is reopened for
    editing (only where the survey allows it; its submitted answers count until the new submission)."""
    if r.status == SUBMITTED and not r.editing:
        if not survey.allow_edit:
            return False
        r.pending, r.editing = dict(r.answers or {}), True
    r.path, r.current = [], first_key(survey.questions)
    _touch(survey, r, now)
    db.flush()
    return True


def own_district(db: Session, user_id: int | None) -> str | None:
    """The resident's 地区 from 設定 when they chose exactly one (for breakdowns by district)."""
    if user_id is None:
        return None
    keys = list(db.scalars(select(SubscribedDistrict.district).where(SubscribedDistrict.user_id == user_id).limit(2)))
    return keys[0] if len(keys) == 1 else None


def submit(db: Session, survey: Survey, r: SurveyResponse, user, now: datetime) -> bool:
    """送信する: one conditional UPDATE (answering, or editing, and on the confirmation screen) writes the answers
    on the way, the time and the 地区 snapshot. False: it was already submitted (a double tap)."""
    at = stamp(survey, now)
    answers = kept_answers(survey.questions, dict(r.pending or {}))
    district = own_district(db, getattr(user, "id", None))
    done = db.execute(
        update(SurveyResponse)
        .where(SurveyResponse.id == r.id, SurveyResponse.current == CONFIRM,
               or_(SurveyResponse.status == IN_PROGRESS, SurveyResponse.editing.is_(True)))
        .values(answers=answers, status=SUBMITTED, editing=False, current=None, path=[], pending={},
                submitted_at=at, updated_at=at, district=district)
        .execution_options(synchronize_session=False))
    db.expire(r)
    return done.rowcount == 1


def is_answering(r: SurveyResponse | None) -> bool:
    return r is not None and (r.status == IN_PROGRESS or bool(r.editing))
