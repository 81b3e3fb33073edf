"""What a resident chose to hear about (設定): districts, projects, topics, how often, quiet hours.

One row of `preferences` per resident who ever chose (no row = the defaults below), and one row per
chosen district / project / topic, so that a segment ("residents of 国府津 or 曽我 who follow project 3")
is a plain SQL EXISTS and the recipients of a push can be streamed from the database.
Deleted with the resident (foreign keys cascade, and the hook deletes explicitly for SQLite).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, delete
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base, BigId
from models.privacy import deletion_hook

# frequency
NOW, WEEKLY, OFF = "now", "weekly", "off"
FREQUENCIES = (NOW, WEEKLY, OFF)

# topics (keys stored; labels are the feature's vocabulary, handlers/settings_vocab.yaml)
TOPICS = ("events", "places", "volunteer", "surveys", "progress", "city")
DEFAULT_TOPICS = ("city",)  # a resident who never chose hears the city's own announcements

# quiet hours, minutes after midnight Asia/Tokyo; both None = off
DEFAULT_QUIET_START, DEFAULT_QUIET_END = 21 * 60, 8 * 60


class Preference(Base):
    __tablename__ = "preferences"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    frequency: Mapped[str] = mapped_column(String(8), default=NOW)
    # While stopped (frequency OFF): the frequency they had before, which 通知を再開 restores (None: NOW).
    # Stopping keeps every other choice (地区, projects, topics, quiet hours) as it is.
    resume_frequency: Mapped[str | None] = mapped_column(String(8))
    quiet_start: Mapped[int | None] = mapped_column(default=DEFAULT_QUIET_START)
    quiet_end: Mapped[int | None] = mapped_column(default=DEFAULT_QUIET_END)
    # False until the resident saved topics once: until then DEFAULT_TOPICS apply.
    topics_chosen: Mapped[bool] = mapped_column(default=False)
    # When the follow-time question (district, interests) was asked: asked once, skippable.
    onboarded_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class SubscribedDistrict(Base):
    __tablename__ = "subscribed_districts"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    district: Mapped[str] = mapped_column(String(32), primary_key=True, index=True)  # districts.yaml key


class SubscribedProject(Base):
    __tablename__ = "subscribed_projects"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    project: Mapped[int] = mapped_column(primary_key=True, index=True)  # project number 1-7


class SubscribedTopic(Base):
    __tablename__ = "subscribed_topics"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    topic: Mapped[str] = mapped_column(String(16), primary_key=True, index=True)


@deletion_hook("subscriptions", order=100)
def delete_subscriptions(db: Session, user) -> None:
    for model in (SubscribedDistrict, SubscribedProject, SubscribedTopic, Preference):
        db.execute(delete(model).where(model.user_id == user.id))
