"""Volunteering (ボランティア): opportunities an organisation offers, their shifts, the name a resident gives
for sign-ups, and the anonymous hours that remain when a resident deletes their data.

Sign-ups are registrations of the shared mechanism (models/registrations.py, bot/registrations.py): one slot
per shift, kind "shift", ref_id = shift id. A sign-up's status (confirmed, waitlisted, offered, cancelled,
attended, no_show) and the time of each change live there. Hours are the shift's length for each attended
sign-up, counted by fiscal year (April-March, Tokyo).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from bot.clock import to_tokyo, utc
from models.base import Base, BigId
from models.privacy import deletion_hook

# opportunity status (the listings' vocabulary)
DRAFT, PENDING, PUBLISHED, WITHDRAWN = "draft", "pending", "published", "withdrawn"
OPPORTUNITY_STATUSES = (DRAFT, PENDING, PUBLISHED, WITHDRAWN)
# shift status
OPEN, CANCELLED = "open", "cancelled"
KIND = "shift"  # the registration slot kind


class Opportunity(Base):
    __tablename__ = "volunteer_opportunities"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'pending', 'published', 'withdrawn')", name="status"),
        CheckConstraint("min_age IS NULL OR (min_age >= 0 AND min_age <= 120)", name="min_age"),
        Index("ix_volunteer_opportunities_status_district", "status", "district"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    organisation_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("organisations.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    district: Mapped[str | None] = mapped_column(String(64))  # districts.key; None = city-wide
    place_name: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(300))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    project: Mapped[int | None]
    action: Mapped[int | None]
    bring: Mapped[str | None] = mapped_column(Text)  # 持ち物
    conditions: Mapped[str | None] = mapped_column(Text)  # 条件 (体力, 資格 ...)
    min_age: Mapped[int | None]
    accessibility: Mapped[str | None] = mapped_column(Text)
    # Remind confirmed volunteers 2 hours before each shift too (the day-before reminder always goes).
    remind_2h: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(12), default=DRAFT)
    source: Mapped[str] = mapped_column(String(8), default="admin")
    external_key: Mapped[str | None] = mapped_column(String(200), unique=True)  # sample rows: "sample:<key>"
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    published_at: Mapped[datetime | None]

    shifts: Mapped[list["Shift"]] = relationship(back_populates="opportunity", cascade="all, delete-orphan",
                                                 order_by="Shift.starts_at")


class Shift(Base):
    __tablename__ = "volunteer_shifts"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("capacity > 0", name="capacity"),
        CheckConstraint("status IN ('open', 'cancelled')", name="status"),
        Index("ix_volunteer_shifts_starts", "starts_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    opportunity_id: Mapped[int] = mapped_column(BigId, ForeignKey("volunteer_opportunities.id", ondelete="CASCADE"),
                                                index=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    capacity: Mapped[int]
    signup_deadline: Mapped[datetime | None]  # None: until the start
    status: Mapped[str] = mapped_column(String(12), default=OPEN)
    note: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    opportunity: Mapped[Opportunity] = relationship(back_populates="shifts")

    @property
    def minutes(self) -> int:
        return int((utc(self.ends_at) - utc(self.starts_at)).total_seconds() // 60)


class VolunteerProfile(Base):
    """The name a resident chose to give organisations for sign-ups (asked once, editable, deletable).
    Organisations see this name on rosters and nothing else about the resident."""

    __tablename__ = "volunteer_profiles"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(50))
    updated_at: Mapped[datetime]


class AnonymousHours(Base):
    """Hours of residents who deleted their data: totals per fiscal year and opportunity, no person."""

    __tablename__ = "volunteer_anonymous_hours"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    fiscal_year: Mapped[int]
    opportunity_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("volunteer_opportunities.id",
                                                                         ondelete="SET NULL"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("organisations.id"), index=True)
    shifts: Mapped[int]
    minutes: Mapped[int]
    recorded_at: Mapped[datetime]


def fiscal_year_of(at: datetime) -> int:
    """April-March in Tokyo: 2026-04-01 .. 2027-03-31 is 2026 (令和8年度)."""
    t = to_tokyo(at)
    return t.year if t.month >= 4 else t.year - 1


@deletion_hook("volunteer", order=40)  # before registrations (50): the attended rows are still there
def delete_volunteer_data(db: Session, user) -> None:
    """Keep only anonymous totals of the resident's attended hours, then delete their name."""
    from models.registrations import ATTENDED, Registration, RegistrationSlot
    from bot.clock import system_clock

    rows = db.execute(select(Shift, Opportunity.organisation_id)
                      .join(Opportunity, Opportunity.id == Shift.opportunity_id)
                      .join(RegistrationSlot, (RegistrationSlot.kind == KIND) & (RegistrationSlot.ref_id == Shift.id))
                      .join(Registration, Registration.slot_id == RegistrationSlot.id)
                      .where(Registration.user_id == user.id, Registration.status == ATTENDED)).all()
    totals: dict[tuple[int, int, int | None], list[int]] = {}
    for shift, org in rows:
        key = (fiscal_year_of(shift.starts_at), shift.opportunity_id, org)
        t = totals.setdefault(key, [0, 0])
        t[0] += 1
        t[1] += shift.minutes
    now = system_clock()
    for (fy, opp, org), (n, minutes) in totals.items():
        db.add(AnonymousHours(fiscal_year=fy, opportunity_id=opp, organisation_id=org, shifts=n, minutes=minutes,
                              recorded_at=now))
    db.execute(VolunteerProfile.__table__.delete().where(VolunteerProfile.user_id == user.id))
