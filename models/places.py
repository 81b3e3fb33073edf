"""こどもの居場所: children's places (こども食堂, 学習支援, 子育てひろば, 放課後の居場所, 遊び場 ...) and when they open.

Owned by an organisation (or the city when `organisation_id` is NULL). Opening times are rows of
`place_hours` (a weekly pattern, optionally only on the Nth weekday of the month: 第2・第4土曜) plus the
exceptions on the place itself (closed on national holidays, closed over the year end 12/29-1/3, dates off,
extra dates). bot/opening_hours.py turns them into "open now" and "next opening"; the weekday of each row
lets a search pre-filter in SQL.

Places hold no resident's data: no deletion hook.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, BigId

# kind keys (labels and words are the feature's vocabulary: handlers/places_vocab.yaml)
KINDS = ("shokudo", "study", "hiroba", "afterschool", "play", "other")
# cost_kind (shared with events)
FREE, AMOUNT, PER_MEAL = "free", "amount", "per_meal"
COST_KINDS = (FREE, AMOUNT, PER_MEAL)
# status (shared with events, which add `cancelled`)
DRAFT, PENDING, PUBLISHED, WITHDRAWN = "draft", "pending", "published", "withdrawn"
PLACE_STATUSES = (DRAFT, PENDING, PUBLISHED, WITHDRAWN)
# source of a row: who wrote it last (sample rows are the only ones `kyodo sample load` may replace)
SOURCES = ("admin", "csv", "sample")


class Place(Base):
    __tablename__ = "places"
    __table_args__ = (
        CheckConstraint("kind IN ('shokudo', 'study', 'hiroba', 'afterschool', 'play', 'other')", name="kind"),
        CheckConstraint("cost_kind IN ('free', 'amount', 'per_meal')", name="cost_kind"),
        CheckConstraint("status IN ('draft', 'pending', 'published', 'withdrawn')", name="status"),
        CheckConstraint("age_min IS NULL OR age_max IS NULL OR age_min <= age_max", name="ages"),
        Index("ix_places_status_district", "status", "district"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # Identity of an imported row (推奨データセット: the file's 市区町村コード + NO, or the name): importing the
    # same file twice updates, never duplicates.
    external_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    organisation_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    name_kana: Mapped[str | None] = mapped_column(String(200))
    name_common: Mapped[str | None] = mapped_column(String(200))  # 名称_通称
    kind: Mapped[str] = mapped_column(String(16))
    district: Mapped[str] = mapped_column(String(64))  # districts.key
    address: Mapped[str] = mapped_column(String(300), default="")
    address_note: Mapped[str | None] = mapped_column(String(200))  # 方書 (building, floor)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    # Exceptions to the weekly rows in place_hours (bot/opening_hours.py reads them).
    closed_on_holidays: Mapped[bool] = mapped_column(default=True)
    closed_year_end: Mapped[bool] = mapped_column(default=True)  # 12/29-1/3
    closed_dates: Mapped[list] = mapped_column(default=list)  # ["2026-12-05", ...] ISO dates, Tokyo
    # Dates open outside the weekly pattern: [{"date": "2026-12-26", "open": "10:00", "close": "12:00"}]
    extra_dates: Mapped[list] = mapped_column(default=list)
    hours_note: Mapped[str | None] = mapped_column(Text)  # 利用可能日時特記事項, shown as written
    age_min: Mapped[int | None]  # years; 0 = babies; None = no lower bound
    age_max: Mapped[int | None]  # years; None = no upper bound (保護者も可 etc. in the note)
    cost_kind: Mapped[str] = mapped_column(String(12), default=FREE)
    cost_yen: Mapped[int | None]  # the amount (per visit, or per meal)
    cost_note: Mapped[str | None] = mapped_column(String(300))  # e.g. こども無料・大人300円
    booking_required: Mapped[bool] = mapped_column(default=False)
    contact_name: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    phone_ext: Mapped[str | None] = mapped_column(String(20))
    url: Mapped[str | None] = mapped_column(String(500))
    accessibility: Mapped[str | None] = mapped_column(Text)  # バリアフリー情報
    description: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)  # 備考
    project: Mapped[int | None]  # plan project number 1-7
    action: Mapped[int | None]  # plan action number (303 for the 居場所 portal)
    organiser_name: Mapped[str | None] = mapped_column(String(200))  # 団体名 as shown (an imported row's)
    status: Mapped[str] = mapped_column(String(12), default=DRAFT)
    verified_on: Mapped[date | None] = mapped_column(Date)  # last time someone checked the facts
    source: Mapped[str] = mapped_column(String(8), default="admin")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    published_at: Mapped[datetime | None]

    hours: Mapped[list["PlaceHours"]] = relationship(back_populates="place", cascade="all, delete-orphan",
                                                     order_by="(PlaceHours.weekday, PlaceHours.opens)")


class PlaceHours(Base):
    """One weekly opening: weekday (0 = Monday, Tokyo), minutes after midnight. `closes` may pass 1440 (open
    across midnight). `weeks` is a bit mask of the Nth weekday of the month (bit 1 = 第1 ... bit 5 = 第5);
    0 = every week. 第2・第4土曜 = weekday 5, weeks 0b10100."""

    __tablename__ = "place_hours"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
        CheckConstraint("opens >= 0 AND opens < 1440 AND closes > opens AND closes <= 2880", name="minutes"),
        CheckConstraint("weeks >= 0 AND weeks < 64", name="weeks"),
        Index("ix_place_hours_weekday", "weekday", "place_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    place_id: Mapped[int] = mapped_column(BigId, ForeignKey("places.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int]
    opens: Mapped[int]
    closes: Mapped[int]
    weeks: Mapped[int] = mapped_column(default=0)

    place: Mapped[Place] = relationship(back_populates="hours")
