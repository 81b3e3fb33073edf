"""Community events: what an organisation (or the city) holds, when and where, and who may come.

An event has one first start (`starts_at`, `ends_at`, UTC stored, Tokyo shown) and, when the organiser wants
it, an RFC 5545 recurrence (`rrule`, e.g. "FREQ=WEEKLY;BYDAY=SA;COUNT=10"), expanded by python-dateutil in
bot/event_occurrences.py into `event_occurrences` rows up to a horizon, so that every search ("this week",
"near me", "by district") is one indexed SQL query over occurrences. `district` is copied onto each
occurrence for the same reason.

Registration (参加申込) uses the shared mechanism in models/registrations.py: one slot per event, kind
"event". An event that needs registration has a single date (a series that needs booking is posted as one
event per date), so a registration always names one day.

A cancelled event stays visible as 中止. Events hold no resident's data: no deletion hook here (the
registrations have theirs).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, BigId
from models.places import DRAFT, FREE, PENDING, PUBLISHED  # noqa: F401  (shared vocabulary of states and costs)

CANCELLED = "cancelled"
EVENT_STATUSES = (DRAFT, PENDING, PUBLISHED, CANCELLED)
VISIBLE = (PUBLISHED, CANCELLED)  # what residents and the public pages see (中止 stays visible)


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'pending', 'published', 'cancelled')", name="status"),
        CheckConstraint("cost_kind IN ('free', 'amount', 'per_meal')", name="cost_kind"),
        CheckConstraint("ends_at IS NULL OR ends_at >= starts_at", name="ends_after_start"),
        CheckConstraint("capacity IS NULL OR capacity > 0", name="capacity"),
        CheckConstraint("age_min IS NULL OR age_max IS NULL OR age_min <= age_max", name="ages"),
        Index("ix_events_status_starts", "status", "starts_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # Identity of an imported row (市区町村コード + NO, or title + start): a second import updates, never duplicates.
    external_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    organisation_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("organisations.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    title_kana: Mapped[str | None] = mapped_column(String(200))
    title_en: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    organiser_name: Mapped[str | None] = mapped_column(String(200))  # 主催者 as shown
    district: Mapped[str | None] = mapped_column(String(64))  # districts.key; None = city-wide / outside
    place_name: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(300))
    address_note: Mapped[str | None] = mapped_column(String(200))  # 方書
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    access: Mapped[str | None] = mapped_column(Text)  # アクセス方法
    parking: Mapped[str | None] = mapped_column(Text)  # 駐車場情報
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime | None]
    all_day: Mapped[bool] = mapped_column(default=False)  # 開始時間 blank in a file: shown as a date only
    time_note: Mapped[str | None] = mapped_column(String(500))  # 開始日時特記事項
    rrule: Mapped[str | None] = mapped_column(String(500))  # RFC 5545 RRULE value, without "RRULE:"
    age_min: Mapped[int | None]
    age_max: Mapped[int | None]
    cost_kind: Mapped[str] = mapped_column(String(12), default=FREE)
    cost_yen: Mapped[int | None]
    cost_note: Mapped[str | None] = mapped_column(String(300))  # 料金(詳細)
    capacity: Mapped[int | None]  # 定員; None = no limit
    registration_required: Mapped[bool] = mapped_column(default=False)
    registration_deadline: Mapped[datetime | None]  # 参加申込終了日 + 時間; None = until it starts
    registration_method: Mapped[str | None] = mapped_column(Text)  # 参加申込方法 as written (LINE, phone...)
    contact_name: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    phone_ext: Mapped[str | None] = mapped_column(String(20))
    url: Mapped[str | None] = mapped_column(String(500))
    note: Mapped[str | None] = mapped_column(Text)  # 備考
    project: Mapped[int | None]
    action: Mapped[int | None]
    tags: Mapped[list] = mapped_column(default=list)  # free words: ["食", "親子", "体験"]
    status: Mapped[str] = mapped_column(String(12), default=DRAFT)
    cancel_reason: Mapped[str | None] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(String(8), default="admin")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    published_at: Mapped[datetime | None]
    # Bumped by every change residents should hear about (time, place, cancellation): the notice's ref.
    revision: Mapped[int] = mapped_column(default=1)

    occurrences: Mapped[list["EventOccurrence"]] = relationship(
        back_populates="event", cascade="all, delete-orphan", order_by="EventOccurrence.starts_at")


class EventOccurrence(Base):
    """One dated showing of an event (the first start, and each recurrence up to the horizon). Rebuilt
    whenever the event's times change (bot/event_occurrences.py: materialise)."""

    __tablename__ = "event_occurrences"
    __table_args__ = (
        Index("ix_event_occurrences_starts", "starts_at"),
        Index("ix_event_occurrences_district_starts", "district", "starts_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_id: Mapped[int] = mapped_column(BigId, ForeignKey("events.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]  # the event's end, or its start + its length (a start-only event: + 2 hours)
    district: Mapped[str | None] = mapped_column(String(64))
    # Copied from the event so searches need no join for the common filters.
    visible: Mapped[bool] = mapped_column(default=False)  # event status in VISIBLE

    event: Mapped[Event] = relationship(back_populates="occurrences")
