"""よくある質問 (FAQ, step 10) and the list of what residents asked that the bot did not understand.

A `FaqEntry` is the city's answer to a question residents ask: the question, the answer (shown on LINE), the
ways residents phrase it (`examples`, matched by bot/faq.py), the department that owns it and when it should be
looked at again. Only published entries are matched or shown. `revision` goes up with every change, so
bot/faq.py's per-process index notices an edit made in the same instant as another (a frozen clock, two quick
saves) without reading every row.

An `NluMiss` is one normalised text that nothing understood, with how often and when it was seen: the text,
a count, first and last seen, and nothing else (no resident, no event, no message id), so the list staff read
cannot lead back to anyone. Rows not seen for 90 days are deleted (scheduler/faq_jobs.py).
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


class FaqEntry(Base):
    __tablename__ = "faq_entries"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'published')", name="status"),
        CheckConstraint("length(answer) <= 1000", name="answer_length"),
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
