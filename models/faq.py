"""よくある質問 (FAQ, step 10) and the list of what residents asked that the bot did not understand.

A `FaqEntry` is the city's answer to a question residents ask: the question, the answer (shown on LINE), the
ways residents phrase it (`examples`, matched by bot/faq.py), the department that owns it and when it should be
looked at again. Only published entries are matched or shown. `revision` goes up with every change, so
bot/faq.py's per-process index notices an edit made in the same instant as another (a frozen clock, two quick
saves) without reading every row.

An `NluMiss` is one normalised text that nothing understood, with how often and when it was seen: the text,
a count, first and last seen, and nothing else (no resident, no event, no message id), so the list staff read
cannot lead back to anyone. Rows not seen for 90 days are deleted (scheduler/faq_jobs.py).

An `NluPhrase` is a resident's wording that staff taught the bot from that list (「言い換えとして登録」): the
normalised text and the menu feature, project or action it should open (bot/faq.phrase_route, tried by the
router before the classifier). Rows are only added and deleted, never edited, and ids are never reused (SQLite
AUTOINCREMENT, PostgreSQL sequences; entries' ids neither), so (count, max id) tells every process when its cached copy is stale.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId

DRAFT, PUBLISHED = "draft", "published"
FAQ_STATUSES = (DRAFT, PUBLISHED)
QUESTION_MAX = 200
ANSWER_MAX = 1000
MISS_MAX = 200  # longer texts are not recorded (a long message is rarely a question to answer once)
PHRASE_MAX = MISS_MAX


class FaqEntry(Base):
    __tablename__ = "faq_entries"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'published')", name="status"),
        CheckConstraint("length(answer) <= 1000", name="answer_length"),
        # A resident's answer button and the audit log name an entry by id: a deleted one's id is never reused.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    question: Mapped[str] = mapped_column(String(QUESTION_MAX))
    answer: Mapped[str] = mapped_column(Text)
    examples: Mapped[list] = mapped_column(default=list)  # other phrasings, each ≤ QUESTION_MAX characters
    department: Mapped[str | None] = mapped_column(String(100))  # 担当課
    review_on: Mapped[date | None] = mapped_column(Date)  # 見直し: past → flagged in the admin list
    status: Mapped[str] = mapped_column(String(10), default=DRAFT, index=True)
    revision: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    created_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("admin_accounts.id", ondelete="SET NULL"))


class NluMiss(Base):
    __tablename__ = "nlu_misses"
    __table_args__ = (
        CheckConstraint("count >= 1", name="count"),
        Index("ix_nlu_misses_last_seen", "last_seen"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    text: Mapped[str] = mapped_column(String(MISS_MAX), unique=True)  # handlers.nlu.normalise of the message
    count: Mapped[int] = mapped_column(default=1)
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]


class NluPhrase(Base):
    __tablename__ = "nlu_phrases"
    __table_args__ = {"sqlite_autoincrement": True}  # a deleted id is never handed out again (see above)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    text: Mapped[str] = mapped_column(String(PHRASE_MAX), unique=True)  # handlers.nlu.normalise form
    intent: Mapped[str] = mapped_column(String(32))   # an INTENTS key of handlers/router.py (plan.action, events ...)
    target: Mapped[str | None] = mapped_column(String(32))  # project or action number for plan.project / plan.action
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(64), default="")  # the staff account's name (or e-mail) then
