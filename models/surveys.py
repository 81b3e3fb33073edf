"""Surveys (アンケート, step 9): a survey team's surveys, their questions, and residents' responses.

A survey belongs to a survey team (`survey_team_id`, checked by bot/admin/policy.py like every owner column;
None = the city's staff's own). Its questions are in order (`position`) and each has a stable `key` ("q1",
"q2" ...) that answers and skip rules refer to, so reordering or rewording never re-labels a stored answer.
The rules a survey's structure must keep (every question reachable, skips only forward, no loop) and the
checks of an answer are bot/survey_logic.py's.

A response is one resident's answers to one survey. `respondent` is a keyed hash of the survey and the
resident (bot/survey_logic.py: respondent_key), unique per survey: one response per resident, also for
anonymous surveys, which store no `user_id` and nothing else that leads back to the resident. While a
resident answers, `pending` holds the working answers and `path` the questions asked (the 戻る stack);
`answers` holds what they submitted, the only thing results read.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models.base import Base, BigId
from models.privacy import deletion_hook

DRAFT, OPEN, CLOSED = "draft", "open", "closed"
SURVEY_STATUSES = (DRAFT, OPEN, CLOSED)
# question kinds
SINGLE, MULTI, SCALE, NUMBER, TEXT, DATE, DISTRICT = "single", "multi", "scale", "number", "text", "date", "district"
KINDS = (SINGLE, MULTI, SCALE, NUMBER, TEXT, DATE, DISTRICT)
END = "end"  # a skip rule's target: straight to the confirmation screen
# response status
IN_PROGRESS, SUBMITTED = "in_progress", "submitted"
CONFIRM = "confirm"  # SurveyResponse.current while the resident is on the confirmation screen


class Survey(Base):
    __tablename__ = "surveys"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'open', 'closed')", name="status"),
        CheckConstraint("closes_at > opens_at", name="window"),
        Index("ix_surveys_status_window", "status", "opens_at", "closes_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    survey_team_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("survey_teams.id"), index=True)
    title: Mapped[str] = mapped_column(String(100))
    intro: Mapped[str | None] = mapped_column(Text)  # shown before the first question
    status: Mapped[str] = mapped_column(String(8), default=DRAFT)
    opens_at: Mapped[datetime]
    closes_at: Mapped[datetime]
    anonymous: Mapped[bool] = mapped_column(default=True)
    allow_edit: Mapped[bool] = mapped_column(default=False)  # may a resident change answers while it is open
    # Who may answer and is invited: a step 6 segment as stored by bot/segments.py (Segment.to_json); {} = all.
    segment: Mapped[dict] = mapped_column(default=dict)
    remind_at: Mapped[datetime | None]  # the one reminder to those who have not finished
    invite_publication_id: Mapped[int | None] = mapped_column(BigId)
    reminder_publication_id: Mapped[int | None] = mapped_column(BigId)
    source: Mapped[str] = mapped_column(String(8), default="admin")  # admin | sample
    external_key: Mapped[str | None] = mapped_column(String(200), unique=True)  # sample rows: "sample:<key>"
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    opened_at: Mapped[datetime | None]  # when it was first set open (invitations are queued then)

    questions: Mapped[list["SurveyQuestion"]] = relationship(
        back_populates="survey", cascade="all, delete-orphan", order_by="SurveyQuestion.position")


class SurveyQuestion(Base):
    __tablename__ = "survey_questions"
    __table_args__ = (
        UniqueConstraint("survey_id", "key", name="uq_survey_questions_survey_key"),
        CheckConstraint("kind IN ('single', 'multi', 'scale', 'number', 'text', 'date', 'district')", name="kind"),
        CheckConstraint("max_choices IS NULL OR max_choices >= 1", name="max_choices"),
        CheckConstraint("max_length IS NULL OR (max_length >= 1 AND max_length <= 1000)", name="max_length"),
        CheckConstraint("min_value IS NULL OR max_value IS NULL OR min_value <= max_value", name="range"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    survey_id: Mapped[int] = mapped_column(BigId, ForeignKey("surveys.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(8))     # "q1", "q2" ...: stable, never reused within a survey
    position: Mapped[int]                           # 1-based order
    kind: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(String(300))  # the question as the resident reads it
    note: Mapped[str | None] = mapped_column(String(300))  # a short hint under it (任意)
    required: Mapped[bool] = mapped_column(default=True)
    options: Mapped[list] = mapped_column(default=list)  # SINGLE / MULTI: labels; an answer is the index
    max_choices: Mapped[int | None]                 # MULTI: at most this many (None: any number)
    min_value: Mapped[int | None]                   # NUMBER: whole numbers within [min_value, max_value]
    max_value: Mapped[int | None]
    unit: Mapped[str | None] = mapped_column(String(10))  # NUMBER: 歳, 人, 回 ...
    max_length: Mapped[int | None]                  # TEXT: at most this many characters
    scale_labels: Mapped[list] = mapped_column(default=list)  # SCALE: [label of 1, label of 5]
    # Skip rules (SINGLE, SCALE): {"<answer>": "<question key>" | END}; the answer is the option index or
    # the scale value as a string. Without a rule the next question by position follows.
    branches: Mapped[dict] = mapped_column(default=dict)

    survey: Mapped[Survey] = relationship(back_populates="questions")


class SurveyResponse(Base):
    __tablename__ = "survey_responses"
    __table_args__ = (
        UniqueConstraint("survey_id", "respondent", name="uq_survey_responses_survey_respondent"),
        CheckConstraint("status IN ('in_progress', 'submitted')", name="status"),
        Index("ix_survey_responses_survey_status", "survey_id", "status", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    survey_id: Mapped[int] = mapped_column(BigId, ForeignKey("surveys.id", ondelete="CASCADE"))
    respondent: Mapped[str] = mapped_column(String(64))  # keyed hash of (survey, resident)
    # Named surveys only; NULL for anonymous ones (and nothing else in the row points at the resident).
    user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(12), default=IN_PROGRESS)
    editing: Mapped[bool] = mapped_column(default=False)  # a submitted response being changed (allow_edit)
    current: Mapped[str | None] = mapped_column(String(8))  # the question key being asked, or CONFIRM
    path: Mapped[list] = mapped_column(default=list)        # keys asked so far, in order (戻る pops)
    pending: Mapped[dict] = mapped_column(default=dict)     # working answers {key: value}
    answers: Mapped[dict] = mapped_column(default=dict)     # submitted answers {key: value}
    # The resident's own 地区 (from 設定, when they chose exactly one) at submission: for breakdowns by district.
    district: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    submitted_at: Mapped[datetime | None]  # anonymous surveys: to the hour, so it cannot be matched to a message


@deletion_hook("surveys", order=45)
def delete_survey_responses(db: Session, user) -> None:
    """Named responses go with the resident; anonymous submitted answers stay (nothing links them to anyone),
    and an anonymous response they had not finished is removed (found by its keyed hash)."""
    from bot.survey_logic import respondent_key  # the key lives with the runtime; imported late

    db.execute(delete(SurveyResponse).where(SurveyResponse.user_id == user.id))
    anonymous = list(db.scalars(select(Survey.id).where(Survey.anonymous.is_(True))))
    keys = [respondent_key(sid, user.line_user_id) for sid in anonymous]
    for i in range(0, len(keys), 500):
        db.execute(delete(SurveyResponse).where(SurveyResponse.respondent.in_(keys[i:i + 500]),
                                                SurveyResponse.status == IN_PROGRESS))
